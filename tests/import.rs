//! `ipamsim import` and `ipamsim import-trace` on the fixture exports of
//! tests/fixtures/import/ (written in the shapes of spec/real-inputs.md §11).
//!
//! The expected `import.json` was derived by hand from the fixtures:
//! - subnet-0a1b… (10.20.0.0/24, 251 usable): node ENIs 8 + 6 + 6 + (3 + 2 × 16) addresses,
//!   the load balancer, NAT gateway and Lambda ENIs 1 each, the leaked ENI 2, the detached
//!   debugging ENI 1: 61 used. Of the /28 blocks 1–14, blocks 1 (.16), 7 (.112) and 9 (.144)
//!   hold nothing, 12 and 13 are free inside the prefix reservation 10.20.0.192/27 (they
//!   count), 14 is the explicit reservation: 5 free blocks.
//! - subnet-0b2c… (10.20.1.0/25, 123 usable): node ENI 4, trunk 1, branch 1, NLB 1: 7 used;
//!   blocks 4, 5 and 6 free: 3. Its AvailableIpAddressCount (114) disagrees with 123 − 7.
//! - nodes: the m5.large at .37 has ENIs 0 and 1 (7 + 5 secondary IPs), 9 pods with an
//!   address, the Pending web pod bound without one, aws-node and kube-proxy on the host
//!   network, and a Succeeded pod that is ignored; the t3.medium has its ENI and a trunk (2
//!   ENIs) and one pod on a branch ENI; `general` has two instance types, so its groups are
//!   `general-m5.large` and `general-t3.medium`.
//! - the audit log: spec §8 applied line by line (see expected-trace.csv).

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

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

/// A copy of the fixtures in a temp folder, under `export/`.
fn copy_fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("export")).unwrap();
    for e in fs::read_dir(fixtures()).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.path().join("export").join(e.file_name())).unwrap();
    }
    dir
}

const ARGS: [&str; 19] = [
    "import",
    "--subnets",
    "export/subnets.json",
    "--enis",
    "export/enis-page1.json",
    "--enis",
    "export/enis-page2.json",
    "--reservations",
    "export/res-a.json",
    "--reservations",
    "export/res-b.json",
    "--nodes",
    "export/nodes.json",
    "--pods",
    "export/pods.json",
    "--aws-node",
    "export/aws-node.json",
    "--audit-log",
    "export/audit.jsonl",
];

fn import(dir: &Path, out: &str) -> Output {
    let mut args: Vec<&str> = ARGS.to_vec();
    args.extend(["--out", out]);
    ipamsim(&args, dir)
}

