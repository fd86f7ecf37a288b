//! What `headroom --grow KEY` grows, and how a value of it becomes scenario overrides.
//!
//! - An integer scenario key in `--set` syntax (`nodegroup.general.count`,
//!   `subnet.background.addresses`, `WARM_IP_TARGET`, …): the value is set as is. Its start
//!   is the scenario's own value: the last `--set` of that key, else the file's, else (for
//!   an aws-node variable the file leaves unset) what the scenario runs with.
//! - `workload.NAME.replicas` (NAME or index, as `--set` selects workloads): every step of
//!   that Deployment scaled by the same factor, so that its largest step has the value; the
//!   start is that largest step. Other steps are rounded half up.
//! - `load`: every workload scaled together, in percent (start 100): Deployment steps as
//!   above, Poisson rates multiplied. A trace replay cannot be scaled, so `load` refuses a
//!   scenario that has one.

use crate::Error;
use crate::ipamd::config::CniConfig;
use crate::scenario::{Scenario, ScenarioText, WorkloadSpec};
use crate::time::Millis;

/// What is grown.
#[derive(Clone, Debug, PartialEq)]
pub enum Grow {
    /// An integer key, set as `KEY=VALUE`.
    Key(String),
    /// Deployment `index`'s steps, scaled so their largest is the value.
    Replicas {
        /// The workload's index in the file.
        index: usize,
        /// Its steps in the scenario.
        steps: Vec<(Millis, u32)>,
    },
    /// Every workload, in percent.
    Load(Vec<(usize, WorkloadSpec)>),
}

fn usage(key: &str, why: &str) -> Error {
    Error::Usage(format!("--grow {key}: {why}"))
}

/// `(a × num + den/2) / den`, in integers (round half up, the same everywhere).
fn scale(a: u64, num: u64, den: u64) -> u64 {
    ((u128::from(a) * u128::from(num) + u128::from(den) / 2) / u128::from(den.max(1))) as u64
}

