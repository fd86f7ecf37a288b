//! Agent tests against a scripted control plane (`fake`): the spec's traces, the EC2 call
//! sequences, failure paths, and idle-tick skipping.

mod discovery;
mod fake;
mod flows;
mod real;
mod skip;
mod steady;
mod stress;

use super::*;
use crate::catalog;
use crate::ec2::Action;
use crate::ipamd::config::IpPick;
use crate::rng::Streams;
use fake::Fake;

/// One node and its control plane, driven by hand.
pub(super) struct Node<C = Fake> {
    pub ipamd: Ipamd,
    pub ec2: C,
}

impl Node<Fake> {
    /// A node of `instance` under the `[cni]` table `cni`, `[model]` table `model`.
    pub fn with(instance: &str, cni: &str, model: &str, max_pods: u32, seed: u64) -> Node {
        let cni: CniConfig = toml::from_str(cni).expect("cni parses");
        let model: ModelConfig = toml::from_str(model).expect("model parses");
        let t = catalog::lookup(instance).unwrap();
        let rng = Streams::new(seed).stream("node", 0);
        Node {
            ipamd: Ipamd::new(&cni, &model, t, max_pods, 0, 1, rng),
            ec2: Fake::new(),
        }
    }

    /// Same, with default `[model]`, a zero loop phase (ticks at init end + 2.5 s + 5k s)
    /// and a primary ENI that already carries ipamd's tags (no `CreateTags` at init; the
    /// fresh-instance case is tested on its own).
    pub fn new(instance: &str, cni: &str, max_pods: u32) -> Node {
        let mut n = Node::with(instance, cni, "", max_pods, 1);
        n.ipamd.cfg.phase = 0;
        n.ipamd.primary_untagged = false;
        n
    }
}

impl Node<Ec2> {
    /// A node on the real [`Ec2`] over one subnet (a `[subnet]` table; pods in it too).
    pub fn real(instance: &str, cni: &str, max_pods: u32, subnet: &str, seed: u64) -> Self {
        let cni: CniConfig = toml::from_str(cni).expect("cni parses");
        let t = catalog::lookup(instance).unwrap();
        let streams = Streams::new(seed);
        let config: crate::subnet::SubnetConfig = toml::from_str(subnet).expect("subnet parses");
        let subnet = crate::subnet::Subnet::new(&config, &streams, 0).expect("subnet builds");
        let ec2 = Ec2::new(&crate::ec2::Ec2Config::default(), vec![subnet], &streams);
        let mut ipamd = Ipamd::new(
            &cni,
            &ModelConfig::default(),
            t,
            max_pods,
            0,
            0,
            streams.stream("node", 0),
        );
        ipamd.cfg.phase = 0;
        Node { ipamd, ec2 }
    }
}

impl<C: ControlPlane> Node<C> {
    pub fn launch(&mut self, now: Millis) {
        self.ipamd.launch_with(now, &mut self.ec2).unwrap();
    }

    /// Runs every wake due before `t` (pod events at `t` then come first).
    pub fn before(&mut self, t: Millis) {
        while self.ipamd.next_wake() < t {
            let w = self.ipamd.next_wake();
            self.ipamd.wake_with(w, &mut self.ec2);
        }
    }

    /// Runs every wake due at or before `t`.
    pub fn run_to(&mut self, t: Millis) {
        self.before(t + 1);
    }

    pub fn stats(&self, t: Millis) -> NodeIpStats {
        self.ipamd.stats(t)
    }
}

/// A pod event for [`drive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodEvent {
    /// The pod is bound to the node: CNI ADD, retried every second until it succeeds.
    Add(u32),
    /// The pod goes away: CNI DEL (or its pending ADD is dropped).
    Delete(u32),
}

/// What a driven run shows from outside: every CNI ADD answer, the stats every 10 s, and
/// every EC2 call.
#[derive(Debug, Default, PartialEq)]
pub struct Trace {
    pub adds: Vec<(Millis, u32, Result<u32, WaitReason>)>,
    pub samples: Vec<(Millis, NodeIpStats)>,
    /// `lastNodeIPPoolAction` at each sample (internal, but it decides reconcile timing).
    pub last_action: Vec<Option<Millis>>,
    pub calls: Vec<(Millis, Action, bool)>,
}

