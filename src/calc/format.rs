//! Output of `calc` and `instance-types`: an aligned table for people (the default), CSV and
//! JSON for scripts. The JSON of `calc` always has `subnet_ips`, `ips_used`, `pods`,
//! `ips_remaining` and `rows` (each with `instance_type`, `count`, `pods_per_node`,
//! `enis_per_node`, `ips_per_node`, `ips_total`) at the top level, in both calculators.

use std::fmt::Write as _;

use serde::Serialize;

use super::Report;
use super::plan::SteadyPlan;
use super::spreadsheet::Workbook;
use crate::catalog::{self, InstanceType, MaxPodsOptions};

/// An output format: `--format` of `calc` and `instance-types` (any case: `JSON` works).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns and a summary.
    #[default]
    Table,
    /// CSV with a header row.
    Csv,
    /// Pretty-printed JSON.
    Json,
}

/// Renders a `calc` report.
pub fn render(report: &Report, format: Format) -> String {
    match (report, format) {
        (Report::Workbook(w), Format::Table) => workbook_table(w),
        (Report::Workbook(w), Format::Csv) => workbook_csv(w),
        (Report::Workbook(w), Format::Json) => json(w),
        (Report::SteadyState(p), Format::Table) => steady_table(p),
        (Report::SteadyState(p), Format::Csv) => steady_csv(p),
        (Report::SteadyState(p), Format::Json) => json(p),
    }
}

fn json<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("report structs serialize");
    s.push('\n');
    s
}

/// One line of `instance-types`.
#[derive(Serialize)]
struct TypeLine<'a> {
    instance_type: &'a str,
    max_enis: u32,
    ipv4_per_eni: u32,
    hypervisor: &'static str,
    vcpus: Option<u32>,
    max_pods_secondary_ip: u32,
    max_pods_prefix: u32,
}

impl TypeLine<'_> {
    fn cells(&self, missing: &str) -> Vec<String> {
        vec![
            self.instance_type.to_string(),
            self.max_enis.to_string(),
            self.ipv4_per_eni.to_string(),
            self.hypervisor.to_string(),
            self.vcpus.map_or(missing.to_string(), |v| v.to_string()),
            self.max_pods_secondary_ip.to_string(),
            self.max_pods_prefix.to_string(),
        ]
    }
}

const TYPE_COLUMNS: [&str; 7] = [
    "instance_type",
    "max_enis",
    "ipv4_per_eni",
    "hypervisor",
    "vcpus",
    "max_pods_secondary_ip",
    "max_pods_prefix",
];

/// Renders `instance-types`: one type per line, the name first, then ENIs, IPv4 per ENI,
/// hypervisor, vCPUs (`-` when unknown) and the max-pods calculator's recommendation (latest
/// CNI) in secondary-IP and in prefix mode. The table has a header line only when `header`.
pub fn instance_types(types: &[&InstanceType], format: Format, header: bool) -> String {
    let lines: Vec<TypeLine> = types
        .iter()
        .map(|t| {
            let sip = MaxPodsOptions::default();
            let pd = MaxPodsOptions {
                prefix_delegation: true,
                ..sip
            };
            TypeLine {
                instance_type: &t.name,
                max_enis: t.max_enis,
                ipv4_per_eni: t.ipv4_per_eni,
                hypervisor: t.hypervisor.as_str(),
                vcpus: t.vcpus,
                max_pods_secondary_ip: catalog::max_pods(t, &sip),
                max_pods_prefix: catalog::max_pods(t, &pd),
            }
        })
        .collect();
    match format {
        Format::Json => json(&lines),
        Format::Csv => csv_text(&TYPE_COLUMNS, lines.iter().map(|l| l.cells(""))),
        Format::Table => {
            let rows: Vec<Vec<String>> = lines.iter().map(|l| l.cells("-")).collect();
            table(header.then_some(&TYPE_COLUMNS[..]), &rows)
        }
    }
}

