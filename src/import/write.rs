//! `ipamsim import … --out DIR`: copies the exports under `DIR/`, writes `DIR/scenario.toml`
//! (a readable scenario with `[start]`, node groups named after the real ones and, with an
//! audit log, an audit workload) and `DIR/import.json`, and returns a short summary.
//!
//! The copies get fixed names by kind (`subnets.json`, `enis.json` or `enis-1.json`, …,
//! `audit.jsonl`), so importing the folder's own copies again gives the same scenario.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::account::{Account, TraceAccount, cni_json};
use super::audit::{self, Context};
use super::{ImportError, Options, Snapshot, Sources};
use crate::ipamd::config::CniConfig;
use crate::time::{HOUR, format_duration};

/// What `ipamsim import` was given.
#[derive(Clone, Debug, Default)]
pub struct ImportRequest {
    /// The exports.
    pub sources: Sources,
    /// Audit logs (optional).
    pub audit_logs: Vec<PathBuf>,
    /// The folder to write.
    pub out: PathBuf,
    /// `--set NAME=VALUE`: aws-node variables written into `scenario.toml`'s `[cni]`.
    pub cni: Vec<CniSetting>,
}

/// One `import --set NAME=VALUE` (or `cni.NAME=VALUE`): an aws-node variable the DaemonSet
/// export does not hold — it comes from `valueFrom`/`envFrom` — or one to change. It is
/// written as a `[cni]` key, which the run reads over the export (as `run --set` would), so a
/// `valueFrom` variable no longer stops the import. The value is checked when the scenario
/// is loaded, like any `[cni]` key, the message naming `scenario.toml` and the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniSetting {
    /// The variable, one of [`CniConfig::VARIABLES`].
    pub name: String,
    /// Its value, as the DaemonSet would spell it (`"5"`, `"true"`).
    pub value: String,
}

impl std::str::FromStr for CniSetting {
    type Err = String;

    /// `NAME=VALUE` or `cni.NAME=VALUE`, NAME an aws-node variable ipamsim models.
    fn from_str(text: &str) -> Result<CniSetting, String> {
        let (name, value) = text
            .split_once('=')
            .ok_or("no `=`; write NAME=VALUE, e.g. --set WARM_ENI_TARGET=1")?;
        let name = name.trim();
        let name = name.strip_prefix("cni.").unwrap_or(name);
        if !CniConfig::VARIABLES.contains(&name) {
            return Err(format!(
                "import --set takes an aws-node variable ({}); give other scenario keys to \
                 `ipamsim run --set`",
                CniConfig::VARIABLES.join(", ")
            ));
        }
        let value = value.trim();
        if value.is_empty() || value.chars().any(char::is_control) {
            return Err("the value is empty or holds a control character".into());
        }
        Ok(CniSetting {
            name: name.to_string(),
            value: value.to_string(),
        })
    }
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The account (`import.json`).
    pub account: Account,
    /// Warnings to print.
    pub warnings: Vec<String>,
}

fn io(path: &Path, e: std::io::Error) -> ImportError {
    ImportError::Read {
        file: super::shown(path),
        message: format!("cannot write it: {e}"),
    }
}

/// Copy names: `stem.ext`, or `stem-1.ext`, `stem-2.ext`, … for several.
fn names(stem: &str, ext: &str, n: usize) -> Vec<String> {
    if n == 1 {
        vec![format!("{stem}.{ext}")]
    } else {
        (1..=n).map(|i| format!("{stem}-{i}.{ext}")).collect()
    }
}

