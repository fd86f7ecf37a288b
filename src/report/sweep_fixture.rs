//! Test fixtures shared by the sweep chart's and the sweep page's tests: one sweep cell's run
//! and the two keys they vary.

use super::Summary;
use super::comparison::SweepRun;

/// A run of cell `values` with `total_ips_peak = ips` and `ip_wait_p99_s = p99`.
pub(super) fn run(values: &[&str], ips: u64, p99: f64) -> SweepRun {
    SweepRun {
        values: values.iter().map(|v| v.to_string()).collect(),
        summary: Summary {
            total_ips_peak: ips,
            ip_wait_p99_s: p99,
            ..Summary::default()
        },
    }
}

/// The keys the fixtures' cells vary.
pub(super) fn keys() -> Vec<String> {
    vec!["WARM_IP_TARGET".into(), "MINIMUM_IP_TARGET".into()]
}