/// Aligned columns, two spaces apart; numbers right-aligned, text left-aligned.
fn table(header: Option<&[&str]>, rows: &[Vec<String>]) -> String {
    let ncols = header.map_or_else(|| rows.first().map_or(0, Vec::len), <[&str]>::len);
    let mut width = vec![0usize; ncols];
    let mut numeric = vec![true; ncols];
    for (i, h) in header.unwrap_or_default().iter().enumerate() {
        width[i] = h.chars().count();
    }
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
            numeric[i] &= c.parse::<f64>().is_ok() || c == "-" || c.is_empty();
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            let pad = width[i].saturating_sub(c.chars().count());
            if numeric[i] {
                l.extend(std::iter::repeat_n(' ', pad));
                l.push_str(c);
            } else {
                l.push_str(c);
                l.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    if let Some(h) = header {
        line(&mut h.iter().copied());
    }
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn csv_text(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("in-memory CSV");
    for r in rows {
        w.write_record(&r).expect("in-memory CSV");
    }
    String::from_utf8(w.into_inner().expect("in-memory CSV")).expect("UTF-8 cells")
}

/// The workbook's columns: a row's, then the totals-only `subnet_ips` and `ips_remaining`.
/// `used_ips_shown`, `max_enis`, `max_pods` (`#N/A` where the workbook shows it) and
/// `max_ipv4` are the sheet's visible per-row cells the totals do not read.
const WORKBOOK_COLUMNS: [&str; 17] = [
    "instance_type",
    "count",
    "pods_per_node",
    "pods_total",
    "ipv4_per_eni",
    "active_enis",
    "warm_enis",
    "warm_ips",
    "enis_per_node",
    "ips_per_node",
    "ips_total",
    "used_ips_shown",
    "max_enis",
    "max_pods",
    "max_ipv4",
    "subnet_ips",
    "ips_remaining",
];

fn workbook_cells(w: &Workbook) -> Vec<Vec<String>> {
    w.rows
        .iter()
        .map(|r| {
            vec![
                r.instance_type.clone(),
                r.count.to_string(),
                r.pods_per_node.to_string(),
                (u64::from(r.pods_per_node) * u64::from(r.count)).to_string(),
                r.ipv4_per_eni.to_string(),
                r.active_enis.to_string(),
                r.warm_enis.to_string(),
                r.warm_ips.to_string(),
                r.enis_per_node.to_string(),
                r.ips_per_node.to_string(),
                r.ips_total.to_string(),
                r.used_ips_shown.to_string(),
                r.max_enis.to_string(),
                r.max_pods
                    .map_or_else(|| "#N/A".to_string(), |m| m.to_string()),
                r.max_ipv4.to_string(),
            ]
        })
        .collect()
}

fn workbook_csv(w: &Workbook) -> String {
    let nodes: u64 = w.rows.iter().map(|r| u64::from(r.count)).sum();
    let rows = workbook_cells(w).into_iter().map(|mut r| {
        r.extend([String::new(), String::new()]);
        r
    });
    let mut total = vec![String::new(); WORKBOOK_COLUMNS.len()];
    total[0] = "total".into();
    total[1] = nodes.to_string();
    total[3] = w.pods.to_string();
    total[10] = w.ips_used.to_string();
    total[15] = w.subnet_ips.to_string();
    total[16] = w.ips_remaining.to_string();
    csv_text(&WORKBOOK_COLUMNS, rows.chain(std::iter::once(total)))
}

fn workbook_table(w: &Workbook) -> String {
    let target = match (w.warm_eni_target, w.warm_ip_target) {
        (Some(t), _) => format!("WARM_ENI_TARGET={t}"),
        (_, Some(t)) => format!("WARM_IP_TARGET={t}: only the shown warm ENIs use it, no total"),
        _ => String::new(),
    };
    let mut out = format!(
        "EKS subnet-calculator workbook, {} sheet ({target}); {} host-network IPs per node\n\
         subnet {}\n\n",
        w.sheet, w.host_network_ips, w.subnet
    );
    out.push_str(&table(Some(&WORKBOOK_COLUMNS[..15]), &workbook_cells(w)));
    let summary = [
        ("subnet IPs", w.subnet_ips.to_string(), "2^(32-prefix) - 2"),
        ("IPs used", w.ips_used.to_string(), ""),
        ("pods", w.pods.to_string(), ""),
        ("IPs remaining", w.ips_remaining.to_string(), ""),
    ];
    out.push('\n');
    let rows: Vec<Vec<String>> = summary
        .iter()
        .map(|(k, v, c)| vec![k.to_string(), v.clone(), c.to_string()])
        .collect();
    out.push_str(&table(None, &rows));
    out
}

const STEADY_COLUMNS: [&str; 21] = [
    "instance_type",
    "count",
    "pods_per_node",
    "pods_total",
    "pods_placed_per_node",
    "mode",
    "enis_per_node",
    "secondary_ips_per_node",
    "prefixes_per_node",
    "pod_ips_per_node",
    "ips_per_node",
    "ips_total",
    "max_pods",
    "max_eni",
    "fits",
    "limit",
    "flapping",
    "workbook_ips_per_node",
    "workbook_ips_total",
    "subnet_ips",
    "ips_remaining",
];

fn steady_cells(p: &SteadyPlan) -> Vec<Vec<String>> {
    p.rows
        .iter()
        .map(|r| {
            vec![
                r.instance_type.clone(),
                r.count.to_string(),
                r.pods_per_node.to_string(),
                (u64::from(r.pods_per_node) * u64::from(r.count)).to_string(),
                r.pods_placed_per_node.to_string(),
                r.mode.to_string(),
                r.enis_per_node.to_string(),
                r.secondary_ips_per_node.to_string(),
                r.prefixes_per_node.to_string(),
                r.pod_ips_per_node.to_string(),
                r.ips_per_node.to_string(),
                r.ips_total.to_string(),
                r.max_pods.to_string(),
                r.max_eni.to_string(),
                r.fits.to_string(),
                r.limit.unwrap_or_default().to_string(),
                r.flapping.to_string(),
                r.workbook_ips_per_node.to_string(),
                (r.workbook_ips_per_node * u64::from(r.count)).to_string(),
            ]
        })
        .collect()
}

fn steady_csv(p: &SteadyPlan) -> String {
    let nodes: u64 = p.rows.iter().map(|r| u64::from(r.count)).sum();
    let rows = steady_cells(p).into_iter().map(|mut r| {
        r.extend([String::new(), String::new()]);
        r
    });
    let mut total = vec![String::new(); STEADY_COLUMNS.len()];
    total[0] = "total".into();
    total[1] = nodes.to_string();
    total[3] = p.pods.to_string();
    total[11] = p.ips_used.to_string();
    total[14] = p.fits.to_string();
    total[18] = p.workbook.ips_used.to_string();
    total[19] = p.subnet_ips.to_string();
    total[20] = p.ips_remaining.to_string();
    csv_text(&STEADY_COLUMNS, rows.chain(std::iter::once(total)))
}

fn steady_table(p: &SteadyPlan) -> String {
    let s = &p.settings;
    let mut mode = if s.WARM_IP_TARGET != 0 || s.MINIMUM_IP_TARGET != 0 {
        format!(
            "WARM_IP_TARGET={}, MINIMUM_IP_TARGET={}",
            s.WARM_IP_TARGET, s.MINIMUM_IP_TARGET
        )
    } else if s.ENABLE_PREFIX_DELEGATION {
        format!("WARM_PREFIX_TARGET={}", s.WARM_PREFIX_TARGET)
    } else {
        format!("WARM_ENI_TARGET={}", s.WARM_ENI_TARGET)
    };
    if s.ENABLE_PREFIX_DELEGATION {
        mode.insert_str(0, "prefix delegation, ");
    }
    if let Some(m) = s.MAX_ENI {
        let _ = write!(mode, ", MAX_ENI={m}");
    }
    if s.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG {
        mode.push_str(", custom networking");
    }
    let mut out = format!(
        "ipamd steady state: {mode}; {} host-network pods per node; max pods from the \
         calculator (CNI {})\nsubnet {}: {} usable addresses\n\n",
        s.host_network_pods, s.cni_version, p.subnet, p.subnet_ips
    );
    let cells: Vec<Vec<String>> = steady_cells(p)
        .into_iter()
        .map(|r| {
            let mut c: Vec<String> = [0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 14]
                .iter()
                .map(|&i| r[i].clone())
                .collect();
            let (fits, limit, flap) = (&r[14], &r[15], &r[16]);
            c[11] = match (fits.as_str(), flap.as_str()) {
                ("true", "true") => "yes (flaps)".into(),
                ("true", _) => "yes".into(),
                _ => format!("no: {limit}"),
            };
            c
        })
        .collect();
    let header = [
        "instance_type",
        "count",
        "pods_per_node",
        "mode",
        "enis",
        "secondary_ips",
        "prefixes",
        "pod_ips",
        "ips_per_node",
        "ips_total",
        "max_pods",
        "fits",
    ];
    out.push_str(&table(Some(&header), &cells));
    let wb = &p.workbook;
    let sign = |d: i64| {
        if d > 0 {
            format!("+{d}")
        } else {
            d.to_string()
        }
    };
    let wb_head = format!("workbook ({} sheet, target {})", wb.sheet, wb.target);
    let head = ["", "ipamd", wb_head.as_str(), "difference"];
    let summary = vec![
        vec![
            "subnet IPs".into(),
            p.subnet_ips.to_string(),
            wb.subnet_ips.to_string(),
            sign(p.subnet_ips as i64 - wb.subnet_ips as i64),
        ],
        vec![
            "IPs used".into(),
            p.ips_used.to_string(),
            wb.ips_used.to_string(),
            sign(p.difference.ips_used),
        ],
        vec![
            "pods".into(),
            p.pods.to_string(),
            p.pods.to_string(),
            String::new(),
        ],
        vec![
            "IPs remaining".into(),
            p.ips_remaining.to_string(),
            wb.ips_remaining.to_string(),
            sign(p.difference.ips_remaining),
        ],
    ];
    out.push('\n');
    out.push_str(&table(Some(&head), &summary));
    if p.pods_placed != p.pods {
        let _ = writeln!(
            out,
            "pods placed with an address: {} of {}",
            p.pods_placed, p.pods
        );
    }
    let _ = writeln!(out, "fits: {}", if p.fits { "yes" } else { "no" });
    out.push_str("\nwhy ipamd and the workbook differ (addresses remaining, ipamd - workbook):\n");
    let reasons: Vec<Vec<String>> = p
        .difference
        .reasons
        .iter()
        .map(|r| vec![sign(r.addresses), r.reason.clone()])
        .collect();
    for l in table(None, &reasons).lines() {
        let _ = writeln!(out, "  {l}");
    }
    if !p.notes.is_empty() {
        out.push_str("\nnotes:\n");
        for n in &p.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
}
