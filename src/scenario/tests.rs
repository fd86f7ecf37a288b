use std::path::Path;

use super::*;
use crate::time::{HOUR, MINUTE, SECOND};

const BASE: &str = r#"duration = "2h"
[subnet]
cidr = "10.0.0.0/20"

[[nodegroup]]
name = "general"
instance_type = "m5.large"
count = 3

[[workload]]
kind = "deployment"
name = "nginx"
steps = [ { at = "0s", replicas = 80 }, { at = "30m", replicas = 110 } ]
"#;

fn load(text: &str, sets: &[&str]) -> Result<Scenario, ScenarioError> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Scenario::from_toml(text, "dir/s.toml", Path::new("."), &sets)
}

fn err(text: &str, sets: &[&str]) -> String {
    match load(text, sets) {
        Ok(_) => panic!("expected an error for {text:?} with {sets:?}"),
        Err(e) => e.to_string(),
    }
}

/// BASE with `extra` appended.
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect("needle in text")]
        .matches('\n')
        .count()
        + 1
}

#[test]
fn embedded_default_loads_and_is_worth_looking_at() {
    let s = Scenario::embedded_default(&[]).unwrap();
    assert_eq!(s.name, "default");
    assert_eq!(s.source, "<embedded default>");
    assert!(s.cni.enable_prefix_delegation);
    assert_eq!(s.subnets.len(), 1);
    assert_eq!(s.subnets[0].name.as_deref(), Some("default"));
    assert!(s.subnets[0].background.addresses > 0);
    assert!((10..=30).contains(&s.node_count()));
    assert!(s.workloads.iter().any(|w| w.kind() == "deployment"));
    assert!(s.workloads.iter().any(|w| w.kind() == "poisson"));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let s = load(BASE, &[]).unwrap();
    assert_eq!(s.name, "s", "named after the file's stem");
    assert_eq!(
        (s.seed, s.duration, s.sample_interval),
        (0, 2 * HOUR, 10 * SECOND)
    );
    assert_eq!(s.cni, CniConfig::default());
    assert_eq!(s.model, ModelConfig::default());
    let g = &s.nodegroups[0];
    assert_eq!(
        (
            g.count,
            g.max_pods,
            g.host_network_pods,
            g.subnet,
            g.pod_subnet
        ),
        (3, None, 2, 0, 0)
    );
    assert_eq!(g.instance_type.name, "m5.large");
    assert_eq!(
        s.workloads[0],
        WorkloadSpec::Deployment {
            name: "nginx".into(),
            steps: vec![(0, 80), (30 * MINUTE, 110)]
        }
    );
}

