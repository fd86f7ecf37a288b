//! `[[nodepool]]`: Karpenter v1 NodePools (node autoscaling), validated.
//!
//! The keys are Karpenter's (`spec.limits`, `spec.disruption.consolidationPolicy`,
//! `spec.disruption.consolidateAfter`) in the scenario's snake_case; instance types and
//! subnets stand for the NodePool's `node.kubernetes.io/instance-type` requirement and its
//! EC2NodeClass's subnet selector. What Karpenter does with them is [`crate::karpenter`].

use std::collections::BTreeSet;

use toml::Spanned;

use super::error::Locator;
use super::raw::RawNodePool;
use super::{DEFAULT_HOST_NETWORK_PODS, NodeGroup, ScenarioError};
use crate::catalog::{self, Hypervisor, InstanceType};
use crate::ipamd::config::CniConfig;
use crate::subnet::SubnetConfig;
use crate::time::{Millis, parse_duration};

/// `spec.disruption.consolidationPolicy` (kubernetes-sigs/karpenter `pkg/apis/v1/nodepool.go`,
/// `ConsolidationPolicy`). `Balanced` (a cost/disruption score) is not modelled: the
/// simulator has no prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsolidationPolicy {
    /// Only nodes without (non-DaemonSet) pods are removed.
    WhenEmpty,
    /// Empty nodes, and nodes whose pods fit on the other nodes, are removed (upstream's
    /// default, `+kubebuilder:default:="WhenEmptyOrUnderutilized"`).
    WhenEmptyOrUnderutilized,
}

impl ConsolidationPolicy {
    /// Its name in Karpenter's API (and the scenario).
    pub fn name(self) -> &'static str {
        match self {
            ConsolidationPolicy::WhenEmpty => "WhenEmpty",
            ConsolidationPolicy::WhenEmptyOrUnderutilized => "WhenEmptyOrUnderutilized",
        }
    }
}

/// Karpenter's default `consolidateAfter` (`+kubebuilder:default:="0s"` on
/// `Disruption.ConsolidateAfter`, kubernetes-sigs/karpenter `pkg/apis/v1/nodepool.go`).
pub const DEFAULT_CONSOLIDATE_AFTER: Millis = 0;

/// One `[[nodepool]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePool {
    /// Unique among node pools and node groups; nodes are `{name}-{i}`, i counting launches
    /// from 0.
    pub name: String,
    /// Instance types in order of preference: a launch takes the first whose pod room holds
    /// the pods it is for (a stand-in for EC2 Fleet's lowest-price choice among the types
    /// that fit).
    pub instance_types: Vec<&'static InstanceType>,
    /// Indexes into [`super::Scenario::subnets`] of the subnets nodes may launch into (the
    /// EC2NodeClass's `subnetSelectorTerms`), in file order, without repeats.
    pub subnets: Vec<usize>,
    /// `limits.nodes`: the most nodes of this pool at once, launching ones included;
    /// `None` = no limit (Karpenter's default: no `spec.limits`).
    pub limit_nodes: Option<u32>,
    /// `disruption.consolidation_policy` (default `WhenEmptyOrUnderutilized`).
    pub consolidation_policy: ConsolidationPolicy,
    /// `disruption.consolidate_after` (default 0 s); `None` = `"Never"`: consolidation off.
    pub consolidate_after: Option<Millis>,
    /// kubelet max pods (EC2NodeClass `kubelet.maxPods`); `None` = the max-pods calculator's
    /// value for each instance type and these CNI settings, as for node groups.
    pub max_pods: Option<u32>,
    /// Host-network (DaemonSet) pods per node: count against max pods, use no pod IP.
    pub host_network_pods: u32,
}

impl NodePool {
    /// The name of the pool's `i`-th launched node.
    pub fn node_name(&self, i: u32) -> String {
        format!("{}-{i}", self.name)
    }
}

type Result<T> = std::result::Result<T, ScenarioError>;

