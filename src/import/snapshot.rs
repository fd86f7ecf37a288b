//! Joining the exports into one [`Snapshot`], with the checks of spec/real-inputs.md §3–§8,
//! in that order.

use std::collections::{BTreeMap, BTreeSet};

use super::enis::ExportedEni;
use super::nodes::ExportedNode;
use super::read::{Exports, read_exports};
use super::state::{FixedEni, NodeEni, NodeState, PodState, Snapshot, SubnetState};
use super::{ImportError, Options, Sources, ipv4, zones};
use crate::catalog;
use crate::subnet::{Ipv4Cidr, PREFIX_SIZE, RESERVED_ADDRESSES, ReservationKind};

type Result<T> = std::result::Result<T, ImportError>;

fn invalid(file: &str, message: String) -> ImportError {
    ImportError::Invalid {
        file: file.to_string(),
        message,
    }
}

/// Who holds an address of a subnet.
#[derive(Clone, Copy, Debug)]
struct Holder {
    eni: usize,
    /// First address of the prefix it is part of.
    prefix: Option<u32>,
    primary: bool,
}

/// The ENI classes of spec §4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Node(usize),
    Unmanaged(usize),
    Leaked,
    Background,
}

pub(super) fn build(src: &Sources, opt: &Options) -> Result<Snapshot> {
    let mut warnings = Vec::new();
    let mut ignored: Vec<(String, String)> = Vec::new();
    let Exports {
        subnets_file,
        all_subnets,
        eni_files,
        enis,
        reservations,
        nodes_file,
        exported_nodes,
        pods_file,
        exported_pods,
        aws_node,
    } = read_exports(src, opt)?;
    let cluster_name = aws_node.as_ref().and_then(|a| a.cluster_name.clone());

    // Nodes that are modelled (fargate, hybrid and auto nodes are not), by instance id.
    let mut modelled_nodes: Vec<&ExportedNode> = Vec::new();
    let mut not_modelled: BTreeSet<&str> = BTreeSet::new();
    for n in &exported_nodes {
        match n.compute_type.as_deref() {
            Some(t @ ("fargate" | "hybrid" | "auto")) => {
                warnings.push(format!(
                    "{nodes_file}: node {} is a {t} node; not modelled (its pods are ignored, its interfaces are background)",
                    n.name
                ));
                ignored.push((
                    format!("node {}", n.name),
                    format!("compute-type {t}: not modelled"),
                ));
                not_modelled.insert(n.name.as_str());
            }
            _ => modelled_nodes.push(n),
        }
    }
    let by_instance: BTreeMap<&str, usize> = modelled_nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.instance_id.is_empty())
        .map(|(i, n)| (n.instance_id.as_str(), i))
        .collect();

    // §4 classes.
    let classes: Vec<Class> = enis
        .iter()
        .map(|(e, _)| classify(e, &by_instance, cluster_name.as_deref()))
        .collect();
    for ((e, f), c) in enis.iter().zip(&classes) {
        if let (Class::Node(n), Some(t)) = (c, e.tag("node.k8s.amazonaws.com/instance_id"))
            && t != modelled_nodes[*n].instance_id
        {
            warnings.push(format!(
                "{}: {} is attached to {} but tagged for {t}; the attachment decides",
                eni_files[*f].0, e.id, modelled_nodes[*n].instance_id
            ));
        }
    }

    // §3 subnets: modelled = holding a node's ENI, or named by a node group.
    let mut modelled: BTreeSet<&str> = BTreeSet::new();
    for ((e, f), c) in enis.iter().zip(&classes) {
        if matches!(c, Class::Node(_) | Class::Unmanaged(_)) {
            if !all_subnets.iter().any(|s| s.id == e.subnet) {
                return Err(invalid(
                    &eni_files[*f].0,
                    format!(
                        "{} is in {}, which {subnets_file} does not list; export every subnet of the cluster",
                        e.id, e.subnet
                    ),
                ));
            }
            modelled.insert(e.subnet.as_str());
        }
    }
    for want in &opt.extra_subnets {
        match all_subnets
            .iter()
            .find(|s| &s.id == want || s.name.as_deref() == Some(want.as_str()))
        {
            Some(s) => {
                modelled.insert(s.id.as_str());
            }
            None => {
                return Err(invalid(
                    &subnets_file,
                    format!(
                        "a node group names subnet {want:?}, which is neither a SubnetId nor a Name tag in this file"
                    ),
                ));
            }
        }
    }
    // Subnets subnet discovery may put those nodes' new ENIs in.
    for id in zones::discoverable(&all_subnets, &modelled) {
        modelled.insert(id);
    }
    let mut subnets: Vec<SubnetState> = Vec::new();
    let mut unmodelled = Vec::new();
    let mut vpc: Option<(&str, &str)> = None;
    for s in &all_subnets {
        let Some(cidr) = s.cidr else {
            ignored.push((s.id.clone(), "IPv6-only subnet (no CidrBlock)".into()));
            continue;
        };
        if !modelled.contains(s.id.as_str()) {
            unmodelled.push(s.id.clone());
            continue;
        }
        match vpc {
            Some((v, other)) if v != s.vpc => {
                return Err(invalid(
                    &subnets_file,
                    format!(
                        "{} is in {} but {other} is in {v}; the modelled subnets must share one VPC",
                        s.id, s.vpc
                    ),
                ));
            }
            _ => vpc = Some((&s.vpc, &s.id)),
        }
        subnets.push(SubnetState {
            id: s.id.clone(),
            name: s.name.clone(),
            cidr,
            zone: s.zone.clone(),
            available: s.available,
            reservations: Vec::new(),
            background: Vec::new(),
            background_prefixes: Vec::new(),
            used: 0,
            free_prefix_blocks: 0,
            tags: s.tags.clone(),
        });
    }
    if !unmodelled.is_empty() {
        ignored.push((
            format!("{} subnets: {}", unmodelled.len(), unmodelled.join(", ")),
            "no modelled node draws from them, nor could subnet discovery (none is tagged kubernetes.io/role/cni in a node's zone): each subnet is its own address pool".into(),
        ));
    }
    let subnet_ids: BTreeMap<String, usize> = subnets
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let subnet_index = |id: &str| subnet_ids.get(id).copied();

    // §4 every address and prefix at its exact place.
    let mut holders: Vec<BTreeMap<u32, Holder>> = vec![BTreeMap::new(); subnets.len()];
    let mut other_subnets = 0;
    for (i, (e, f)) in enis.iter().enumerate() {
        let file = &eni_files[*f].0;
        let Some(si) = subnet_index(&e.subnet) else {
            other_subnets += 1;
            continue;
        };
        let s = &subnets[si];
        let h = &mut holders[si];
        let in_subnet = |addr: u32| -> Result<()> {
            if !s.cidr.contains(addr) {
                return Err(invalid(
                    file,
                    format!(
                        "{} has {}, outside its subnet {} ({})",
                        e.id,
                        ipv4(addr),
                        s.id,
                        s.cidr
                    ),
                ));
            }
            let off = addr - s.cidr.addr();
            if off < RESERVED_ADDRESSES - 1 || off as u64 == s.cidr.size() - 1 {
                return Err(invalid(
                    file,
                    format!(
                        "{} has {}, one of the five addresses AWS reserves in {} ({})",
                        e.id,
                        ipv4(addr),
                        s.id,
                        s.cidr
                    ),
                ));
            }
            Ok(())
        };
        let take = |h: &mut BTreeMap<u32, Holder>, addr: u32, new: Holder| -> Result<()> {
            if let Some(old) = h.get(&addr) {
                let (a, b) = (&enis[old.eni].0.id, &e.id);
                let message = match (old.prefix, new.prefix) {
                    (Some(p), None) => format!(
                        "{b} has {}, inside prefix {}/28 of {a}",
                        ipv4(addr),
                        ipv4(p)
                    ),
                    (None, Some(p)) => format!(
                        "{a} has {}, inside prefix {}/28 of {b}",
                        ipv4(addr),
                        ipv4(p)
                    ),
                    (Some(p), Some(_)) => format!("{}/28 is held by {a} and by {b}", ipv4(p)),
                    (None, None) => format!("{} is held by {a} and by {b}", ipv4(addr)),
                };
                return Err(invalid(file, message));
            }
            h.insert(addr, new);
            Ok(())
        };
        in_subnet(e.primary)?;
        take(
            h,
            e.primary,
            Holder {
                eni: i,
                prefix: None,
                primary: true,
            },
        )?;
        for &a in &e.secondaries {
            in_subnet(a)?;
            take(
                h,
                a,
                Holder {
                    eni: i,
                    prefix: None,
                    primary: false,
                },
            )?;
        }
        for p in &e.prefixes {
            let blocks = s.cidr.size() as u32 / PREFIX_SIZE;
            let off = p.addr().wrapping_sub(s.cidr.addr());
            if p.prefix_len() != 28 || !s.cidr.covers(*p) {
                return Err(invalid(
                    file,
                    format!(
                        "{} has prefix {p}, which is not an aligned /28 inside its subnet {} ({})",
                        e.id, s.id, s.cidr
                    ),
                ));
            }
            if off / PREFIX_SIZE == 0 || off / PREFIX_SIZE == blocks - 1 {
                return Err(invalid(
                    file,
                    format!(
                        "{} has prefix {p}, in the first or last /28 of {} ({}), which hold addresses AWS reserves",
                        e.id, s.id, s.cidr
                    ),
                ));
            }
            for a in p.addr()..p.addr() + PREFIX_SIZE {
                take(
                    h,
                    a,
                    Holder {
                        eni: i,
                        prefix: Some(p.addr()),
                        primary: false,
                    },
                )?;
            }
        }
    }
    if other_subnets > 0 {
        ignored.push((
            format!("{other_subnets} network interfaces"),
            "in subnets that are not modelled".into(),
        ));
    }

    // §5 reservations.
    let mut has_reservations = vec![false; subnets.len()];
    let mut other_res = 0;
    for (r, file) in &reservations {
        let Some(si) = subnet_index(&r.subnet) else {
            other_res += 1;
            continue;
        };
        has_reservations[si] = true;
        let s = &mut subnets[si];
        let kind = |k: ReservationKind| match k {
            ReservationKind::Prefix => "prefix",
            ReservationKind::Explicit => "explicit",
        };
        if !s.cidr.covers(r.cidr) {
            return Err(invalid(
                file,
                format!(
                    "reservation {} ({}) is outside its subnet {} ({})",
                    r.cidr,
                    kind(r.kind),
                    s.id,
                    s.cidr
                ),
            ));
        }
        if let Some((c, k)) = s.reservations.iter().find(|(c, _)| c.overlaps(r.cidr)) {
            return Err(invalid(
                file,
                format!(
                    "reservation {} ({}) overlaps {c} ({})",
                    r.cidr,
                    kind(r.kind),
                    kind(*k)
                ),
            ));
        }
        s.reservations.push((r.cidr, r.kind));
    }
    if other_res > 0 {
        ignored.push((
            format!("{other_res} reservations"),
            "of subnets that are not modelled".into(),
        ));
    }
    if src.reservations.is_empty() {
        for s in &subnets {
            warnings.push(format!(
                "{}: no reservations file given; assumed to have none (export with `aws ec2 get-subnet-cidr-reservations --subnet-id {} --output json`)",
                s.id, s.id
            ));
        }
    }

    // §6 nodes.
    let mut groups_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for n in &modelled_nodes {
        groups_of
            .entry(n.group.as_str())
            .or_default()
            .insert(n.instance_type.as_deref().unwrap_or(""));
    }
    let mut nodes: Vec<NodeState> = Vec::new();
    for (ni, n) in modelled_nodes.iter().enumerate() {
        let who = format!("node {} ({})", n.name, n.instance_id);
        let type_name = n.instance_type.as_deref().ok_or_else(|| {
            invalid(
                &nodes_file,
                format!("{who}: no node.kubernetes.io/instance-type label"),
            )
        })?;
        let instance_type =
            catalog::lookup(type_name).map_err(|e| invalid(&nodes_file, format!("{who}: {e}")))?;
        let mut mine: Vec<(usize, &ExportedEni, usize)> = Vec::new();
        let mut unmanaged = Vec::new();
        for (i, ((e, f), c)) in enis.iter().zip(&classes).enumerate() {
            match c {
                Class::Node(k) if *k == ni => mine.push((i, e, *f)),
                Class::Unmanaged(k) if *k == ni => unmanaged.push(e.id.clone()),
                _ => {}
            }
        }
        if mine.is_empty() && unmanaged.is_empty() {
            let files: Vec<String> = eni_files.iter().map(|(f, _)| f.clone()).collect();
            return Err(invalid(
                &nodes_file,
                format!(
                    "{who}: no interface in {} is attached to it; export the interfaces of its subnet",
                    files.join(", ")
                ),
            ));
        }
        mine.sort_by_key(|(_, e, _)| e.attachment.as_ref().map_or(0, |a| a.device_index));
        let device = |e: &ExportedEni| e.attachment.as_ref().map_or(0, |a| a.device_index);
        if mine.first().is_none_or(|(_, e, _)| device(e) != 0) {
            return Err(invalid(
                &nodes_file,
                format!(
                    "{who}: no ENI at DeviceIndex 0 in the interfaces export; export the interfaces of its subnet"
                ),
            ));
        }
        for w in mine.windows(2) {
            if device(w[0].1) == device(w[1].1) {
                return Err(invalid(
                    &eni_files[w[1].2].0,
                    format!(
                        "{} and {} are both at DeviceIndex {} of {who}",
                        w[0].1.id,
                        w[1].1.id,
                        device(w[1].1)
                    ),
                ));
            }
        }
        let attached = (mine.len() + unmanaged.len()) as u32;
        if attached > instance_type.max_enis {
            return Err(invalid(
                &nodes_file,
                format!(
                    "{who}: {attached} ENIs attached, more than the {} a {} takes",
                    instance_type.max_enis, instance_type.name
                ),
            ));
        }
        for (_, e, f) in &mine {
            if e.slots() > instance_type.ipv4_per_eni {
                return Err(invalid(
                    &eni_files[*f].0,
                    format!(
                        "{} on {who} holds {} addresses (primary, secondary IPs and prefixes), more than the {} an ENI of a {} takes",
                        e.id,
                        e.slots(),
                        instance_type.ipv4_per_eni,
                        instance_type.name
                    ),
                ));
            }
        }
        let subnet = subnet_index(&mine[0].1.subnet).expect("node ENI subnets are modelled");
        let pod_subnet = mine
            .get(1)
            .and_then(|(_, e, _)| subnet_index(&e.subnet))
            .unwrap_or(subnet);
        let my_subnets: Vec<(&str, &SubnetState)> = mine
            .iter()
            .filter_map(|(_, e, _)| subnet_index(&e.subnet).map(|i| (e.id.as_str(), &subnets[i])))
            .collect();
        let zone = zones::node_zone(n, &who, &my_subnets, &nodes_file)?;
        let several = groups_of.get(n.group.as_str()).is_some_and(|t| t.len() > 1);
        nodes.push(NodeState {
            name: n.name.clone(),
            instance_id: n.instance_id.clone(),
            instance_type,
            group: if several {
                format!("{}-{}", n.group, instance_type.name)
            } else {
                n.group.clone()
            },
            max_pods: n.max_pods,
            schedulable: n.ready && !n.unschedulable,
            host_network_pods: 0,
            subnet,
            pod_subnet,
            enis: mine
                .iter()
                .map(|(_, e, _)| NodeEni {
                    id: e.id.clone(),
                    subnet: subnet_index(&e.subnet).expect("node ENI subnets are modelled"),
                    device_index: device(e),
                    primary: e.primary,
                    secondaries: e.secondaries.clone(),
                    prefixes: e.prefixes.iter().map(|p| p.addr()).collect(),
                    tagged: e.tag("node.k8s.amazonaws.com/instance_id").is_some(),
                })
                .collect(),
            unmanaged,
            pods: 0,
            pods_waiting_for_ip: 0,
            zone,
        });
    }

    // Background and leaked: addresses of the modelled subnets not on a node ENI.
    let mut leaked = Vec::new();
    for (i, ((e, _), c)) in enis.iter().zip(&classes).enumerate() {
        let Some(si) = subnet_index(&e.subnet) else {
            continue;
        };
        match c {
            Class::Node(_) => {}
            Class::Leaked => leaked.push(FixedEni {
                id: e.id.clone(),
                subnet: si,
                primary: e.primary,
                secondaries: e.secondaries.clone(),
                prefixes: e.prefixes.iter().map(|p| p.addr()).collect(),
            }),
            Class::Unmanaged(_) | Class::Background => {
                let s = &mut subnets[si];
                s.background.push(e.primary);
                s.background.extend(&e.secondaries);
                s.background_prefixes
                    .extend(e.prefixes.iter().map(|p| p.addr()));
                let _ = i;
            }
        }
    }
    for (si, s) in subnets.iter_mut().enumerate() {
        s.used = holders[si].len() as u32;
        s.free_prefix_blocks = free_prefix_blocks(s, &holders[si]);
        if let Some(avail) = s.available {
            let shows = s.usable().saturating_sub(s.used);
            if avail != shows {
                let why = format!(
                    "AvailableIpAddressCount is {avail} but the interfaces show {shows} free ({} used of {}): interfaces the export does not show (another account's in a shared VPC) or exports taken minutes apart; the import keeps what the interfaces show",
                    s.used,
                    s.usable()
                );
                warnings.push(format!("{subnets_file}: {}: {why}", s.id));
                ignored.push((format!("{} AvailableIpAddressCount", s.id), why));
            }
        }
        let _ = has_reservations[si];
    }

    // §7 pods.
    let node_ids: BTreeMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.clone(), i))
        .collect();
    let node_index = |name: &str| node_ids.get(name).copied();
    let mut pods = Vec::new();
    let mut by_addr: BTreeMap<u32, &str> = BTreeMap::new();
    let (mut ended, mut pending, mut host) = (0, 0, 0);
    let mut host_network_pods = BTreeSet::new();
    for p in &exported_pods {
        if !p.is_live() {
            ended += 1;
            continue;
        }
        let node = match &p.node {
            None => None,
            Some(name) if not_modelled.contains(name.as_str()) => continue,
            Some(name) => Some(node_index(name).ok_or_else(|| {
                invalid(
                    &pods_file,
                    format!(
                        "pod {} is on node {name}, which is not in {nodes_file}",
                        p.key
                    ),
                )
            })?),
        };
        if p.host_network {
            if let Some(n) = node {
                nodes[n].host_network_pods += 1;
            }
            host += 1;
            host_network_pods.insert(p.key.clone());
            continue;
        }
        let Some(n) = node else {
            pending += 1;
            pods.push(PodState {
                key: p.key.clone(),
                node: None,
                ip: None,
                on_branch: false,
            });
            continue;
        };
        let Some(ip) = p.ip else {
            nodes[n].pods_waiting_for_ip += 1;
            pods.push(PodState {
                key: p.key.clone(),
                node: Some(n),
                ip: None,
                on_branch: false,
            });
            continue;
        };
        let holder = subnets
            .iter()
            .position(|s| s.cidr.contains(ip))
            .and_then(|si| holders[si].get(&ip));
        let on_branch = holder.is_some_and(|h| enis[h.eni].0.interface_type == "branch");
        // A branch ENI (security groups for pods) is the pod's own: its primary is the pod's.
        if let Some(h) = holder.filter(|h| h.primary && !on_branch) {
            return Err(invalid(
                &pods_file,
                format!(
                    "pod {} has {}, the primary address of {}; ipamd never gives it to a pod (is spec.hostNetwork missing?)",
                    p.key,
                    ipv4(ip),
                    enis[h.eni].0.id
                ),
            ));
        }
        let on_node = holder.is_some_and(|h| {
            classes[h.eni] == Class::Node(modelled_index(&modelled_nodes, &nodes[n].name))
        });
        if !on_branch && !on_node {
            return Err(invalid(
                &pods_file,
                format!(
                    "pod {} on {} has {}, which is not one of that node's pod addresses ({})",
                    p.key,
                    nodes[n].name,
                    ipv4(ip),
                    pod_addresses(&nodes[n])
                ),
            ));
        }
        if let Some(other) = by_addr.insert(ip, &p.key) {
            return Err(invalid(
                &pods_file,
                format!("pods {other} and {} both have {}", p.key, ipv4(ip)),
            ));
        }
        nodes[n].pods += 1;
        pods.push(PodState {
            key: p.key.clone(),
            node: Some(n),
            ip: Some(ip),
            on_branch,
        });
    }
    if ended > 0 {
        ignored.push((
            format!("{ended} pods"),
            "Succeeded or Failed: their sandbox is gone and ipamd released the address".into(),
        ));
    }
    if host > 0 {
        ignored.push((
            format!("{host} hostNetwork pods"),
            "use the node's address, no pod address (they count against max pods)".into(),
        ));
    }
    if pending > 0 {
        warnings.push(format!(
            "{pods_file}: {pending} pods are not bound to a node; they arrive at t=0 and wait for a node slot (they may have been waiting for CPU or memory, which ipamsim does not model)"
        ));
    }
    if let Some(a) = &aws_node {
        warnings.extend(a.warnings.iter().cloned());
    }
    Ok(Snapshot {
        subnets,
        nodes,
        pods,
        leaked,
        aws_node,
        ignored,
        warnings,
        unmodelled_subnets: unmodelled,
        host_network_pods,
    })
}

