//! The fuzzer (issue 14): structure-aware proptest strategies generate scenario TOML, trace
//! CSV and `--set` / `--vary` lines — mostly well-formed, with values drawn from pools of the
//! edges (zero, negative, huge, malformed, names with commas and line breaks), then lightly
//! mutated byte-wise — and drive the library's entry points: `Scenario::from_toml`, the
//! engine, every output file's renderer, and the sweep plan.
//!
//! Asserted for every case:
//! - no panic;
//! - a refusal is a typed bad-input error (exit code 2) of one line;
//! - a scenario that is accepted runs to the end within [`MAX_EVENTS`] events (plus one per
//!   `cni_retry` for each pod that waited for an address: kubelet's retries are the model's
//!   own work) and [`TIME_LIMIT`] of wall time (generated runs are at most 2 h of up to 8
//!   nodes and a few thousand pods, so either bound being hit means a loop, not a big run).
//!
//! CI runs [`CI_CASES`] cases (`cargo test --release --test fuzz`, a few seconds). The long
//! pass is one command, with any number of cases:
//!
//! ```text
//! IPAMSIM_FUZZ_CASES=200000 cargo test --release --test fuzz -- --nocapture
//! ```
//!
//! A failure prints the shrunk input (the TOML, the trace and the overrides) and proptest
//! stores its seed in `tests/fuzz.proptest-regressions`, replayed first from then on.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use ipamsim::scenario::Scenario;
use proptest::prelude::*;
use proptest::sample::select;

/// Cases in the CI pass.
const CI_CASES: u32 = 2_000;
/// The most events an accepted generated scenario may take.
const MAX_EVENTS: u64 = 20_000_000;
/// The most wall time one case may take.
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn cases() -> u32 {
    std::env::var("IPAMSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CI_CASES)
}

/// A fixed seed for the CI pass, a fresh one for the long pass.
fn rng_seed() -> proptest::test_runner::RngSeed {
    match std::env::var_os("IPAMSIM_FUZZ_CASES") {
        Some(_) => proptest::test_runner::RngSeed::Random,
        None => proptest::test_runner::RngSeed::Fixed(0x1b5a_4d17),
    }
}

/// Mostly one of `valid`, sometimes one of `edge`: each value is an edge rarely enough that
/// a good share of the generated scenarios are accepted and run.
fn pick(valid: Vec<&'static str>, edge: Vec<&'static str>) -> impl Strategy<Value = String> {
    pick_w(40, valid, edge)
}

/// [`pick`] with `weight` valid values to one edge.
fn pick_w(
    weight: u32,
    valid: Vec<&'static str>,
    edge: Vec<&'static str>,
) -> impl Strategy<Value = String> {
    prop_oneof![weight => select(valid), 1 => select(edge)].prop_map(str::to_string)
}

/// Quoted TOML string (or a raw token when it starts with `@`).
fn lit(v: &str) -> String {
    match v.strip_prefix('@') {
        Some(raw) => raw.to_string(),
        None => format!("{v:?}"),
    }
}

fn duration() -> impl Strategy<Value = String> {
    pick(
        vec!["1s", "90s", "10m", "30m", "1h", "100ms", "@600", "1.5s"],
        vec![
            "2h",
            "0s",
            "1ms",
            "0.4ms",
            "99ms",
            "100ms",
            "1.5s",
            "1h30m",
            "-5s",
            "",
            "abc",
            "1e400s",
            "36500d",
            "366d",
            "@0",
            "@-1",
            "@600",
            "@18446744073709555",
            "@9223372036854775807",
            "@1.5",
            "@true",
        ],
    )
    .prop_map(|s| lit(&s))
}

/// A duration that keeps accepted runs short.
fn run_length() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => select(vec!["1m", "10m", "30m", "1h", "2h", "@600"]).prop_map(lit),
        1 => duration(),
    ]
}

fn int() -> impl Strategy<Value = String> {
    pick(
        vec!["0", "1", "2", "3", "5", "16"],
        vec![
            "-1",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "\"5\"",
            "\"x\"",
            "1.5",
            "true",
        ],
    )
}

