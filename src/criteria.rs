//! Pass/fail conditions over a run's `summary.csv` columns: what `headroom --until` and
//! `tune --constraints` take.
//!
//! A criterion is `COLUMN OP BOUND`, a run *meets* it when its summary value compares so
//! (`ip_wait_p99_s<=10`, `insufficient_cidr_blocks=0`). `COLUMN` is any numeric column of
//! `summary.csv` (DESIGN.md §5), or `throttled` for `ec2_throttled`; `OP` is one of `<=`, `<`,
//! `>=`, `>`, `=` (or `==`), `!=`; `BOUND` is a number, or — where the command compares
//! settings with each other, as `tune` does — `fastest` or `fastest+N`: the smallest value
//! of that column among all evaluated settings in the same seed, plus N.
//!
//! A list given on the command line (comma-separated) *changes* the command's defaults
//! column by column: a criterion on a column replaces every default on that column, a
//! criterion on a new column is added, and `COLUMN=any` drops the column's default. So
//! `--until 'ip_wait_p99_s<=30,throttled=0'` relaxes the wait limit, adds "never
//! throttled", and keeps the other defaults.

use std::fmt;

use crate::Error;
use crate::report::Summary;

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `=`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Eq => "=",
            Op::Ne => "!=",
        }
    }

    fn holds(self, a: f64, b: f64) -> bool {
        // Summary values are exact to the millisecond: compare with a hair of slack so that
        // `fastest+2` is not lost to binary fractions.
        const EPS: f64 = 1e-9;
        match self {
            Op::Le => a <= b + EPS,
            Op::Lt => a < b - EPS,
            Op::Ge => a >= b - EPS,
            Op::Gt => a > b + EPS,
            Op::Eq => (a - b).abs() <= EPS,
            Op::Ne => (a - b).abs() > EPS,
        }
    }
}

/// The right-hand side of a criterion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// A fixed number.
    Value(f64),
    /// The fastest (smallest) value of the column among the compared settings, in the same
    /// seed, plus this margin.
    FastestPlus(f64),
}

/// One condition a run must meet.
#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    /// The `summary.csv` column.
    pub column: String,
    /// How the run's value compares with the bound.
    pub op: Op,
    /// The bound.
    pub bound: Bound,
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.column, self.op.text())?;
        match self.bound {
            Bound::Value(v) => write!(f, "{}", number(v)),
            Bound::FastestPlus(0.0) => write!(f, "fastest"),
            Bound::FastestPlus(m) => write!(f, "fastest+{}", number(m)),
        }
    }
}

/// A number as a person writes it: `10`, `2.5`.
fn number(v: f64) -> String {
    crate::report::csv::secs(v)
}

/// The value of `column` in a run's summary (`None` for a column that is empty, such as
/// `first_insufficient_cidr_s` when nothing happened). Columns are the summary's serde
/// field names, which are `summary.csv`'s columns.
pub fn value(s: &Summary, column: &str) -> Option<f64> {
    match serde_json::to_value(s).ok()?.get(column)? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(t) => t.parse().ok(),
        _ => None,
    }
}

/// The columns a criterion may name: every numeric `summary.csv` column.
fn numeric_columns() -> Vec<String> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(Summary::default()) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter(|(k, v)| {
            k != "seed"
                && (v.is_number()
                    || v.is_null()
                    || v.as_str().is_some_and(|t| t.parse::<f64>().is_ok()))
        })
        .map(|(k, _)| k)
        .collect()
}

impl Criterion {
    /// Whether summary `s` meets this criterion; `fastest` is the column's smallest value
    /// among the compared settings in `s`'s seed (used by [`Bound::FastestPlus`] only). An
    /// empty column (e.g. no `InsufficientCidrBlocks`, so no time of the first) meets any
    /// criterion: there is nothing to compare.
    pub fn met(&self, s: &Summary, fastest: f64) -> bool {
        let Some(v) = value(s, &self.column) else {
            return true;
        };
        let bound = match self.bound {
            Bound::Value(b) => b,
            Bound::FastestPlus(m) => fastest + m,
        };
        self.op.holds(v, bound)
    }

