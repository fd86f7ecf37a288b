//! From the raw schema to a [`Scenario`]: every value checked, every name resolved.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::error::Locator;
use super::raw::{RawNodeGroup, RawScenario, RawWorkload};
use super::{
    DEFAULT_HOST_NETWORK_PODS, DEFAULT_SAMPLE_INTERVAL, Lifetime, MAX_DURATION, MAX_NAME_BYTES,
    MAX_NODES, MAX_PODS, MAX_SAMPLES, NodeGroup, Scenario, ScenarioError, WorkloadSpec,
    default_nodegroup_name, default_workload_name,
};
use crate::catalog::{self, Hypervisor};
use crate::ipamd::config::{CniConfig, Networking};
use crate::subnet::SubnetConfig;
use crate::time::{MINUTE, Millis, SECOND, format_duration};

type Result<T> = std::result::Result<T, ScenarioError>;

pub(super) fn build(
    mut raw: RawScenario,
    loc: &Locator<'_>,
    base_dir: &Path,
    cni_keys: &[String],
) -> Result<Scenario> {
    let mut warnings = Vec::new();
    let name = match &raw.name {
        Some(n) => {
            check_folder_name(n.get_ref()).map_err(|m| loc.invalid(n.span(), m))?;
            n.get_ref().clone()
        }
        None => default_name(loc.source),
    };
    let seed = match &raw.seed {
        Some(s) => u64::try_from(*s.get_ref()).map_err(|_| {
            loc.invalid(
                s.span(),
                format!("seed = {} is negative; write a seed ≥ 0", s.get_ref()),
            )
        })?,
        None => 0,
    };
    let duration = raw.duration.get_ref().millis();
    if duration == 0 {
        return Err(loc.invalid(
            raw.duration.span(),
            "duration is 0; give the run a length, e.g. \"2h\"",
        ));
    }
    if duration > MAX_DURATION {
        return Err(loc.invalid(
            raw.duration.span(),
            format!(
                "duration = {} is longer than {}, the longest run the simulator supports (its clock, samples and counters are sized for a year); shorten it",
                format_duration(duration),
                format_duration(MAX_DURATION)
            ),
        ));
    }
    let sample_interval = match &raw.sample_interval {
        Some(s) => {
            let v = s.get_ref().millis();
            if v == 0 {
                return Err(loc.invalid(s.span(), "sample_interval is 0; use e.g. \"10s\""));
            }
            if duration / v > MAX_SAMPLES {
                return Err(loc.invalid(
                    s.span(),
                    format!(
                        "sample_interval = {} over {} is {} samples; the most is {MAX_SAMPLES} (about 128 MB of time series); use at least {}",
                        format_duration(v),
                        format_duration(duration),
                        duration / v,
                        format_duration(min_sample_interval(duration))
                    ),
                ));
            }
            if v > duration {
                return Err(loc.invalid(
                    s.span(),
                    format!(
                        "sample_interval ({}) is longer than the duration ({}); use a shorter interval",
                        format_duration(v),
                        format_duration(duration)
                    ),
                ));
            }
            v
        }
        // 10 s, or coarser in whole seconds for runs past ~115 days (MAX_SAMPLES).
        None => DEFAULT_SAMPLE_INTERVAL
            .max(min_sample_interval(duration).next_multiple_of(SECOND))
            .min(duration),
    };
    let start = super::start::load(&mut raw, loc, base_dir, cni_keys)?;
    let (subnets, cni) = match &start {
        None => (subnets(&raw, loc)?, raw.cni.take().unwrap_or_default()),
        Some(st) => {
            warnings.extend(st.snapshot.warnings.iter().cloned());
            let written = raw.cni.take().unwrap_or_default();
            let cni = match &st.snapshot.aws_node {
                Some(a) => super::start::merge_cni(&a.cni, &written, cni_keys),
                None => written,
            };
            (st.subnet_configs(), cni)
        }
    };
    let model = raw.model.take().unwrap_or_default();
    // EKS Auto Mode takes no VPC CNI settings: the table is read (and checked) but replaced.
    let cni = if model.networking == Networking::AutoMode {
        if !cni_keys.is_empty() {
            warnings.push(format!(
                "[model] networking = \"auto-mode\": EKS Auto Mode takes no VPC CNI settings, so [cni] ({}) is ignored",
                cni_keys.join(", ")
            ));
        }
        CniConfig::auto_mode()
    } else {
        cni
    };
    if let Some(message) = cni.entrypoint_refusal() {
        return Err(ScenarioError::Invalid {
            at: loc.whole(),
            message,
        });
    }
    let mut nodegroups = nodegroups(&raw.nodegroup, &subnets, &cni, loc, &mut warnings)?;
    if let Some(st) = &start {
        super::start::excluded_check(st, &cni)?;
        super::start::add_imported_groups(st, &mut nodegroups);
    }
    for g in nodegroups
        .iter()
        .filter(|g| g.start >= duration && g.count > 0)
    {
        warnings.push(format!(
            "node group {:?} starts at {}, at or after the end of the run ({}); its nodes never join",
            g.name,
            format_duration(g.start),
            format_duration(duration)
        ));
    }
    let nodepools = super::nodepool::nodepools(
        &raw.nodepool,
        &subnets,
        &nodegroups,
        &cni,
        loc,
        &mut warnings,
    )?;
    let workloads = workloads(
        &raw.workload,
        duration,
        loc,
        base_dir,
        start.as_ref(),
        &mut warnings,
    )?;
    Ok(Scenario {
        name,
        seed,
        duration,
        sample_interval,
        subnets,
        cni,
        model,
        ec2: raw.ec2.unwrap_or_default(),
        nodegroups,
        nodepools,
        workloads,
        start,
        source: loc.source.to_string(),
        warnings,
    })
}

