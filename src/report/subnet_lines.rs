//! The per-subnet view of a run with several subnets: one curve per subnet in `subnet.svg`
//! (from `subnet_timeseries.csv`, beside the total) and the `subnets.csv` table in
//! `report.html`. A run with one subnet has neither: its total already is that subnet.

use std::fmt::Write as _;

use super::format::escape;
use super::page::int;
use super::plots::{Curve, SubnetChart};
use super::{RunOutput, SubnetSample};

/// Subnet `i`'s samples.
fn of(run: &RunOutput, i: usize) -> impl Iterator<Item = &SubnetSample> {
    let n = run.subnets.len().max(1);
    run.subnet_timeseries.iter().skip(i).step_by(n)
}

/// With two subnets or more: the chart's first curves become "all subnets", and each subnet
/// gets its own used and free-/28 curves, named `name (cidr[, zone])`.
pub fn add_subnet_curves(c: &mut SubnetChart, run: &RunOutput) {
    if run.subnets.len() < 2 || c.used.is_empty() {
        return;
    }
    c.used[0].name = "All subnets: used addresses".to_string();
    if let Some(f) = c.free_blocks.first_mut() {
        f.name = "All subnets: free aligned /28 blocks".to_string();
    }
    for (i, r) in run.subnets.iter().enumerate() {
        let zone = if r.zone.is_empty() {
            String::new()
        } else {
            format!(", {}", r.zone)
        };
        let name = format!("{} ({}{zone})", r.name, r.cidr);
        c.used.push(Curve {
            name: name.clone(),
            points: of(run, i).map(|s| (s.time_s, f64::from(s.used))).collect(),
        });
        c.free_blocks.push(Curve {
            name,
            points: of(run, i)
                .map(|s| (s.time_s, f64::from(s.free_prefix_blocks)))
                .collect(),
        });
    }
}

/// The `subnets.csv` table (two subnets or more).
pub fn subnets_table(out: &mut String, run: &RunOutput) {
    if run.subnets.len() < 2 {
        return;
    }
    out.push_str(
        "<p>Every subnet on its own (<a href=\"subnets.csv\">subnets.csv</a>, \
         <a href=\"subnet_timeseries.csv\">subnet_timeseries.csv</a>). Subnet discovery puts a \
         node's new ENIs in the subnet of its zone with the most free addresses among its own \
         and those tagged kubernetes.io/role/cni; custom networking puts them in the \
         ENIConfig's subnet.</p>\n\
         <div class=\"wide\"><table><thead><tr><th>Subnet</th><th>CIDR</th><th>Zone</th>\
         <th class=\"num\">Usable</th><th class=\"num\">Used at peak</th><th class=\"num\">Used at end</th>\
         <th class=\"num\">Free /28 at least</th><th class=\"num\">ENIs at end</th>\
         <th class=\"num\">InsufficientCidrBlocks</th><th class=\"num\">InsufficientFreeAddresses</th>\
         </tr></thead><tbody>\n",
    );
    for r in &run.subnets {
        let cell = |n: u64| {
            let class = if n > 0 { "num bad" } else { "num" };
            format!("<td class=\"{class}\">{}</td>", int(n))
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}</tr>",
            escape(&r.name),
            escape(&r.cidr),
            escape(&r.zone),
            int(r.usable),
            int(r.used_peak),
            int(r.used_final),
            int(r.free_prefix_blocks_min),
            int(r.enis_final),
            cell(r.insufficient_cidr_blocks),
            cell(r.insufficient_free_addresses)
        );
    }
    out.push_str("</tbody></table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Sample, SubnetRow};

    fn run(subnets: usize) -> RunOutput {
        let mut r = RunOutput::default();
        r.summary.duration_s = 20.0;
        r.summary.subnet_usable = 251 * subnets as u64;
        for i in 0..subnets {
            r.subnets.push(SubnetRow {
                name: format!("s{i}"),
                cidr: "10.0.0.0/24".into(),
                usable: 251,
                ..SubnetRow::default()
            });
        }
        for t in 0..3u32 {
            r.timeseries.push(Sample {
                time_s: f64::from(t) * 10.0,
                subnet_used: u64::from(10 * t) * subnets as u64,
                ..Sample::default()
            });
            for i in 0..subnets {
                r.subnet_timeseries.push(SubnetSample {
                    time_s: f64::from(t) * 10.0,
                    subnet: i as u32,
                    used: 10 * t + i as u32,
                    free: 251 - 10 * t,
                    free_prefix_blocks: 14 - t,
                    fragmentation_score: 0,
                });
            }
        }
        r
    }

    #[test]
    fn one_curve_per_subnet_beside_the_total_and_none_for_a_single_subnet() {
        let one = run(1);
        let mut c = SubnetChart::of_run(&one);
        add_subnet_curves(&mut c, &one);
        assert_eq!((c.used.len(), c.free_blocks.len()), (1, 1));

        let three = run(3);
        let mut c = SubnetChart::of_run(&three);
        add_subnet_curves(&mut c, &three);
        assert_eq!((c.used.len(), c.free_blocks.len()), (4, 4));
        assert_eq!(c.used[3].name, "s2 (10.0.0.0/24)");
        assert_eq!(c.used[3].points, [(0.0, 2.0), (10.0, 12.0), (20.0, 22.0)]);
        let svg = super::super::plots::subnet_chart(&c);
        assert!(svg.contains("s1 (10.0.0.0/24)"));
        let mut table = String::new();
        subnets_table(&mut table, &three);
        assert_eq!(table.matches("<tr><td>").count(), 3);
    }
}