/// Runs the import.
pub fn import(req: &ImportRequest) -> Result<Imported, ImportError> {
    let snap = req.sources.load(&Options {
        provided_cni: req.cni.iter().map(|c| c.name.clone()).collect(),
        ..Options::default()
    })?;
    let mut warnings = snap.warnings.clone();
    let trace = if req.audit_logs.is_empty() {
        None
    } else {
        let ctx = Context {
            live: snap.pods.iter().map(|p| p.key.clone()).collect(),
            host_network: BTreeSet::new(),
            nodes: Some(snap.nodes.iter().map(|n| n.name.clone()).collect()),
        };
        let mut ctx = ctx;
        if let Some(p) = &req.sources.pods {
            ctx.host_network = audit::context_from(Some(p), None)?.host_network;
        }
        let t = audit::convert(&req.audit_logs, &ctx)?;
        warnings.extend(t.warnings.iter().cloned());
        Some(t)
    };
    std::fs::create_dir_all(&req.out).map_err(|e| io(&req.out, e))?;
    let s = &req.sources;
    let mut copies: Vec<(PathBuf, String)> = Vec::new();
    let mut one = |p: &Option<PathBuf>, name: &str| -> Option<String> {
        p.as_ref().map(|p| {
            copies.push((p.clone(), name.to_string()));
            name.to_string()
        })
    };
    let subnets = one(&s.subnets, "subnets.json");
    let nodes = one(&s.nodes, "nodes.json");
    let pods = one(&s.pods, "pods.json");
    let aws_node = one(&s.aws_node, "aws-node.json");
    let mut many = |ps: &[PathBuf], stem: &str, ext: &str| -> Vec<String> {
        let n = names(stem, ext, ps.len());
        for (p, name) in ps.iter().zip(&n) {
            copies.push((p.clone(), name.clone()));
        }
        if ps.is_empty() { Vec::new() } else { n }
    };
    let enis = many(&s.network_interfaces, "enis", "json");
    let reservations = many(&s.reservations, "reservations", "json");
    let audits = many(&req.audit_logs, "audit", "jsonl");
    for (from, name) in &copies {
        let to = req.out.join(name);
        let same = std::fs::canonicalize(from).ok() == std::fs::canonicalize(&to).ok();
        if !same {
            std::fs::copy(from, &to).map_err(|e| io(&to, e))?;
        }
    }
    let trace_account = match &trace {
        Some(t) => {
            let path = req.out.join("trace.csv");
            std::fs::write(&path, t.to_csv()).map_err(|e| io(&path, e))?;
            Some(TraceAccount {
                file: "trace.csv".into(),
                rows: t.rows.len() as u64,
            })
        }
        None => None,
    };
    let name = req
        .out
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .unwrap_or("imported")
        .to_string();
    let duration = match &trace {
        Some(t) => {
            let last = t.rows.last().map_or(0, |r| r.time_ms);
            (last / HOUR + 1) * HOUR
        }
        None => 2 * HOUR,
    };
    let text = scenario_text(
        &ScenarioFiles {
            name: &name,
            duration,
            subnets: subnets.as_deref().unwrap_or("subnets.json"),
            enis: &enis,
            reservations: &reservations,
            nodes: nodes.as_deref().unwrap_or("nodes.json"),
            pods: pods.as_deref(),
            aws_node: aws_node.as_deref(),
            audits: &audits,
            cni: &req.cni,
        },
        &snap,
    );
    let path = req.out.join("scenario.toml");
    std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    let account = Account::of(&snap, trace_account, &[]);
    let path = req.out.join("import.json");
    std::fs::write(&path, account.to_json()).map_err(|e| io(&path, e))?;
    Ok(Imported { account, warnings })
}