#[test]
fn the_design_example_loads() {
    // DESIGN.md §4, less the [ec2] table (its schema belongs to the EC2 model) and the
    // trace (which needs a file).
    let text = r#"
name = "prefix-m5-large"
seed = 7
duration = "2h"
sample_interval = "10s"

[subnet]
cidr = "10.0.0.0/20"
placement = "random"
background = { addresses = 1500 }
reservations = [ { cidr = "10.0.8.0/21", type = "prefix" } ]

[cni]
ENABLE_PREFIX_DELEGATION = true
WARM_PREFIX_TARGET = 1
WARM_IP_TARGET = 5
MINIMUM_IP_TARGET = 25
WARM_ENI_TARGET = 1
MAX_ENI = 3
AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = false
IP_COOLDOWN_PERIOD = 30

[model]
ip_pick = "go-map"
cni_retry = "1s"
imds_delay = "1s"

[[nodegroup]]
name = "general"
instance_type = "m5.large"
count = 3
max_pods = 110
host_network_pods = 2

[[workload]]
kind = "deployment"
name = "nginx"
steps = [ { at = "0s", replicas = 80 }, { at = "30m", replicas = 110 } ]

[[workload]]
kind = "poisson"
rate_per_min = 20
lifetime = { mean = "15m" }
start = "0s"
end = "2h"
"#;
    let s = load(text, &[]).unwrap();
    assert_eq!((s.name.as_str(), s.seed), ("prefix-m5-large", 7));
    assert_eq!(s.cni.max_eni, Some(3));
    assert_eq!(s.nodegroups[0].max_pods, Some(110));
    assert_eq!(
        s.workloads[1],
        WorkloadSpec::Poisson {
            name: "poisson-1".into(),
            rate_per_min: 20.0,
            lifetime: Lifetime::Exponential { mean: 15 * MINUTE },
            start: 0,
            end: 2 * HOUR
        }
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let text = with("\n[cni]\nWARM_IP_TARGETS = 5\n");
    let e = err(&text, &[]);
    let line = line_of(&text, "WARM_IP_TARGETS");
    assert!(e.starts_with(&format!("dir/s.toml:{line}:1: ")), "{e}");
    assert!(e.contains("WARM_IP_TARGETS"), "{e}");

    let text = BASE.replace("count = 3", "count = 3\nmaxpods = 4");
    let e = err(&text, &[]);
    assert!(
        e.starts_with(&format!("dir/s.toml:{}:", line_of(&text, "maxpods"))),
        "{e}"
    );
    assert!(e.contains("maxpods"), "{e}");

    let text = format!("colour = \"red\"\n{BASE}");
    let e = err(&text, &[]);
    assert!(
        e.starts_with("dir/s.toml:1:1: ") && e.contains("colour"),
        "{e}"
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let text = BASE.replace("count = 3", "count = = 3");
    let e = err(&text, &[]);
    assert!(
        e.starts_with(&format!("dir/s.toml:{}:", line_of(&text, "count = ="))),
        "{e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");
}

#[test]
fn unknown_instance_type_suggests_close_names_at_its_line() {
    let text = BASE.replace("\"m5.large\"", "\"m5.lrage\"");
    let e = err(&text, &[]);
    let line = line_of(&text, "m5.lrage");
    assert!(e.starts_with(&format!("dir/s.toml:{line}:17: ")), "{e}");
    assert!(e.contains("did you mean m5.large"), "{e}");
}

#[test]
fn bad_values_are_rejected_with_what_to_do() {
    let cases: &[(&str, &str, &str)] = &[
        ("count = 3", "count = -1", "cannot be negative"),
        ("count = 3", "count = 3\nmax_pods = 0", "at least 1"),
        (
            "count = 3",
            "count = 3\nhost_network_pods = -2",
            "cannot be negative",
        ),
        (
            "count = 3",
            "count = 3\nsubnet = \"pods\"",
            "names no subnet",
        ),
        (
            "duration = \"2h\"",
            "duration = \"2 hours\"",
            "invalid duration",
        ),
        ("duration = \"2h\"", "duration = 0", "duration is 0"),
        (
            "duration = \"2h\"",
            "duration = \"2h\"\nsample_interval = 0",
            "sample_interval is 0",
        ),
        (
            "duration = \"2h\"",
            "duration = \"2h\"\nsample_interval = \"3h\"",
            "longer than the duration",
        ),
        (
            "duration = \"2h\"",
            "duration = \"2h\"\nseed = -3",
            "negative",
        ),
        (
            "duration = \"2h\"",
            "duration = \"2h\"\nname = \"a/b\"",
            "folder",
        ),
        ("replicas = 110", "replicas = -5", "cannot be negative"),
        ("\"30m\"", "\"0s\"", "strictly increasing"),
        (
            "kind = \"deployment\"",
            "kind = \"cronjob\"",
            "unknown workload kind",
        ),
        (
            "kind = \"deployment\"",
            "kind = \"deployment\"\nrate_per_min = 5",
            "does not apply to a deployment",
        ),
        (
            "steps = [ { at = \"0s\", replicas = 80 }, { at = \"30m\", replicas = 110 } ]",
            "steps = []",
            "steps is empty",
        ),
        (
            "steps = [ { at = \"0s\", replicas = 80 }, { at = \"30m\", replicas = 110 } ]",
            "",
            "has no `steps`",
        ),
    ];
    for (from, to, want) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let e = err(&text, &[]);
        assert!(e.contains(want), "{to:?}: {e}");
        assert!(e.starts_with("dir/s.toml"), "{e}");
    }
    // Values ipamd would silently replace are errors that say so (CniConfig's own parser).
    let text = with("[cni]\nWARM_ENI_TARGET = -1\n");
    let e = err(&text, &[]);
    assert!(
        e.starts_with(&format!(
            "dir/s.toml:{}:",
            line_of(&text, "WARM_ENI_TARGET")
        )),
        "{e}"
    );
    assert!(e.contains("ipamd would silently use 1"), "{e}");
}

#[test]
fn poisson_values_are_checked() {
    let poisson = |body: &str| with(&format!("\n[[workload]]\nkind = \"poisson\"\n{body}\n"));
    let ok = poisson("rate_per_min = 2\nlifetime = { fixed = \"5m\" }\nstart = \"10m\"");
    let s = load(&ok, &[]).unwrap();
    assert_eq!(
        s.workloads[1],
        WorkloadSpec::Poisson {
            name: "poisson-1".into(),
            rate_per_min: 2.0,
            lifetime: Lifetime::Fixed(5 * MINUTE),
            start: 10 * MINUTE,
            end: 2 * HOUR
        }
    );
    for (body, want) in [
        ("rate_per_min = 0\nlifetime = { mean = \"5m\" }", "above 0"),
        (
            "rate_per_min = -1.5\nlifetime = { mean = \"5m\" }",
            "above 0",
        ),
        (
            "rate_per_min = 1\nlifetime = { mean = \"5m\" }\nstart = \"1h\"\nend = \"1h\"",
            "must be before end",
        ),
        (
            "rate_per_min = 1\nlifetime = { mean = \"5m\" }\nstart = \"3h\"",
            "must be before end",
        ),
        (
            "rate_per_min = 1\nlifetime = { mean = \"5m\", fixed = \"1m\" }",
            "exactly one",
        ),
        ("rate_per_min = 1\nlifetime = {}", "exactly one"),
        ("rate_per_min = 1\nlifetime = { mean = 0 }", "lifetime of 0"),
        ("rate_per_min = 1\nlifetime = { median = \"5m\" }", "median"),
        ("lifetime = { mean = \"5m\" }", "no `rate_per_min`"),
        ("rate_per_min = 1", "no `lifetime`"),
        (
            "rate_per_min = 1\nlifetime = { mean = \"5m\" }\nsteps = []",
            "does not apply to a poisson",
        ),
        (
            "rate_per_min = 1e12\nlifetime = { mean = \"5m\" }",
            "at most",
        ),
    ] {
        let e = err(&poisson(body), &[]);
        assert!(e.contains(want), "{body:?}: {e}");
    }
}

#[test]
fn names_must_be_unique_and_default_sensibly() {
    let text =
        with("[[nodegroup]]\nname = \"general\"\ninstance_type = \"m5.xlarge\"\ncount = 1\n");
    assert!(err(&text, &[]).contains("two node groups are named \"general\""));
    let text = with(
        "[[workload]]\nkind = \"deployment\"\nname = \"nginx\"\nsteps = [ { at = 0, replicas = 1 } ]\n",
    );
    assert!(err(&text, &[]).contains("two workloads are named \"nginx\""));
    let text = with(
        "[[nodegroup]]\ninstance_type = \"m5.xlarge\"\ncount = 1\n[[workload]]\nkind = \"deployment\"\nsteps = [ { at = 0, replicas = 1 } ]\n",
    );
    let s = load(&text, &[]).unwrap();
    assert_eq!(s.nodegroups[1].name, "nodegroup-1");
    assert_eq!(s.workloads[1].name(), "deployment-1");
}

#[test]
fn subnets_by_name() {
    let text = r#"duration = "1h"
[cni]
AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true
[[subnets]]
name = "nodes"
cidr = "10.0.0.0/24"
[[subnets]]
name = "pods"
cidr = "100.64.0.0/20"
[[nodegroup]]
name = "a"
instance_type = "m5.large"
count = 2
subnet = "nodes"
pod_subnet = "pods"
[[nodegroup]]
name = "b"
instance_type = "m5.large"
count = 1
subnet = "pods"
"#;
    let s = load(text, &[]).unwrap();
    assert_eq!(s.subnets.len(), 2);
    assert_eq!((s.nodegroups[0].subnet, s.nodegroups[0].pod_subnet), (0, 1));
    assert_eq!((s.nodegroups[1].subnet, s.nodegroups[1].pod_subnet), (1, 1));

    let no_custom = text.replace("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true", "");
    assert!(err(&no_custom, &[]).contains("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true"));
    let dup = text.replace("name = \"pods\"", "name = \"nodes\"");
    assert!(err(&dup, &[]).contains("two subnets are named \"nodes\""));
    let unnamed = text.replacen("name = \"pods\"\n", "", 1);
    assert!(err(&unnamed, &[]).contains("has no name"));
    let both = format!("{text}[subnet]\ncidr = \"10.1.0.0/16\"\n");
    assert!(err(&both, &[]).contains("both [subnet] and [[subnets]]"));
    let s = load(
        text,
        &[
            "subnets.pods.cidr=100.64.0.0/18",
            "subnets.0.placement=lowest",
        ],
    )
    .unwrap();
    assert_eq!(s.subnets[1].cidr, "100.64.0.0/18");
    assert_eq!(s.subnets[0].placement, crate::subnet::Placement::Lowest);
    assert!(err(text, &["subnet.cidr=10.0.0.0/22"]).contains("select one by name or index"));
    assert!(err(BASE, &["subnets.0.cidr=10.0.0.0/22"]).contains("write `subnet.KEY`"));
    let none = "duration = \"1h\"\n";
    assert_eq!(
        err(none, &[]),
        "dir/s.toml: no subnet; add a [subnet] table with a cidr (or [[subnets]] entries with a name and cidr each)"
    );
}

#[test]
fn empty_clusters_are_valid() {
    let s = load("duration = 60\n[subnet]\ncidr = \"10.0.0.0/24\"\n", &[]).unwrap();
    assert_eq!((s.node_count(), s.workloads.len()), (0, 0));
    let s = load(&BASE.replace("count = 3", "count = 0"), &[]).unwrap();
    assert_eq!(s.node_count(), 0);
}

#[test]
fn prefix_delegation_on_xen_is_a_warning() {
    let text = with("[cni]\nENABLE_PREFIX_DELEGATION = true\n").replace("m5.large", "m4.large");
    let s = load(&text, &[]).unwrap();
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("m4.large") && s.warnings[0].contains("secondary IPs"));
    // The same type without PD is silent.
    assert!(
        load(&BASE.replace("m5.large", "m4.large"), &[])
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn missing_trace_file_is_reported_at_its_path() {
    let text = with("[[workload]]\nkind = \"trace\"\npath = \"traces/nope.csv\"\n");
    let e = err(&text, &[]);
    assert!(
        e.starts_with(&format!("dir/s.toml:{}:", line_of(&text, "path ="))),
        "{e}"
    );
    assert!(e.contains("nope.csv") && e.contains("not found"), "{e}");
}

#[test]
fn overrides_by_path_by_name_and_by_variable() {
    let s = load(
        BASE,
        &[
            "subnet.cidr=10.0.0.0/22",
            "duration=4h",
            "nodegroup.general.count=10",
            "WARM_IP_TARGET=5",
            "cni.MINIMUM_IP_TARGET=20",
            "subnet.background={ addresses = 7 }",
            "workload.nginx.steps=[{ at = \"0s\", replicas = 3 }]",
            "name=2024",
            "seed=9",
            "model.ip_pick=first-fit",
        ],
    )
    .unwrap();
    assert_eq!(s.subnets[0].cidr, "10.0.0.0/22");
    assert_eq!(s.duration, 4 * HOUR);
    assert_eq!(s.nodegroups[0].count, 10);
    assert_eq!((s.cni.warm_ip_target, s.cni.minimum_ip_target), (5, 20));
    assert_eq!(s.subnets[0].background.addresses, 7);
    assert_eq!(
        s.workloads[0],
        WorkloadSpec::Deployment {
            name: "nginx".into(),
            steps: vec![(0, 3)]
        }
    );
    assert_eq!((s.name.as_str(), s.seed), ("2024", 9));
    assert_eq!(s.model.ip_pick, crate::ipamd::config::IpPick::FirstFit);

    // By index; later overrides win; unnamed entries answer to their default names.
    let s = load(
        BASE,
        &[
            "nodegroup.0.count=4",
            "nodegroup.0.count=5",
            "workload.0.name=web",
        ],
    )
    .unwrap();
    assert_eq!((s.nodegroups[0].count, s.workloads[0].name()), (5, "web"));
    let unnamed = BASE.replace("name = \"nginx\"\n", "");
    let s = load(
        &unnamed,
        &["workload.deployment-0.steps=[{at=0,replicas=1}]"],
    )
    .unwrap();
    assert_eq!(s.workloads[0].name(), "deployment-0");
}

#[test]
fn bad_overrides_name_the_override() {
    for (set, want) in [
        ("WARM_IP_TARGETS=5", "did you mean WARM_IP_TARGET"),
        ("cni.WARM_IP_TARGETS=5", "WARM_IP_TARGETS"),
        ("nodegroup.general.cuont=5", "cuont"),
        (
            "nodegroup.gpu.count=5",
            "no entry of `nodegroup` is named \"gpu\" (names: general)",
        ),
        ("nodegroup.3.count=5", "there is no entry 3"),
        ("nodegroup.general=5", "whole entry"),
        ("duration.x=5", "is a value, not a table"),
        ("WARM_IP_TARGET", "expected KEY=VALUE"),
        ("=5", "empty"),
        ("subnet..cidr=x", "empty"),
        ("nodegroup.general.count=-1", "cannot be negative"),
        ("WARM_ENI_TARGET=-1", "ipamd would silently use 1"),
        ("duration=soon", "invalid duration"),
        (
            "nodegroup.general.instance_type=m5.lrage",
            "did you mean m5.large",
        ),
    ] {
        let e = err(BASE, &[set]);
        assert!(e.starts_with(&format!("--set {set}: ")), "{set}: {e}");
        assert!(e.contains(want), "{set}: {e}");
    }
}

#[test]
fn node_index_numbers_nodes_across_groups() {
    let text = with("[[nodegroup]]\nname = \"big-2\"\ninstance_type = \"m5.xlarge\"\ncount = 2\n");
    let s = load(&text, &[]).unwrap();
    assert_eq!(s.node_count(), 5);
    assert_eq!(s.node_index("general-0"), Some(0));
    assert_eq!(s.node_index("general-2"), Some(2));
    assert_eq!(s.node_index("big-2-1"), Some(4));
    assert_eq!(s.nodegroups[1].node_name(1), "big-2-1");
    for bad in [
        "general-3",
        "general-01",
        "general-",
        "general",
        "big-2",
        "nope-0",
        "general--1",
    ] {
        assert_eq!(s.node_index(bad), None, "{bad}");
    }
}

#[test]
fn scenario_text_builds_many_scenarios() {
    let base = ScenarioText {
        text: BASE.to_string(),
        source: "s.toml".into(),
        base_dir: ".".into(),
    };
    let counts: Vec<u32> = (1..4)
        .map(|n| {
            base.build(&[format!("nodegroup.general.count={n}")])
                .unwrap()
                .node_count()
        })
        .collect();
    assert_eq!(counts, [1, 2, 3]);
}

#[test]
fn load_reads_files_and_reports_unreadable_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::create_dir(dir.path().join("traces")).unwrap();
    std::fs::write(dir.path().join("traces/t.csv"), "time_s,pod,event\n").unwrap();
    std::fs::write(
        &path,
        with("[[workload]]\nkind = \"trace\"\npath = \"traces/t.csv\"\n"),
    )
    .unwrap();
    let s = Scenario::load(&path, &[]).unwrap();
    assert_eq!(s.name, "mine");
    assert_eq!(
        s.workloads[1],
        WorkloadSpec::Trace {
            name: "trace-1".into(),
            path: dir.path().join("traces/t.csv")
        }
    );
    let e = Scenario::load(&dir.path().join("absent.toml"), &[]).unwrap_err();
    assert!(matches!(e, ScenarioError::Read { .. }), "{e}");
    let e = crate::Error::from(e);
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn schema_messages_read_well() {
    let e = err("[subnet]\ncidr = \"10.0.0.0/24\"\n", &[]);
    assert_eq!(e, "dir/s.toml: missing field `duration`; add it");
    let text = BASE.replace("count = 3", "count = \"three\"");
    let e = err(&text, &[]);
    assert!(
        e.ends_with("invalid type: string \"three\", expected an integer"),
        "{e}"
    );
    let text = BASE.replace("instance_type = \"m5.large\"\n", "");
    let e = err(&text, &[]);
    assert!(
        e.starts_with(&format!(
            "dir/s.toml:{}:1: missing field `instance_type`",
            line_of(&text, "[[nodegroup]]")
        )),
        "{e}"
    );
}
