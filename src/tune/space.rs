//! The settings `tune` searches: the aws-node variables users actually set, and what ipamd
//! makes of them.
//!
//! A [`Space`] is five ordered value lists — mode (secondary IPs / prefix delegation),
//! `WARM_ENI_TARGET`, `WARM_IP_TARGET`, `MINIMUM_IP_TARGET`, `WARM_PREFIX_TARGET` — and a
//! [`Point`] picks one index in each. Many points are the same pool policy to ipamd, so a
//! point is mapped to a canonical [`Setting`] before it is run (spec/ipamd-policy.md §2):
//! - `WARM_IP_TARGET` and `MINIMUM_IP_TARGET` of 0 mean "not set" (ipamd's parser), so the
//!   space lists them once, as 0 ("unset");
//! - with either of them set, `WARM_ENI_TARGET` is ignored (precedence 1); in prefix mode it
//!   is never read (precedence 2); in secondary-IP mode `WARM_PREFIX_TARGET` is never read.
//!   An ignored variable keeps the scenario's own value;
//! - in prefix mode with WARM_IP/MINIMUM_IP set, `WARM_PREFIX_TARGET` still reaches the
//!   ENI-deletability check (§4.7), so it stays a dimension there;
//! - the aws-node entrypoint refuses to start with prefix delegation on and
//!   `WARM_PREFIX_TARGET`, `WARM_IP_TARGET`, `MINIMUM_IP_TARGET` all 0 or unset
//!   (`validateEnvVars`, §2 "Start-up gate"): those points are left out.

use crate::Error;
use crate::ipamd::config::CniConfig;

/// Dimensions, in [`Point`] order.
pub const DIMS: [&str; 5] = [
    "ENABLE_PREFIX_DELEGATION",
    "WARM_ENI_TARGET",
    "WARM_IP_TARGET",
    "MINIMUM_IP_TARGET",
    "WARM_PREFIX_TARGET",
];

/// One index per dimension of a [`Space`].
pub type Point = [usize; 5];

/// The most values one dimension may list.
const MAX_VALUES: usize = 4096;

/// aws-node settings as ipamd reads them (0 = unset for `WARM_IP_TARGET`,
/// `MINIMUM_IP_TARGET`). Ordered secondary-IP first, then by each variable: among equally
/// good settings the first is the simpler one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Setting {
    /// `ENABLE_PREFIX_DELEGATION`.
    pub prefix_delegation: bool,
    /// `WARM_ENI_TARGET`.
    pub warm_eni: u32,
    /// `WARM_IP_TARGET` (0 = unset).
    pub warm_ip: u32,
    /// `MINIMUM_IP_TARGET` (0 = unset).
    pub min_ip: u32,
    /// `WARM_PREFIX_TARGET`.
    pub warm_prefix: u32,
}

impl Setting {
    /// `warmIPTargetsDefined`.
    pub fn targets(&self) -> bool {
        self.warm_ip > 0 || self.min_ip > 0
    }

