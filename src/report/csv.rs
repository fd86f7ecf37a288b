//! The CSV files of a run (DESIGN.md §5): `summary.csv`, `nodes.csv`, `timeseries.csv`,
//! `ec2_calls.csv` and `pod_waits.csv`.
//!
//! Column names and order are a contract. Numbers are written exactly and locale-free:
//! integers as integers, times as seconds with up to three decimals and no trailing zeros
//! (`1.5`, `2`, `0.125`), the same formatter as [`crate::time::seconds`]. An absent value
//! (`first_insufficient_cidr_s` when no `InsufficientCidrBlocks` happened) is an empty field.
//! Fields are quoted only when they contain a comma, quote or line break (RFC 4180); lines end
//! with `\n`.

use super::{Ec2Row, NodeRow, PodWait, Sample, Summary, WaitReason};

/// `summary.csv` columns, in contract order.
pub const SUMMARY_COLUMNS: [&str; 36] = [
    "scenario",
    "seed",
    "duration_s",
    "nodes",
    "pods_peak",
    "pods_final",
    "pods_unschedulable",
    "pods_waited_for_ip",
    "ip_wait_p50_s",
    "ip_wait_p99_s",
    "ip_wait_max_s",
    "assigned_ips_final",
    "warm_ips_final",
    "cooling_ips_final",
    "total_ips_final",
    "total_ips_peak",
    "enis_final",
    "prefixes_final",
    "subnet_usable",
    "subnet_used_final",
    "subnet_used_peak",
    "subnet_free_min",
    "free_prefix_blocks_final",
    "free_prefix_blocks_min",
    "insufficient_cidr_blocks",
    "insufficient_free_addresses",
    "first_insufficient_cidr_s",
    "fragmentation_score_final",
    "fragmentation_score_max",
    "ec2_calls",
    "ec2_throttled",
    "events",
    "nodes_launch_failed",
    "nodes_ready_final",
    "node_ready_p50_s",
    "node_ready_max_s",
];

/// `nodes.csv` columns, in contract order.
pub const NODES_COLUMNS: [&str; 16] = [
    "node",
    "nodegroup",
    "instance_type",
    "max_pods",
    "pods",
    "enis",
    "secondary_ips",
    "prefixes",
    "total_ips",
    "assigned_ips",
    "warm_ips",
    "cooling_ips",
    "total_ips_peak",
    "ec2_calls",
    "ready_s",
    "ipamd_restarts",
];

/// `timeseries.csv` columns, in contract order.
pub const TIMESERIES_COLUMNS: [&str; 17] = [
    "time_s",
    "pods_running",
    "pods_waiting_ip",
    "pods_unschedulable",
    "assigned_ips",
    "warm_ips",
    "cooling_ips",
    "total_ips",
    "enis",
    "prefixes",
    "subnet_used",
    "subnet_free",
    "free_prefix_blocks",
    "fragmentation_score",
    "ec2_calls",
    "insufficient_cidr_blocks",
    "nodes_ready",
];

/// `ec2_calls.csv` columns, in contract order.
pub const EC2_COLUMNS: [&str; 7] = [
    "action",
    "calls",
    "succeeded",
    "failed",
    "throttled",
    "insufficient_cidr_blocks",
    "insufficient_free_addresses",
];

/// `pod_waits.csv` columns, in contract order.
pub const POD_WAITS_COLUMNS: [&str; 6] = ["pod", "node", "bound_s", "ip_s", "wait_s", "reason"];

/// Formats a time in seconds as the CSV files write it: rounded to the millisecond, up to
/// three decimals, no trailing zeros (`90.25`, `2`). Negative values keep their sign;
/// a non-finite value (never produced by the engine) is written as an empty field.
pub fn secs(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let ms = (x.abs() * 1000.0).round() as u64;
    let sign = if x < 0.0 && ms > 0 { "-" } else { "" };
    format!("{sign}{}", crate::time::seconds(ms))
}

/// The `reason` column's word for a [`WaitReason`].
pub fn reason_name(r: WaitReason) -> &'static str {
    match r {
        WaitReason::NoIp => "no_ip",
        WaitReason::Cooling => "cooling",
        WaitReason::EniLimit => "eni_limit",
        WaitReason::SubnetExhausted => "subnet_exhausted",
        WaitReason::InsufficientCidrCooldown => "insufficient_cidr_cooldown",
        WaitReason::Throttled => "throttled",
        WaitReason::MaxPodsCeiling => "max_pods_ceiling",
    }
}