fn small_count() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => (0u32..8).prop_map(|n| n.to_string()),
        1 => int(),
        1 => select(vec!["1000001", "2000000", "-1"]).prop_map(str::to_string),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        60 => "[a-z][a-z0-9-]{0,8}",
        1 => select(vec![
            "a,b", "a\"b", "ü-ß", "a\nb", "", " ", ".", "..", "a/b", "<x>", "a\tb",
        ])
        .prop_map(str::to_string),
        1 => Just("x".repeat(300)),
    ]
}

fn cidr() -> impl Strategy<Value = String> {
    pick(
        vec![
            "10.0.0.0/28",
            "10.0.0.0/26",
            "10.0.0.0/24",
            "10.0.0.0/22",
            "10.0.0.0/20",
            "100.64.0.0/19",
            "10.0.0.0/16",
        ],
        vec![
            "10.0.0.1/28",
            "10.0.0.0/29",
            "10.0.0.0/15",
            "10.0.0.0/33",
            "300.0.0.0/24",
            "garbage",
            "",
        ],
    )
}

/// `availability_zone`: mostly one of two zones (so subnets share one now and then).
fn zone() -> impl Strategy<Value = String> {
    pick(
        vec!["us-east-1a", "us-east-1a", "us-east-1a", "us-east-1b"],
        vec!["", " ", "a\nb", "@1", "@true", "us-east-1a\t"],
    )
    .prop_map(|z| lit(&z))
}

/// `tags = { … }`: the subnet-discovery tag with the values upstream tells apart, other
/// tags, and the edges (empty or odd keys, values that are not strings).
fn tags() -> impl Strategy<Value = String> {
    let tag = prop_oneof![
        24 => pick(vec!["1", "1", "0", "", "yes"], vec!["\n", "@1", "@true"])
            .prop_map(|v| ("\"kubernetes.io/role/cni\"".to_string(), v)),
        8 => pick(vec!["pods", "a,b", "ü"], vec!["\t"]).prop_map(|v| ("Name".to_string(), v)),
        1 => select(vec!["\"\"", "\" \"", "\"a\\nb\"", "\"kubernetes.io/role/elb\""])
            .prop_map(|k| (k.to_string(), "1".to_string())),
    ];
    prop::collection::vec(tag, 1..3).prop_map(|tags| {
        let mut seen = std::collections::BTreeSet::new();
        let items: Vec<String> = tags
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .map(|(k, v)| match v.strip_prefix('@') {
                Some(raw) => format!("{k} = {raw}"),
                None => format!("{k} = {v:?}"),
            })
            .collect();
        format!("tags = {{ {} }}\n", items.join(", "))
    })
}

fn subnet_table(header: &'static str, named: bool) -> impl Strategy<Value = String> {
    subnet_named(
        header,
        name().prop_map(move |n| named.then_some(n)),
        cidr(),
        0.2,
    )
}

/// A subnet table named by `names` (`None`: no name key), now and then with a zone and tags.
fn subnet_named(
    header: &'static str,
    names: impl Strategy<Value = Option<String>>,
    cidrs: impl Strategy<Value = String>,
    zoned: f64,
) -> impl Strategy<Value = String> {
    (
        names,
        cidrs,
        prop::option::of(pick(vec!["lowest", "random"], vec!["spread", "nope"])),
        prop::option::of(pick(vec!["0", "5", "40"], vec!["-1", "100000"])),
        prop::option::weighted(zoned, zone()),
        prop::option::weighted(zoned, tags()),
    )
        .prop_map(move |(n, c, p, bg, z, tags)| {
            let mut t = format!("\n{header}\n");
            if let Some(n) = n {
                t += &format!("name = {n:?}\n");
            }
            t += &format!("cidr = {c:?}\n");
            if let Some(p) = p {
                t += &format!("placement = {p:?}\n");
            }
            if let Some(bg) = bg {
                t += &format!("background = {{ addresses = {bg} }}\n");
            }
            if let Some(z) = z {
                t += &format!("availability_zone = {z}\n");
            }
            t += &tags.unwrap_or_default();
            t
        })
}