    /// All five variables as `--set` overrides (what reproduces the run).
    pub fn overrides(&self) -> Vec<String> {
        self.all().iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// All five variables, by name, with their values as `--set` takes them.
    pub fn all(&self) -> [(&'static str, String); 5] {
        [
            (DIMS[0], self.prefix_delegation.to_string()),
            (DIMS[1], self.warm_eni.to_string()),
            (DIMS[2], self.warm_ip.to_string()),
            (DIMS[3], self.min_ip.to_string()),
            (DIMS[4], self.warm_prefix.to_string()),
        ]
    }

    /// The variables that decide the pool (ipamd reads the others but ignores them), with
    /// `None` for a target that must be unset.
    pub fn deciding(&self) -> Vec<(&'static str, Option<u32>)> {
        let opt = |v: u32| (v > 0).then_some(v);
        let mut out = Vec::new();
        if self.targets() {
            out.push((DIMS[2], opt(self.warm_ip)));
            out.push((DIMS[3], opt(self.min_ip)));
            if self.prefix_delegation {
                out.push((DIMS[4], Some(self.warm_prefix)));
            }
        } else {
            if self.prefix_delegation {
                out.push((DIMS[4], Some(self.warm_prefix)));
            } else {
                out.push((DIMS[1], Some(self.warm_eni)));
            }
            out.push((DIMS[2], None));
            out.push((DIMS[3], None));
        }
        out
    }

    /// For people: `secondary IPs, WARM_IP_TARGET=5, MINIMUM_IP_TARGET=15`.
    pub fn label(&self) -> String {
        let mut parts = vec![
            if self.prefix_delegation {
                "prefix delegation"
            } else {
                "secondary IPs"
            }
            .to_string(),
        ];
        for (k, v) in self.deciding() {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        }
        parts.join(", ")
    }

    /// The command that applies this setting to a cluster: the deciding variables set, the
    /// targets that must be unset removed (`VAR-`), ignored ones left alone.
    pub fn kubectl(&self) -> String {
        let mut out = format!(
            "kubectl set env daemonset aws-node -n kube-system ENABLE_PREFIX_DELEGATION={}",
            self.prefix_delegation
        );
        for (k, v) in self.deciding() {
            match v {
                Some(v) => out.push_str(&format!(" {k}={v}")),
                None => out.push_str(&format!(" {k}-")),
            }
        }
        out
    }
}

/// The values `tune` may try, per dimension, ascending (mode: 0 = secondary IPs, 1 = prefix
/// delegation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    /// One ascending, duplicate-free list per dimension of [`DIMS`].
    pub dims: [Vec<u32>; 5],
}

impl Default for Space {
    /// What users actually set: both modes; `WARM_ENI_TARGET` 0–3; `WARM_IP_TARGET` unset or
    /// 1–32; `MINIMUM_IP_TARGET` unset or 0–64; `WARM_PREFIX_TARGET` 0–4.
    fn default() -> Space {
        Space {
            dims: [
                vec![0, 1],
                (0..=3).collect(),
                (0..=32).collect(),
                (0..=64).collect(),
                (0..=4).collect(),
            ],
        }
    }
}

impl Space {
    /// The default space with the dimensions `spec` names replaced:
    /// `KEY=VALUES[;KEY=VALUES..]`, `VALUES` a comma list of integers, ranges `A-B` and
    /// `unset`; `mode=sip,pd` (or `ENABLE_PREFIX_DELEGATION=false,true`) for the mode.
    pub fn parse(spec: &str) -> Result<Space, Error> {
        let mut space = Space::default();
        let bad = |part: &str, why: String| {
            Error::Usage(format!(
                "--space {part:?}: {why} (write KEY=VALUES;.., e.g. \
                 --space 'mode=sip;WARM_IP_TARGET=unset,1-16;MINIMUM_IP_TARGET=0-32')"
            ))
        };
        if spec.trim().is_empty() {
            return Err(bad(spec, "the space is empty".into()));
        }
        let mut seen: Vec<usize> = Vec::new();
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, list) = part
                .split_once('=')
                .ok_or_else(|| bad(part, "no `=`".into()))?;
            let key = key.trim();
            let dim = match key {
                "mode" | "ENABLE_PREFIX_DELEGATION" => 0,
                k => DIMS.iter().position(|d| *d == k).ok_or_else(|| {
                    bad(
                        part,
                        format!(
                            "{k:?} is not a dimension of the space (mode, {})",
                            DIMS[1..].join(", ")
                        ),
                    )
                })?,
            };
            if seen.contains(&dim) {
                return Err(bad(part, format!("{key} is given twice")));
            }
            seen.push(dim);
            let mut values: Vec<u32> = Vec::new();
            for v in list.split(',').map(str::trim) {
                if v.is_empty() {
                    return Err(bad(part, "a value is empty".into()));
                }
                if dim == 0 {
                    values.push(match v {
                        "sip" | "secondary-ip" | "false" => 0,
                        "pd" | "prefix" | "true" => 1,
                        _ => {
                            return Err(bad(
                                part,
                                format!("{v:?} is not a mode (sip or pd, false or true)"),
                            ));
                        }
                    });
                    continue;
                }
                if v == "unset" {
                    if dim == 2 || dim == 3 {
                        values.push(0);
                        continue;
                    }
                    return Err(bad(
                        part,
                        format!("{key} cannot be unset here: the manifest always sets it"),
                    ));
                }
                let int = |s: &str| {
                    s.trim()
                        .parse::<u32>()
                        .map_err(|_| bad(part, format!("{s:?} is not a whole number ≥ 0")))
                };
                match v.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (int(a)?, int(b)?);
                        if a > b {
                            return Err(bad(part, format!("the range {v} runs backwards")));
                        }
                        if (b - a) as usize >= MAX_VALUES {
                            return Err(bad(part, format!("the range {v} is too long")));
                        }
                        values.extend(a..=b);
                    }
                    None => values.push(int(v)?),
                }
            }
            values.sort_unstable();
            values.dedup();
            if values.len() > MAX_VALUES {
                return Err(bad(part, format!("more than {MAX_VALUES} values")));
            }
            space.dims[dim] = values;
        }
        Ok(space)
    }

    /// The canonical setting of `p` (module docs), or `None` where the aws-node entrypoint
    /// would refuse to start.
    pub fn setting(&self, p: &Point, base: &CniConfig) -> Option<Setting> {
        let v = |d: usize| self.dims[d][p[d]];
        let mut s = Setting {
            prefix_delegation: v(0) == 1,
            warm_eni: v(1),
            warm_ip: v(2),
            min_ip: v(3),
            warm_prefix: v(4),
        };
        if s.prefix_delegation || s.targets() {
            s.warm_eni = base.warm_eni_target;
        }
        if !s.prefix_delegation {
            s.warm_prefix = base.warm_prefix_target;
        } else if !s.targets() && s.warm_prefix == 0 {
            return None;
        }
        Some(s)
    }

    /// The coarse grid: in each dimension the ends and a geometric ladder between (indices
    /// 0, 1, 4, 16, 64, …, last; every value of a dimension of five or fewer); with WARM_IP/MINIMUM_IP set in prefix mode
    /// (where `WARM_PREFIX_TARGET` only reaches the ENI-deletability check) only the value
    /// nearest the scenario's own. Canonical duplicates and refused points are left out.
    pub fn coarse(&self, base: &CniConfig) -> Vec<(Point, Setting)> {
        let ladder = |n: usize| -> Vec<usize> {
            if n <= 5 {
                return (0..n).collect();
            }
            let mut out = vec![0];
            let mut i = 1;
            while i < n {
                out.push(i);
                i *= 4;
            }
            if n > 1 && out.last() != Some(&(n - 1)) {
                out.push(n - 1);
            }
            out
        };
        let near_base = self.dims[4]
            .iter()
            .enumerate()
            .min_by_key(|(_, v)| v.abs_diff(base.warm_prefix_target))
            .map_or(0, |(i, _)| i);
        let mut out: Vec<(Point, Setting)> = Vec::new();
        for m in 0..self.dims[0].len() {
            for e in ladder(self.dims[1].len()) {
                for w in ladder(self.dims[2].len()) {
                    for n in ladder(self.dims[3].len()) {
                        for x in ladder(self.dims[4].len()) {
                            let mut p = [m, e, w, n, x];
                            let Some(s) = self.setting(&p, base) else {
                                continue;
                            };
                            if s.prefix_delegation && s.targets() {
                                p[4] = near_base;
                            }
                            let Some(s) = self.setting(&p, base) else {
                                continue;
                            };
                            if !out.iter().any(|(_, t)| *t == s) {
                                out.push((p, s));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The points `step` indices away from `p` along one dimension (clamped to the ends).
    pub fn neighbours(&self, p: &Point, step: usize) -> Vec<Point> {
        let mut out = Vec::new();
        for d in 0..5 {
            let last = self.dims[d].len() - 1;
            for q in [p[d].saturating_sub(step), (p[d] + step).min(last)] {
                if q != p[d] {
                    let mut n = *p;
                    n[d] = q;
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
        }
        out
    }

    /// The first refine step, in indices: an eighth of the longest dimension (8 for the
    /// default space), at least 1. Each round that finds nothing better halves it.
    pub fn first_step(&self) -> usize {
        let longest = self.dims.iter().map(Vec::len).max().unwrap_or(1);
        (longest / 8).clamp(1, 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> CniConfig {
        CniConfig::default()
    }

    #[test]
    fn the_default_space_leaves_out_what_the_entrypoint_refuses() {
        let space = Space::default();
        let coarse = space.coarse(&base());
        assert!(!coarse.is_empty());
        for (p, s) in &coarse {
            assert_eq!(space.setting(p, &base()), Some(*s));
            assert!(!(s.prefix_delegation && !s.targets() && s.warm_prefix == 0));
        }
        // PD with nothing set: refused.
        assert_eq!(space.setting(&[1, 1, 0, 0, 0], &base()), None);
        // Coarse: 4 WARM_ENI, 24 target pairs (SIP); 4 WARM_PREFIX, 24 target pairs (PD).
        assert_eq!(coarse.len(), 56, "{coarse:?}");
    }

    #[test]
    fn equivalent_points_are_one_setting() {
        let space = Space::default();
        // SIP with WARM_IP set: WARM_ENI and WARM_PREFIX are ignored.
        let a = space.setting(&[0, 0, 5, 0, 0], &base()).unwrap();
        let b = space.setting(&[0, 3, 5, 0, 4], &base()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.label(), "secondary IPs, WARM_IP_TARGET=5");
        assert_eq!(
            a.kubectl(),
            "kubectl set env daemonset aws-node -n kube-system ENABLE_PREFIX_DELEGATION=false \
             WARM_IP_TARGET=5 MINIMUM_IP_TARGET-"
        );
        // PD with targets: WARM_PREFIX still matters.
        let c = space.setting(&[1, 0, 5, 0, 0], &base()).unwrap();
        let d = space.setting(&[1, 0, 5, 0, 2], &base()).unwrap();
        assert_ne!(c, d);
        let e = space.setting(&[1, 2, 0, 0, 2], &base()).unwrap();
        assert_eq!(
            e.kubectl(),
            "kubectl set env daemonset aws-node -n kube-system ENABLE_PREFIX_DELEGATION=true \
             WARM_PREFIX_TARGET=2 WARM_IP_TARGET- MINIMUM_IP_TARGET-"
        );
        assert_eq!(e.overrides().len(), 5);
    }

    #[test]
    fn a_spec_replaces_the_dimensions_it_names() {
        let s = Space::parse("mode=sip; WARM_IP_TARGET=unset,2-4,3 ;MINIMUM_IP_TARGET=10").unwrap();
        assert_eq!(s.dims[0], [0]);
        assert_eq!(s.dims[2], [0, 2, 3, 4]);
        assert_eq!(s.dims[3], [10]);
        assert_eq!(s.dims[1], [0, 1, 2, 3]);
    }

    #[test]
    fn bad_specs_are_one_clear_line() {
        for (bad, says) in [
            ("", "empty"),
            ("WARM_IP_TARGET", "no `=`"),
            ("WARM_IP=1", "not a dimension"),
            ("WARM_IP_TARGET=1,,2", "empty"),
            ("WARM_IP_TARGET=5-2", "backwards"),
            ("WARM_IP_TARGET=-1", "whole number"),
            ("WARM_ENI_TARGET=unset", "cannot be unset"),
            ("mode=ipv6", "not a mode"),
            ("mode=sip;mode=pd", "twice"),
        ] {
            let err = Space::parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(says), "{bad}: {err}");
            assert!(err.to_string().starts_with("--space"), "{err}");
        }
    }

    #[test]
    fn neighbours_step_along_one_dimension_and_stay_inside() {
        let s = Space::default();
        let n = s.neighbours(&[0, 0, 16, 64, 4], 8);
        assert!(n.contains(&[1, 0, 16, 64, 4]));
        assert!(n.contains(&[0, 0, 8, 64, 4]));
        assert!(n.contains(&[0, 0, 24, 64, 4]));
        assert!(n.contains(&[0, 0, 16, 56, 4]));
        assert!(n.contains(&[0, 3, 16, 64, 4]));
        assert!(n.contains(&[0, 0, 16, 64, 0]));
        assert!(n.iter().all(|p| p[3] <= 64 && p[4] <= 4));
    }
}