    /// Parses `COLUMN OP BOUND`; `relative` allows `fastest[+N]`. `Ok(None)` is
    /// `COLUMN=any`: drop the column. `flag` names the command-line flag in messages.
    fn parse(text: &str, relative: bool, flag: &str) -> Result<(String, Option<Self>), Error> {
        let t = text.trim();
        let bad = |why: String| {
            Error::Usage(format!(
                "{flag} {t:?}: {why} (write COLUMN OP VALUE, e.g. ip_wait_p99_s<=10 or insufficient_cidr_blocks=0)"
            ))
        };
        let at = t
            .find(['<', '>', '=', '!'])
            .ok_or_else(|| bad("no comparison (<=, <, >=, >, =, !=)".into()))?;
        let (name, rest) = (t[..at].trim(), &t[at..]);
        let (op, rhs) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("!=", Op::Ne),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("=", Op::Eq),
        ]
        .into_iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|r| (op, r.trim())))
        .ok_or_else(|| bad(format!("{rest:?} is not a comparison")))?;
        let name = if name == "throttled" {
            "ec2_throttled"
        } else {
            name
        };
        let columns = numeric_columns();
        let column = columns
            .iter()
            .find(|c| *c == name)
            .cloned()
            .ok_or_else(|| {
                // The column sharing the longest start with the name (`ip_wait_p99` →
                // `ip_wait_p99_s`), then the closest in length.
                let shared = |c: &str| {
                    c.bytes()
                        .zip(name.bytes())
                        .take_while(|(a, b)| a == b)
                        .count()
                };
                let near = columns
                    .iter()
                    .max_by_key(|c| (shared(c), std::cmp::Reverse(c.len().abs_diff(name.len()))))
                    .map_or("ip_wait_p99_s", String::as_str);
                bad(format!(
                    "{name:?} is not a numeric summary.csv column (did you mean {near}?)"
                ))
            })?;
        if rhs == "any" {
            return if op == Op::Eq {
                Ok((column, None))
            } else {
                Err(bad(
                    "`any` only goes with `=` (COLUMN=any drops the column)".into(),
                ))
            };
        }
        let bound = if let Some(margin) = rhs.strip_prefix("fastest") {
            if !relative {
                return Err(bad(
                    "`fastest` compares settings with each other; here give a number".into(),
                ));
            }
            let margin = margin.trim();
            let m = if margin.is_empty() {
                0.0
            } else {
                let m = margin
                    .strip_prefix('+')
                    .ok_or_else(|| bad(format!("after `fastest` write +N, not {margin:?}")))?;
                parse_number(m).ok_or_else(|| bad(format!("{m:?} is not a number")))?
            };
            Bound::FastestPlus(m)
        } else {
            Bound::Value(parse_number(rhs).ok_or_else(|| bad(format!("{rhs:?} is not a number")))?)
        };
        Ok((column.clone(), Some(Criterion { column, op, bound })))
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.contains(['n', 'N', 'i', 'I']) {
        return None; // no NaN, no infinity
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The conditions a run must meet, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Criteria(pub Vec<Criterion>);

impl fmt::Display for Criteria {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join(","))
    }
}

impl Criteria {
    /// `headroom`'s defaults: a run fails on any `InsufficientCidrBlocks`,
    /// `InsufficientFreeAddressesInSubnet`, node that could not launch, pod that finds no
    /// node slot once the starting nodes are Ready (`pods_unschedulable_after_ready`: the
    /// pods created with the cluster wait for its nodes at the start of every run, which
    /// is not a lack of capacity), or a p99 pod IP wait above 10 s over the pods bound after
    /// that moment (`ip_wait_p99_after_ready_s`: the start-up burst onto pools still filling
    /// is the same at every size).
    pub fn headroom_defaults() -> Criteria {
        let v = |column: &str, op, b| Criterion {
            column: column.to_string(),
            op,
            bound: Bound::Value(b),
        };
        Criteria(vec![
            v("insufficient_cidr_blocks", Op::Eq, 0.0),
            v("insufficient_free_addresses", Op::Eq, 0.0),
            v("nodes_launch_failed", Op::Eq, 0.0),
            v("pods_unschedulable_after_ready", Op::Eq, 0.0),
            v("ip_wait_p99_after_ready_s", Op::Le, 10.0),
        ])
    }

    /// `tune`'s defaults: p99 pod IP wait within 2 s of the fastest setting's, never
    /// throttled, no `Insufficient*` error — in every seed.
    pub fn tune_defaults() -> Criteria {
        let v = |column: &str, op, b| Criterion {
            column: column.to_string(),
            op,
            bound: Bound::Value(b),
        };
        Criteria(vec![
            Criterion {
                column: "ip_wait_p99_s".to_string(),
                op: Op::Le,
                bound: Bound::FastestPlus(2.0),
            },
            v("ec2_throttled", Op::Eq, 0.0),
            v("insufficient_cidr_blocks", Op::Eq, 0.0),
            v("insufficient_free_addresses", Op::Eq, 0.0),
        ])
    }