/// Subnet discovery's ground: the node groups' `default` subnet and `pods` beside it (the
/// node groups name them), each mostly zoned and tagged, mostly in ranges that do not
/// overlap.
fn discovery_subnets() -> impl Strategy<Value = String> {
    (
        subnet_named(
            "[[subnets]]",
            Just(Some("default".to_string())),
            cidr(),
            0.95,
        ),
        subnet_named(
            "[[subnets]]",
            Just(Some("pods".to_string())),
            pick(
                vec!["100.64.0.0/28", "100.64.0.0/26", "100.64.0.0/19"],
                vec!["10.0.0.0/28"],
            ),
            0.95,
        ),
        prop::option::of(subnet_named(
            "[[subnets]]",
            Just(Some("other".to_string())),
            pick(vec!["10.1.0.0/28", "10.1.0.0/24"], vec!["100.64.0.0/28"]),
            0.8,
        )),
    )
        .prop_map(|(a, b, c)| a + &b + &c.unwrap_or_default())
}

fn instance_type() -> impl Strategy<Value = String> {
    pick(
        vec![
            "m5.large",
            "m5.xlarge",
            "t3.nano",
            "t3.medium",
            "c5.large",
            "c7g.metal",
            "m4.large",
        ],
        vec!["g2.2xlarge", "nope.large", ""],
    )
}

fn nodegroup() -> impl Strategy<Value = String> {
    (
        prop::option::of(name()),
        instance_type(),
        small_count(),
        prop::option::weighted(0.1, int()),
        prop::option::weighted(0.1, int()),
        prop::option::of(pick(vec!["default"], vec!["nodes", "pods", "nope"])),
        prop::option::of(duration()),
    )
        .prop_map(|(n, t, count, max_pods, host, subnet, start)| {
            let mut s = "\n[[nodegroup]]\n".to_string();
            if let Some(n) = n {
                s += &format!("name = {n:?}\n");
            }
            s += &format!("instance_type = {t:?}\ncount = {count}\n");
            if let Some(m) = max_pods {
                s += &format!("max_pods = {m}\n");
            }
            if let Some(h) = host {
                s += &format!("host_network_pods = {h}\n");
            }
            if let Some(sub) = subnet {
                s += &format!("subnet = {sub:?}\n");
            }
            if let Some(st) = start {
                s += &format!("start = {st}\n");
            }
            s
        })
}

/// A Karpenter `[[nodepool]]` (issue 10 item 3), now and then none of its optional keys.
fn nodepool() -> impl Strategy<Value = String> {
    (
        name(),
        prop::collection::vec(instance_type(), 0..3),
        pick(
            vec!["[\"default\"]"],
            vec!["[]", "[\"nope\"]", "[\"default\", \"default\"]"],
        ),
        prop::option::of(pick(vec!["0", "1", "3", "50"], vec!["-1", "4294967296"])),
        prop::option::of(pick(
            vec!["WhenEmpty", "WhenEmptyOrUnderutilized"],
            vec!["Balanced", "whenempty", ""],
        )),
        prop::option::of(pick(
            vec!["0s", "30s", "5m", "Never"],
            vec!["-1s", "never", "1e400s", ""],
        )),
        prop::option::weighted(0.1, int()),
    )
        .prop_map(|(n, types, subnets, limit, policy, after, max_pods)| {
            let types: Vec<String> = types.iter().map(|t| format!("{t:?}")).collect();
            let mut s = format!(
                "\n[[nodepool]]\nname = {n:?}\ninstance_types = [{}]\nsubnets = {subnets}\n",
                types.join(", ")
            );
            if let Some(l) = limit {
                s += &format!("limits = {{ nodes = {l} }}\n");
            }
            let mut d = Vec::new();
            if let Some(p) = policy {
                d.push(format!("consolidation_policy = {p:?}"));
            }
            if let Some(a) = after {
                d.push(format!("consolidate_after = {a:?}"));
            }
            if !d.is_empty() {
                s += &format!("disruption = {{ {} }}\n", d.join(", "));
            }
            if let Some(m) = max_pods {
                s += &format!("max_pods = {m}\n");
            }
            s
        })
}

