//! The state at t=0 of a run with `[start]` (spec/real-inputs.md §9): the snapshot's block map
//! address for address, its nodes up with their ENIs, its pods bound with their addresses.
//!
//! - every background address and prefix (load balancers, NAT gateways, Lambda, other
//!   instances, unmanaged attachments, unattached ENIs without ipamd's tags) is held at its
//!   exact place for the whole run ([`place_background`]);
//! - each imported node's ENIs become EC2 records holding exactly their addresses
//!   ([`crate::ec2::Ec2::adopt_eni`]) and its ipamd starts as after a restart over them
//!   ([`crate::ipamd::Ipamd::launch_imported`]), the bound pods' addresses restored as from
//!   the checkpoint;
//! - leaked ENIs become EC2 records too, handed to the first node's leaked-ENI cleanup;
//! - the pods: a pod with an address runs from t=0, one bound without an address waits for
//!   its CNI ADD, one without a node is an arrival at t=0 (a workload event).
//!
//! Imported nodes are numbered first, before every `[[nodegroup]]`'s, and draw from the node
//! streams `("node", i)` in that order.

use crate::catalog;
use crate::cluster::Node;
use crate::ec2::{Cidr, Ec2};
use crate::engine::RunOptions;
use crate::import::Snapshot;
use crate::ipamd::Ipamd;
use crate::rng::Streams;
use crate::scenario::{Scenario, Start};
use crate::subnet::Subnet;

/// A pod of the snapshot bound at t=0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Pod id (its index in [`Snapshot::pods`]).
    pub pod: u32,
    /// Node index.
    pub node: u32,
    /// It has its address.
    pub has_ip: bool,
}

/// Holds the background interfaces' addresses and prefixes in `subnets` (the scenario's,
/// in snapshot order).
pub fn place_background(snap: &Snapshot, subnets: &mut [Subnet]) {
    for (s, sub) in snap.subnets.iter().zip(subnets.iter_mut()) {
        for &a in &s.background {
            let ok = sub.take_background(a);
            debug_assert!(ok, "background {a:#x} was not free");
        }
        for &p in &s.background_prefixes {
            let ok = sub.take_prefix(p);
            debug_assert!(ok, "background prefix {p:#x} was not free");
        }
    }
}

/// Builds the imported nodes (pushed onto `nodes`) and returns the pods bound at t=0.
pub fn nodes(
    s: &Scenario,
    st: &Start,
    ec2: &mut Ec2,
    streams: &Streams,
    options: RunOptions,
    nodes: &mut Vec<Node>,
) -> Vec<Bound> {
    let snap = &st.snapshot;
    let max_pods_options = crate::calc::plan::max_pods_options(&s.cni);
    let mut bound = Vec::new();
    for (ni, n) in snap.nodes.iter().enumerate() {
        let max_pods = n
            .max_pods
            .unwrap_or_else(|| catalog::max_pods(n.instance_type, &max_pods_options));
        let mut ipamd = Ipamd::new(
            &s.cni,
            &s.model,
            n.instance_type,
            max_pods,
            n.subnet,
            n.pod_subnet,
            streams.stream("node", nodes.len() as u64),
        );
        ipamd.set_skip_idle_ticks(options.skip_idle_ticks);
        let slots = ipamd.settings().cidrs_per_eni();
        let enis = n
            .enis
            .iter()
            .map(|e| {
                let cidrs = cidrs(&e.secondaries, &e.prefixes);
                let id = ec2.adopt_eni(e.subnet, e.primary, slots, &cidrs);
                (id, e.device_index == 0, e.tagged, cidrs)
            })
            .collect();
        let mut checkpoint = Vec::new();
        let mut pods = 0;
        for (pi, p) in snap.pods.iter().enumerate() {
            if p.node != Some(ni) {
                continue;
            }
            pods += 1;
            bound.push(Bound {
                pod: pi as u32,
                node: nodes.len() as u32,
                has_ip: p.ip.is_some(),
            });
            if let (Some(ip), false) = (p.ip, p.on_branch) {
                checkpoint.push((pi as u32, ip));
            }
        }
        ipamd.launch_imported(0, enis, checkpoint, n.unmanaged.len() as u32);
        let group = s
            .nodegroups
            .iter()
            .position(|g| g.name == n.group)
            .expect("validation adds every imported group");
        nodes.push(Node {
            name: n.name.clone(),
            nodegroup: group,
            instance: n.instance_type,
            max_pods,
            host_network_pods: n.host_network_pods,
            pods,
            ipamd,
            ready: true,
            schedulable: n.schedulable,
        });
    }
    for l in &snap.leaked {
        let cidrs = cidrs(&l.secondaries, &l.prefixes);
        let id = ec2.adopt_eni(l.subnet, l.primary, u32::MAX, &cidrs);
        if let Some(first) = nodes.first_mut() {
            first.ipamd.adopt_leaked(id, cidrs);
        }
    }
    bound
}

