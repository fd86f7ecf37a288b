//! The run summary printed on stdout: a few lines a person reads first.

use std::fmt::Write as _;

use crate::report::RunOutput;

/// A short, human summary of a run (no wall-clock figures: the binary adds those).
pub fn summary(run: &RunOutput) -> String {
    let s = &run.summary;
    let mut out = String::new();
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    let _ = writeln!(
        out,
        "scenario {} (seed {}), {} s simulated, {} nodes",
        s.scenario, s.seed, s.duration_s, s.nodes
    );
    let _ = writeln!(
        out,
        "pods: peak {}, final {}, {} waited for an IP (p50 {} s, p99 {} s, max {} s), {} unschedulable",
        s.pods_peak,
        s.pods_final,
        s.pods_waited_for_ip,
        s.ip_wait_p50_s,
        s.ip_wait_p99_s,
        s.ip_wait_max_s,
        s.pods_unschedulable
    );
    let _ = writeln!(
        out,
        "IPs at end: {} total ({} assigned, {} warm of which {} cooling) on {} ENIs, {} prefixes; peak total {}",
        s.total_ips_final,
        s.assigned_ips_final,
        s.warm_ips_final,
        s.cooling_ips_final,
        s.enis_final,
        s.prefixes_final,
        s.total_ips_peak
    );
    let _ = writeln!(
        out,
        "subnet: {} of {} usable addresses used at end ({:.1} %), peak {}, min free {}; free /28 blocks {} (min {}); fragmentation score {} (max {})",
        s.subnet_used_final,
        s.subnet_usable,
        pct(s.subnet_used_final, s.subnet_usable),
        s.subnet_used_peak,
        s.subnet_free_min,
        s.free_prefix_blocks_final,
        s.free_prefix_blocks_min,
        s.fragmentation_score_final,
        s.fragmentation_score_max
    );
    let first = s
        .first_insufficient_cidr_s
        .map_or("never".to_string(), |t| format!("first at {t} s"));
    let _ = writeln!(
        out,
        "EC2: {} calls, {} throttled; InsufficientCidrBlocks {} ({first}); InsufficientFreeAddressesInSubnet {}",
        s.ec2_calls, s.ec2_throttled, s.insufficient_cidr_blocks, s.insufficient_free_addresses
    );
    out
}