fn workload() -> impl Strategy<Value = String> {
    // Step times in order (a subsequence), now and then any duration in any order.
    let times = prop_oneof![
        20 => prop::sample::subsequence(vec!["\"0s\"", "\"1m\"", "\"5m\"", "\"20m\"", "\"45m\"", "\"3h\""], 1..4)
            .prop_map(|v| v.into_iter().map(String::from).collect::<Vec<_>>()),
        1 => prop::collection::vec(duration(), 0..4),
    ];
    let steps = (times, prop::collection::vec(small_count(), 4)).prop_map(|(times, counts)| {
        let items: Vec<String> = times
            .iter()
            .zip(counts)
            .map(|(at, r)| format!("{{ at = {at}, replicas = {r} }}"))
            .collect();
        format!("steps = [{}]\n", items.join(", "))
    });
    let poisson = (
        pick(
            vec!["0.5", "5", "30"],
            vec!["0", "-1", "nan", "inf", "1e-300", "\"x\""],
        ),
        pick(vec!["mean", "fixed"], vec!["both", "none"]),
        duration(),
        prop::option::of(duration()),
        prop::option::of(duration()),
    )
        .prop_map(|(rate, kind, life, start, end)| {
            let lifetime = match kind.as_str() {
                "mean" | "fixed" => format!("{{ {kind} = {life} }}"),
                "both" => format!("{{ mean = {life}, fixed = {life} }}"),
                _ => "{}".to_string(),
            };
            let mut s = format!("rate_per_min = {rate}\nlifetime = {lifetime}\n");
            if let Some(st) = start {
                s += &format!("start = {st}\n");
            }
            if let Some(e) = end {
                s += &format!("end = {e}\n");
            }
            s
        });
    let body = prop_oneof![
        12 => (Just("deployment"), steps),
        12 => (Just("poisson"), poisson),
        12 => (Just("trace"), Just("path = \"trace.csv\"\n".to_string())),
        1 => (
            select(vec!["deployment", "poisson", "trace", "cronjob"]),
            Just(String::new())
        ),
    ];
    (prop::option::of(name()), body).prop_map(|(n, (kind, body))| {
        let mut s = format!("\n[[workload]]\nkind = {kind:?}\n");
        if let Some(n) = n {
            s += &format!("name = {n:?}\n");
        }
        s + &body
    })
}

fn cni() -> impl Strategy<Value = String> {
    let boolean = || pick(vec!["true", "false", "\"true\""], vec!["5", "\"yes\""]);
    let var = prop_oneof![
        (Just("ENABLE_PREFIX_DELEGATION"), boolean()),
        (Just("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"), boolean()),
        (Just("WARM_ENI_TARGET"), int()),
        (Just("WARM_IP_TARGET"), int()),
        (Just("MINIMUM_IP_TARGET"), int()),
        (Just("WARM_PREFIX_TARGET"), int()),
        (Just("MAX_ENI"), int()),
        (Just("IP_COOLDOWN_PERIOD"), int()),
        (Just("ENABLE_SUBNET_DISCOVERY"), boolean()),
    ];
    prop::collection::vec(var, 0..3).prop_map(|vars| {
        let mut seen = std::collections::BTreeSet::new();
        let mut s = "\n[cni]\n".to_string();
        for (k, v) in vars {
            if seen.insert(k) {
                s += &format!("{k} = {v}\n");
            }
        }
        s
    })
}

fn model_and_ec2() -> impl Strategy<Value = String> {
    (
        prop::option::weighted(
            0.4,
            pick(vec!["auto-mode", "vpc-cni"], vec!["AutoMode", "auto", "", "@1"]),
        ),
        prop::option::of(duration()),
        prop::option::of(pick(vec!["go-map", "first-fit", "random"], vec!["nope"])),
        prop::option::of(duration()),
        prop::option::of((
            pick(
                vec![
                    "AssignPrivateIpAddresses",
                    "CreateNetworkInterface",
                    "AttachNetworkInterface",
                ],
                vec!["Nope"],
            ),
            prop_oneof![
                duration(),
                duration().prop_map(|d| format!("{{ exponential = {d} }}")),
                (duration(), duration()).prop_map(|(a, b)| format!("{{ uniform = [{a}, {b}] }}")),
            ],
        )),
        prop::option::of((
            pick(vec!["1", "10"], vec!["0", "-1", "4294967296"]),
            pick(vec!["0", "0.5", "2"], vec!["1e7", "-1"]),
        )),
    )
        .prop_map(|(networking, retry, pick, imds, latency, bucket)| {
            let mut s = "\n[model]\n".to_string();
            if let Some(n) = networking {
                s += &format!("networking = {}\n", lit(&n));
            }
            if let Some(r) = retry {
                s += &format!("cni_retry = {r}\n");
            }
            if let Some(p) = pick {
                s += &format!("ip_pick = {p:?}\n");
            }
            if let Some(i) = imds {
                s += &format!("imds_delay = {i}\n");
            }
            if let Some((action, l)) = latency {
                s += &format!("\n[ec2.latency]\n{action} = {l}\n");
            }
            if let Some((cap, refill)) = bucket {
                s += &format!(
                    "\n[ec2.throttle.AssignPrivateIpAddresses]\ncapacity = {cap}\nrefill_per_s = {refill}\n"
                );
            }
            s
        })
}

