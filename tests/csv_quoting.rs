//! Names with commas and quotes reach every CSV file quoted (RFC 4180), through the `csv`
//! serializer: a node group named `a,b` (issue 14 item 5) and a workload named `we"b,1`.

use std::path::Path;
use std::process::Command;

const SCENARIO: &str = r#"
name = "quoting, \"names\""
duration = "10m"
[subnet]
cidr = "10.0.0.0/24"
[[nodegroup]]
name = "a,b"
instance_type = "m5.large"
count = 2
[[workload]]
kind = "deployment"
name = "we\"b,1"
steps = [ { at = "1m", replicas = 5 }, { at = "5m", replicas = 2 } ]
"#;

fn records(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(Result::unwrap).collect();
    (header, rows)
}

#[test]
fn names_with_commas_and_quotes_are_quoted_in_every_csv() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .args(["run", scenario.to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--quiet", "--events"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let (h, ev) = records(&out.join("events.csv"));
    assert_eq!(h, ["time_s", "event", "pod", "node", "detail"]);
    assert!(
        ev.iter().all(|r| r.len() == 5),
        "every events.csv line has 5 fields"
    );
    let bound: Vec<_> = ev.iter().filter(|r| &r[1] == "pod_bound").collect();
    assert_eq!(bound.len(), 5);
    assert!(bound.iter().all(|r| r[3].starts_with("a,b-")), "{bound:?}");
    assert!(
        bound.iter().all(|r| r[2].starts_with("we\"b,1-")),
        "{bound:?}"
    );
    let text = std::fs::read_to_string(out.join("events.csv")).unwrap();
    assert!(text.contains(",\"a,b-0\","), "the node name is quoted");

    let (h, nodes) = records(&out.join("nodes.csv"));
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|r| r.len() == h.len()));
    assert_eq!(&nodes[0][0], "a,b-0");
    assert_eq!(&nodes[0][1], "a,b");

    let (h, summary) = records(&out.join("summary.csv"));
    assert_eq!(summary[0].len(), h.len());
    assert_eq!(&summary[0][0], "quoting, \"names\"");
}