    /// These criteria changed by the comma-separated list `text`, column by column (see the
    /// module docs). `relative` allows `fastest[+N]` bounds; `flag` names the flag in
    /// messages.
    pub fn changed_by(mut self, text: &str, relative: bool, flag: &str) -> Result<Criteria, Error> {
        if text.trim().is_empty() {
            return Err(Error::Usage(format!(
                "{flag} is empty; give COLUMN OP VALUE criteria, e.g. ip_wait_p99_s<=10"
            )));
        }
        let mut given: Vec<(String, Option<Criterion>)> = Vec::new();
        for part in text.split(',') {
            if part.trim().is_empty() {
                return Err(Error::Usage(format!(
                    "{flag} {text:?}: a criterion is empty (separate criteria with single commas)"
                )));
            }
            given.push(Criterion::parse(part, relative, flag)?);
        }
        for (column, _) in &given {
            // Replace the column's defaults where the first of them stood.
            if let Some(at) = self.0.iter().position(|c| c.column == *column) {
                self.0.retain(|c| c.column != *column);
                let new: Vec<Criterion> = given
                    .iter()
                    .filter(|(c, _)| c == column)
                    .filter_map(|(_, x)| x.clone())
                    .collect();
                let at = at.min(self.0.len());
                self.0.splice(at..at, new);
            } else if !self.0.iter().any(|c| c.column == *column) {
                self.0.extend(
                    given
                        .iter()
                        .filter(|(c, _)| c == column)
                        .filter_map(|(_, x)| x.clone()),
                );
            }
        }
        Ok(self)
    }

    /// The first criterion `s` does not meet, if any (`fastest`: see [`Criterion::met`],
    /// a function of the column).
    pub fn first_unmet(&self, s: &Summary, fastest: impl Fn(&str) -> f64) -> Option<&Criterion> {
        self.0.iter().find(|c| !c.met(s, fastest(&c.column)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            ip_wait_p99_s: 40.0,
            ip_wait_p99_after_ready_s: 12.5,
            pods_unschedulable: 7,
            insufficient_cidr_blocks: 0,
            ec2_throttled: 3,
            ..Summary::default()
        }
    }

    #[test]
    fn defaults_fail_a_slow_run_on_its_wait() {
        // The start-up columns (`pods_unschedulable`, `ip_wait_p99_s`) do not count.
        let c = Criteria::headroom_defaults();
        let unmet = c.first_unmet(&summary(), |_| 0.0).unwrap();
        assert_eq!(unmet.to_string(), "ip_wait_p99_after_ready_s<=10");
        let mut ok = summary();
        ok.ip_wait_p99_after_ready_s = 10.0;
        assert!(c.first_unmet(&ok, |_| 0.0).is_none());
        ok.pods_unschedulable_after_ready = 1;
        let unmet = c.first_unmet(&ok, |_| 0.0).unwrap();
        assert_eq!(unmet.to_string(), "pods_unschedulable_after_ready=0");
    }

    #[test]
    fn a_list_changes_the_defaults_column_by_column() {
        let c = Criteria::headroom_defaults()
            .changed_by(
                "ip_wait_p99_after_ready_s<=30, throttled=0,pods_unschedulable_after_ready=any",
                false,
                "--until",
            )
            .unwrap();
        assert_eq!(
            c.to_string(),
            "insufficient_cidr_blocks=0,insufficient_free_addresses=0,nodes_launch_failed=0,\
             ip_wait_p99_after_ready_s<=30,ec2_throttled=0"
        );
        assert_eq!(
            c.first_unmet(&summary(), |_| 0.0).unwrap().to_string(),
            "ec2_throttled=0"
        );
    }

    #[test]
    fn fastest_is_relative_to_the_seed() {
        let c = Criteria::tune_defaults()
            .changed_by("ip_wait_p99_s<=fastest+0.5", true, "--constraints")
            .unwrap();
        let mut s = summary();
        s.ec2_throttled = 0;
        s.ip_wait_p99_s = 12.5;
        assert!(c.first_unmet(&s, |_| 12.0).is_none());
        assert_eq!(
            c.first_unmet(&s, |_| 11.9).unwrap().to_string(),
            "ip_wait_p99_s<=fastest+0.5"
        );
    }

    #[test]
    fn bad_criteria_are_one_clear_line() {
        for (bad, says) in [
            ("ip_wait_p99<=3", "did you mean ip_wait_p99_s"),
            ("ip_wait_p99_s", "no comparison"),
            ("ip_wait_p99_s<=abc", "not a number"),
            ("ip_wait_p99_s<=NaN", "not a number"),
            ("scenario=3", "not a numeric"),
            ("ip_wait_p99_s<=fastest+1", "give a number"),
            ("ip_wait_p99_s<any", "only goes with"),
            ("ip_wait_p99_s<=3,,throttled=0", "empty"),
            ("", "empty"),
        ] {
            let err = Criteria::headroom_defaults()
                .changed_by(bad, false, "--until")
                .unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let msg = err.to_string();
            assert!(msg.contains(says), "{bad}: {msg}");
            assert!(msg.starts_with("--until"), "{msg}");
            assert!(!msg.contains('\n'));
        }
    }
}