/// A whole scenario file.
fn scenario_toml() -> impl Strategy<Value = String> {
    let subnets = prop_oneof![
        40 => subnet_table("[subnet]", false),
        6 => subnet_table("[subnet]", true),
        6 => (subnet_table("[[subnets]]", true), subnet_table("[[subnets]]", true))
            .prop_map(|(a, b)| a + &b),
        16 => discovery_subnets(),
        1 => Just(String::new()),
    ];
    (
        prop::option::of(name()),
        prop::option::of(pick(
            vec!["0", "1", "9223372036854775807"],
            vec!["-1", "\"7\""],
        )),
        run_length(),
        prop_oneof![
            6 => Just(None),
            2 => select(vec!["\"1s\"", "\"10s\"", "\"30s\"", "\"100ms\""]).prop_map(|s| Some(s.to_string())),
            1 => duration().prop_map(Some),
        ],
        subnets,
        prop::option::of(cni()),
        prop::option::of(model_and_ec2()),
        prop::collection::vec(nodegroup(), 1..3),
        prop::collection::vec(workload(), 1..3),
        prop::collection::vec(nodepool(), 0..2),
    )
        .prop_map(
            |(n, seed, dur, sample, subnets, cni, model, groups, loads, pools)| {
                let mut s = String::new();
                if let Some(n) = n {
                    s += &format!("name = {n:?}\n");
                }
                if let Some(seed) = seed {
                    s += &format!("seed = {seed}\n");
                }
                s += &format!("duration = {dur}\n");
                if let Some(i) = sample {
                    s += &format!("sample_interval = {i}\n");
                }
                s += &subnets;
                s += &cni.unwrap_or_default();
                s += &model.unwrap_or_default();
                for g in groups {
                    s += &g;
                }
                for w in loads {
                    s += &w;
                }
                for p in pools {
                    s += &p;
                }
                s
            },
        )
}

/// A trace file: a header, then rows mostly well-formed.
fn trace_csv() -> impl Strategy<Value = String> {
    let header = pick_w(
        40,
        vec!["time_s,pod,event,node", "time_s,pod,event"],
        vec!["\u{feff}time_s,pod,event", "time,pod,event", ""],
    );
    let row = (
        pick_w(
            60,
            vec!["0", "1", "2.5", "30", "600"],
            vec!["-1", "nan", "inf", "1e12", "", "x"],
        ),
        pick_w(60, vec!["a", "b", "c"], vec!["a,b", "\"q\"", ""]),
        pick_w(60, vec!["add", "delete"], vec!["ADD", "evict", ""]),
        prop::option::of(pick_w(
            60,
            vec!["nodegroup-0-0", ""],
            vec!["general-0", "x-99"],
        )),
    )
        .prop_map(|(t, p, e, n)| match n {
            Some(n) => format!("{t},{p},{e},{n}"),
            None => format!("{t},{p},{e}"),
        });
    (header, prop::collection::vec(row, 0..12))
        .prop_map(|(h, rows)| format!("{h}\n{}\n", rows.join("\n")))
}

