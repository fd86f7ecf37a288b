//! What a checked snapshot holds: the modelled subnets, nodes, pods and leaked ENIs.

use std::collections::BTreeSet;

use super::aws_node::AwsNode;
use crate::catalog::InstanceType;
use crate::subnet::{Ipv4Cidr, RESERVED_ADDRESSES, ReservationKind};

/// The cluster as exported, checked: what a run starts from.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Modelled subnets, in `describe-subnets` order.
    pub subnets: Vec<SubnetState>,
    /// Modelled nodes, in `kubectl get nodes` order.
    pub nodes: Vec<NodeState>,
    /// Live pods that take a pod address, bound or pending, in file order.
    pub pods: Vec<PodState>,
    /// Leaked ENIs (detached, ipamd's tags): held until the leaked-ENI cleanup deletes them.
    pub leaked: Vec<FixedEni>,
    /// The aws-node DaemonSet, when given.
    pub aws_node: Option<AwsNode>,
    /// What was left out and why (`import.json`'s `ignored`).
    pub ignored: Vec<(String, String)>,
    /// Accepted inputs worth a word (printed before a run).
    pub warnings: Vec<String>,
    /// Subnets of the export not modelled.
    pub unmodelled_subnets: Vec<String>,
    /// Live hostNetwork pods (`namespace/name`): an audit log writes no rows for them.
    pub host_network_pods: BTreeSet<String>,
}

/// One modelled subnet at t=0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetState {
    /// `SubnetId`.
    pub id: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// `CidrBlock`.
    pub cidr: Ipv4Cidr,
    /// `AvailabilityZone`.
    pub zone: String,
    /// `AvailableIpAddressCount`.
    pub available: Option<u32>,
    /// Its reservations, in file order.
    pub reservations: Vec<(Ipv4Cidr, ReservationKind)>,
    /// Addresses held by background interfaces and unmanaged attachments (never change).
    pub background: Vec<u32>,
    /// /28 prefixes (first addresses) held by them.
    pub background_prefixes: Vec<u32>,
    /// Every address taken (prefixes as 16).
    pub used: u32,
    /// Aligned /28s a prefix request could still get.
    pub free_prefix_blocks: u32,
    /// Every tag (`Tags[].{Key,Value}`), in file order.
    pub tags: Vec<(String, String)>,
}

impl SubnetState {
    /// Usable addresses: 2^(32-p) − 5.
    pub fn usable(&self) -> u32 {
        self.cidr.size() as u32 - RESERVED_ADDRESSES
    }
}

/// One modelled node at t=0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeState {
    /// Kubernetes name.
    pub name: String,
    /// EC2 instance id.
    pub instance_id: String,
    /// Instance type.
    pub instance_type: &'static InstanceType,
    /// The ipamsim node group (label value, or `value-type` when a value has several types).
    pub group: String,
    /// `allocatable.pods` (else the max-pods calculator's value when absent).
    pub max_pods: Option<u32>,
    /// Ready and not cordoned: may get new pods.
    pub schedulable: bool,
    /// Live hostNetwork pods.
    pub host_network_pods: u32,
    /// Index into [`Snapshot::subnets`] of its primary ENI.
    pub subnet: usize,
    /// Index of the subnet its other ENIs are in (its primary's when it has none).
    pub pod_subnet: usize,
    /// Its ENIs ipamd manages, by `DeviceIndex`.
    pub enis: Vec<NodeEni>,
    /// Attached ENIs ipamd does not manage (trunk, EFA-only, no_manage, card > 0).
    pub unmanaged: Vec<String>,
    /// Live pods bound to it holding a pod address.
    pub pods: u32,
    /// Live pods bound to it without one yet.
    pub pods_waiting_for_ip: u32,
    /// Its availability zone (label, else `spec.providerID`, else its primary ENI's subnet's;
    /// empty when none says). The run places it by its subnet, which is in this zone.
    pub zone: String,
}

/// A node ENI at t=0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEni {
    /// `NetworkInterfaceId`.
    pub id: String,
    /// Index into [`Snapshot::subnets`].
    pub subnet: usize,
    /// `DeviceIndex` (0 = primary ENI).
    pub device_index: u32,
    /// Its primary address.
    pub primary: u32,
    /// Secondary IPs.
    pub secondaries: Vec<u32>,
    /// /28 prefixes (first addresses).
    pub prefixes: Vec<u32>,
    /// Carries `node.k8s.amazonaws.com/instance_id`.
    pub tagged: bool,
}

/// An interface whose addresses stay where they are (leaked ENIs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedEni {
    /// `NetworkInterfaceId`.
    pub id: String,
    /// Index into [`Snapshot::subnets`].
    pub subnet: usize,
    /// Primary address.
    pub primary: u32,
    /// Secondary IPs.
    pub secondaries: Vec<u32>,
    /// Prefixes (first addresses).
    pub prefixes: Vec<u32>,
}

/// A live pod that takes a pod address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodState {
    /// `namespace/name`.
    pub key: String,
    /// Index into [`Snapshot::nodes`] when bound.
    pub node: Option<usize>,
    /// Its address when it has one.
    pub ip: Option<u32>,
    /// Its address is on a `branch` ENI (security groups for pods): no pool address.
    pub on_branch: bool,
}
