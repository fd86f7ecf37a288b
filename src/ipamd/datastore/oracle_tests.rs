//! The hot path against a naive oracle (issue 13): on random pool states the datastore hands
//! out the address, and draws from the node's stream, exactly as a plain scan over every
//! record would — the scan the per-ENI counts, the short-circuiting `first_match`, the
//! inline /32 records and the cooling shortcut replaced — and its counts match a recount.

use proptest::prelude::{Just, Strategy, prop, prop_assert, prop_assert_eq, prop_oneof, proptest};

use super::cidr::Rec;
use super::*;
use crate::ipamd::gomap::first_match_oracle;
use crate::rng::Streams;

/// A record a pod could get at `now`: unused, or released and cooled down.
fn rec_ok(r: Rec, now: Millis, cd: Millis) -> bool {
    r == Rec::UNUSED || r.released_at().is_some_and(|at| !is_cooling(at, now, cd))
}

/// What `assign_new` picks, by a plain scan of every record: `None` when no record is
/// assignable (and then no draw).
fn naive_pick(ds: &Datastore, now: Millis, pick: IpPick, rng: &mut NodeRng) -> Option<u32> {
    let cd = ds.cooldown;
    let cidr_ok = |c: &CidrState| c.recs().iter().any(|&r| rec_ok(r, now, cd));
    let eni_ok = |e: &Eni| e.cidrs.iter().any(|(_, c)| cidr_ok(c));
    if !ds.enis.iter().any(|(_, e)| eni_ok(e)) {
        return None;
    }
    let c = match pick {
        IpPick::Random => {
            let all = || {
                ds.enis
                    .iter()
                    .flat_map(|(_, e)| e.cidrs.iter().map(|(_, c)| c))
                    .flat_map(|c| c.recs().iter().map(move |&r| (c, r)))
                    .filter(|&(_, r)| rec_ok(r, now, cd))
            };
            let k = rng.random_range(0..all().count() as u32);
            all().nth(k as usize).expect("k < count").0
        }
        _ => {
            let e = first_match_oracle(&ds.enis, pick, rng, eni_ok).expect("an ENI fits");
            let e = ds.enis.get(e).expect("live");
            let c = first_match_oracle(&e.cidrs, pick, rng, cidr_ok).expect("a CIDR fits");
            e.cidrs.get(c).expect("live")
        }
    };
    let recs = c.recs();
    let reuse = recs
        .iter()
        .position(|r| r.released_at().is_some_and(|at| !is_cooling(at, now, cd)));
    let offset = reuse.or_else(|| recs.iter().position(|&r| r == Rec::UNUSED))?;
    Some(c.cidr.addr() + offset as u32)
}

/// Every count the datastore keeps, recounted from the records.
fn recount(ds: &Datastore, now: Millis) -> Result<(), String> {
    let cd = ds.cooldown;
    let mut cooling = 0;
    for (_, e) in ds.enis.iter() {
        let mut recorded = 0;
        let mut assigned = 0;
        for (_, c) in e.cidrs.iter() {
            let recs = c.recs();
            let rec = recs.iter().filter(|&&r| r != Rec::UNUSED).count();
            let asg = recs.iter().filter(|r| r.assigned_at().is_some()).count();
            if (rec, asg) != (usize::from(c.recorded), usize::from(c.assigned)) {
                return Err(format!("CIDR {:?}: {rec}/{asg} vs {c:?}", c.cidr));
            }
            cooling += recs
                .iter()
                .filter(|r| r.released_at().is_some_and(|at| is_cooling(at, now, cd)))
                .count();
            recorded += rec as u32;
            assigned += asg as u32;
        }
        if (recorded, assigned) != (e.recorded, e.assigned) {
            return Err(format!("ENI {:?}: {recorded}/{assigned}", e.id));
        }
    }
    if ds.cooling_ips(now) as usize != cooling {
        return Err(format!("cooling {} vs {cooling}", ds.cooling_ips(now)));
    }
    let idle = ds.enis().filter(|e| e.is_idle()).count();
    if usize::from(ds.idle_enis) != idle {
        return Err(format!("idle ENIs {} vs {idle}", ds.idle_enis));
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Op {
    AddEni,
    /// A /32 (false) or /28 (true) at an index on an ENI (by rank).
    AddCidr(usize, bool, u8),
    Assign(u32),
    /// The n-th pod holding an address.
    Release(usize),
    RemoveCidr(usize, usize),
    RemoveEni(usize),
    Wait(Millis),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::AddEni),
        4 => (0usize..4, prop::bool::ANY, 0u8..24).prop_map(|(e, p, i)| Op::AddCidr(e, p, i)),
        8 => (0u32..200).prop_map(Op::Assign),
        6 => (0usize..64).prop_map(Op::Release),
        1 => (0usize..4, 0usize..16).prop_map(|(e, c)| Op::RemoveCidr(e, c)),
        1 => (0usize..4).prop_map(Op::RemoveEni),
        3 => (0u64..40_000).prop_map(Op::Wait),
    ]
}

