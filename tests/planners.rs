//! The planners through the binary: `max-pods`, `calc`, `calc --spreadsheet` and
//! `instance-types`, their output formats and their error handling (one line, exit 2).

use std::process::{Command, Output};

use ipamsim::calc::{InstanceRow, Sheet, SubnetSpec, lookup, spreadsheet};
use ipamsim::catalog::{self, CniVersion, MaxPodsOptions};
use proptest::prelude::*;

fn ipamsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipamsim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(args: &[&str]) -> String {
    let out = ipamsim(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&stdout(args)).expect("valid JSON")
}

/// Exit code 2 and exactly one line on stderr, `error: …` containing `want`; nothing on stdout.
fn fails_with(args: &[&str], want: &str) {
    let out = ipamsim(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
    assert!(
        err.starts_with("error: ") && err.contains(want),
        "{args:?}: {err:?} lacks {want:?}"
    );
    assert!(!err.contains("panicked"));
    assert!(out.stdout.is_empty());
}

const EXAMPLE: [&str; 4] = [
    "--subnet",
    "10.0.0.0/23",
    "--instances",
    "m5.12xlarge:2:100,c5.2xlarge:1:30",
];

fn with_example(args: &[&str]) -> Vec<String> {
    args.iter()
        .chain(EXAMPLE.iter())
        .map(|s| s.to_string())
        .collect()
}

fn run_example(args: &[&str]) -> String {
    let v = with_example(args);
    stdout(&v.iter().map(String::as_str).collect::<Vec<_>>())
}

fn fail_example(args: &[&str], want: &str) {
    let v = with_example(args);
    fails_with(&v.iter().map(String::as_str).collect::<Vec<_>>(), want);
}

#[test]
fn max_pods_upstream_cases() {
    let mp = |args: &[&str]| {
        let mut v = vec!["max-pods"];
        v.extend_from_slice(args);
        stdout(&v)
    };
    let m5 = ["--instance-type", "m5.8xlarge", "--cni-version", "1.11.2"];
    assert_eq!(mp(&m5), "234\n");
    assert_eq!(
        mp(&[&m5[..], &["--cni-prefix-delegation-enabled"]].concat()),
        "250\n"
    );
    let c6in = [
        "--instance-type",
        "c6in.32xlarge",
        "--cni-version",
        "1.18.0",
    ];
    assert_eq!(mp(&[&c6in[..], &["--show-max-allowed"]].concat()), "394\n");
    assert_eq!(
        mp(&["--instance-type", "m4.xlarge", "--cni-version", "1.7.5"]),
        "58\n"
    );
    // --cni-version defaults to the latest CNI, which has prefix delegation.
    assert_eq!(
        mp(&[
            "--instance-type",
            "m5.large",
            "--cni-prefix-delegation-enabled"
        ]),
        "110\n"
    );
}

fn figures(v: &serde_json::Value) -> [i64; 4] {
    ["subnet_ips", "ips_used", "pods", "ips_remaining"].map(|k| v[k].as_i64().unwrap())
}

#[test]
fn spreadsheet_shipped_example() {
    let parse = |s: String| serde_json::from_str::<serde_json::Value>(&s).unwrap();
    let eni = parse(run_example(&[
        "calc",
        "--spreadsheet",
        "--warm-eni-target",
        "1",
        "--format",
        "json",
    ]));
    assert_eq!(figures(&eni), [510, 351, 230, 159]);
    let ip = parse(run_example(&[
        "calc",
        "--spreadsheet",
        "--warm-ip-target",
        "1",
        "--format",
        "json",
    ]));
    assert_eq!(figures(&ip), [510, 276, 230, 234]);
    let row = &eni["rows"][0];
    for key in [
        "instance_type",
        "count",
        "pods_per_node",
        "enis_per_node",
        "ips_per_node",
        "ips_total",
    ] {
        assert!(!row[key].is_null(), "row lacks {key}");
    }
    assert_eq!(row["instance_type"], "m5.12xlarge");
    assert_eq!(row["ips_per_node"], 152);
    // Without a target the WarmENI sheet with the manifest's 1; the table ends with the same
    // four figures, and the CSV's total row holds them.
    let table = run_example(&["calc", "--spreadsheet"]);
    assert!(table.contains("IPs remaining  159"), "{table}");
    let csv = run_example(&["calc", "--spreadsheet", "--format", "csv"]);
    assert_eq!(
        csv.lines().last().unwrap(),
        "total,3,,230,,,,,,,351,,,,,510,159"
    );
}

#[test]
fn steady_state_has_the_same_json_contract() {
    let v: serde_json::Value =
        serde_json::from_str(&run_example(&["calc", "--format", "json"])).unwrap();
    assert_eq!(figures(&v), [507, 360, 230, 147]);
    assert_eq!(v["rows"][1]["enis_per_node"], 4);
    assert_eq!(v["rows"][1]["ips_total"], 60);
    assert_eq!(v["workbook"]["ips_used"], 351);
    assert_eq!(v["difference"]["ips_remaining"], -12);
    let table = run_example(&["calc"]);
    assert!(table.contains("primary address is no pod slot"), "{table}");
    let csv = run_example(&["calc", "--prefix-delegation", "--format", "csv"]);
    assert!(csv.starts_with("instance_type,count,pods_per_node,"));
    assert_eq!(csv.lines().count(), 4);
}

#[test]
fn instance_types_lists_one_type_per_line() {
    let out = stdout(&["instance-types", "m5.large"]);
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(fields, ["m5.large", "3", "10", "nitro", "2", "29", "110"]);
    let all = stdout(&["instance-types"]);
    assert_eq!(all.lines().count(), catalog::all().len());
    let csv = stdout(&["instance-types", "c7i.32xlarge", "--format", "csv"]);
    assert_eq!(
        csv,
        "instance_type,max_enis,ipv4_per_eni,hypervisor,vcpus,max_pods_secondary_ip,max_pods_prefix\n\
         c7i.32xlarge,15,50,nitro,,110,110\n"
    );
    let v = json(&["instance-types", "m5.*", "--format", "json"]);
    let types = v.as_array().unwrap();
    assert!(!types.is_empty());
    assert!(
        types
            .iter()
            .all(|t| t["instance_type"].as_str().unwrap().starts_with("m5."))
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let calc = |subnet: &str, instances: &str, want: &str| {
        fails_with(
            &["calc", "--subnet", subnet, "--instances", instances],
            want,
        )
    };
    calc("10.0.0.0/23", "m5.lrage:1:1", "did you mean m5.large");
    calc("10.0.0.0/23", "m5.large:1", "TYPE:COUNT:PODS");
    calc("10.0.0.0/23", "m5.large:x:1", "not a whole number");
    calc("10.0.0.0/23", "m5.large:1:-4", "is negative");
    calc("10.0.0.0/29", "m5.large:1:1", "EC2 subnets are /16 to /28");
    calc("10.0.0.0/8", "m5.large:1:1", "EC2 subnets are /16 to /28");
    calc("10.0.1.0/23", "m5.large:1:1", "did you mean 10.0.0.0/23?");
    calc("banana", "m5.large:1:1", "invalid CIDR");
    fails_with(&["calc", "--instances", "m5.large:1:1"], "needs --subnet");
    fails_with(&["calc", "--subnet", "10.0.0.0/23"], "needs --instances");
    fail_example(
        &[
            "calc",
            "--spreadsheet",
            "--warm-eni-target",
            "1",
            "--warm-ip-target",
            "2",
        ],
        "not both",
    );
    fail_example(
        &["calc", "--spreadsheet", "--custom-networking"],
        "drop --custom-networking",
    );
    fail_example(&["calc", "--warm-ip-target", "-1"], "is negative");
    fail_example(&["calc", "--warm-eni-target=-3"], "is negative");
    fail_example(
        &["calc", "--spreadsheet", "--warm-eni-target", "-1"],
        "is negative",
    );
    fail_example(&["calc", "--minimum-ip-target", "-1"], "is negative");
    fail_example(&["calc", "--max-eni", "0"], "below 1");
    fail_example(&["calc", "--format", "yaml"], "table, csv or json");
    fails_with(
        &["max-pods", "--instance-type", "m5.lrage"],
        "did you mean m5.large",
    );
    fails_with(
        &["max-pods", "--cni-version", "1.9.0"],
        "needs --instance-type",
    );
    fails_with(
        &[
            "max-pods",
            "--instance-type",
            "m5.large",
            "--cni-version",
            "latest",
        ],
        "not a CNI version",
    );
    fails_with(
        &[
            "max-pods",
            "--instance-type",
            "m5.large",
            "--cni-max-eni",
            "-2",
        ],
        "is negative",
    );
    fails_with(&["instance-types", "m5.lrage"], "no instance type matches");
}

fn cli_max_pods(t: &str, o: &MaxPodsOptions, version: &str) -> u32 {
    let max_eni = o.max_eni.map(|n| n.to_string());
    let mut args = vec!["max-pods", "--instance-type", t, "--cni-version", version];
    if o.custom_networking {
        args.push("--cni-custom-networking-enabled");
    }
    if o.prefix_delegation {
        args.push("--cni-prefix-delegation-enabled");
    }
    if let Some(n) = &max_eni {
        args.extend(["--cni-max-eni", n]);
    }
    if o.show_max_allowed {
        args.push("--show-max-allowed");
    }
    stdout(&args).trim().parse().expect("a number alone")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The binary prints what the library computes (the library is checked against the
    /// script itself in its unit tests).
    #[test]
    fn binary_max_pods_is_the_library(
        i in 0..catalog::all().len(),
        minor in 5u32..25,
        custom: bool,
        pd: bool,
        max_eni in proptest::option::of(1u32..16),
        show: bool,
    ) {
        let t = &catalog::all()[i];
        let version = format!("1.{minor}.0");
        let o = MaxPodsOptions {
            cni_version: CniVersion { major: 1, minor, patch: 0 },
            custom_networking: custom,
            prefix_delegation: pd,
            max_eni,
            show_max_allowed: show,
        };
        prop_assert_eq!(cli_max_pods(&t.name, &o, &version), catalog::max_pods(t, &o));
    }

    /// The binary's `--spreadsheet` JSON is the workbook for random rows and targets.
    #[test]
    fn binary_spreadsheet_is_the_workbook(
        prefix in 16u8..=28,
        warm_ip: bool,
        target in 0u32..6,
        rows in prop::collection::vec((0..lookup::all().len(), 1u32..30, 0u32..300), 1..4),
    ) {
        let spec: Vec<String> = rows
            .iter()
            .map(|&(i, n, p)| format!("{}:{n}:{p}", lookup::all()[i].instance_type.name))
            .collect();
        let subnet = format!("10.0.0.0/{prefix}");
        let target_s = target.to_string();
        let flag = if warm_ip { "--warm-ip-target" } else { "--warm-eni-target" };
        let joined = spec.join(",");
        let v = json(&[
            "calc", "--spreadsheet", "--format", "json", "--subnet", &subnet,
            "--instances", &joined, flag, &target_s,
        ]);
        let input: Vec<InstanceRow> = rows
            .iter()
            .map(|&(i, n, p)| InstanceRow {
                instance_type: &lookup::all()[i].instance_type,
                count: n,
                pods_per_node: p,
            })
            .collect();
        let sheet = if warm_ip { Sheet::WarmIp(target) } else { Sheet::WarmEni(target) };
        let spec = SubnetSpec { cidr: subnet.parse().unwrap() };
        let want = spreadsheet::workbook(&spec, sheet, 2, &input);
        prop_assert_eq!(v, serde_json::to_value(&want).unwrap());
    }
}

/// Parity mode looks types up in the workbook's own table: the 13 types only it knows work,
/// a type it lacks is the `#N/A` it shows, said in one line; the WarmIP sheet's visible
/// "Warm ENIs Needed" column is 1 where the spare addresses are fewer than the target.
#[test]
fn spreadsheet_uses_the_workbooks_own_lookup_table() {
    let only_in_workbook = "g2.2xlarge,g2.8xlarge,g3.4xlarge,g3.8xlarge,g3.16xlarge,g3s.xlarge,\
        p2.xlarge,p2.8xlarge,p2.16xlarge,cc2.8xlarge,i3.metal,u-9tb1.112xlarge,u-12tb1.112xlarge";
    let rows: Vec<String> = only_in_workbook
        .split(',')
        .map(|t| format!("{t}:1:10"))
        .collect();
    let v: serde_json::Value = serde_json::from_str(&stdout(&[
        "calc",
        "--spreadsheet",
        "--subnet",
        "10.0.0.0/20",
        "--instances",
        &rows.join(","),
        "--warm-ip-target",
        "5",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 13);
    // g3.4xlarge: 30 addresses per ENI, 10 pods on one ENI leave 20 spare ≥ 5: no warm ENI.
    let g3 = &v["rows"][2];
    assert_eq!(g3["ipv4_per_eni"], 30);
    assert_eq!(g3["warm_enis"], 0);
    assert_eq!(g3["ips_per_node"], 32);

    let out = ipamsim(&[
        "calc",
        "--spreadsheet",
        "--subnet",
        "10.0.0.0/20",
        "--instances",
        "m7i.large:1:10",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("m7i.large") && err.contains("#N/A"), "{err}");
    // Without --spreadsheet the same type is ipamd's.
    stdout(&[
        "calc",
        "--subnet",
        "10.0.0.0/20",
        "--instances",
        "m7i.large:1:10",
    ]);
}