#[test]
fn the_fixtures_give_exactly_the_expected_account_and_trace() {
    let dir = copy_fixtures();
    let out = import(dir.path(), "imported");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = fs::read_to_string(dir.path().join("imported/import.json")).unwrap();
    let want = fs::read_to_string(fixtures().join("expected-import.json")).unwrap();
    assert_eq!(got, want);
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(v["subnets"][0]["used"], 61);
    assert_eq!(v["subnets"][0]["free_prefix_blocks"], 5);
    assert_eq!(v["nodes"][0]["secondary_ips"], 12);
    let trace = fs::read_to_string(dir.path().join("imported/trace.csv")).unwrap();
    assert_eq!(
        trace,
        fs::read_to_string(fixtures().join("expected-trace.csv")).unwrap()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("61 of 251 addresses used, 5 free /28 blocks"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "export/audit.jsonl:13: not a complete audit event (the JSON ends early): skipped"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("AvailableIpAddressCount is 114 but the interfaces show 116 free"),
        "{stderr}"
    );
    // import-trace writes the same conversion.
    let t = ipamsim(
        &[
            "import-trace",
            "export/audit.jsonl",
            "--pods",
            "export/pods.json",
            "--nodes",
            "export/nodes.json",
        ],
        dir.path(),
    );
    assert!(t.status.success());
    assert_eq!(String::from_utf8_lossy(&t.stdout), trace);
}

#[test]
fn importing_the_generated_folder_again_gives_the_same_scenario() {
    let dir = copy_fixtures();
    assert!(import(dir.path(), "a/imported").status.success());
    let d = dir.path().join("a/imported");
    let again = ipamsim(
        &[
            "import",
            "--subnets",
            "subnets.json",
            "--enis",
            "enis-1.json",
            "--enis",
            "enis-2.json",
            "--reservations",
            "reservations-1.json",
            "--reservations",
            "reservations-2.json",
            "--nodes",
            "nodes.json",
            "--pods",
            "pods.json",
            "--aws-node",
            "aws-node.json",
            "--audit-log",
            "audit.jsonl",
            "--out",
            "../../b/imported",
        ],
        &d,
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    for f in ["scenario.toml", "import.json", "trace.csv", "enis-2.json"] {
        assert_eq!(
            fs::read(d.join(f)).unwrap(),
            fs::read(dir.path().join("b/imported").join(f)).unwrap(),
            "{f}"
        );
    }
}

/// Runs the import after `edit` changed one fixture; returns stderr (must fail with 2).
fn broken(file: &str, edit: impl Fn(String) -> String) -> String {
    let dir = copy_fixtures();
    let p = dir.path().join("export").join(file);
    let text = fs::read_to_string(&p).unwrap();
    let changed = edit(text.clone());
    assert_ne!(changed, text, "the edit must change {file}");
    fs::write(&p, changed).unwrap();
    let out = import(dir.path(), "out");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.path().join("out/scenario.toml").exists(),
        "nothing is written"
    );
    String::from_utf8_lossy(&out.stderr).trim_end().to_string()
}

#[test]
fn the_wrong_kind_of_file_yaml_and_cut_short_json_are_named() {
    let pods = fs::read_to_string(fixtures().join("pods.json")).unwrap();
    assert_eq!(
        broken("nodes.json", |_| pods.clone()),
        "error: export/nodes.json: this is `kubectl get pods -o json` output (a List of 27 Pod); nodes needs `kubectl get nodes -o json`"
    );
    assert_eq!(
        broken("pods.json", |_| "apiVersion: v1\nitems:\n- kind: Pod\n"
            .into()),
        "error: export/pods.json:1:1: not JSON (it looks like YAML); export with `kubectl get pods -A -o json`"
    );
    let e = broken("enis-page2.json", |t| t[..t.len() / 2].to_string());
    assert!(e.starts_with("error: export/enis-page2.json:"), "{e}");
    assert!(
        e.ends_with(
            ": the JSON ends in the middle of an object: the export was cut short; run it again"
        ),
        "{e}"
    );
    let e = broken("subnets.json", |_| {
        "-----------------\n|DescribeSubnets|\n".into()
    });
    assert!(e.contains("table output"), "{e}");
    let e = broken("subnets.json", |_| "[\"subnet-0a1b2c3d4e5f60718\"]".into());
    assert!(e.contains("bare JSON array"), "{e}");
}

#[test]
fn one_page_of_a_paginated_answer_is_refused_unless_the_last_page_is_given() {
    // Page 1 has "NextToken": null; page 2 gets one: page 1 is then the last page.
    let dir = copy_fixtures();
    let p = dir.path().join("export/enis-page2.json");
    let t = fs::read_to_string(&p)
        .unwrap()
        .replacen('{', "{\"NextToken\": \"eyJ2IjoiMiJ9\",", 1);
    fs::write(&p, t).unwrap();
    let out = import(dir.path(), "out");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_single_cut_page_is_an_error() {
    let dir = copy_fixtures();
    let p1 = dir.path().join("export/enis-page1.json");
    let t = fs::read_to_string(&p1)
        .unwrap()
        .replace("\"NextToken\": null", "\"NextToken\": \"abc\"");
    fs::write(&p1, t).unwrap();
    let p2 = dir.path().join("export/enis-page2.json");
    let t = fs::read_to_string(&p2)
        .unwrap()
        .replacen('{', "{\"NextToken\": \"def\",", 1);
    fs::write(&p2, t).unwrap();
    let out = import(dir.path(), "out");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: export/enis-page1.json: \"NextToken\" is set: this is one page of a longer answer; export without --max-items/--no-paginate, or list every page"
    );
}

#[test]
fn addresses_outside_held_twice_or_inside_a_prefix_are_refused() {
    assert_eq!(
        broken("enis-page2.json", |t| t
            .replace("\"10.20.0.91\"", "\"10.20.2.7\"")),
        "error: export/enis-page2.json: eni-0e44d5e6f7a8b9ca4 has 10.20.2.7, outside its subnet subnet-0a1b2c3d4e5f60718 (10.20.0.0/24)"
    );
    assert_eq!(
        broken("enis-page2.json", |t| t
            .replace("\"10.20.0.95\"", "\"10.20.0.12\"")),
        "error: export/enis-page2.json: 10.20.0.12 is held by eni-0e22b3c4d5e6f7a82 and by eni-0e55e6f7a8b9cadb5"
    );
    assert_eq!(
        broken("enis-page2.json", |t| t
            .replace("\"10.20.0.95\"", "\"10.20.0.170\"")),
        "error: export/enis-page2.json: eni-0e55e6f7a8b9cadb5 has 10.20.0.170, inside prefix 10.20.0.160/28 of eni-0cc1d2e3f4a5b6c71"
    );
    let e = broken("enis-page1.json", |t| {
        t.replace("10.20.0.176/28", "10.20.0.240/28")
    });
    assert!(e.contains("first or last /28"), "{e}");
    let e = broken("enis-page1.json", |t| {
        t.replacen("\"10.20.0.38\"", "\"10.20.0.2\"", 1)
    });
    assert!(e.contains("one of the five addresses AWS reserves"), "{e}");
}

#[test]
fn overlapping_reservations_are_refused() {
    assert_eq!(
        broken("res-a.json", |t| t
            .replace("10.20.0.224/28", "10.20.0.208/28")),
        "error: export/res-a.json: reservation 10.20.0.208/28 (explicit) overlaps 10.20.0.192/27 (prefix)"
    );
}

#[test]
fn pod_addresses_must_be_the_nodes_pod_addresses() {
    assert_eq!(
        broken("pods.json", |t| t
            .replace("\"10.20.0.161\"", "\"10.20.0.200\"")),
        "error: export/pods.json: pod batch/train-0 on ip-10-20-0-80.us-west-2.compute.internal has 10.20.0.200, which is not one of that node's pod addresses (prefix 10.20.0.160/28, prefix 10.20.0.176/28, 10.20.0.81, 10.20.0.82)"
    );
    assert_eq!(
        broken("pods.json", |t| t
            .replace("\"10.20.0.53\"", "\"10.20.0.52\"")),
        "error: export/pods.json: pod store/web-6d9f7c5b8-k3l4m has 10.20.0.52, the primary address of eni-0bb1c2d3e4f5a6b71; ipamd never gives it to a pod (is spec.hostNetwork missing?)"
    );
    let e = broken("pods.json", |t| {
        t.replace("\"10.20.0.70\"", "\"10.20.0.53\"")
    });
    assert!(e.contains("both have 10.20.0.53"), "{e}");
}

#[test]
fn a_node_without_interfaces_or_of_an_unknown_type_is_refused() {
    assert_eq!(
        broken("enis-page1.json", |t| t
            .replace("\"i-0323456789abcdef0\"", "\"i-0999999999abcdef0\"")),
        "error: export/nodes.json: node ip-10-20-0-80.us-west-2.compute.internal (i-0323456789abcdef0): no interface in export/enis-page1.json, export/enis-page2.json is attached to it; export the interfaces of its subnet"
    );
    let e = broken("nodes.json", |t| t.replace("\"c5.xlarge\"", "\"c5.xlarg\""));
    assert!(e.starts_with("error: export/nodes.json: node ip-10-20-0-80.us-west-2.compute.internal (i-0323456789abcdef0): "), "{e}");
    assert!(e.contains("c5.xlarge"), "close matches are suggested: {e}");
}

#[test]
fn aws_node_values_not_in_the_file_or_that_would_not_start_are_refused() {
    assert_eq!(
        broken("aws-node.json", |t| {
            t.replace(
            "\"name\": \"WARM_ENI_TARGET\",\n                \"value\": \"1\"",
            "\"name\": \"WARM_ENI_TARGET\", \"valueFrom\": {\"configMapKeyRef\": {\"name\": \"amazon-vpc-cni\", \"key\": \"warm-eni-target\"}}"
        )
        }),
        "error: export/aws-node.json: WARM_ENI_TARGET comes from a ConfigMap (valueFrom); its value is not in the file: give it with --set WARM_ENI_TARGET=…"
    );
    let e = broken("aws-node.json", |t| {
        t.replace("\"false\"", "\"true\"")
            .replace("\"5\"", "\"0\"")
            .replace("\"10\"", "\"0\"")
    });
    assert!(e.contains("aws-node would not start"), "{e}");
}

#[test]
fn an_audit_log_without_events_is_an_error() {
    let e = broken("audit.jsonl", |_| "hello\n".into());
    assert_eq!(
        e,
        "error: export/audit.jsonl: no audit event in the file; export the API server's audit log (JSON lines of audit.k8s.io/v1 Event)"
    );
}

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/imported")
}