fn cidrs(secondaries: &[u32], prefixes: &[u32]) -> Vec<Cidr> {
    secondaries
        .iter()
        .map(|&addr| Cidr { addr, len: 32 })
        .chain(prefixes.iter().map(|&addr| Cidr { addr, len: 28 }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subnet::PREFIX_SIZE;

    /// The bundled example's block map at t=0 is the snapshot's, address for address.
    #[test]
    fn the_block_map_at_t0_is_the_snapshots() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/imported/scenario.toml");
        let s = Scenario::load(&path, &[]).unwrap();
        let st = s.start.as_ref().unwrap();
        let snap = &st.snapshot;
        let streams = Streams::new(s.seed);
        let mut subnets: Vec<Subnet> = s
            .subnets
            .iter()
            .enumerate()
            .map(|(i, c)| Subnet::new(c, &streams, i).unwrap())
            .collect();
        place_background(snap, &mut subnets);
        let mut ec2 = Ec2::new(&s.ec2, subnets, &streams);
        let mut nodes = Vec::new();
        let bound = super::nodes(
            &s,
            st,
            &mut ec2,
            &streams,
            RunOptions::default(),
            &mut nodes,
        );
        assert_eq!(nodes.len(), 4);
        assert_eq!(
            bound.len(),
            snap.pods.iter().filter(|p| p.node.is_some()).count()
        );
        // Every address the export shows is held where it is…
        let mut expected: Vec<Vec<u32>> = vec![Vec::new(); snap.subnets.len()];
        for n in &snap.nodes {
            for e in &n.enis {
                expected[e.subnet].push(e.primary);
                expected[e.subnet].extend(&e.secondaries);
                for p in &e.prefixes {
                    expected[e.subnet].extend(*p..*p + PREFIX_SIZE);
                }
            }
        }
        for l in &snap.leaked {
            expected[l.subnet].push(l.primary);
            expected[l.subnet].extend(&l.secondaries);
        }
        for (i, sub) in snap.subnets.iter().enumerate() {
            expected[i].extend(&sub.background);
            for p in &sub.background_prefixes {
                expected[i].extend(*p..*p + PREFIX_SIZE);
            }
            let live = &ec2.subnets()[i];
            for a in &expected[i] {
                assert!(live.is_held(*a), "{} not held", crate::import::ipv4(*a));
            }
            // …and nothing else.
            assert_eq!(live.used(), sub.used, "{}", sub.id);
            assert_eq!(expected[i].len() as u32, sub.used, "{}", sub.id);
            assert_eq!(
                live.free_prefix_blocks(),
                sub.free_prefix_blocks,
                "{}",
                sub.id
            );
        }
        assert_eq!(
            ec2.subnets()[0].prefix_blocks(),
            2,
            "the c5.xlarge's two prefixes"
        );
    }
}
