//! `import.json`: the importer's account of what it found (issue 9; DESIGN.md §5 defines
//! `free_prefix_blocks`). Every count is a JSON number; keys keep a fixed order.

use serde::Serialize;

use super::{Snapshot, ipv4};
use crate::ipamd::config::CniConfig;
use crate::subnet::ReservationKind;

/// The whole file.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Account {
    /// Modelled subnets.
    pub subnets: Vec<SubnetAccount>,
    /// Modelled nodes.
    pub nodes: Vec<NodeAccount>,
    /// The `[cni]` variables from aws-node (null without it).
    pub cni: Option<serde_json::Map<String, serde_json::Value>>,
    /// The audit trace written (null without an audit log).
    pub trace: Option<TraceAccount>,
    /// What was left out, and why.
    pub ignored: Vec<Ignored>,
}

/// One subnet.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SubnetAccount {
    /// `SubnetId`.
    pub id: String,
    /// `CidrBlock`.
    pub cidr: String,
    /// `AvailabilityZone`.
    pub zone: String,
    /// 2^(32-p) − 5.
    pub usable: u32,
    /// Addresses taken (prefixes as 16).
    pub used: u32,
    /// Aligned /28s a prefix request could still get.
    pub free_prefix_blocks: u32,
    /// Its reservations.
    pub reservations: Vec<ReservationAccount>,
    /// Its tags, in `describe-subnets` order.
    pub tags: Vec<TagAccount>,
}

/// One tag.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TagAccount {
    /// `Key`.
    pub key: String,
    /// `Value`.
    pub value: String,
}

/// One reservation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReservationAccount {
    /// The range.
    pub cidr: String,
    /// `prefix` or `explicit`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One node.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NodeAccount {
    /// Kubernetes name.
    pub name: String,
    /// EC2 instance id.
    pub instance_id: String,
    /// Instance type.
    pub instance_type: String,
    /// ipamsim node group.
    pub nodegroup: String,
    /// `SubnetId` of its primary ENI.
    pub subnet: String,
    /// ENIs attached (unmanaged ones included).
    pub enis: u32,
    /// Secondary IPs on its managed ENIs.
    pub secondary_ips: u32,
    /// /28 prefixes on its managed ENIs.
    pub prefixes: u32,
    /// Live pods holding a pod address.
    pub pods: u32,
    /// Live hostNetwork pods.
    pub host_network_pods: u32,
    /// Live pods bound without an address.
    pub pods_waiting_for_ip: u32,
    /// Its availability zone (empty when no export says).
    pub zone: String,
}

/// The converted audit log.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TraceAccount {
    /// File name, relative to the import folder.
    pub file: String,
    /// Rows below the header.
    pub rows: u64,
}

/// Something left out.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Ignored {
    /// What.
    pub what: String,
    /// Why.
    pub why: String,
}

/// The `[cni]` variables as JSON, in [`CniConfig::VARIABLES`] order (`MAX_ENI` null when
/// unset).
pub fn cni_json(c: &CniConfig) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut m = serde_json::Map::new();
    let vals: [Value; 10] = [
        c.enable_prefix_delegation.into(),
        c.warm_eni_target.into(),
        c.warm_ip_target.into(),
        c.minimum_ip_target.into(),
        c.warm_prefix_target.into(),
        c.max_eni.map_or(Value::Null, Value::from),
        c.custom_network_cfg.into(),
        c.ip_cooldown_period_s.into(),
        c.enable_subnet_discovery.into(),
        c.disable_leaked_eni_cleanup.into(),
    ];
    for (k, v) in CniConfig::VARIABLES.iter().zip(vals) {
        m.insert((*k).to_string(), v);
    }
    m
}

impl Account {
    /// The account of `snap`, with the trace written (if any) and extra ignored entries.
    pub fn of(
        snap: &Snapshot,
        trace: Option<TraceAccount>,
        more_ignored: &[(String, String)],
    ) -> Account {
        Account {
            subnets: snap
                .subnets
                .iter()
                .map(|s| SubnetAccount {
                    id: s.id.clone(),
                    cidr: s.cidr.to_string(),
                    zone: s.zone.clone(),
                    usable: s.usable(),
                    used: s.used,
                    free_prefix_blocks: s.free_prefix_blocks,
                    reservations: s
                        .reservations
                        .iter()
                        .map(|(c, k)| ReservationAccount {
                            cidr: c.to_string(),
                            kind: match k {
                                ReservationKind::Prefix => "prefix",
                                ReservationKind::Explicit => "explicit",
                            }
                            .into(),
                        })
                        .collect(),
                    tags: s
                        .tags
                        .iter()
                        .map(|(key, value)| TagAccount {
                            key: key.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                })
                .collect(),
            nodes: snap
                .nodes
                .iter()
                .map(|n| NodeAccount {
                    name: n.name.clone(),
                    instance_id: n.instance_id.clone(),
                    instance_type: n.instance_type.name.clone(),
                    nodegroup: n.group.clone(),
                    subnet: snap.subnets[n.subnet].id.clone(),
                    enis: (n.enis.len() + n.unmanaged.len()) as u32,
                    secondary_ips: n.enis.iter().map(|e| e.secondaries.len() as u32).sum(),
                    prefixes: n.enis.iter().map(|e| e.prefixes.len() as u32).sum(),
                    pods: n.pods,
                    host_network_pods: n.host_network_pods,
                    pods_waiting_for_ip: n.pods_waiting_for_ip,
                    zone: n.zone.clone(),
                })
                .collect(),
            cni: snap.aws_node.as_ref().map(|a| cni_json(&a.cni)),
            trace,
            ignored: snap
                .ignored
                .iter()
                .chain(more_ignored)
                .map(|(what, why)| Ignored {
                    what: what.clone(),
                    why: why.clone(),
                })
                .collect(),
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plain data serialises");
        s.push('\n');
        s
    }

    /// A few lines for a person.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for s in &self.subnets {
            let _ = writeln!(
                out,
                "subnet {} {} ({}): {} of {} addresses used, {} free /28 blocks, {} reservations",
                s.id,
                s.cidr,
                s.zone,
                s.used,
                s.usable,
                s.free_prefix_blocks,
                s.reservations.len()
            );
        }
        let pods: u32 = self.nodes.iter().map(|n| n.pods).sum();
        let waiting: u32 = self.nodes.iter().map(|n| n.pods_waiting_for_ip).sum();
        let enis: u32 = self.nodes.iter().map(|n| n.enis).sum();
        let _ = writeln!(
            out,
            "{} nodes with {enis} ENIs; {pods} pods with an address, {waiting} bound without one",
            self.nodes.len()
        );
        if let Some(t) = &self.trace {
            let _ = writeln!(out, "audit log: {} trace rows in {}", t.rows, t.file);
        }
        for i in &self.ignored {
            let _ = writeln!(out, "ignored: {}: {}", i.what, i.why);
        }
        out
    }
}

/// For messages and tests: an address list.
pub fn addresses(addrs: &[u32]) -> String {
    addrs
        .iter()
        .map(|a| ipv4(*a))
        .collect::<Vec<_>>()
        .join(", ")
}