/// Steps as TOML: `[{ at = "600000ms", replicas = 12 }, ..]`.
fn steps_toml(steps: &[(Millis, u32)], value: u64, peak: u64) -> String {
    let parts: Vec<String> = steps
        .iter()
        .map(|&(at, r)| {
            format!(
                "{{ at = \"{at}ms\", replicas = {} }}",
                scale(u64::from(r), value, peak)
            )
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn peak(steps: &[(Millis, u32)]) -> u64 {
    steps.iter().map(|s| u64::from(s.1)).max().unwrap_or(0)
}

impl Grow {
    /// Resolves `key` against the scenario (`base` is `text` built with `sets`); returns
    /// what to grow and its start value.
    pub fn resolve(
        key: &str,
        text: &ScenarioText,
        base: &Scenario,
        sets: &[String],
    ) -> Result<(Grow, u64), Error> {
        let key = key.trim();
        if key.is_empty() {
            return Err(usage(
                key,
                "the key is empty; e.g. --grow nodegroup.general.count",
            ));
        }
        if key == "seed" {
            return Err(usage(key, "the seed is not a size; use --seeds N"));
        }
        if key == "load" {
            let mut all = Vec::new();
            for (i, w) in base.workloads.iter().enumerate() {
                if let WorkloadSpec::Trace { name, .. } | WorkloadSpec::Audit { name, .. } = w {
                    return Err(usage(
                        key,
                        &format!(
                            "workload {name} replays a trace, which cannot be scaled; grow a \
                             deployment (workload.NAME.replicas) or a node group instead"
                        ),
                    ));
                }
                all.push((i, w.clone()));
            }
            if all.is_empty() {
                return Err(usage(key, "the scenario has no workload to scale"));
            }
            return Ok((Grow::Load(all), 100));
        }
        let path: Vec<&str> = key.split('.').map(str::trim).collect();
        if path.len() == 3 && path[0] == "workload" && path[2] == "replicas" {
            let index = find_workload(base, path[1]).ok_or_else(|| {
                let names: Vec<&str> = base.workloads.iter().map(|w| w.name()).collect();
                usage(
                    key,
                    &format!(
                        "no workload {:?} (the scenario has: {})",
                        path[1],
                        names.join(", ")
                    ),
                )
            })?;
            return match &base.workloads[index] {
                WorkloadSpec::Deployment { steps, .. } => {
                    if peak(steps) == 0 {
                        return Err(usage(
                            key,
                            "the deployment never has a replica, so there is nothing to scale; \
                             give it a step with replicas first",
                        ));
                    }
                    Ok((
                        Grow::Replicas {
                            index,
                            steps: steps.clone(),
                        },
                        peak(steps),
                    ))
                }
                w => Err(usage(
                    key,
                    &format!(
                        "{} is a {} workload; only deployments have replicas (try --grow load)",
                        w.name(),
                        w.kind()
                    ),
                )),
            };
        }
        let start = start_value(key, &path, text, base, sets)?;
        // The key must take an integer where the scenario has it: build once to be sure.
        text.build(&with(sets, format!("{key}={start}")))
            .map_err(|e| usage(key, &e.to_string()))?;
        Ok((Grow::Key(key.to_string()), start))
    }

    /// The overrides that give the grown thing `value` (after the command's own `--set`s).
    pub fn overrides(&self, value: u64) -> Vec<String> {
        match self {
            Grow::Key(key) => vec![format!("{key}={value}")],
            Grow::Replicas { index, steps } => {
                vec![format!(
                    "workload.{index}.steps={}",
                    steps_toml(steps, value, peak(steps))
                )]
            }
            Grow::Load(all) => all
                .iter()
                .map(|(i, w)| match w {
                    WorkloadSpec::Deployment { steps, .. } => {
                        format!("workload.{i}.steps={}", steps_toml(steps, value, 100))
                    }
                    WorkloadSpec::Poisson { rate_per_min, .. } => {
                        // Exactly `rate × value / 100`, written so TOML reads it as a float.
                        format!(
                            "workload.{i}.rate_per_min={:?}",
                            rate_per_min * value as f64 / 100.0
                        )
                    }
                    WorkloadSpec::Trace { .. } | WorkloadSpec::Audit { .. } => {
                        unreachable!("refused by resolve")
                    }
                })
                .collect(),
        }
    }

    /// The smallest value a search may try (a Poisson rate must stay above zero).
    pub fn floor(&self) -> u64 {
        match self {
            Grow::Load(_) => 1,
            _ => 0,
        }
    }
}

fn with(sets: &[String], extra: String) -> Vec<String> {
    sets.iter().cloned().chain(std::iter::once(extra)).collect()
}

/// The index of the workload `sel` names: by name, default name, or index.
fn find_workload(s: &Scenario, sel: &str) -> Option<usize> {
    s.workloads
        .iter()
        .position(|w| w.name() == sel)
        .or_else(|| sel.parse::<usize>().ok().filter(|i| *i < s.workloads.len()))
}

/// An integer as written in the scenario or a `--set` (`5`, or DaemonSet-style `"5"`).
fn integer(key: &str, v: &toml::Value) -> Result<u64, Error> {
    let not = |shown: String| {
        usage(
            key,
            &format!(
                "its value is {shown}, not an integer; headroom grows an integer key such as \
                 nodegroup.NAME.count, workload.NAME.replicas or load"
            ),
        )
    };
    match v {
        toml::Value::Integer(i) if *i >= 0 => Ok(*i as u64),
        toml::Value::String(s) => s.trim().parse::<u64>().map_err(|_| not(format!("{s:?}"))),
        other => Err(not(other.to_string())),
    }
}

/// The key's value in the scenario: the last `--set` of it, else the file's, else the value
/// an unset aws-node variable runs with.
fn start_value(
    key: &str,
    path: &[&str],
    text: &ScenarioText,
    base: &Scenario,
    sets: &[String],
) -> Result<u64, Error> {
    let canonical = |k: &str| {
        let k = k.trim();
        if CniConfig::VARIABLES.contains(&k) {
            format!("cni.{k}")
        } else {
            k.to_string()
        }
    };
    // Node groups as the scenario runs them (whichever way a --set named the group).
    if let [group, sel, field] = path
        && *group == "nodegroup"
        && let Some(g) = base
            .nodegroups
            .iter()
            .position(|g| g.name == *sel)
            .or_else(|| {
                sel.parse::<usize>()
                    .ok()
                    .filter(|i| *i < base.nodegroups.len())
            })
            .map(|i| &base.nodegroups[i])
    {
        match *field {
            "count" => return Ok(u64::from(g.count)),
            "host_network_pods" => return Ok(u64::from(g.host_network_pods)),
            "max_pods" if g.max_pods.is_some() => {
                return Ok(u64::from(g.max_pods.unwrap_or_default()));
            }
            _ => {}
        }
    }
    for set in sets.iter().rev() {
        if let Some((k, v)) = set.split_once('=')
            && canonical(k) == canonical(key)
        {
            let value = v
                .trim()
                .parse::<toml::Value>()
                .unwrap_or_else(|_| toml::Value::String(v.trim().to_string()));
            return integer(key, &value);
        }
    }
    let doc: toml::Table = text
        .text
        .parse()
        .map_err(|e| usage(key, &format!("{}: {e}", text.source)))?;
    let mut path: Vec<&str> = path.to_vec();
    if path.len() == 1 && CniConfig::VARIABLES.contains(&path[0]) {
        path.insert(0, "cni");
    }
    if let Some(v) = lookup(&doc, &path) {
        return integer(key, v);
    }
    if path.len() == 2 && path[0] == "cni" {
        let c = &base.cni;
        let v = match path[1] {
            "WARM_ENI_TARGET" => Some(c.warm_eni_target),
            "WARM_IP_TARGET" => Some(c.warm_ip_target),
            "MINIMUM_IP_TARGET" => Some(c.minimum_ip_target),
            "WARM_PREFIX_TARGET" => Some(c.warm_prefix_target),
            _ => None,
        };
        if let Some(v) = v {
            return Ok(u64::from(v));
        }
    }
    Err(usage(
        key,
        "the scenario does not set this key, so there is no value to start from; set it in \
         the file or with --set KEY=VALUE (or grow nodegroup.NAME.count, \
         workload.NAME.replicas, or load)",
    ))
}

/// Walks a dotted path through the document; in an array of tables a segment picks an
/// element by `name`, by its default name (`nodegroup-0`, `deployment-1`), or by index.
fn lookup<'a>(doc: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = doc.get(*first)?;
    let mut parent = *first;
    for seg in rest {
        cur = match cur {
            toml::Value::Table(t) => t.get(*seg)?,
            toml::Value::Array(items) => {
                let named = items.iter().enumerate().find(|(i, item)| {
                    let name = item.get("name").and_then(toml::Value::as_str);
                    let default = match parent {
                        "nodegroup" => Some(format!("nodegroup-{i}")),
                        "workload" => item
                            .get("kind")
                            .and_then(toml::Value::as_str)
                            .map(|k| format!("{k}-{i}")),
                        _ => None,
                    };
                    name == Some(*seg) || (name.is_none() && default.as_deref() == Some(*seg))
                });
                match named {
                    Some((_, item)) => item,
                    None => items.get(seg.parse::<usize>().ok()?)?,
                }
            }
            _ => return None,
        };
        parent = seg;
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
name = "t"
duration = "10m"
[subnet]
cidr = "10.0.0.0/24"
[cni]
WARM_IP_TARGET = "3"
[[nodegroup]]
name = "general"
instance_type = "m5.large"
count = 4
[[workload]]
kind = "deployment"
name = "api"
steps = [ { at = "0s", replicas = 10 }, { at = "5m", replicas = 40 }, { at = "8m", replicas = 25 } ]
[[workload]]
kind = "poisson"
rate_per_min = 3
lifetime = { mean = "1m" }
"#;

    fn text() -> ScenarioText {
        ScenarioText {
            text: TEXT.into(),
            source: "t.toml".into(),
            base_dir: ".".into(),
        }
    }

    fn resolve(key: &str, sets: &[&str]) -> Result<(Grow, u64), Error> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let t = text();
        let base = t.build(&sets).unwrap();
        Grow::resolve(key, &t, &base, &sets)
    }

    #[test]
    fn keys_start_from_the_scenarios_own_value() {
        assert_eq!(resolve("nodegroup.general.count", &[]).unwrap().1, 4);
        assert_eq!(resolve("nodegroup.0.count", &[]).unwrap().1, 4);
        assert_eq!(
            resolve("nodegroup.general.count", &["nodegroup.0.count=7"])
                .unwrap()
                .1,
            7
        );
        assert_eq!(resolve("WARM_IP_TARGET", &[]).unwrap().1, 3);
        assert_eq!(resolve("cni.WARM_ENI_TARGET", &[]).unwrap().1, 1);
        assert_eq!(resolve("load", &[]).unwrap().1, 100);
    }

    #[test]
    fn replicas_scale_every_step_with_the_peak_set_to_the_value() {
        let (g, start) = resolve("workload.api.replicas", &[]).unwrap();
        assert_eq!(start, 40);
        assert_eq!(
            g.overrides(60),
            [
                "workload.0.steps=[{ at = \"0ms\", replicas = 15 }, { at = \"300000ms\", replicas = 60 }, { at = \"480000ms\", replicas = 38 }]"
            ]
        );
        let t = text();
        let s = t.build(&g.overrides(60)).unwrap();
        let WorkloadSpec::Deployment { steps, .. } = &s.workloads[0] else {
            panic!()
        };
        assert_eq!(steps, &[(0, 15), (300_000, 60), (480_000, 38)]);
    }

    #[test]
    fn load_scales_every_workload() {
        let (g, _) = resolve("load", &[]).unwrap();
        let s = text().build(&g.overrides(150)).unwrap();
        let WorkloadSpec::Poisson { rate_per_min, .. } = &s.workloads[1] else {
            panic!()
        };
        assert_eq!(*rate_per_min, 4.5);
        let WorkloadSpec::Deployment { steps, .. } = &s.workloads[0] else {
            panic!()
        };
        assert_eq!(steps[1].1, 60);
    }

    #[test]
    fn what_cannot_be_grown_is_one_clear_line() {
        for (key, says) in [
            ("subnet.cidr", "not an integer"),
            ("workload.1.replicas", "only deployments have replicas"),
            ("workload.web.replicas", "no workload \"web\""),
            ("seed", "--seeds"),
            ("nodegroup.general.max_pods", "does not set this key"),
            ("nodegroup.general.colour", "does not set this key"),
            ("", "empty"),
        ] {
            let err = resolve(key, &[]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{key}");
            let msg = err.to_string();
            assert!(msg.contains(says), "{key}: {msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
}