fn modelled_index(nodes: &[&ExportedNode], name: &str) -> usize {
    nodes
        .iter()
        .position(|n| n.name == name)
        .unwrap_or(usize::MAX)
}

/// "prefix 10.20.1.32/28", or a few secondary IPs, for messages.
fn pod_addresses(n: &NodeState) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in &n.enis {
        parts.extend(e.prefixes.iter().map(|p| format!("prefix {}/28", ipv4(*p))));
    }
    let secondaries: Vec<u32> = n
        .enis
        .iter()
        .flat_map(|e| e.secondaries.iter().copied())
        .collect();
    match secondaries.len() {
        0 => {}
        1..=3 => parts.extend(secondaries.iter().map(|a| ipv4(*a))),
        k => parts.push(format!("{k} secondary IPs from {}", ipv4(secondaries[0]))),
    }
    if parts.is_empty() {
        "none: its ENIs hold no secondary IPs or prefixes".into()
    } else {
        parts.join(", ")
    }
}

/// spec §4's classes, first match.
fn classify(e: &ExportedEni, by_instance: &BTreeMap<&str, usize>, cluster: Option<&str>) -> Class {
    let attached_to = e
        .attachment
        .as_ref()
        .filter(|a| a.status == "attached" || a.status == "attaching")
        .and_then(|a| a.instance.as_deref())
        .and_then(|i| by_instance.get(i).copied());
    if let Some(n) = attached_to {
        let a = e.attachment.as_ref().expect("attached");
        let managed_type = e.interface_type == "interface" || e.interface_type == "efa";
        let no_manage = e.tag("node.k8s.amazonaws.com/no_manage") == Some("true");
        return if managed_type && a.card == 0 && !no_manage {
            Class::Node(n)
        } else {
            Class::Unmanaged(n)
        };
    }
    let detached = e.status == "available" || e.status == "detaching";
    let ours = e.description.starts_with("aws-K8S-i-")
        && e.tag("node.k8s.amazonaws.com/instance_id").is_some()
        && cluster.is_none_or(|c| e.tag("cluster.k8s.amazonaws.com/name") == Some(c));
    if detached && ours && e.interface_type == "interface" {
        Class::Leaked
    } else {
        Class::Background
    }
}

