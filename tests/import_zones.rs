//! `ipamsim import` keeps each subnet's zone and tags, and a run from it uses them: subnet
//! discovery puts a node's new ENIs in the tagged subnet of its zone (fixtures in
//! tests/fixtures/import-zones/).
//!
//! The fixtures: node a (m5.large, us-west-2a, in nodes-2a 10.30.0.0/24) and node b
//! (us-west-2b by its providerID only, cordoned, in nodes-2b); pods-2a (100.64.0.0/20, zone a)
//! and pods-2b (100.64.32.0/19, zone b, the most free addresses of all) tagged
//! `kubernetes.io/role/cni = "1"`; public-2a (zone a, untagged) that nothing may use.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ipamsim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import-zones")
        .join(name)
}

/// Imports the fixtures into `dir/out` (with `subnets` as the subnets file); the output.
fn import(dir: &Path, subnets: &Path) -> Output {
    let (enis, nodes) = (fixture("enis.json"), fixture("nodes.json"));
    ipamsim(
        &[
            "import",
            "--subnets",
            subnets.to_str().unwrap(),
            "--enis",
            enis.to_str().unwrap(),
            "--nodes",
            nodes.to_str().unwrap(),
            "--out",
            "out",
        ],
        dir,
    )
}

/// subnets.csv as (name, enis_final) pairs.
fn enis_final(csv: &str) -> Vec<(String, u64)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (name, enis) = (
        header.iter().position(|c| *c == "name").unwrap(),
        header.iter().position(|c| *c == "enis_final").unwrap(),
    );
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[name].to_string(), cells[enis].parse().unwrap())
        })
        .collect()
}