/// Validates the `[[nodepool]]` tables.
pub(super) fn nodepools(
    raw: &[Spanned<RawNodePool>],
    subnets: &[SubnetConfig],
    nodegroups: &[NodeGroup],
    cni: &CniConfig,
    loc: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<NodePool>> {
    let mut out: Vec<NodePool> = Vec::with_capacity(raw.len());
    for p in raw {
        let (span, p) = (p.span(), p.get_ref());
        if cni.custom_network_cfg {
            return Err(loc.invalid(
                span,
                "[[nodepool]] with custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG) is not modelled: Karpenter's nodes would need an ENIConfig per zone; use [[nodegroup]] with pod_subnet, or turn custom networking off",
            ));
        }
        let name = p.name.get_ref();
        if name.trim().is_empty() {
            return Err(loc.invalid(
                p.name.span(),
                "the node pool name is empty; name it (nodes are called {name}-0, {name}-1, …)",
            ));
        }
        super::validate::check_label("node pool", name)
            .map_err(|m| loc.invalid(p.name.span(), m))?;
        if out.iter().any(|o| &o.name == name) || nodegroups.iter().any(|g| &g.name == name) {
            return Err(loc.invalid(
                p.name.span(),
                format!("{name:?} already names a node pool or node group; names must be unique (they name the nodes)"),
            ));
        }
        if p.instance_types.get_ref().is_empty() {
            return Err(loc.invalid(
                p.instance_types.span(),
                "instance_types is empty; list at least one, in order of preference, e.g. [\"m5.xlarge\", \"m5.2xlarge\"]",
            ));
        }
        let mut instance_types = Vec::new();
        for t in p.instance_types.get_ref() {
            let it =
                catalog::lookup(t.get_ref()).map_err(|e| loc.invalid(t.span(), e.to_string()))?;
            if instance_types
                .iter()
                .any(|&x: &&InstanceType| std::ptr::eq(x, it))
            {
                return Err(loc.invalid(
                    t.span(),
                    format!(
                        "{} is listed twice in instance_types; list each type once",
                        it.name
                    ),
                ));
            }
            if cni.enable_prefix_delegation && it.hypervisor != Hypervisor::Nitro && !it.bare_metal
            {
                warnings.push(format!(
                    "node pool {name:?}: {} is not a Nitro instance type; ipamd ignores ENABLE_PREFIX_DELEGATION there and uses secondary IPs",
                    it.name
                ));
            }
            instance_types.push(it);
        }
        if p.subnets.get_ref().is_empty() {
            return Err(loc.invalid(
                p.subnets.span(),
                "subnets is empty; list the subnets (by name) the pool's nodes may launch into",
            ));
        }
        let mut pool_subnets = Vec::new();
        let mut seen = BTreeSet::new();
        for s in p.subnets.get_ref() {
            let i = super::validate::subnet_index("subnets", s, subnets, loc)?;
            if !seen.insert(i) {
                return Err(loc.invalid(
                    s.span(),
                    format!(
                        "subnet {:?} is listed twice; list each subnet once",
                        s.get_ref()
                    ),
                ));
            }
            pool_subnets.push(i);
        }
        let limit_nodes = match &p.limits {
            None => None,
            Some(l) => Some(super::validate::int(
                &l.get_ref().nodes,
                "limits.nodes",
                0,
                "a node limit cannot be negative; write 0 or more (drop limits for no limit)",
                loc,
            )?),
        };
        let (mut consolidation_policy, mut consolidate_after) = (
            ConsolidationPolicy::WhenEmptyOrUnderutilized,
            Some(DEFAULT_CONSOLIDATE_AFTER),
        );
        if let Some(d) = &p.disruption {
            let d = d.get_ref();
            if let Some(cp) = &d.consolidation_policy {
                consolidation_policy = match cp.get_ref().as_str() {
                    "WhenEmpty" => ConsolidationPolicy::WhenEmpty,
                    "WhenEmptyOrUnderutilized" => ConsolidationPolicy::WhenEmptyOrUnderutilized,
                    "Balanced" => {
                        return Err(loc.invalid(
                            cp.span(),
                            "consolidation_policy = \"Balanced\" is not modelled (it weighs prices the simulator does not have); use \"WhenEmpty\" or \"WhenEmptyOrUnderutilized\"",
                        ));
                    }
                    other => {
                        return Err(loc.invalid(
                            cp.span(),
                            format!("consolidation_policy = {other:?} is not a Karpenter policy; use \"WhenEmpty\" or \"WhenEmptyOrUnderutilized\" (spelled as in Karpenter)"),
                        ));
                    }
                };
            }
            if let Some(ca) = &d.consolidate_after {
                consolidate_after = match ca.get_ref().trim() {
                    "Never" => None,
                    text => Some(parse_duration(text).map_err(|e| {
                        loc.invalid(ca.span(), format!("consolidate_after: {e}, or \"Never\""))
                    })?),
                };
            }
        }
        let max_pods = p
            .max_pods
            .as_ref()
            .map(|m| {
                super::validate::int(
                    m,
                    "max_pods",
                    1,
                    "max pods must be at least 1; drop it for the max-pods calculator's value",
                    loc,
                )
            })
            .transpose()?;
        let host_network_pods = p
            .host_network_pods
            .as_ref()
            .map(|h| {
                super::validate::int(
                    h,
                    "host_network_pods",
                    0,
                    "cannot be negative; write 0 or more",
                    loc,
                )
            })
            .transpose()?
            .unwrap_or(DEFAULT_HOST_NETWORK_PODS);
        let room = |t: &InstanceType| {
            max_pods
                .unwrap_or_else(|| catalog::max_pods(t, &catalog::MaxPodsOptions::for_cni(cni)))
                .saturating_sub(host_network_pods)
        };
        if instance_types.iter().all(|t| room(t) == 0) {
            return Err(loc.invalid(
                span,
                format!("node pool {name:?}: max pods leave no room beyond its {host_network_pods} host-network pods on any of its instance types, so its nodes could never take a pod; raise max_pods or lower host_network_pods"),
            ));
        }
        out.push(NodePool {
            name: name.clone(),
            instance_types,
            subnets: pool_subnets,
            limit_nodes,
            consolidation_policy,
            consolidate_after,
            max_pods,
            host_network_pods,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::Scenario;
    use crate::time::SECOND;

    const POOL: &str = r#"duration = "1h"
[[subnets]]
name = "a"
cidr = "10.0.0.0/22"
[[subnets]]
name = "b"
cidr = "10.0.4.0/22"

[[nodepool]]
name = "default"
instance_types = ["m5.xlarge", "m5.2xlarge"]
subnets = ["a", "b"]
limits = { nodes = 50 }
disruption = { consolidation_policy = "WhenEmpty", consolidate_after = "30s" }

[[workload]]
kind = "deployment"
name = "web"
steps = [ { at = "0s", replicas = 80 } ]
"#;

    fn load(text: &str, sets: &[&str]) -> std::result::Result<Scenario, ScenarioError> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        Scenario::from_toml(text, "dir/k.toml", Path::new("."), &sets)
    }

    /// The error for `POOL` with `from` replaced by `to`, and the line it must name.
    fn err(from: &str, to: &str) -> (String, String) {
        assert!(POOL.contains(from), "{from:?} not in POOL");
        let text = POOL.replacen(from, to, 1);
        // The line of the bad value: the last line of `to`.
        let at = text.find(to).unwrap() + to.rfind('\n').map_or(0, |i| i + 1);
        let line = text[..at].matches('\n').count() + 1;
        match load(&text, &[]) {
            Ok(_) => panic!("expected an error for {to:?}"),
            Err(e) => (e.to_string(), format!("dir/k.toml:{line}:")),
        }
    }

    #[test]
    fn a_pool_without_node_groups_loads() {
        let s = load(POOL, &[]).unwrap();
        assert!(s.nodegroups.is_empty());
        let p = &s.nodepools[0];
        assert_eq!(p.name, "default");
        assert_eq!(
            p.instance_types
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["m5.xlarge", "m5.2xlarge"]
        );
        assert_eq!(p.subnets, vec![0, 1]);
        assert_eq!(p.limit_nodes, Some(50));
        assert_eq!(p.consolidation_policy, ConsolidationPolicy::WhenEmpty);
        assert_eq!(p.consolidate_after, Some(30 * SECOND));
        assert_eq!(p.max_pods, None);
        assert_eq!(p.host_network_pods, DEFAULT_HOST_NETWORK_PODS);
        assert_eq!(s.model.node_boot.millis(), 30 * SECOND);
    }

    #[test]
    fn karpenter_defaults_apply() {
        let text = POOL.replace("limits = { nodes = 50 }\n", "").replace(
            "disruption = { consolidation_policy = \"WhenEmpty\", consolidate_after = \"30s\" }\n",
            "",
        );
        let p = &load(&text, &[]).unwrap().nodepools[0];
        assert_eq!(p.limit_nodes, None);
        assert_eq!(
            p.consolidation_policy,
            ConsolidationPolicy::WhenEmptyOrUnderutilized
        );
        assert_eq!(p.consolidate_after, Some(0));
        let never = POOL.replace("\"30s\"", "\"Never\"");
        assert_eq!(
            load(&never, &[]).unwrap().nodepools[0].consolidate_after,
            None
        );
    }

    #[test]
    fn overrides_reach_pool_keys() {
        let s = load(
            POOL,
            &[
                "nodepool.default.limits.nodes=7",
                "nodepool.default.disruption.consolidate_after=5m",
                "model.node_boot=45s",
            ],
        )
        .unwrap();
        assert_eq!(s.nodepools[0].limit_nodes, Some(7));
        assert_eq!(s.nodepools[0].consolidate_after, Some(300 * SECOND));
        assert_eq!(s.model.node_boot.millis(), 45 * SECOND);
    }

    #[test]
    fn bad_values_name_their_line() {
        for (from, to, what) in [
            (
                "limits = { nodes = 50 }",
                "limits = { nodes = -1 }",
                "cannot be negative",
            ),
            (
                "limits = { nodes = 50 }",
                "limits = { cpu = 50 }",
                "unknown field `cpu`",
            ),
            ("\"WhenEmpty\"", "\"WhenIdle\"", "not a Karpenter policy"),
            ("\"WhenEmpty\"", "\"Balanced\"", "not modelled"),
            ("\"30s\"", "\"soon\"", "consolidate_after"),
            (
                "[\"m5.xlarge\", \"m5.2xlarge\"]",
                "[\"m5.xlarge\", \"m9.huge\"]",
                "m9.huge",
            ),
            (
                "[\"m5.xlarge\", \"m5.2xlarge\"]",
                "[\"m5.xlarge\", \"m5.xlarge\"]",
                "listed twice",
            ),
            (
                "[\"m5.xlarge\", \"m5.2xlarge\"]",
                "[]",
                "instance_types is empty",
            ),
            (
                "subnets = [\"a\", \"b\"]",
                "subnets = [\"a\", \"c\"]",
                "names no subnet",
            ),
            (
                "subnets = [\"a\", \"b\"]",
                "subnets = [\"a\", \"a\"]",
                "listed twice",
            ),
            (
                "subnets = [\"a\", \"b\"]",
                "subnets = []",
                "subnets is empty",
            ),
            ("name = \"default\"", "name = \"\"", "name is empty"),
            (
                "name = \"default\"",
                "name = \"web\"\nmax_pods = 0",
                "at least 1",
            ),
            (
                "name = \"default\"",
                "name = \"x\"\nhost_network_pods = -2",
                "cannot be negative",
            ),
            (
                "name = \"default\"",
                "name = \"x\"\ncount = 3",
                "unknown field `count`",
            ),
            (
                "consolidate_after = \"30s\"",
                "consolidate_after = \"30s\", budgets = 1",
                "unknown field `budgets`",
            ),
        ] {
            let (e, line) = err(from, to);
            assert!(e.contains(what), "{to:?}: {e}");
            assert!(e.starts_with(&line), "{to:?}: {e} (want {line})");
        }
    }

    #[test]
    fn names_are_unique_across_pools_and_groups() {
        let text = format!(
            "{POOL}\n[[nodegroup]]\nname = \"default\"\ninstance_type = \"m5.large\"\ncount = 1\nsubnet = \"a\"\n"
        );
        let e = load(&text, &[]).unwrap_err().to_string();
        assert!(e.contains("already names a node pool or node group"), "{e}");
    }

    #[test]
    fn a_pool_that_can_hold_no_pod_is_refused() {
        let text = POOL.replace("name = \"default\"", "name = \"default\"\nmax_pods = 2");
        let e = load(&text, &[]).unwrap_err().to_string();
        assert!(e.contains("no room beyond its 2 host-network pods"), "{e}");
    }

    #[test]
    fn custom_networking_is_refused_for_pools() {
        let text = format!("{POOL}\n[cni]\nAWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true\n");
        let e = load(&text, &[]).unwrap_err().to_string();
        assert!(e.contains("custom networking"), "{e}");
    }
}