/// The shortest sample interval that keeps a run of `duration` within [`MAX_SAMPLES`].
fn min_sample_interval(duration: Millis) -> Millis {
    duration.div_ceil(MAX_SAMPLES).max(1)
}

/// The name names an output folder: it must be one path component.
fn check_folder_name(name: &str) -> std::result::Result<(), String> {
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "name is {} bytes long; it names the output folder, and the most is {MAX_NAME_BYTES} (file systems allow 255 per name, and ipamsim adds a suffix while writing); shorten it",
            name.len()
        ));
    }
    if name.trim().is_empty()
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(format!(
            "name = {name:?} cannot name an output folder; use letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// Subnet, node group and workload names label rows, charts and messages: one line, of a
/// length a chart legend can hold.
pub(super) fn check_label(what: &str, name: &str) -> std::result::Result<(), String> {
    if name.chars().any(char::is_control) {
        return Err(format!(
            "the {what} name {name:?} has a control character (a line break, a tab); use letters, digits, '-', '_' or '.'"
        ));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "the {what} name is {} bytes long; the most is {MAX_NAME_BYTES}; shorten it",
            name.len()
        ));
    }
    Ok(())
}

/// A scenario without `name` is named after its file.
fn default_name(source: &str) -> String {
    Path::new(source)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| check_folder_name(s).is_ok() && !s.starts_with('<'))
        .unwrap_or("scenario")
        .to_string()
}

fn subnets(raw: &RawScenario, loc: &Locator<'_>) -> Result<Vec<SubnetConfig>> {
    match (&raw.subnet, &raw.subnets) {
        (Some(_), Some(many)) => Err(loc.invalid(
            many.span(),
            "both [subnet] and [[subnets]] are given; use [subnet] for one subnet or [[subnets]] (each with a name) for several",
        )),
        (None, None) => Err(ScenarioError::Invalid {
            at: loc.whole(),
            message: "no subnet; add a [subnet] table with a cidr (or [[subnets]] entries with a name and cidr each)".into(),
        }),
        (Some(one), None) => {
            let mut s = one.get_ref().clone();
            s.name.get_or_insert_with(|| "default".to_string());
            check_subnet(&s, one.span(), loc)?;
            Ok(vec![s])
        }
        (None, Some(many)) => {
            if many.get_ref().is_empty() {
                return Err(loc.invalid(many.span(), "[[subnets]] is empty; give at least one subnet"));
            }
            let mut seen = BTreeSet::new();
            let mut out = Vec::new();
            for s in many.get_ref() {
                let Some(name) = s.get_ref().name.clone() else {
                    return Err(loc.invalid(
                        s.span(),
                        "this [[subnets]] entry has no name; node groups pick subnets by name, add name = \"...\"",
                    ));
                };
                if !seen.insert(name.clone()) {
                    return Err(loc.invalid(s.span(), format!("two subnets are named {name:?}; names must be unique")));
                }
                check_subnet(s.get_ref(), s.span(), loc)?;
                check_no_overlap(s.get_ref(), &out, s.span(), loc)?;
                out.push(s.get_ref().clone());
            }
            Ok(out)
        }
    }
}

