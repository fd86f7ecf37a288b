//! What a sweep writes: `sweep.csv`, `sweep.svg` and `sweep.html` (DESIGN.md §5).
//!
//! A sweep runs one scenario over the Cartesian product of varied settings (*cells*), each
//! with the same seeds. These pages compare the cells side by side on the four questions a
//! sweep is for — IPs held, EC2 calls, pod IP wait, `InsufficientCidrBlocks` — with the
//! spread across seeds, and name the setting that holds the fewest IPs without slowing pods
//! or troubling EC2 ([`recommend`], whose rule the page states).

use super::Summary;
use super::csv::{Writer, columns};
use super::format::group_thousands;
use super::page::wait;
pub use super::sweep_page::{sweep_html, sweep_svg};

/// One run of a sweep: the values of the varied keys (in `--vary` order) and its summary
/// (which carries the seed).
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRun {
    pub values: Vec<String>,
    pub summary: Summary,
}

/// `sweep.csv`: the varied keys, then the summary columns; one row per cell × seed, in the
/// order given.
pub fn sweep_csv(keys: &[String], runs: &[SweepRun]) -> String {
    let mut w = Writer::with_header(keys.iter().cloned().chain(columns::<Summary>()));
    for r in runs {
        w.row((&r.values, &r.summary));
    }
    w.finish()
}

/// Minimum, mean and maximum of one measure across a cell's seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Spread {
        let n = values.len().max(1) as f64;
        Spread {
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            mean: values.iter().sum::<f64>() / n,
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// The measures compared, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Measure {
    IpsHeld,
    Ec2Calls,
    WaitP99,
    Insufficient,
}

pub(super) const MEASURES: [Measure; 4] = [
    Measure::IpsHeld,
    Measure::Ec2Calls,
    Measure::WaitP99,
    Measure::Insufficient,
];

impl Measure {
    pub(super) fn of(self, s: &Summary) -> f64 {
        match self {
            Measure::IpsHeld => s.total_ips_peak as f64,
            Measure::Ec2Calls => s.ec2_calls as f64,
            Measure::WaitP99 => s.ip_wait_p99_s,
            Measure::Insufficient => s.insufficient_cidr_blocks as f64,
        }
    }
    pub(super) fn title(self) -> &'static str {
        match self {
            Measure::IpsHeld => "Peak IPs held by nodes",
            Measure::Ec2Calls => "EC2 calls",
            Measure::WaitP99 => "Pod IP wait, p99 (s)",
            Measure::Insufficient => "InsufficientCidrBlocks",
        }
    }
}

/// One cell of the sweep: its values and the runs of its seeds.
#[derive(Clone, Debug)]
pub struct Cell<'a> {
    pub values: &'a [String],
    pub runs: Vec<&'a Summary>,
}

impl Cell<'_> {
    pub(super) fn spread(&self, m: Measure) -> Spread {
        let v: Vec<f64> = self.runs.iter().map(|s| m.of(s)).collect();
        Spread::of(&v)
    }
    pub(super) fn max_of(&self, f: impl Fn(&Summary) -> u64) -> u64 {
        self.runs.iter().map(|s| f(s)).max().unwrap_or(0)
    }
    /// A short label: `WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10`.
    pub fn label(&self, keys: &[String]) -> String {
        keys.iter()
            .zip(self.values)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Groups runs into cells by their values, in order of first appearance. A map from values
/// to cell index finds each run's cell (O(n log n), not a linear search per run); the map is
/// only looked up, the cells keep their first-appearance order.
pub fn cells(runs: &[SweepRun]) -> Vec<Cell<'_>> {
    let mut out: Vec<Cell<'_>> = Vec::new();
    let mut index: std::collections::BTreeMap<&[String], usize> = std::collections::BTreeMap::new();
    for r in runs {
        match index.get(r.values.as_slice()) {
            Some(&i) => out[i].runs.push(&r.summary),
            None => {
                index.insert(&r.values, out.len());
                out.push(Cell {
                    values: &r.values,
                    runs: vec![&r.summary],
                });
            }
        }
    }
    out
}

/// How a cell fares against the sweep's best.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// Its mean p99 pod IP wait is more than the tolerance above the fastest cell's.
    pub slows_pods: bool,
    /// Some seed saw `RequestLimitExceeded`.
    pub throttled: bool,
    /// Some seed saw `InsufficientCidrBlocks` or `InsufficientFreeAddressesInSubnet`.
    pub subnet_errors: bool,
}

impl Verdict {
    /// Passes all three conditions.
    pub fn ok(&self) -> bool {
        !(self.slows_pods || self.throttled || self.subnet_errors)
    }
}

/// Tolerance on the mean p99 pod IP wait above the fastest cell: 2 s or 25 %, the larger
/// (a margin for seed-to-seed noise: one slow pod moves a p99 of a few hundred pods).
pub fn wait_tolerance(fastest: f64) -> f64 {
    (0.25 * fastest).max(2.0)
}