#[test]
fn the_written_scenario_keeps_zones_and_tags_and_a_run_uses_the_tagged_subnet_of_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    let out = import(dir.path(), &fixture("subnets.json"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The scenario lists the modelled subnets with their zone and every tag, in file order.
    let scenario = fs::read_to_string(dir.path().join("out/scenario.toml")).unwrap();
    for line in [
        r#"# subnet-0a0000000000000a2 (100.64.0.0/20): availability_zone = "us-west-2a", tags = { Name = "pods-2a", "kubernetes.io/role/cni" = "1" }"#,
        r#"# subnet-0b0000000000000b2 (100.64.32.0/19): availability_zone = "us-west-2b", tags = { "kubernetes.io/role/cni" = "1", Name = "pods-2b", team = "platform" }"#,
        "# 2 imported node(s) in us-west-2a, us-west-2b; `count` adds nodes to them (--set nodegroup.general.count=N).",
    ] {
        assert!(
            scenario.contains(&format!("{line}\n")),
            "{line}\n{scenario}"
        );
    }
    assert!(!scenario.contains("subnet-0a0000000000000a3"), "{scenario}");
    // import.json: the tags in order, each node's zone (b's from its providerID).
    let account: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out/import.json")).unwrap())
            .unwrap();
    let pods_2b = &account["subnets"][3];
    assert_eq!(pods_2b["zone"], "us-west-2b");
    assert_eq!(
        pods_2b["tags"],
        serde_json::json!([
            {"key": "kubernetes.io/role/cni", "value": "1"},
            {"key": "Name", "value": "pods-2b"},
            {"key": "team", "value": "platform"}
        ])
    );
    let zones: Vec<&str> = account["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["zone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["us-west-2a", "us-west-2b"]);
    assert!(
        account["ignored"][0]["what"]
            .as_str()
            .unwrap()
            .contains("subnet-0a0000000000000a3")
    );

    // 40 pods on node a (b is cordoned) need its second and third ENI. With discovery they go
    // to pods-2a — not to its own subnet, and not to pods-2b, which has more free addresses
    // but is in the other zone. Without discovery they stay in nodes-2a.
    fs::write(
        dir.path().join("out/scenario.toml"),
        scenario
            + "\n[[workload]]\nkind = \"deployment\"\nname = \"web\"\n\
               steps = [ { at = \"0s\", replicas = 40 } ]\n",
    )
    .unwrap();
    let run = |discovery: &str, to: &str| {
        let set = format!("ENABLE_SUBNET_DISCOVERY={discovery}");
        let out = ipamsim(
            &[
                "run",
                "out/scenario.toml",
                "--set",
                "WARM_IP_TARGET=2",
                "--set",
                &set,
                "--out",
                to,
                "--quiet",
            ],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        enis_final(&fs::read_to_string(dir.path().join(to).join("subnets.csv")).unwrap())
    };
    let on = run("true", "on");
    let of = |rows: &[(String, u64)], id: &str| rows.iter().find(|(n, _)| n == id).unwrap().1;
    assert_eq!(on.len(), 4, "{on:?}");
    assert_eq!(
        of(&on, "subnet-0a0000000000000a1"),
        1,
        "node a's primary only"
    );
    assert_eq!(of(&on, "subnet-0a0000000000000a2"), 2, "pods-2a: {on:?}");
    assert_eq!(
        of(&on, "subnet-0b0000000000000b1"),
        1,
        "node b's primary only"
    );
    assert_eq!(of(&on, "subnet-0b0000000000000b2"), 0, "pods-2b: {on:?}");
    let off = run("false", "off");
    assert_eq!(of(&off, "subnet-0a0000000000000a1"), 3, "{off:?}");
    assert_eq!(of(&off, "subnet-0a0000000000000a2"), 0, "{off:?}");
}

#[test]
fn a_bad_tag_or_a_zone_the_node_is_not_in_is_refused_naming_the_file_and_object() {
    let dir = tempfile::tempdir().unwrap();
    let subnets = fs::read_to_string(fixture("subnets.json")).unwrap();
    let broken = |from: &str, to: &str| {
        assert!(subnets.contains(from), "{from}");
        let path = dir.path().join("subnets.json");
        fs::write(&path, subnets.replacen(from, to, 1)).unwrap();
        let out = import(dir.path(), &path);
        assert_eq!(out.status.code(), Some(2));
        assert!(!dir.path().join("out").exists(), "nothing is written");
        String::from_utf8(out.stderr).unwrap()
    };
    let e = broken(r#"{"Key": "team""#, r#"{"Key": "Name""#);
    assert_eq!(
        e.trim_end(),
        format!(
            "error: {}: Subnets[3] (subnet-0b0000000000000b2): Tags[2]: tag \"Name\" is given twice; export with `aws ec2 describe-subnets --output json`",
            dir.path().join("subnets.json").display()
        )
    );
    // nodes-2a said to be in zone c: node a's label says a, and its ENI is there.
    let e = broken(
        r#""AvailabilityZone": "us-west-2a",
      "AvailableIpAddressCount": 250"#,
        r#""AvailabilityZone": "us-west-2c",
      "AvailableIpAddressCount": 250"#,
    );
    assert!(
        e.contains("nodes.json: node ip-10-30-0-10.us-west-2.compute.internal (i-0a00000000000001) is in zone us-west-2a, but its interface eni-0a00000000000001 is in subnet-0a0000000000000a1 of us-west-2c"),
        "{e}"
    );
}

/// With discovery on, an imported node's ENI in a subnet tagged `kubernetes.io/role/cni =
/// "0"` would be excluded by ipamd (not modelled): the run refuses, naming the file.
#[test]
fn an_imported_node_in_an_excluded_subnet_is_refused_under_discovery() {
    let dir = tempfile::tempdir().unwrap();
    let subnets = fs::read_to_string(fixture("subnets.json"))
        .unwrap()
        .replacen(
            r#"[{"Key": "Name", "Value": "nodes-2a"}]"#,
            r#"[{"Key": "Name", "Value": "nodes-2a"}, {"Key": "kubernetes.io/role/cni", "Value": "0"}]"#,
            1,
        );
    let path = dir.path().join("subnets.json");
    fs::write(&path, subnets).unwrap();
    assert!(import(dir.path(), &path).status.success());
    let run = |set: &str| {
        ipamsim(
            &[
                "run",
                "out/scenario.toml",
                "--set",
                set,
                "--out",
                "r",
                "--quiet",
            ],
            dir.path(),
        )
    };
    // The written [[nodegroup]] is refused as any scenario's is, with its line…
    let out = run("ENABLE_SUBNET_DISCOVERY=true");
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(e.starts_with("error: out/scenario.toml:"), "{e}");
    assert!(e.contains("excludedENIBasedOnSubnetTags"), "{e}");
    assert!(run("ENABLE_SUBNET_DISCOVERY=false").status.success());
    // …and without it the imported node itself, naming the subnets file.
    let scenario = fs::read_to_string(dir.path().join("out/scenario.toml")).unwrap();
    let cut = scenario.find("\n# 2 imported node(s)").unwrap();
    fs::write(dir.path().join("out/scenario.toml"), &scenario[..cut]).unwrap();
    let out = run("ENABLE_SUBNET_DISCOVERY=true");
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(
        e.contains("subnets.json: subnet-0a0000000000000a1 is tagged kubernetes.io/role/cni = \"0\" and holds eni-0a00000000000001 of node ip-10-30-0-10.us-west-2.compute.internal"),
        "{e}"
    );
    assert!(run("ENABLE_SUBNET_DISCOVERY=false").status.success());
}