/// Aligned /28s with no address used, not in the edge blocks, not overlapping an explicit
/// reservation (inside a prefix reservation they count).
fn free_prefix_blocks(s: &SubnetState, held: &BTreeMap<u32, Holder>) -> u32 {
    let blocks = s.cidr.size() as u32 / PREFIX_SIZE;
    let mut n = 0;
    for b in 1..blocks.saturating_sub(1) {
        let first = s.cidr.addr() + b * PREFIX_SIZE;
        let block = Ipv4Cidr::new(first, 28).expect("aligned");
        if held.range(first..first + PREFIX_SIZE).next().is_some() {
            continue;
        }
        if s.reservations
            .iter()
            .any(|(c, k)| *k == ReservationKind::Explicit && c.overlaps(block))
        {
            continue;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;
    use crate::subnet::{Placement, Subnet};
    use proptest::prelude::*;

    proptest! {
        /// import.json's `free_prefix_blocks` is what the simulator's subnet counts once the
        /// same addresses, prefixes and reservations are placed (DESIGN.md §5).
        #[test]
        fn free_prefix_blocks_match_the_simulated_subnet(
            singles in prop::collection::btree_set(4u32..255, 0..40),
            prefixes in prop::collection::btree_set(1u32..15, 0..6),
            explicit in prop::option::of(1u32..15),
            prefix_res in prop::option::of(0u32..4),
        ) {
            let cidr = Ipv4Cidr::parse_subnet("10.0.0.0/24").unwrap();
            let base = cidr.addr();
            let mut reservations = Vec::new();
            if let Some(r) = prefix_res {
                reservations.push((Ipv4Cidr::new(base + 64 * r, 26).unwrap(), ReservationKind::Prefix));
            }
            if let Some(b) = explicit {
                let block = Ipv4Cidr::new(base + 16 * b, 28).unwrap();
                if !reservations.iter().any(|(c, _)| c.overlaps(block)) {
                    reservations.push((block, ReservationKind::Explicit));
                }
            }
            let mut held = BTreeMap::new();
            let holder = |prefix| Holder { eni: 0, prefix, primary: false };
            for b in &prefixes {
                for a in 0..PREFIX_SIZE {
                    held.insert(base + 16 * b + a, holder(Some(base + 16 * b)));
                }
            }
            for s in &singles {
                held.entry(base + s).or_insert(holder(None));
            }
            let state = SubnetState {
                id: "subnet-x".into(),
                name: None,
                cidr,
                zone: String::new(),
                available: None,
                reservations: reservations.clone(),
                background: Vec::new(),
                background_prefixes: Vec::new(),
                used: held.len() as u32,
                free_prefix_blocks: 0,
                tags: Vec::new(),
            };
            let mut sub = Subnet::empty("x".into(), cidr, Placement::Lowest, Streams::new(0).stream("t", 0));
            for (c, k) in &reservations {
                sub.add_reservation(*c, *k).unwrap();
            }
            for b in &prefixes {
                prop_assert!(sub.take_prefix(base + 16 * b));
            }
            for (a, h) in &held {
                if h.prefix.is_none() {
                    prop_assert!(sub.take_background(*a));
                }
            }
            prop_assert_eq!(sub.used(), state.used);
            prop_assert_eq!(sub.free_prefix_blocks(), free_prefix_blocks(&state, &held));
        }
    }
}