/// Judges every cell and picks the recommended one: among cells whose mean p99 pod IP wait
/// is within [`wait_tolerance`] of the fastest cell's, that no seed saw throttled, and that
/// no seed saw a subnet error, the one with the fewest peak IPs held (mean over seeds);
/// ties go to fewer EC2 calls, then to the earlier cell. `None` when no cell qualifies.
pub fn recommend(cells: &[Cell<'_>]) -> (Vec<Verdict>, Option<usize>) {
    let fastest = cells
        .iter()
        .map(|c| c.spread(Measure::WaitP99).mean)
        .fold(f64::INFINITY, f64::min);
    let tol = wait_tolerance(fastest);
    let verdicts: Vec<Verdict> = cells
        .iter()
        .map(|c| Verdict {
            slows_pods: c.spread(Measure::WaitP99).mean > fastest + tol + 1e-9,
            throttled: c.max_of(|s| s.ec2_throttled) > 0,
            subnet_errors: c.max_of(|s| s.insufficient_cidr_blocks) > 0
                || c.max_of(|s| s.insufficient_free_addresses) > 0,
        })
        .collect();
    let best = (0..cells.len())
        .filter(|&i| verdicts[i].ok())
        .min_by(|&a, &b| {
            let key = |i: usize| {
                (
                    cells[i].spread(Measure::IpsHeld).mean,
                    cells[i].spread(Measure::Ec2Calls).mean,
                )
            };
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0)
                .then(ka.1.total_cmp(&kb.1))
                .then(a.cmp(&b))
        });
    (verdicts, best)
}

/// A mean for people: waits as durations; counts as integers when whole or ≥ 100, else with
/// one decimal.
pub(super) fn mean_str(m: Measure, x: f64) -> String {
    match m {
        Measure::WaitP99 => wait(x),
        _ if (x - x.round()).abs() < 1e-9 || x >= 100.0 => group_thousands(&format!("{x:.0}")),
        _ => group_thousands(&format!("{x:.1}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[&str], seed: u64, ips: u64, p99: f64, throttled: u64, icb: u64) -> SweepRun {
        SweepRun {
            values: values.iter().map(|v| v.to_string()).collect(),
            summary: Summary {
                scenario: "s".into(),
                seed,
                total_ips_peak: ips,
                ip_wait_p99_s: p99,
                ec2_calls: 100 + ips,
                ec2_throttled: throttled,
                insufficient_cidr_blocks: icb,
                ..Summary::default()
            },
        }
    }

    fn keys() -> Vec<String> {
        vec!["WARM_IP_TARGET".into(), "MINIMUM_IP_TARGET".into()]
    }

    #[test]
    fn csv_puts_the_varied_keys_first() {
        let runs = vec![
            run(&["5", "10"], 1, 40, 1.5, 0, 0),
            run(&["5", "10"], 2, 42, 1.0, 0, 0),
        ];
        let text = sweep_csv(&keys(), &runs);
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            format!(
                "WARM_IP_TARGET,MINIMUM_IP_TARGET,{}",
                columns::<Summary>().join(",")
            )
        );
        assert!(lines.next().unwrap().starts_with("5,10,s,1,"));
        assert!(lines.next().unwrap().starts_with("5,10,s,2,"));
        assert!(lines.next().is_none());
    }

    #[test]
    fn cells_group_runs_in_first_appearance_order() {
        let runs = vec![
            run(&["5", "0"], 1, 1, 0.0, 0, 0),
            run(&["0", "0"], 1, 1, 0.0, 0, 0),
            run(&["5", "0"], 2, 1, 0.0, 0, 0),
        ];
        let c = cells(&runs);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].values, ["5", "0"]);
        assert_eq!(c[0].runs.len(), 2);
        assert_eq!(c[0].label(&keys()), "WARM_IP_TARGET=5, MINIMUM_IP_TARGET=0");
    }

    #[test]
    fn the_recommendation_is_the_leanest_cell_that_costs_nothing() {
        let runs = vec![
            // Holds many IPs, fast.
            run(&["0", "0"], 1, 300, 0.5, 0, 0),
            run(&["0", "0"], 2, 310, 0.7, 0, 0),
            // Leanest, but pods wait much longer.
            run(&["1", "0"], 1, 40, 9.0, 0, 0),
            run(&["1", "0"], 2, 44, 11.0, 0, 0),
            // Lean and fast enough: within 1 s of the fastest (0.6 s mean).
            run(&["5", "10"], 1, 80, 1.4, 0, 0),
            run(&["5", "10"], 2, 84, 1.5, 0, 0),
            // Leaner and fast, but throttled in one seed.
            run(&["3", "10"], 1, 60, 0.6, 0, 0),
            run(&["3", "10"], 2, 62, 0.6, 4, 0),
            // Leaner and fast, but hit InsufficientCidrBlocks.
            run(&["4", "10"], 1, 70, 0.6, 0, 2),
            run(&["4", "10"], 2, 70, 0.6, 0, 0),
        ];
        let c = cells(&runs);
        let (verdicts, best) = recommend(&c);
        assert_eq!(best, Some(2));
        assert!(verdicts[1].slows_pods);
        assert!(verdicts[3].throttled);
        assert!(verdicts[4].subnet_errors);
        assert!(verdicts[0].ok() && verdicts[2].ok());

        let html = sweep_html("demo", &keys(), &runs);
        assert!(html.contains(
            "Fewest IPs without slowing pods or troubling EC2: WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10"
        ));
        assert!(html.contains("73% fewer than the hungriest setting"));
        assert_eq!(html.matches("class=\"best\"").count(), 1);
    }

    #[test]
    fn no_recommendation_when_every_cell_has_a_cost() {
        let runs = vec![
            run(&["0", "0"], 1, 300, 0.5, 3, 0),
            run(&["1", "0"], 1, 40, 9.0, 0, 0),
        ];
        let (_, best) = recommend(&cells(&runs));
        assert_eq!(best, None);
        let html = sweep_html("demo", &keys(), &runs);
        assert!(html.contains("No setting held IPs down without a cost."));
        assert!(sweep_svg(&keys(), &runs).contains("No setting avoided"));
    }

    #[test]
    fn the_tolerance_is_one_second_or_ten_percent() {
        assert_eq!(wait_tolerance(0.2), 2.0);
        assert_eq!(wait_tolerance(30.0), 7.5);
    }
}
