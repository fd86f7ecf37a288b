//! `[start]`: a scenario that starts from a real cluster's exports (spec/real-inputs.md §1).
//!
//! The exports are loaded and checked here, at validation, so a bad file is reported before
//! anything runs. With `[start]`: the subnets are the snapshot's modelled subnets (named by
//! `SubnetId`; `[subnet]`/`[[subnets]]` are errors); a `[[nodegroup]]`'s `subnet` may name one
//! by `SubnetId` or `Name` tag; imported node groups the file does not list are added with
//! `count = 0` (a listed one's `count` adds nodes to the imported ones); `[cni]` is aws-node's
//! with the keys the scenario (or `--set`) writes overriding single values.

use std::path::Path;
use std::sync::Arc;

use super::error::Locator;
use super::raw::RawScenario;
use super::{NodeGroup, ScenarioError, WorkloadSpec};
use crate::import::audit;
use crate::import::{Options, Snapshot, Sources};
use crate::ipamd::config::CniConfig;
use crate::subnet::{Placement, ReservationConfig, SubnetConfig};

/// A validated `[start]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    /// The checked snapshot.
    pub snapshot: Arc<Snapshot>,
    /// The files it came from (resolved against the scenario's folder).
    pub sources: Sources,
    /// EC2 placement for every imported subnet.
    pub placement: Placement,
}

impl Start {
    /// The subnets a run models, in the snapshot's order, named by `SubnetId`, with their
    /// zones and tags (subnet discovery reads them: `createENI`, src/ipamd/agent/create.rs).
    pub fn subnet_configs(&self) -> Vec<SubnetConfig> {
        self.snapshot
            .subnets
            .iter()
            .map(|s| SubnetConfig {
                name: Some(s.id.clone()),
                cidr: s.cidr.to_string(),
                placement: self.placement,
                background: Default::default(),
                reservations: s
                    .reservations
                    .iter()
                    .map(|(c, k)| ReservationConfig {
                        cidr: c.to_string(),
                        kind: *k,
                    })
                    .collect(),
                tags: s.tags.iter().cloned().collect(),
                availability_zone: Some(s.zone.clone()).filter(|z| !z.is_empty()),
            })
            .collect()
    }
}

/// Loads `[start]`. `cni_keys` are the `[cni]` keys the scenario writes (after `--set`).
pub(super) fn load(
    raw: &mut RawScenario,
    loc: &Locator<'_>,
    base_dir: &Path,
    cni_keys: &[String],
) -> Result<Option<Start>, ScenarioError> {
    let Some(st) = &raw.start else {
        return Ok(None);
    };
    if let Some(s) = &raw.subnet {
        return Err(loc.invalid(s.span(), "[subnet] cannot be used with [start]: the subnets come from the export; drop it (a node group names an imported subnet by SubnetId or Name tag)"));
    }
    if let Some(s) = &raw.subnets {
        return Err(loc.invalid(
            s.span(),
            "[[subnets]] cannot be used with [start]: the subnets come from the export; drop them",
        ));
    }
    let st = st.get_ref();
    let path = |p: &str| {
        let joined = base_dir.join(p);
        if base_dir == Path::new(".") {
            Path::new(p).to_path_buf()
        } else {
            joined
        }
    };
    let sources = Sources {
        subnets: Some(path(st.subnets.get_ref())),
        network_interfaces: st
            .network_interfaces
            .get_ref()
            .to_vec()
            .iter()
            .map(|p| path(p))
            .collect(),
        reservations: st
            .reservations
            .as_ref()
            .map(|r| r.get_ref().to_vec().iter().map(|p| path(p)).collect())
            .unwrap_or_default(),
        nodes: Some(path(st.nodes.get_ref())),
        pods: st.pods.as_ref().map(|p| path(p.get_ref())),
        aws_node: st.aws_node.as_ref().map(|p| path(p.get_ref())),
    };
    let extra_subnets: Vec<String> = raw
        .nodegroup
        .iter()
        .flat_map(|g| [g.get_ref().subnet.as_ref(), g.get_ref().pod_subnet.as_ref()])
        .flatten()
        .map(|s| s.get_ref().clone())
        .collect();
    let snapshot = sources
        .load(&Options {
            extra_subnets,
            provided_cni: cni_keys.to_vec(),
        })
        .map_err(ScenarioError::Import)?;
    // A node group may name a subnet by its Name tag: the run names subnets by SubnetId.
    for g in &mut raw.nodegroup {
        let g = g.get_mut();
        for s in [g.subnet.as_mut(), g.pod_subnet.as_mut()]
            .into_iter()
            .flatten()
        {
            if let Some(found) = snapshot
                .subnets
                .iter()
                .find(|x| x.name.as_deref() == Some(s.get_ref().as_str()))
            {
                *s.get_mut() = found.id.clone();
            }
        }
    }
    Ok(Some(Start {
        snapshot: Arc::new(snapshot),
        sources,
        placement: st.placement.unwrap_or_default(),
    }))
}

