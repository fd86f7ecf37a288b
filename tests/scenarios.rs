//! Every shipped scenario loads, validates and generates its workloads.

use std::path::{Path, PathBuf};

use ipamsim::rng::Streams;
use ipamsim::scenario::{EMBEDDED_DEFAULT, Scenario, WorkloadSpec};
use ipamsim::workload::{PodEventKind, Workloads};

fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_loads_and_generates() {
    let files = shipped();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "default",
        "sip-warm-eni",
        "warm-ip",
        "custom-networking",
        "trace-replay",
        "scale-5k",
        "secondary-subnet",
        "auto-mode",
        "karpenter",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "scenarios/{want}.toml is missing"
        );
    }
    for path in &files {
        let s = Scenario::load(path, &[]).unwrap_or_else(|e| panic!("{e}"));
        // The name matches the file, so `ipamsim run scenarios/X.toml` writes output/X/.
        assert_eq!(
            s.name,
            path.file_stem().unwrap().to_string_lossy(),
            "{}",
            path.display()
        );
        assert!(
            s.warnings.is_empty(),
            "{}: {:?}",
            path.display(),
            s.warnings
        );
        let w =
            Workloads::for_scenario(&s, &Streams::new(s.seed)).unwrap_or_else(|e| panic!("{e}"));
        assert!(w.pods() > 0, "{}: no pods", path.display());
        assert!(w.events.to_vec().iter().all(|e| e.time < s.duration));
    }
}

#[test]
fn the_embedded_default_is_scenarios_default_toml() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), EMBEDDED_DEFAULT);
    let file = Scenario::load(&path, &[]).unwrap();
    let embedded = Scenario::embedded_default(&[]).unwrap();
    assert_eq!(file.nodegroups, embedded.nodegroups);
    assert_eq!(file.workloads, embedded.workloads);
}

#[test]
fn scale_5k_is_the_promised_size() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/scale-5k.toml");
    let s = Scenario::load(&path, &[]).unwrap();
    assert_eq!(s.node_count(), 5000);
    assert_eq!(s.subnets.len(), 2);
    let w = Workloads::for_scenario(&s, &Streams::new(s.seed)).unwrap();
    let adds = w.events.filter(|e| e.kind == PodEventKind::Add).count();
    assert!((900_000..1_200_000).contains(&adds), "{adds} pod arrivals");
}

/// Issue 13's largest cluster: 100,000 nodes in three zones, prefix delegation, a day of
/// scale-5k's load times 20 (the run itself is measured by `benches/scaling.py`, not here).
#[test]
fn ultra_100k_is_the_promised_size() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ultra-100k.toml");
    let s = Scenario::load(&path, &[]).unwrap();
    assert_eq!(s.node_count(), 100_000);
    let zones: std::collections::BTreeSet<_> = s
        .subnets
        .iter()
        .map(|c| {
            c.name
                .as_deref()
                .unwrap()
                .split('-')
                .nth(1)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(zones.len(), 3, "{zones:?}");
    assert!(s.cni.enable_prefix_delegation);
    let w = Workloads::for_scenario(&s, &Streams::new(s.seed)).unwrap();
    let adds = w.events.filter(|e| e.kind == PodEventKind::Add).count();
    assert!(
        (17_000_000..23_000_000).contains(&adds),
        "{adds} pod arrivals"
    );
}

#[test]
fn the_trace_scenario_pins_pods_to_its_nodes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/trace-replay.toml");
    let s = Scenario::load(&path, &[]).unwrap();
    assert!(matches!(&s.workloads[0], WorkloadSpec::Trace { path, .. } if path.is_file()));
    let w = Workloads::for_scenario(&s, &Streams::new(s.seed)).unwrap();
    let pinned: Vec<u32> = (0..w.pods()).filter_map(|p| w.pinned_node(p)).collect();
    assert!(!pinned.is_empty());
    assert!(pinned.iter().all(|&n| n < s.node_count()));
}
