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
//! - leaked ENIs become EC2 records too, `available` for any node's leaked-ENI cleanup;
//! - the pods: a pod with an address runs from t=0, one bound without an address waits for
//!   its CNI ADD, one without a node is an arrival at t=0 (a workload event).
//!
//! Imported nodes are numbered first, before every `[[nodegroup]]`'s, and draw from the node
//! streams `("node", i)` in that order.

use crate::catalog;
use crate::cluster::Node;
use crate::ec2::{Cidr, Ec2};
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
            let ok = sub.take_background_prefix(p);
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
    skip_idle_ticks: bool,
    nodes: &mut Vec<Node>,
) -> Vec<Bound> {
    let snap = &st.snapshot;
    let max_pods_options = catalog::MaxPodsOptions::for_cni(&s.cni);
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
            streams.node_stream("node", nodes.len() as u64),
        );
        ipamd.set_skip_idle_ticks(skip_idle_ticks);
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
        let unmanaged = n.unmanaged.len() as u32;
        let group = s
            .nodegroups
            .iter()
            .position(|g| g.name == n.group)
            .expect("validation adds every imported group");
        let mut node = Node::new(
            n.name.clone(),
            group,
            n.instance_type,
            max_pods,
            n.host_network_pods,
            ipamd,
        );
        // In the node's slab: its ENIs' tables are what its pod events read.
        node.with_ipamd(|i| i.launch_imported(0, enis, checkpoint, unmanaged));
        // Ready at t=0 (spec §9): it was Ready when exported, and a restarted ipamd does not
        // make a node NotReady (ipamd-policy §6.3).
        node.pods = pods;
        node.joined = true;
        node.ready = true;
        node.ready_scheduled = true;
        node.schedulable = n.schedulable;
        nodes.push(node);
    }
    for l in &snap.leaked {
        let cidrs = cidrs(&l.secondaries, &l.prefixes);
        ec2.adopt_leaked_eni(l.subnet, l.primary, &cidrs);
    }
    bound
}

fn cidrs(secondaries: &[u32], prefixes: &[u32]) -> Vec<Cidr> {
    secondaries
        .iter()
        .map(|&addr| Cidr::host(addr))
        .chain(prefixes.iter().map(|&addr| Cidr::prefix28(addr)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunOptions;
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
            RunOptions::default().skip_idle_ticks,
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
        crate::invariants::check(&ec2, &nodes).unwrap();

        // Its ipamd's init (secondary-IP mode) restores the pod on 10.20.0.81. Both /28s stay:
        // one holds two pods' addresses, and the mode clean-up that would release the other
        // (spec/ipamd-policy.md §6.1 step 4) is not modelled yet.
        let ip = |d: u8| u32::from(std::net::Ipv4Addr::new(10, 20, 0, d));
        let c5 = &mut nodes[2];
        assert_eq!(c5.instance.name, "c5.xlarge");
        for t in [0, 1_000, 2_000, 5_000] {
            c5.ipamd.wake(t, &mut ec2);
        }
        assert_eq!(ec2.subnets()[0].prefix_blocks(), 2);
        assert!(ec2.subnets()[0].is_held(ip(161)));
        let tags = ec2.counters(crate::ec2::Action::CreateTags).calls;
        assert_eq!(tags, 1, "its ENI lacks ipamd's instance-id tag");
        assert_eq!(nodes[2].ipamd.stats(5_000).assigned_ips, 1);
        crate::invariants::check(&ec2, &nodes).unwrap();
    }

    /// Whole runs from the bundled example, with the state checker between event batches.
    #[test]
    fn a_run_from_a_snapshot_keeps_every_invariant() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/imported/scenario.toml");
        for set in [
            vec![],
            vec![
                "ENABLE_PREFIX_DELEGATION=true".to_string(),
                "WARM_PREFIX_TARGET=1".to_string(),
                "nodegroup.general-m5.large.count=4".to_string(),
            ],
        ] {
            let s = Scenario::load(&path, &set).unwrap();
            let options = RunOptions {
                check_invariants: true,
                ..RunOptions::default()
            };
            let out = crate::engine::run_with(&s, options).unwrap();
            assert!(out.summary.events > 0);
        }
    }
}