struct ScenarioFiles<'a> {
    name: &'a str,
    duration: u64,
    subnets: &'a str,
    enis: &'a [String],
    reservations: &'a [String],
    nodes: &'a str,
    pods: Option<&'a str>,
    aws_node: Option<&'a str>,
    audits: &'a [String],
    cni: &'a [CniSetting],
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The generated scenario.
fn scenario_text(f: &ScenarioFiles<'_>, snap: &Snapshot) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Written by `ipamsim import` from the exports in this folder (spec: real-inputs.md)."
    );
    let _ = writeln!(
        t,
        "# The run starts from the cluster as exported: every address at its place, every node"
    );
    let _ = writeln!(t, "# with its ENIs, every pod with its address.");
    let _ = writeln!(t, "name = {:?}", f.name);
    let _ = writeln!(t, "duration = {:?}", format_duration(f.duration));
    let _ = writeln!(t, "seed = 0");
    let _ = writeln!(t);
    let _ = writeln!(t, "[start]");
    let _ = writeln!(t, "subnets = {:?}", f.subnets);
    let _ = writeln!(t, "network_interfaces = {}", list(f.enis));
    if !f.reservations.is_empty() {
        let _ = writeln!(t, "reservations = {}", list(f.reservations));
    }
    let _ = writeln!(t, "nodes = {:?}", f.nodes);
    if let Some(p) = f.pods {
        let _ = writeln!(t, "pods = {p:?}");
    }
    if let Some(a) = f.aws_node {
        let _ = writeln!(t, "aws_node = {a:?}");
    }
    let _ = writeln!(t, "placement = \"random\"");
    subnet_lines(&mut t, f.subnets, snap);
    if let Some(a) = &snap.aws_node {
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "# [cni] comes from {}; a key here (or --set NAME=VALUE) overrides one value.",
            f.aws_node.unwrap_or("")
        );
        let _ = writeln!(t, "[cni]");
        for (k, v) in cni_json(&a.cni) {
            if f.cni.iter().any(|c| c.name == k) {
                continue;
            }
            match v {
                serde_json::Value::Null => {
                    let _ = writeln!(t, "# {k} = (unset)");
                }
                v => {
                    let _ = writeln!(t, "# {k} = {v}");
                }
            }
        }
    } else if !f.cni.is_empty() {
        let _ = writeln!(t);
        let _ = writeln!(t, "[cni]");
    }
    if !f.cni.is_empty() {
        let _ = writeln!(t, "# Given to `ipamsim import --set`:");
    }
    for (i, c) in f.cni.iter().enumerate() {
        // The last of one name wins, as with `run --set`.
        if f.cni[i + 1..].iter().any(|later| later.name == c.name) {
            continue;
        }
        let _ = writeln!(t, "{} = {}", c.name, toml::Value::String(c.value.clone()));
    }
    let mut seen: Vec<&str> = Vec::new();
    for n in &snap.nodes {
        if seen.contains(&n.group.as_str()) {
            continue;
        }
        seen.push(&n.group);
        let members = snap.nodes.iter().filter(|m| m.group == n.group).count();
        let mut zones: Vec<&str> = Vec::new();
        for m in snap.nodes.iter().filter(|m| m.group == n.group) {
            if !m.zone.is_empty() && !zones.contains(&m.zone.as_str()) {
                zones.push(&m.zone);
            }
        }
        let zones = if zones.is_empty() {
            String::new()
        } else {
            format!(" in {}", zones.join(", "))
        };
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "# {members} imported node(s){zones}; `count` adds nodes to them (--set nodegroup.{}.count=N).",
            n.group
        );
        let _ = writeln!(t, "[[nodegroup]]");
        let _ = writeln!(t, "name = {:?}", n.group);
        let _ = writeln!(t, "instance_type = {:?}", n.instance_type.name);
        let _ = writeln!(t, "count = 0");
        let _ = writeln!(t, "subnet = {:?}", snap.subnets[n.subnet].id);
        if n.pod_subnet != n.subnet {
            let _ = writeln!(t, "pod_subnet = {:?}", snap.subnets[n.pod_subnet].id);
        }
        if let Some(m) = n.max_pods {
            let _ = writeln!(t, "max_pods = {m}");
        }
        let _ = writeln!(t, "host_network_pods = {}", n.host_network_pods);
    }
    if !f.audits.is_empty() {
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "# Pod arrivals and departures from the API server's audit log (also in trace.csv)."
        );
        let _ = writeln!(t, "[[workload]]");
        let _ = writeln!(t, "kind = \"audit\"");
        let _ = writeln!(t, "name = \"audit\"");
        if f.audits.len() == 1 {
            let _ = writeln!(t, "path = {:?}", f.audits[0]);
        } else {
            let _ = writeln!(t, "path = {}", list(f.audits));
        }
    }
    t
}

/// The modelled subnets as comments, each with its zone and every tag in file order, in the
/// `[[subnets]]` spelling (`availability_zone`, `tags`): with `[start]` the run reads them
/// from the copied `describe-subnets` file (a `[[subnets]]` table is refused there), and
/// subnet discovery uses them (`kubernetes.io/role/cni`, the node's zone).
fn subnet_lines(t: &mut String, file: &str, snap: &Snapshot) {
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "# The subnets the run models, as {file} gives them (edit that file to change them). Subnet"
    );
    let _ = writeln!(
        t,
        "# discovery puts a node's new ENIs in its own subnet or one of its zone tagged kubernetes.io/role/cni."
    );
    for s in &snap.subnets {
        let mut line = format!("# {} ({}):", s.id, s.cidr);
        if !s.zone.is_empty() {
            let _ = write!(line, " availability_zone = {}", toml_string(&s.zone));
            if !s.tags.is_empty() {
                line.push(',');
            }
        }
        if !s.tags.is_empty() {
            let tags: Vec<String> = s
                .tags
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), toml_string(v)))
                .collect();
            let _ = write!(line, " tags = {{ {} }}", tags.join(", "));
        }
        if s.zone.is_empty() && s.tags.is_empty() {
            line.push_str(" no zone, no tags");
        }
        let _ = writeln!(t, "{line}");
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key: bare when it may be, else quoted.
fn toml_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { k.to_string() } else { toml_string(k) }
}

#[cfg(test)]
mod tests {
    use super::CniSetting;

    #[test]
    fn import_set_takes_aws_node_variables_only() {
        let ok = |t: &str| t.parse::<CniSetting>().unwrap();
        assert_eq!(
            ok(" cni.WARM_ENI_TARGET = 2 "),
            CniSetting {
                name: "WARM_ENI_TARGET".into(),
                value: "2".into()
            }
        );
        assert_eq!(ok("ENABLE_PREFIX_DELEGATION=true").value, "true");
        let err = |t: &str| t.parse::<CniSetting>().unwrap_err();
        assert!(err("subnet.cidr=10.0.0.0/20").contains("`ipamsim run --set`"));
        assert!(err("WARM_ENI_TARGET").contains("no `=`"));
        assert!(err("WARM_ENI_TARGET=").contains("empty"));
        assert!(err("WARM_ENI_TARGET=1\n2").contains("control character"));
    }
}
