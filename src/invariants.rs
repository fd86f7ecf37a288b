//! The state checker: invariants that must hold between event batches, checked beside the
//! simulation, TigerBeetle-style (`src/testing/state_checker.zig`: a checker that runs with
//! the real code during simulation, not only at the end).
//!
//! It is not part of what a run computes: the engine calls [`check`] after every batch of
//! events that share a time (once the clock is about to move) when
//! [`RunOptions::check_invariants`](crate::engine::RunOptions) is on — by default in debug
//! builds, and in the tests that turn it on, so `cargo test --release` runs it too. A
//! violation is a bug in the simulator, never bad input: the engine panics with the
//! [`Violation`]'s message and the simulated time.
//!
//! What is checked (spec/ec2-subnet.md, DESIGN.md §5):
//! 1. **Subnet accounting** — for every subnet, addresses used = ENI primaries + secondary
//!    IPs + 16 × prefixes of the ENIs EC2 holds there + background tenants.
//! 2. **Every datastore agrees with EC2** — each ENI in a node's datastore is an ENI EC2
//!    holds (not deleted), and each CIDR the datastore counts is on that ENI in EC2. The
//!    converse does not hold between batches and is not checked: EC2 has already carved the
//!    answer of a call whose response is still in flight (latency), and ipamd keeps ENIs and
//!    CIDRs outside its datastore on purpose (an ENI being freed, an unassign that failed,
//!    upstream's `reconcileCooldownCache`).
//! 3. **One owner** — no ENI is in two nodes' datastores.
//! 4. **Datastore totals** — a datastore's total IPs are the sum of its CIDRs' sizes, and no
//!    more addresses are assigned than it holds.
//! 5. **Record summaries** — each CIDR's masks of unused and released records, and its count
//!    of records, agree with the records (`getUnusedIP` trusts them instead of reading).
//! 6. **No wake-up comes late** ([`check_wakes`], once a run has started its cluster) —
//!    each node's planned ipamd wake-up is at or before the time its ipamd next wants to
//!    run. A plan after a CNI call reads only the main loop's time
//!    (`Cluster::plan_wake_after_call`); this is what makes that enough.

use std::collections::BTreeMap;

use crate::cluster::Node;
use crate::ec2::{Cidr, Ec2, EniId, SubnetId};

/// A broken invariant, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant broken: {0}")]
pub struct Violation(pub String);

/// Checks every invariant of the module docs over EC2 (with its subnets) and the nodes.
pub fn check(ec2: &Ec2, nodes: &[Node]) -> Result<(), Violation> {
    let mut held: Vec<u64> = vec![0; ec2.subnets().len()];
    let mut enis: BTreeMap<EniId, (SubnetId, &[Cidr])> = BTreeMap::new();
    for (id, subnet, _primary, cidrs) in ec2.live_enis() {
        held[subnet] += 1 + cidrs.iter().map(|c| c.size()).sum::<u64>();
        enis.insert(id, (subnet, cidrs));
    }
    for (i, s) in ec2.subnets().iter().enumerate() {
        let want = held[i] + u64::from(s.background());
        if u64::from(s.used()) != want {
            return Err(Violation(format!(
                "subnet {} uses {} addresses, but its ENIs hold {} and background tenants {}",
                s.name(),
                s.used(),
                held[i],
                s.background()
            )));
        }
    }
    let mut owner: BTreeMap<EniId, &str> = BTreeMap::new();
    for n in nodes {
        let ds = n.ipamd.datastore();
        let mut total = 0u64;
        for e in ds.enis() {
            if let Some(other) = owner.insert(e.id(), &n.name) {
                return Err(Violation(format!(
                    "ENI {} is in the datastores of {other} and {}",
                    e.id().0,
                    n.name
                )));
            }
            let Some((_, in_ec2)) = enis.get(&e.id()) else {
                return Err(Violation(format!(
                    "{}'s datastore has ENI {}, which EC2 does not hold",
                    n.name,
                    e.id().0
                )));
            };
            let mut eni_total = 0u64;
            for c in e.cidrs() {
                if !in_ec2.contains(&c) {
                    return Err(Violation(format!(
                        "{}'s datastore has {c} on ENI {}, which EC2 does not hold there",
                        n.name,
                        e.id().0
                    )));
                }
                eni_total += c.size();
            }
            if u64::from(e.total_ips()) != eni_total || e.assigned_ips() > e.total_ips() {
                return Err(Violation(format!(
                    "{}'s ENI {} counts {} IPs ({} assigned) but its CIDRs hold {eni_total}",
                    n.name,
                    e.id().0,
                    e.total_ips(),
                    e.assigned_ips()
                )));
            }
            total += eni_total;
        }
        if !ds.records_agree() {
            return Err(Violation(format!(
                "{}'s datastore has a CIDR whose record masks disagree with its records, or \
                 miscounts its pods or its ENIs without one",
                n.name
            )));
        }
        if u64::from(ds.total_ips()) != total {
            return Err(Violation(format!(
                "{}'s datastore counts {} IPs but its ENIs hold {total}",
                n.name,
                ds.total_ips()
            )));
        }
    }
    Ok(())
}

/// Checks invariant 6 of the module docs: no node's ipamd wants to run before its planned
/// wake-up. Only for a cluster a run has started (before, nothing is planned).
pub fn check_wakes(nodes: &[Node]) -> Result<(), Violation> {
    for n in nodes {
        if n.planned_wake() > n.ipamd.next_wake() {
            return Err(Violation(format!(
                "{}'s ipamd wants to run at {} ms but its wake-up is planned at {} ms",
                n.name,
                n.ipamd.next_wake(),
                n.planned_wake()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec2::Ec2Config;
    use crate::rng::Streams;
    use crate::subnet::{Placement, Subnet};

    fn ec2(stray_addresses: u32) -> Ec2 {
        let streams = Streams::new(1);
        let mut s = Subnet::empty(
            "pods".into(),
            "10.0.0.0/24".parse().unwrap(),
            Placement::Lowest,
            streams.stream("subnet", 0),
        );
        for _ in 0..stray_addresses {
            s.alloc_address().unwrap();
        }
        Ec2::new(&Ec2Config::default(), vec![s], &streams)
    }

    #[test]
    fn a_consistent_state_passes() {
        let mut e = ec2(0);
        e.launch_primary_eni(0, 9).unwrap();
        assert_eq!(check(&e, &[]), Ok(()));
    }

    #[test]
    fn an_address_no_eni_holds_trips_the_subnet_accounting() {
        // Deliberately broken: the subnet holds an address that no ENI and no background
        // tenant accounts for (a leak EC2 would never make).
        let mut e = ec2(1);
        e.launch_primary_eni(0, 9).unwrap();
        let err = check(&e, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invariant broken: subnet pods uses 2 addresses, but its ENIs hold 1 and \
             background tenants 0"
        );
    }
}