fn pick() -> impl Strategy<Value = IpPick> {
    prop::sample::select(vec![IpPick::GoMap, IpPick::FirstFit, IpPick::Random])
}

proptest! {
    #[test]
    fn assign_equals_a_plain_scan_of_the_records(
        pd in prop::bool::ANY,
        cd in prop::sample::select(vec![0u64, 1_000, 30_000]),
        pick in pick(),
        seed in 0u64..10_000,
        ops in prop::collection::vec(op(), 1..250),
    ) {
        let mode = if pd { Mode::PrefixDelegation } else { Mode::SecondaryIp };
        let mut ds = Datastore::new(mode, cd);
        ds.keep_secondary_ips();
        let mut rng = Streams::new(seed).node_stream("datastore-oracle", 0);
        let mut now = 0;
        let mut next_eni = 0;
        let eni_at = |ds: &Datastore, k: usize| ds.enis().nth(k % ds.eni_count().max(1) as usize).map(|e| e.id());
        for op in ops {
            match op {
                Op::AddEni => {
                    ds.add_eni(EniId(next_eni), next_eni == 0, now);
                    next_eni += 1;
                }
                Op::AddCidr(e, prefix, i) => {
                    if let Some(id) = eni_at(&ds, e) {
                        let base = (10 << 24) | (id.0 << 12);
                        let cidr = if prefix {
                            Cidr::new(base + 16 * u32::from(i), 28).expect("aligned")
                        } else {
                            Cidr::host(base + 2048 + u32::from(i))
                        };
                        ds.add_cidr(id, cidr);
                    }
                }
                Op::Assign(pod) => {
                    if ds.pod_address(pod).is_some() {
                        continue;
                    }
                    let mut oracle_rng = rng.clone();
                    let want = naive_pick(&ds, now, pick, &mut oracle_rng);
                    let got = ds.assign_new(pod, now, pick, &mut rng).ok();
                    prop_assert_eq!(got, want);
                    prop_assert!(rng == oracle_rng, "draws differ");
                    prop_assert_eq!(ds.pod_address(pod), got);
                }
                Op::Release(n) => {
                    if ds.pods.len() > 0 {
                        let pod = ds.pods.sorted()[n % ds.pods.len()].pod;
                        let addr = ds.pod_address(pod);
                        prop_assert_eq!(ds.release(pod, now), addr);
                        prop_assert_eq!(ds.pod_address(pod), None);
                    }
                }
                Op::RemoveCidr(e, c) => {
                    if let Some(id) = eni_at(&ds, e) {
                        let cidrs: Vec<Cidr> = ds.eni(id).expect("live").cidrs().collect();
                        if !cidrs.is_empty() {
                            let _ = ds.remove_cidr(id, cidrs[c % cidrs.len()]);
                        }
                    }
                }
                Op::RemoveEni(e) => {
                    if let Some(id) = eni_at(&ds, e) {
                        ds.remove_eni(id);
                    }
                }
                Op::Wait(ms) => {
                    now += ms;
                    if ms % 2 == 0 {
                        ds.prune(now);
                        // What the CNI ADD's refusal reads instead of `cooling_ips`.
                        prop_assert_eq!(ds.cooling_ips(now) as usize, ds.cooling.len());
                    }
                }
            }
            if let Err(e) = recount(&ds, now) {
                prop_assert!(false, "{}", e);
            }
            let st = ds.stats(now);
            prop_assert_eq!(st.assigned_ips as usize, ds.pods.len());
        }
    }
}

#[test]
fn the_stats_are_the_first_cache_line() {
    assert_eq!(align_of::<Datastore>(), 64);
    let end = std::mem::offset_of!(Datastore, enis) + size_of::<Slots<Eni>>();
    assert!(end <= 64, "{end}");
    assert!(std::mem::offset_of!(Datastore, free_prefixes) < 64);
    // What a release touches besides: the cooling FIFO's and the pod table's headers.
    assert!(std::mem::offset_of!(Datastore, pods) + size_of::<PodTable>() <= 128);
    assert!(std::mem::offset_of!(Datastore, cooling) >= 64);
    assert_eq!(size_of::<Loc>(), 8);
    // Two lines in all: a third would be one more miss per node for nothing.
    assert_eq!(size_of::<Datastore>(), 128);
}