/// `--set` lines.
fn sets() -> impl Strategy<Value = Vec<String>> {
    let key = prop_oneof![
        select(vec![
            "WARM_IP_TARGET",
            "MINIMUM_IP_TARGET",
            "ENABLE_PREFIX_DELEGATION",
            "duration",
            "sample_interval",
            "seed",
            "name",
            "subnet.cidr",
            "subnet.name",
            "subnets.0.cidr",
            "nodegroup.0.count",
            "nodegroup.nodegroup-0.start",
            "nodegroup.9.count",
            "workload.0.steps",
            "model.cni_retry",
            "model.ip_pick",
            "ec2.latency.CreateNetworkInterface",
            "subnet.background.addresses",
            "NOT_A_VAR",
            "a..b",
            "",
            "x.y.z",
        ])
        .prop_map(str::to_string),
        (1usize..40).prop_map(|n| vec!["a"; n].join(".")),
    ];
    let value = prop_oneof![
        int(),
        duration(),
        cidr(),
        select(vec![
            "[1, 2]",
            "{ addresses = 3 }",
            "[[[[[[[[",
            "\"unterminated",
            "a\nb",
            "",
            "[ { at = \"0s\", replicas = 3 } ]",
        ])
        .prop_map(String::from),
    ];
    let typed = prop_oneof![
        (Just("WARM_IP_TARGET"), int()),
        (Just("MINIMUM_IP_TARGET"), int()),
        (Just("nodegroup.0.count"), int()),
        (Just("duration"), run_length()),
        (Just("model.cni_retry"), duration()),
        (Just("subnet.cidr"), cidr()),
        (Just("seed"), int()),
        (
            Just("ENABLE_SUBNET_DISCOVERY"),
            pick(vec!["true", "false"], vec!["1", "\"\""])
        ),
        (
            Just("model.networking"),
            pick(vec!["auto-mode", "vpc-cni"], vec!["none"])
        ),
        (Just("subnets.1.availability_zone"), zone()),
        (
            Just("subnets.pods.tags"),
            tags().prop_map(|t| t["tags = ".len()..].trim().to_string())
        ),
    ]
    .prop_map(|(k, v)| format!("{k}={v}"));
    prop::collection::vec(
        prop_oneof![
            30 => typed,
            3 => (key, value).prop_map(|(k, v)| format!("{k}={v}")),
            1 => Just("no-equals-sign".to_string()),
        ],
        0..3,
    )
}