/// Subnet contents (CIDR /16…/28, reservations inside and not overlapping, background that
/// fits) are validated by building the subnet once, exactly as the run will.
fn check_subnet(s: &SubnetConfig, span: Range<usize>, loc: &Locator<'_>) -> Result<()> {
    if s.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(loc.invalid(span, "a subnet name is empty; name it or drop the name"));
    }
    if let Some(n) = s.name.as_deref() {
        check_label("subnet", n).map_err(|m| loc.invalid(span.clone(), m))?;
    }
    if let Some(z) = s.availability_zone.as_deref() {
        if z.trim().is_empty() {
            return Err(loc.invalid(
                span,
                "availability_zone is empty; name the zone (\"us-east-1a\") or drop the key (the subnet is then alone in a zone of its own)",
            ));
        }
        check_label("availability zone", z).map_err(|m| loc.invalid(span.clone(), m))?;
    }
    crate::subnet::Subnet::new(s, &crate::rng::Streams::new(0), 0)
        .map(drop)
        .map_err(|e| loc.invalid(span, e.to_string()))
}

/// The subnets of one cluster are in one VPC, whose subnets never overlap (EC2
/// `CreateSubnet` refuses with `InvalidSubnet.Conflict`); ipamd keys its cooling addresses
/// by address, so two subnets handing out one address to a node could not run.
fn check_no_overlap(
    s: &SubnetConfig,
    earlier: &[SubnetConfig],
    span: Range<usize>,
    loc: &Locator<'_>,
) -> Result<()> {
    use crate::subnet::Ipv4Cidr;
    // Both CIDRs parsed already (check_subnet).
    let cidr = |c: &SubnetConfig| Ipv4Cidr::parse_subnet(&c.cidr).ok();
    let Some(mine) = cidr(s) else { return Ok(()) };
    for e in earlier {
        if cidr(e).is_some_and(|theirs| theirs.overlaps(mine)) {
            return Err(loc.invalid(
                span,
                format!(
                    "subnet {:?} ({}) overlaps subnet {:?} ({}); the subnets of a VPC never overlap (EC2 CreateSubnet refuses it): give it another range",
                    s.name.as_deref().unwrap_or(""),
                    s.cidr,
                    e.name.as_deref().unwrap_or(""),
                    e.cidr
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn subnet_index(
    key: &str,
    name: &Spanned<String>,
    subnets: &[SubnetConfig],
    loc: &Locator<'_>,
) -> Result<usize> {
    subnets
        .iter()
        .position(|s| s.name.as_deref() == Some(name.get_ref()))
        .ok_or_else(|| {
            let known: Vec<&str> = subnets.iter().filter_map(|s| s.name.as_deref()).collect();
            loc.invalid(
                name.span(),
                format!(
                    "{key} = {:?} names no subnet; the scenario's subnets are: {}",
                    name.get_ref(),
                    known.join(", ")
                ),
            )
        })
}

/// An integer that must be in `min..=u32::MAX`.
pub(super) fn int(
    v: &Spanned<i64>,
    key: &str,
    min: i64,
    what: &str,
    loc: &Locator<'_>,
) -> Result<u32> {
    let n = *v.get_ref();
    if n < min {
        return Err(loc.invalid(v.span(), format!("{key} = {n}: {what}")));
    }
    u32::try_from(n).map_err(|_| loc.invalid(v.span(), format!("{key} = {n} is too large")))
}

fn nodegroups(
    raw: &[Spanned<RawNodeGroup>],
    subnets: &[SubnetConfig],
    cni: &CniConfig,
    loc: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<NodeGroup>> {
    let mut out: Vec<NodeGroup> = Vec::with_capacity(raw.len());
    let mut total: u64 = 0;
    for (i, g) in raw.iter().enumerate() {
        let g = g.get_ref();
        let name = match &g.name {
            Some(n) => {
                if n.get_ref().trim().is_empty() {
                    return Err(loc.invalid(
                        n.span(),
                        "the node group name is empty; name it or drop the name",
                    ));
                }
                check_label("node group", n.get_ref()).map_err(|m| loc.invalid(n.span(), m))?;
                if out.iter().any(|o| &o.name == n.get_ref()) {
                    return Err(loc.invalid(
                        n.span(),
                        format!(
                            "two node groups are named {:?}; names must be unique",
                            n.get_ref()
                        ),
                    ));
                }
                n.get_ref().clone()
            }
            None => default_nodegroup_name(i),
        };
        let instance_type = catalog::lookup(g.instance_type.get_ref())
            .map_err(|e| loc.invalid(g.instance_type.span(), e.to_string()))?;
        let count = int(
            &g.count,
            "count",
            0,
            "a node count cannot be negative; write 0 or more",
            loc,
        )?;
        total += u64::from(count);
        if total > MAX_NODES {
            return Err(loc.invalid(
                g.count.span(),
                format!("the node groups add up to {total} nodes; the simulator supports at most {MAX_NODES}"),
            ));
        }
        let max_pods = g
            .max_pods
            .as_ref()
            .map(|m| {
                int(
                    m,
                    "max_pods",
                    1,
                    "max pods must be at least 1; drop it for the max-pods calculator's value",
                    loc,
                )
            })
            .transpose()?;
        let host_network_pods = g
            .host_network_pods
            .as_ref()
            .map(|h| {
                int(
                    h,
                    "host_network_pods",
                    0,
                    "cannot be negative; write 0 or more",
                    loc,
                )
            })
            .transpose()?
            .unwrap_or(DEFAULT_HOST_NETWORK_PODS);
        if let Some(m) = max_pods.filter(|&m| m <= host_network_pods) {
            warnings.push(format!(
                "node group {name:?}: max_pods = {m} leaves no room for pods beyond its {host_network_pods} host-network pods"
            ));
        }
        let subnet = match &g.subnet {
            Some(s) => subnet_index("subnet", s, subnets, loc)?,
            None => 0,
        };
        let pod_subnet = match &g.pod_subnet {
            Some(s) if !cni.custom_network_cfg => {
                return Err(loc.invalid(
                    s.span(),
                    "pod_subnet needs custom networking; set AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true in [cni] (without it ipamd puts pod ENIs in the node's subnet)",
                ));
            }
            Some(s) => subnet_index("pod_subnet", s, subnets, loc)?,
            None => subnet,
        };
        excluded_subnet_check(g, subnet, pod_subnet, subnets, cni, loc)?;
        // spec/ipamd-policy.md §2 precedence 4: PD on a non-Nitro, non-bare-metal type logs a
        // warning and falls back to secondary IPs.
        if cni.enable_prefix_delegation
            && instance_type.hypervisor != Hypervisor::Nitro
            && !instance_type.bare_metal
        {
            warnings.push(format!(
                "node group {name:?}: {} is not a Nitro instance type; ipamd ignores ENABLE_PREFIX_DELEGATION there and uses secondary IPs",
                instance_type.name
            ));
        }
        let start = g.start.as_ref().map_or(0, |s| s.get_ref().millis());
        out.push(NodeGroup {
            name,
            instance_type,
            count,
            max_pods,
            host_network_pods,
            subnet,
            pod_subnet,
            start,
        });
    }
    Ok(out)
}

/// A node whose ENIs would sit in a subnet tagged `kubernetes.io/role/cni=0` while subnet
/// discovery is on: ipamd's `setupENI` marks such ENIs excluded from pod addresses
/// (`excludedENIBasedOnSubnetTags`, v1.22+), which ipamsim does not model. Refused rather
/// than run wrongly. (With discovery off no ENI is ever excluded, and `createENI` refuses to
/// create ENIs in the node's own excluded subnet: that is modelled. With custom networking
/// the primary ENI carries no pod addresses anyway.)
fn excluded_subnet_check(
    g: &RawNodeGroup,
    subnet: usize,
    pod_subnet: usize,
    subnets: &[SubnetConfig],
    cni: &CniConfig,
    loc: &Locator<'_>,
) -> Result<()> {
    use crate::subnet::CniRole;
    if !cni.enable_subnet_discovery {
        return Ok(());
    }
    let (index, key) = if cni.custom_network_cfg {
        (pod_subnet, g.pod_subnet.as_ref().or(g.subnet.as_ref()))
    } else {
        (subnet, g.subnet.as_ref())
    };
    if subnets[index].cni_role() != CniRole::Excluded {
        return Ok(());
    }
    let at = key.map_or(g.instance_type.span(), |k| k.span());
    Err(loc.invalid(
        at,
        format!(
            "subnet {:?} is tagged kubernetes.io/role/cni = \"0\" and holds this node group's pod ENIs: with ENABLE_SUBNET_DISCOVERY on, ipamd excludes such ENIs from pod addresses (excludedENIBasedOnSubnetTags), which ipamsim does not model. Put the nodes in another subnet, drop the tag, or set ENABLE_SUBNET_DISCOVERY = false",
            subnets[index].name.as_deref().unwrap_or("default")
        ),
    ))
}

fn workloads(
    raw: &[Spanned<RawWorkload>],
    duration: Millis,
    loc: &Locator<'_>,
    base_dir: &Path,
    start: Option<&super::Start>,
    warnings: &mut Vec<String>,
) -> Result<Vec<WorkloadSpec>> {
    let mut out: Vec<WorkloadSpec> = Vec::with_capacity(raw.len());
    for (i, w) in raw.iter().enumerate() {
        let (span, w) = (w.span(), w.get_ref());
        let kind = w.kind.get_ref().as_str();
        let allowed: &[&str] = match kind {
            "deployment" => &["steps"],
            "poisson" => &["rate_per_min", "lifetime", "start", "end"],
            "trace" | "audit" => &["path"],
            other => {
                return Err(loc.invalid(
                    w.kind.span(),
                    format!("unknown workload kind {other:?}; use \"deployment\", \"poisson\", \"trace\" or \"audit\""),
                ));
            }
        };
        for (key, key_span) in w.present_keys() {
            if !allowed.contains(&key) {
                return Err(loc.invalid(
                    key_span,
                    format!(
                        "`{key}` does not apply to a {kind} workload (its keys: kind, name, {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let name = match &w.name {
            Some(n) => {
                if n.get_ref().trim().is_empty() {
                    return Err(loc.invalid(
                        n.span(),
                        "the workload name is empty; name it or drop the name",
                    ));
                }
                check_label("workload", n.get_ref()).map_err(|m| loc.invalid(n.span(), m))?;
                n.get_ref().clone()
            }
            None => default_workload_name(kind, i),
        };
        if out.iter().any(|o| o.name() == name) {
            let at = w.name.as_ref().map_or(span.clone(), |n| n.span());
            return Err(loc.invalid(
                at,
                format!("two workloads are named {name:?}; names must be unique"),
            ));
        }
        let missing = |key: &str, example: &str| {
            loc.invalid(
                span.clone(),
                format!("this {kind} workload has no `{key}`; add e.g. {example}"),
            )
        };
        let spec = match kind {
            "deployment" => {
                let steps = w.steps.as_ref().ok_or_else(|| {
                    missing("steps", "steps = [ { at = \"0s\", replicas = 10 } ]")
                })?;
                deployment(name, steps, duration, loc, warnings)?
            }
            "poisson" => {
                let rate = w
                    .rate_per_min
                    .as_ref()
                    .ok_or_else(|| missing("rate_per_min", "rate_per_min = 20"))?;
                let lifetime = w
                    .lifetime
                    .as_ref()
                    .ok_or_else(|| missing("lifetime", "lifetime = { mean = \"15m\" }"))?;
                poisson(name, rate, lifetime, w, duration, loc, warnings)?
            }
            "audit" => {
                let path = w
                    .path
                    .as_ref()
                    .ok_or_else(|| missing("path", "path = \"export/audit.jsonl\""))?;
                super::start::audit(name, path, base_dir, start, loc, warnings)?
            }
            _ => {
                let path = w
                    .path
                    .as_ref()
                    .ok_or_else(|| missing("path", "path = \"traces/pods.csv\""))?;
                let super::raw::OneOrMany::One(one) = path.get_ref() else {
                    return Err(loc.invalid(
                        path.span(),
                        "a trace workload reads one file; give path = \"traces/pods.csv\"",
                    ));
                };
                let resolved = base_dir.join(one);
                if !resolved.is_file() {
                    return Err(loc.invalid(
                        path.span(),
                        format!(
                            "trace file {} not found (a relative path is taken from the scenario's folder, {})",
                            resolved.display(),
                            base_dir.display()
                        ),
                    ));
                }
                WorkloadSpec::Trace {
                    name,
                    path: resolved,
                }
            }
        };
        out.push(spec);
    }
    Ok(out)
}

fn deployment(
    name: String,
    steps: &Spanned<Vec<Spanned<super::raw::RawStep>>>,
    duration: Millis,
    loc: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<WorkloadSpec> {
    if steps.get_ref().is_empty() {
        return Err(loc.invalid(
            steps.span(),
            "steps is empty; give at least one { at = \"0s\", replicas = N }",
        ));
    }
    let mut out: Vec<(Millis, u32)> = Vec::with_capacity(steps.get_ref().len());
    for s in steps.get_ref() {
        let at = s.get_ref().at.get_ref().millis();
        let replicas = int(
            &s.get_ref().replicas,
            "replicas",
            0,
            "a replica count cannot be negative; write 0 or more",
            loc,
        )?;
        if let Some(&(prev, _)) = out.last()
            && at <= prev
        {
            return Err(loc.invalid(
                s.get_ref().at.span(),
                format!(
                    "steps must be in strictly increasing time order: this step at {} follows one at {}; sort them",
                    format_duration(at),
                    format_duration(prev)
                ),
            ));
        }
        if at >= duration {
            warnings.push(format!(
                "workload {name:?}: the step at {} is at or after the end of the run ({}) and never happens",
                format_duration(at),
                format_duration(duration)
            ));
        }
        out.push((at, replicas));
    }
    let created: u64 = out
        .iter()
        .scan(0u32, |live, &(_, r)| {
            let up = r.saturating_sub(*live);
            *live = r;
            Some(u64::from(up))
        })
        .sum();
    if created > MAX_PODS {
        return Err(loc.invalid(
            steps.span(),
            format!("these steps create {created} pods; the simulator supports at most {MAX_PODS}"),
        ));
    }
    Ok(WorkloadSpec::Deployment { name, steps: out })
}

fn poisson(
    name: String,
    rate: &Spanned<f64>,
    lifetime: &Spanned<super::raw::RawLifetime>,
    w: &RawWorkload,
    duration: Millis,
    loc: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<WorkloadSpec> {
    let rate_per_min = *rate.get_ref();
    if !(rate_per_min.is_finite() && rate_per_min > 0.0) {
        return Err(loc.invalid(
            rate.span(),
            format!("rate_per_min = {rate_per_min}: the arrival rate must be a number above 0"),
        ));
    }
    let lifetime = match (&lifetime.get_ref().mean, &lifetime.get_ref().fixed) {
        (Some(m), None) if m.get_ref().millis() > 0 => Lifetime::Exponential {
            mean: m.get_ref().millis(),
        },
        (None, Some(f)) if f.get_ref().millis() > 0 => Lifetime::Fixed(f.get_ref().millis()),
        (Some(v), None) | (None, Some(v)) => {
            return Err(loc.invalid(
                v.span(),
                "a pod lifetime of 0 is not a pod; give a positive duration",
            ));
        }
        _ => {
            return Err(loc.invalid(
                lifetime.span(),
                "lifetime takes exactly one of `mean` (exponential) or `fixed`, e.g. { mean = \"15m\" }",
            ));
        }
    };
    let start = w.start.as_ref().map_or(0, |s| s.get_ref().millis());
    let end = w.end.as_ref().map_or(duration, |e| e.get_ref().millis());
    if start >= end {
        let at = w
            .end
            .as_ref()
            .or(w.start.as_ref())
            .map_or(rate.span(), |s| s.span());
        return Err(loc.invalid(
            at,
            format!(
                "start ({}) must be before end ({}); arrivals happen in [start, end)",
                format_duration(start),
                format_duration(end)
            ),
        ));
    }
    if start >= duration {
        warnings.push(format!(
            "workload {name:?}: starts at {}, at or after the end of the run ({}); it creates no pods",
            format_duration(start),
            format_duration(duration)
        ));
    }
    let window = end.min(duration).saturating_sub(start);
    let expected = rate_per_min * window as f64 / MINUTE as f64;
    if expected > MAX_PODS as f64 {
        return Err(loc.invalid(
            rate.span(),
            format!("about {expected:.0} arrivals expected; the simulator supports at most {MAX_PODS} pods. Lower the rate"),
        ));
    }
    Ok(WorkloadSpec::Poisson {
        name,
        rate_per_min,
        lifetime,
        start,
        end,
    })
}