/// Runs `node` (launched at 0) through `events` (sorted by time) until `end`, with kubelet
/// retrying failed ADDs every second. Pod calls at a time come before the agent's wake at
/// that time.
pub fn drive<C: ControlPlane>(
    node: &mut Node<C>,
    events: &[(Millis, PodEvent)],
    end: Millis,
) -> Trace {
    use std::cmp::Reverse;
    use std::collections::{BTreeSet, BinaryHeap};
    const RETRY: Millis = 1_000;
    const SAMPLE: Millis = 10_000;
    // (time, kind: 0 event / 1 retry / 2 sample, index or pod)
    let mut queue: BinaryHeap<Reverse<(Millis, u8, u32)>> = BinaryHeap::new();
    for (i, &(t, _)) in events.iter().enumerate() {
        queue.push(Reverse((t, 0, i as u32)));
    }
    let mut t = 0;
    while t <= end {
        queue.push(Reverse((t, 2, 0)));
        t += SAMPLE;
    }
    let mut waiting = BTreeSet::new();
    let mut trace = Trace::default();
    node.launch(0);
    while let Some(Reverse((t, kind, x))) = queue.pop() {
        if t > end {
            break;
        }
        node.before(t);
        let add = |node: &mut Node<C>, pod, trace: &mut Trace, waiting: &mut BTreeSet<u32>| {
            let r = node.ipamd.assign_pod(pod, t);
            trace.adds.push((t, pod, r));
            if r.is_err() {
                waiting.insert(pod);
                true
            } else {
                waiting.remove(&pod);
                false
            }
        };
        match kind {
            0 => match events[x as usize].1 {
                PodEvent::Add(pod) => {
                    if add(node, pod, &mut trace, &mut waiting) {
                        queue.push(Reverse((t + RETRY, 1, pod)));
                    }
                }
                PodEvent::Delete(pod) => {
                    waiting.remove(&pod);
                    node.ipamd.release_pod(pod, t);
                }
            },
            1 => {
                if waiting.contains(&x) && add(node, x, &mut trace, &mut waiting) {
                    queue.push(Reverse((t + RETRY, 1, x)));
                }
            }
            _ => {
                node.run_to(t);
                trace.samples.push((t, node.stats(t)));
                trace.last_action.push(node.ipamd.last_pool_action_at(t));
            }
        }
    }
    node.run_to(end);
    trace
}
/// What a pod event reads of its ipamd is the last six lines, whole: the generator's two,
/// the datastore's two, then settings, flags and checkpoint header in one and the loop state
/// and gates in the other; the cleanup, timers and counters that every wake-up reads share
/// the two lines before them. The node's own hot line follows (`cluster::node`).
#[test]
fn a_pod_event_reads_the_last_six_lines() {
    use std::mem::{offset_of, size_of};
    let line = |at: usize| at / 64;
    let last = size_of::<Ipamd>() / 64 - 1;
    assert_eq!(size_of::<Ipamd>() % 64, 0);
    assert_eq!(line(offset_of!(Ipamd, rng)), last - 5);
    assert_eq!(offset_of!(Ipamd, rng) % 64, 0);
    assert_eq!(line(offset_of!(Ipamd, ds)), last - 3);
    assert_eq!(offset_of!(Ipamd, ds) % 64, 0);
    for (at, size) in [
        (offset_of!(Ipamd, s), size_of::<Settings>()),
        (offset_of!(Ipamd, pick), 1),
        (offset_of!(Ipamd, initialised), 1),
        (
            offset_of!(Ipamd, checkpoint),
            size_of::<Vec<(u32, u32, Millis)>>(),
        ),
    ] {
        assert_eq!((line(at), line(at + size - 1)), (last - 1, last - 1));
    }
    for (at, size) in [
        (offset_of!(Ipamd, main), size_of::<Main>()),
        (offset_of!(Ipamd, gates), size_of::<Gates>()),
    ] {
        assert_eq!((line(at), line(at + size - 1)), (last, last));
    }
    let cleanup = offset_of!(Ipamd, cleanup);
    assert_eq!(line(cleanup), line(cleanup + size_of::<Cleanup>() - 1));
    let counters = offset_of!(Ipamd, counters);
    assert_eq!(
        line(offset_of!(Ipamd, timers)),
        line(counters + size_of::<Counters>() - 1)
    );
    assert_eq!(size_of::<Ipamd>(), 896, "14 lines");
}