/// A few byte-level edits of the generated text: deletions, duplications, stray bytes.
fn mutate(text: &str, edits: &[(usize, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(at, op) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = at % bytes.len();
        match op % 4 {
            0 => {
                bytes.remove(i);
            }
            1 => {
                let b = bytes[i];
                bytes.insert(i, b);
            }
            2 => bytes.insert(i, b"=[]{}\"',.\n#"[op as usize % 11]),
            _ => bytes.truncate(i),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Builds and runs one case; returns what went wrong, if anything.
fn check(dir: &Path, text: &str, overrides: &[String]) -> Result<(), String> {
    let scenario = match Scenario::from_toml(text, "fuzz.toml", dir, overrides) {
        Ok(s) => s,
        Err(e) => {
            let err = ipamsim::Error::from(e);
            return one_line_bad_input(&err);
        }
    };
    let (tx, rx) = mpsc::channel();
    let s = scenario.clone();
    // A pod waiting for an address retries every `cni_retry` (kubelet's CNI retry): that is
    // the model's own work, not a loop, so each waiting pod may add one event per retry over
    // the run on top of the fixed allowance.
    let retries_per_pod = s.duration / s.model.cni_retry.millis().max(1);
    std::thread::spawn(move || {
        let result = ipamsim::engine::run(&s).map(|out| {
            // Every file a run writes, rendered: names with commas, empty series, …
            let files = ipamsim::report::render_run(&out);
            (
                out.summary.events,
                out.summary.pods_waited_for_ip,
                files.len(),
            )
        });
        let _ = tx.send(result);
    });
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(Ok((events, waited, _)))
            if events > MAX_EVENTS + u64::from(waited) * retries_per_pod =>
        {
            Err(format!(
                "{events} events, more than {MAX_EVENTS} + {waited} waiting pods × {retries_per_pod} retries"
            ))
        }
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => one_line_bad_input(&e),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "the run did not finish in {TIME_LIMIT:?}: a loop (duration {} ms)",
            scenario.duration
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("the run panicked".into()),
    }
}

fn one_line_bad_input(err: &ipamsim::Error) -> Result<(), String> {
    let msg = err.to_string();
    if err.exit_code() != 2 {
        return Err(format!("exit {} for bad input: {msg}", err.exit_code()));
    }
    if msg.contains('\n') || msg.trim().is_empty() {
        return Err(format!("not one line: {msg:?}"));
    }
    Ok(())
}

/// Cases the fuzzer found, kept as plain tests (a proptest seed replays the generator, so it
/// stops pointing at the case once the strategies change).
#[test]
fn found_by_the_fuzzer() {
    let dir = tempfile::tempdir().unwrap();
    // An override that selects no entry lists the names, one of which holds a line break.
    let text = "duration = \"1m\"\n[subnet]\ncidr = \"10.0.0.0/28\"\n[[nodegroup]]\nname = \"a\\nb\"\ninstance_type = \"m5.large\"\ncount = 0\n";
    let sets = vec!["nodegroup.nodegroup-0.start=0".to_string()];
    assert_eq!(check(dir.path(), text, &sets), Ok(()));
    // A --vary value with a line break labelled its sweep cell over two lines.
    let source = ipamsim::scenario::ScenarioText {
        text: text.into(),
        source: "fuzz.toml".into(),
        base_dir: dir.path().to_path_buf(),
    };
    let err = "subnet.cidr=a\nb,1"
        .parse::<ipamsim::sweep::Vary>()
        .unwrap_err();
    assert_eq!(one_line_bad_input(&err), Ok(()));
    let vary = vec!["subnet.cidr=a b,1".parse().unwrap()];
    let err = ipamsim::sweep::sweep(&source, &[], &vary, 1, 1, false, |_| {
        Err(ipamsim::Error::Usage("stop".into()))
    })
    .unwrap_err();
    assert_eq!(one_line_bad_input(&err), Ok(()));
    // Two subnets over one range, one of them tagged in the nodes' zone: discovery gave a
    // node ENIs with the same addresses, and ipamd's datastore panicked. Overlapping
    // subnets are now refused (EC2 never has them in one VPC).
    let text = "duration = \"10m\"\n[[subnets]]\nname = \"default\"\ncidr = \"10.0.0.0/26\"\navailability_zone = \"us-east-1a\"\n[[subnets]]\nname = \"other\"\ncidr = \"10.0.0.0/28\"\navailability_zone = \"us-east-1a\"\ntags = { \"kubernetes.io/role/cni\" = \"1\" }\n[[nodegroup]]\ninstance_type = \"m5.large\"\ncount = 5\n[[workload]]\nkind = \"poisson\"\nrate_per_min = 30\nlifetime = { mean = \"1.5s\" }\nstart = \"1s\"\n";
    assert_eq!(check(dir.path(), text, &[]), Ok(()));
    let e = Scenario::from_toml(text, "fuzz.toml", dir.path(), &[]).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "fuzz.toml:6:1: subnet \"other\" (10.0.0.0/28) overlaps subnet \"default\""
        ),
        "{e}"
    );
}

/// The generators reach the paths they are meant to: of a fixed sample of generated
/// scenarios, some are accepted with zoned subnets sharing a zone and a
/// `kubernetes.io/role/cni` tag (subnet discovery's choice), with discovery on, and with EKS
/// Auto Mode — so the property below runs them, not only their refusals.
#[test]
fn the_generators_reach_subnet_discovery_and_auto_mode() {
    use ipamsim::ipamd::config::Networking;
    use proptest::strategy::ValueTree;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trace.csv"), "time_s,pod,event\n0,a,add\n").unwrap();
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        ProptestConfig::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let (mut discovery, mut auto_mode, mut accepted) = (0, 0, 0);
    for _ in 0..400 {
        let text = scenario_toml().new_tree(&mut runner).unwrap().current();
        let Ok(s) = Scenario::from_toml(&text, "fuzz.toml", dir.path(), &[]) else {
            continue;
        };
        accepted += 1;
        let zoned_pair = s.subnets.iter().enumerate().any(|(i, a)| {
            a.availability_zone.is_some()
                && s.subnets[i + 1..]
                    .iter()
                    .any(|b| b.availability_zone == a.availability_zone)
        });
        let tagged = s
            .subnets
            .iter()
            .any(|x| x.cni_role() != ipamsim::subnet::CniRole::Untagged);
        if zoned_pair && tagged && s.cni.enable_subnet_discovery {
            discovery += 1;
        }
        if s.model.networking == Networking::AutoMode {
            auto_mode += 1;
        }
    }
    assert!(
        discovery >= 8 && auto_mode >= 5,
        "of 400 generated, {accepted} accepted: {discovery} with discovery ground, {auto_mode} auto mode"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2_000,
        // tests/fuzz.proptest-regressions, replayed first on every later run.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        // The CI pass is the same cases every time (a red CI is reproducible, never luck);
        // the long pass (IPAMSIM_FUZZ_CASES set) draws fresh ones.
        rng_seed: rng_seed(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_input_panics_hangs_or_escapes_as_anything_but_bad_input(
        text in scenario_toml(),
        trace in trace_csv(),
        overrides in sets(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        mutated in prop::bool::weighted(0.15),
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("trace.csv"), &trace).unwrap();
        let text = if mutated { mutate(&text, &edits) } else { text };
        let verdict = check(dir.path(), &text, &overrides);
        prop_assert!(
            verdict.is_ok(),
            "{}\n--- scenario ---\n{text}\n--- trace.csv ---\n{trace}\n--- sets ---\n{overrides:?}",
            verdict.unwrap_err()
        );
    }

    /// A sweep builds and validates every cell before any run: the cells of a generated
    /// scenario, with `--set`s and a `--vary` of generated values (the engine is a stub that
    /// stops at the first run — the runs themselves are the property above).
    #[test]
    fn sweep_cells_are_built_or_refused_in_one_line(
        text in scenario_toml(),
        overrides in sets(),
        vary in sets(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let source = ipamsim::scenario::ScenarioText {
            text,
            source: "fuzz.toml".into(),
            base_dir: dir.path().to_path_buf(),
        };
        // Each generated KEY=VALUE becomes KEY=VALUE,VALUE2 for a two-cell --vary.
        let varies: Vec<ipamsim::sweep::Vary> = vary
            .iter()
            .filter_map(|v| format!("{v},1").parse().ok())
            .collect();
        const STOP: &str = "stub engine: stop";
        let result = ipamsim::sweep::sweep(&source, &overrides, &varies, 1, 1, false, |_| {
            Err(ipamsim::Error::Usage(STOP.into()))
        });
        match result {
            Ok(_) => prop_assert!(false, "the stub engine cannot succeed"),
            Err(e) if e.to_string() == STOP => {}
            Err(e) => {
                prop_assert!(one_line_bad_input(&e).is_ok(), "{e}");
                // An error in a cell's own value names the --vary, never a --set the user
                // did not write.
                if let Some(v) = varies.iter().find(|v| e.to_string().contains(&format!("--set {}=", v.key))) {
                    prop_assert!(
                        overrides.iter().any(|o| o.starts_with(&format!("{}=", v.key))),
                        "{e}"
                    );
                }
            }
        }
    }

    #[test]
    fn vary_lines_and_plans_are_typed(
        lines in prop::collection::vec(
            prop_oneof![
                "[A-Z_]{1,12}=[0-9,]{0,12}",
                "[a-z.]{0,10}=[a-z0-9 ,]{0,10}",
                ".{0,20}",
            ],
            0..4,
        ),
        seed in prop_oneof![Just(u64::MAX), Just(u64::MAX - 3), any::<u64>()],
        seeds in 0u32..20,
    ) {
        let mut varies = Vec::new();
        for l in &lines {
            match l.parse::<ipamsim::sweep::Vary>() {
                Ok(v) => varies.push(v),
                Err(e) => prop_assert!(one_line_bad_input(&e).is_ok(), "{e}"),
            }
        }
        match ipamsim::sweep::Plan::new(&varies, &[], seed, seeds) {
            Ok(plan) => {
                // Every seed fits a u64 without wrapping: `run --seed` takes each.
                prop_assert!(plan.seeds.windows(2).all(|w| w[1] == w[0] + 1));
                prop_assert_eq!(plan.seeds.len(), seeds as usize);
            }
            Err(e) => prop_assert!(one_line_bad_input(&e).is_ok(), "{e}"),
        }
    }
}