#[test]
fn the_bundled_example_is_what_import_writes_from_the_fixtures() {
    let dir = copy_fixtures();
    assert!(import(dir.path(), "imported").status.success());
    for f in [
        "scenario.toml",
        "import.json",
        "trace.csv",
        "enis-1.json",
        "audit.jsonl",
    ] {
        assert_eq!(
            fs::read_to_string(dir.path().join("imported").join(f)).unwrap(),
            fs::read_to_string(bundled().join(f)).unwrap(),
            "scenarios/imported/{f} is stale: regenerate it with `ipamsim import` (README)"
        );
    }
}

/// The row of timeseries.csv at `time_s`, as (header, cells).
fn sample(dir: &Path, time_s: &str) -> (Vec<String>, Vec<String>) {
    let text = fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let row = lines
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
        .find(|r| r[0] == time_s)
        .unwrap();
    (header, row)
}

#[test]
fn a_run_from_the_import_starts_from_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = bundled().join("scenario.toml");
    let out = ipamsim(
        &["run", scenario.to_str().unwrap(), "--out", "a", "--quiet"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let account: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(bundled().join("import.json")).unwrap()).unwrap();
    let sum = |k: &str| -> u64 {
        account["subnets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[k].as_u64().unwrap())
            .sum()
    };
    let (h, row) = sample(&dir.path().join("a"), "0");
    let col = |name: &str| {
        row[h.iter().position(|c| c == name).unwrap()]
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(col("subnet_used"), sum("used"));
    assert_eq!(col("subnet_used"), 68);
    assert_eq!(col("free_prefix_blocks"), sum("free_prefix_blocks"));
    assert_eq!(col("subnet_free"), 251 + 123 - 68);
    let nodes = fs::read_to_string(dir.path().join("a/nodes.csv")).unwrap();
    assert!(
        nodes.contains("\nip-10-20-0-37.us-west-2.compute.internal,general-m5.large,m5.large,29,"),
        "{nodes}"
    );
    // Init over the imported ENIs tags the three without ipamd's instance-id tag.
    let calls = fs::read_to_string(dir.path().join("a/ec2_calls.csv")).unwrap();
    assert!(calls.contains("\nCreateTags,3,3,"), "{calls}");
    // The same again, byte for byte.
    let again = ipamsim(
        &["run", scenario.to_str().unwrap(), "--out", "b", "--quiet"],
        dir.path(),
    );
    assert!(again.status.success());
    for f in [
        "summary.csv",
        "timeseries.csv",
        "nodes.csv",
        "ec2_calls.csv",
    ] {
        assert_eq!(
            fs::read(dir.path().join("a").join(f)).unwrap(),
            fs::read(dir.path().join("b").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn node_groups_add_nodes_and_set_overrides_imported_aws_node_values() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = bundled().join("scenario.toml");
    let out = ipamsim(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            "a",
            "--quiet",
            "--set",
            "nodegroup.batch.count=2",
            "--set",
            "WARM_IP_TARGET=0",
            "--set",
            "nodegroup.general-m5.large.count=1",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes = fs::read_to_string(dir.path().join("a/nodes.csv")).unwrap();
    assert_eq!(nodes.lines().count(), 1 + 4 + 2 + 1, "{nodes}");
    assert!(
        nodes.contains("\ngeneral-m5.large-0,general-m5.large,m5.large,"),
        "a group name with a dot is selected by --set: {nodes}"
    );
    assert!(nodes.contains("\nbatch-0,batch,c5.xlarge,"), "{nodes}");
    let s = ipamsim::scenario::Scenario::load(&scenario, &["WARM_IP_TARGET=0".into()]).unwrap();
    assert_eq!(s.cni.warm_ip_target, 0);
    assert_eq!(s.cni.minimum_ip_target, 10, "other imported values stay");
    assert_eq!(
        s.cni.warm_prefix_target, 0,
        "ipamd's code default, not the manifest's 1"
    );
    let s = ipamsim::scenario::Scenario::load(&scenario, &[]).unwrap();
    assert_eq!(s.cni.warm_ip_target, 5);
    assert_eq!(s.node_count(), 4);
    assert_eq!(
        s.node_index("ip-10-20-1-20.us-west-2.compute.internal"),
        Some(3)
    );
}

#[test]
fn start_refuses_a_subnet_table() {
    let dir = copy_fixtures();
    let text = "duration = \"1h\"\n[subnet]\ncidr = \"10.0.0.0/24\"\n[start]\nsubnets = \"export/subnets.json\"\nnetwork_interfaces = [\"export/enis-page1.json\", \"export/enis-page2.json\"]\nnodes = \"export/nodes.json\"\n";
    fs::write(dir.path().join("s.toml"), text).unwrap();
    let out = ipamsim(&["run", "s.toml", "--quiet"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("s.toml:2:1: [subnet] cannot be used with [start]"),
        "{e}"
    );
    // Without pods and aws-node, a start still runs; a bad export is the export's error.
    let text = "duration = \"10m\"\n[start]\nsubnets = \"export/subnets.json\"\nnetwork_interfaces = [\"export/enis-page1.json\", \"export/enis-page2.json\"]\nnodes = \"export/nodes.json\"\nreservations = [\"export/res-a.json\"]\n[[nodegroup]]\nname = \"more\"\ninstance_type = \"m5.large\"\ncount = 1\nsubnet = \"prod-private-2b\"\n[[workload]]\nkind = \"deployment\"\nsteps = [{ at = \"0s\", replicas = 5 }]\n";
    fs::write(dir.path().join("s.toml"), text).unwrap();
    let out = ipamsim(&["run", "s.toml", "--quiet", "--out", "o"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes = fs::read_to_string(dir.path().join("o/nodes.csv")).unwrap();
    assert!(nodes.contains("\nmore-0,more,m5.large,"), "{nodes}");
    fs::write(dir.path().join("export/nodes.json"), "kind: List\n").unwrap();
    let out = ipamsim(&["run", "s.toml", "--quiet", "--out", "o"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: export/nodes.json:1:1: not JSON (it looks like YAML); export with `kubectl get nodes -o json`"
    );
}

#[test]
fn import_set_gives_a_value_from_variable_and_the_scenario_runs() {
    let dir = copy_fixtures();
    let p = dir.path().join("export/aws-node.json");
    let text = fs::read_to_string(&p).unwrap();
    let changed = text.replace(
        "\"name\": \"WARM_ENI_TARGET\",\n                \"value\": \"1\"",
        "\"name\": \"WARM_ENI_TARGET\", \"valueFrom\": {\"configMapKeyRef\": {\"name\": \"amazon-vpc-cni\", \"key\": \"warm-eni-target\"}}",
    );
    assert_ne!(changed, text);
    fs::write(&p, changed).unwrap();
    let mut args: Vec<&str> = ARGS.to_vec();
    args.extend([
        "--set",
        "WARM_ENI_TARGET=3",
        "--set",
        "cni.MAX_ENI=2",
        "--set",
        "MAX_ENI=3",
        "--out",
        "out",
    ]);
    let out = ipamsim(&args, dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let scenario = dir.path().join("out/scenario.toml");
    let toml = fs::read_to_string(&scenario).unwrap();
    assert!(
        toml.contains("WARM_ENI_TARGET = \"3\"\nMAX_ENI = \"3\"\n"),
        "the last of one name wins: {toml}"
    );
    let s = ipamsim::scenario::Scenario::load(&scenario, &[]).unwrap();
    assert_eq!((s.cni.warm_eni_target, s.cni.max_eni), (3, Some(3)));
    assert_eq!(
        s.cni.minimum_ip_target, 10,
        "the export's other values stay"
    );

    // Anything but an aws-node variable is one line naming the flag, exit 2, nothing written.
    for bad in [
        "nodegroup.general.count=3",
        "WARM_IP_TARGET",
        "WARM_IP_TARGET=",
    ] {
        let mut args: Vec<&str> = ARGS.to_vec();
        args.extend(["--set", bad, "--out", "bad"]);
        let out = ipamsim(&args, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("'--set <NAME=VALUE>'"), "{err}");
        assert!(!dir.path().join("bad").exists());
    }
}