/// The summary's fields as text, in [`SUMMARY_COLUMNS`] order.
pub fn summary_fields(s: &Summary) -> Vec<String> {
    vec![
        s.scenario.clone(),
        s.seed.to_string(),
        secs(s.duration_s),
        s.nodes.to_string(),
        s.pods_peak.to_string(),
        s.pods_final.to_string(),
        s.pods_unschedulable.to_string(),
        s.pods_waited_for_ip.to_string(),
        secs(s.ip_wait_p50_s),
        secs(s.ip_wait_p99_s),
        secs(s.ip_wait_max_s),
        s.assigned_ips_final.to_string(),
        s.warm_ips_final.to_string(),
        s.cooling_ips_final.to_string(),
        s.total_ips_final.to_string(),
        s.total_ips_peak.to_string(),
        s.enis_final.to_string(),
        s.prefixes_final.to_string(),
        s.subnet_usable.to_string(),
        s.subnet_used_final.to_string(),
        s.subnet_used_peak.to_string(),
        s.subnet_free_min.to_string(),
        s.free_prefix_blocks_final.to_string(),
        s.free_prefix_blocks_min.to_string(),
        s.insufficient_cidr_blocks.to_string(),
        s.insufficient_free_addresses.to_string(),
        s.first_insufficient_cidr_s.map(secs).unwrap_or_default(),
        s.fragmentation_score_final.to_string(),
        s.fragmentation_score_max.to_string(),
        s.ec2_calls.to_string(),
        s.ec2_throttled.to_string(),
        s.events.to_string(),
        s.nodes_launch_failed.to_string(),
        s.nodes_ready_final.to_string(),
        s.node_ready_p50_s.map(secs).unwrap_or_default(),
        s.node_ready_max_s.map(secs).unwrap_or_default(),
    ]
}

/// `summary.csv`: the header and one row.
pub fn summary_csv(s: &Summary) -> String {
    let mut out = String::new();
    push_record(&mut out, SUMMARY_COLUMNS);
    push_record(&mut out, summary_fields(s));
    out
}

/// `nodes.csv`: the header and one row per node.
pub fn nodes_csv(rows: &[NodeRow]) -> String {
    let mut out = String::new();
    push_record(&mut out, NODES_COLUMNS);
    for r in rows {
        push_record(
            &mut out,
            [
                r.node.clone(),
                r.nodegroup.clone(),
                r.instance_type.clone(),
                r.max_pods.to_string(),
                r.pods.to_string(),
                r.enis.to_string(),
                r.secondary_ips.to_string(),
                r.prefixes.to_string(),
                r.total_ips.to_string(),
                r.assigned_ips.to_string(),
                r.warm_ips.to_string(),
                r.cooling_ips.to_string(),
                r.total_ips_peak.to_string(),
                r.ec2_calls.to_string(),
                r.ready_s.map(secs).unwrap_or_default(),
                r.ipamd_restarts.to_string(),
            ],
        );
    }
    out
}

/// `timeseries.csv`: the header and one row per sample.
pub fn timeseries_csv(rows: &[Sample]) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    push_record(&mut out, TIMESERIES_COLUMNS);
    for r in rows {
        push_record(
            &mut out,
            [
                secs(r.time_s),
                r.pods_running.to_string(),
                r.pods_waiting_ip.to_string(),
                r.pods_unschedulable.to_string(),
                r.assigned_ips.to_string(),
                r.warm_ips.to_string(),
                r.cooling_ips.to_string(),
                r.total_ips.to_string(),
                r.enis.to_string(),
                r.prefixes.to_string(),
                r.subnet_used.to_string(),
                r.subnet_free.to_string(),
                r.free_prefix_blocks.to_string(),
                r.fragmentation_score.to_string(),
                r.ec2_calls.to_string(),
                r.insufficient_cidr_blocks.to_string(),
                r.nodes_ready.to_string(),
            ],
        );
    }
    out
}

/// `ec2_calls.csv`: the header and one row per action.
pub fn ec2_calls_csv(rows: &[Ec2Row]) -> String {
    let mut out = String::new();
    push_record(&mut out, EC2_COLUMNS);
    for r in rows {
        push_record(
            &mut out,
            [
                r.action.clone(),
                r.calls.to_string(),
                r.succeeded.to_string(),
                r.failed.to_string(),
                r.throttled.to_string(),
                r.insufficient_cidr_blocks.to_string(),
                r.insufficient_free_addresses.to_string(),
            ],
        );
    }
    out
}

/// `pod_waits.csv`: the header and one row per pod that waited for an IP.
pub fn pod_waits_csv(rows: &[PodWait]) -> String {
    let mut out = String::new();
    push_record(&mut out, POD_WAITS_COLUMNS);
    for r in rows {
        push_record(
            &mut out,
            [
                r.pod.clone(),
                r.node.clone(),
                secs(r.bound_s),
                r.ip_s.map_or_else(String::new, secs),
                secs(r.wait_s),
                reason_name(r.reason).to_string(),
            ],
        );
    }
    out
}