/// aws-node's values, with the keys the scenario writes taken from `written`.
pub(super) fn merge_cni(imported: &CniConfig, written: &CniConfig, keys: &[String]) -> CniConfig {
    let mut c = imported.clone();
    for k in keys {
        match k.as_str() {
            "ENABLE_PREFIX_DELEGATION" => {
                c.enable_prefix_delegation = written.enable_prefix_delegation
            }
            "WARM_ENI_TARGET" => c.warm_eni_target = written.warm_eni_target,
            "WARM_IP_TARGET" => c.warm_ip_target = written.warm_ip_target,
            "MINIMUM_IP_TARGET" => c.minimum_ip_target = written.minimum_ip_target,
            "WARM_PREFIX_TARGET" => c.warm_prefix_target = written.warm_prefix_target,
            "MAX_ENI" => c.max_eni = written.max_eni,
            "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG" => {
                c.custom_network_cfg = written.custom_network_cfg
            }
            "IP_COOLDOWN_PERIOD" => c.ip_cooldown_period_s = written.ip_cooldown_period_s,
            "ENABLE_SUBNET_DISCOVERY" => {
                c.enable_subnet_discovery = written.enable_subnet_discovery
            }
            "DISABLE_LEAKED_ENI_CLEANUP" => {
                c.disable_leaked_eni_cleanup = written.disable_leaked_eni_cleanup
            }
            _ => {}
        }
    }
    c
}

/// An imported node with an ENI holding pod addresses in a subnet tagged
/// `kubernetes.io/role/cni = "0"` while subnet discovery is on: ipamd would exclude that ENI
/// (`excludedENIBasedOnSubnetTags`), which is not modelled — refused as a scenario's node
/// group is (validate.rs `excluded_subnet_check`). With custom networking only the ENIs after
/// the primary hold pod addresses.
pub(super) fn excluded_check(start: &Start, cni: &CniConfig) -> Result<(), ScenarioError> {
    if !cni.enable_subnet_discovery {
        return Ok(());
    }
    let snap = &start.snapshot;
    for n in &snap.nodes {
        let pod_enis = n
            .enis
            .iter()
            .filter(|e| !cni.custom_network_cfg || e.device_index > 0);
        for e in pod_enis {
            let s = &snap.subnets[e.subnet];
            if crate::import::zones::cni_role(&s.tags) == crate::subnet::CniRole::Excluded {
                let file = start
                    .sources
                    .subnets
                    .as_deref()
                    .map(crate::import::shown)
                    .unwrap_or_default();
                return Err(ScenarioError::Import(crate::import::ImportError::Invalid {
                    file,
                    message: format!(
                        "{} is tagged kubernetes.io/role/cni = \"0\" and holds {} of node {}: with ENABLE_SUBNET_DISCOVERY on, ipamd excludes that ENI from pod addresses (excludedENIBasedOnSubnetTags), which ipamsim does not model; run with --set ENABLE_SUBNET_DISCOVERY=false",
                        s.id, e.id, n.name
                    ),
                }));
            }
        }
    }
    Ok(())
}

/// Adds the imported node groups the scenario does not list (`count = 0`).
pub(super) fn add_imported_groups(start: &Start, groups: &mut Vec<NodeGroup>) {
    let snap = &start.snapshot;
    for n in &snap.nodes {
        if groups.iter().any(|g| g.name == n.group) {
            continue;
        }
        groups.push(NodeGroup {
            name: n.group.clone(),
            instance_type: n.instance_type,
            count: 0,
            max_pods: n.max_pods,
            host_network_pods: n.host_network_pods,
            subnet: n.subnet,
            pod_subnet: n.pod_subnet,
            start: 0,
        });
    }
}

/// `[[workload]] kind = "audit"`: the logs converted now (spec §8), so skipped lines are
/// warnings before the run. The walk starts from the snapshot's live pods; an `add` names a
/// node only when it is an imported one.
pub(super) fn audit(
    name: String,
    path: &toml::Spanned<super::raw::OneOrMany>,
    base_dir: &Path,
    start: Option<&Start>,
    loc: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<WorkloadSpec, ScenarioError> {
    let paths: Vec<std::path::PathBuf> = path
        .get_ref()
        .to_vec()
        .iter()
        .map(|p| base_dir.join(p))
        .collect();
    for p in &paths {
        if !p.is_file() {
            return Err(loc.invalid(
                path.span(),
                format!(
                    "audit log {} not found (a relative path is taken from the scenario's folder, {})",
                    p.display(),
                    base_dir.display()
                ),
            ));
        }
    }
    let ctx = match start {
        Some(st) => audit::Context {
            live: st.snapshot.pods.iter().map(|p| p.key.clone()).collect(),
            host_network: st.snapshot.host_network_pods.clone(),
            nodes: Some(st.snapshot.nodes.iter().map(|n| n.name.clone()).collect()),
        },
        None => audit::Context {
            nodes: Some(Default::default()),
            ..Default::default()
        },
    };
    let trace = audit::convert(&paths, &ctx).map_err(ScenarioError::Import)?;
    if !trace.warnings.is_empty() {
        warnings.extend(trace.warnings.iter().cloned());
        warnings.push(format!(
            "workload {name:?}: {} audit lines skipped",
            trace.warnings.len()
        ));
    }
    Ok(WorkloadSpec::Audit {
        name,
        paths,
        csv: trace.to_csv().into(),
    })
}