/// Appends one record, quoting fields as RFC 4180 requires, and a `\n`.
pub fn push_record<I, S>(out: &mut String, fields: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        let header = r.headers().unwrap().iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn seconds_are_exact_and_short() {
        assert_eq!(secs(0.0), "0");
        assert_eq!(secs(1.5), "1.5");
        assert_eq!(secs(2.0), "2");
        assert_eq!(secs(0.125), "0.125");
        assert_eq!(secs(21_600.0), "21600");
        assert_eq!(secs(0.1 + 0.2), "0.3", "float noise is rounded away");
        assert_eq!(secs(1.0004), "1");
        assert_eq!(secs(1.0005), "1.001");
        assert_eq!(secs(-2.5), "-2.5");
        assert_eq!(secs(-0.0001), "0");
    }

    #[test]
    fn summary_has_the_contract_columns_and_an_empty_first_insufficient() {
        let mut s = Summary {
            scenario: "prefix, m5".into(),
            seed: 7,
            duration_s: 7200.0,
            ip_wait_p99_s: 3.25,
            ..Summary::default()
        };
        let (header, rows) = parse(&summary_csv(&s));
        assert_eq!(header, SUMMARY_COLUMNS);
        assert_eq!(rows.len(), 1);
        let col = |name: &str| SUMMARY_COLUMNS.iter().position(|c| *c == name).unwrap();
        assert_eq!(rows[0][col("scenario")], "prefix, m5");
        assert_eq!(rows[0][col("duration_s")], "7200");
        assert_eq!(rows[0][col("ip_wait_p99_s")], "3.25");
        assert_eq!(rows[0][col("first_insufficient_cidr_s")], "");

        s.first_insufficient_cidr_s = Some(4_510.5);
        s.events = 123_456;
        let (_, rows) = parse(&summary_csv(&s));
        assert_eq!(rows[0][col("first_insufficient_cidr_s")], "4510.5");
        assert_eq!(rows[0][col("events")], "123456");
        assert!(summary_csv(&s).starts_with("scenario,seed,duration_s,nodes,pods_peak,"));
    }

    #[test]
    fn every_file_has_its_header_and_one_line_per_row() {
        let nodes = vec![NodeRow {
            node: "general-0".into(),
            nodegroup: "general".into(),
            instance_type: "m5.large".into(),
            max_pods: 29,
            total_ips: 16,
            ..NodeRow::default()
        }];
        let text = nodes_csv(&nodes);
        assert_eq!(text.lines().count(), 2);
        let (h, rows) = parse(&text);
        assert_eq!(h, NODES_COLUMNS);
        assert_eq!(rows[0][..4], ["general-0", "general", "m5.large", "29"]);

        let samples: Vec<Sample> = (0..3u32)
            .map(|i| Sample {
                time_s: f64::from(i) * 10.0,
                total_ips: 10 + u64::from(i),
                ..Sample::default()
            })
            .collect();
        let (h, rows) = parse(&timeseries_csv(&samples));
        assert_eq!(h, TIMESERIES_COLUMNS);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2][0], "20");
        assert_eq!(rows[2][7], "12");

        let ec2 = vec![Ec2Row {
            action: "AssignPrivateIpAddresses".into(),
            calls: 5,
            succeeded: 3,
            failed: 2,
            throttled: 1,
            insufficient_cidr_blocks: 1,
            insufficient_free_addresses: 0,
        }];
        assert_eq!(
            ec2_calls_csv(&ec2),
            "action,calls,succeeded,failed,throttled,insufficient_cidr_blocks,insufficient_free_addresses\n\
             AssignPrivateIpAddresses,5,3,2,1,1,0\n"
        );

        let waits = vec![PodWait {
            pod: "web-\"1\"".into(),
            node: "n0".into(),
            bound_s: 60.0,
            ip_s: Some(61.5),
            wait_s: 1.5,
            reason: WaitReason::InsufficientCidrCooldown,
        }];
        let text = pod_waits_csv(&waits);
        assert!(text.ends_with("\"web-\"\"1\"\"\",n0,60,61.5,1.5,insufficient_cidr_cooldown\n"));
        let (h, rows) = parse(&text);
        assert_eq!(h, POD_WAITS_COLUMNS);
        assert_eq!(rows[0][0], "web-\"1\"");
    }

    #[test]
    fn reason_names_match_serde() {
        for r in [
            WaitReason::NoIp,
            WaitReason::Cooling,
            WaitReason::EniLimit,
            WaitReason::SubnetExhausted,
            WaitReason::InsufficientCidrCooldown,
            WaitReason::Throttled,
            WaitReason::MaxPodsCeiling,
        ] {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", reason_name(r))
            );
        }
    }
}
