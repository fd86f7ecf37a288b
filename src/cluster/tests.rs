//! The cluster driven by hand: a real [`Ec2`] over one subnet, real ipamds, and a fake
//! [`Effects`] that writes down what the cluster asks of the engine.

use super::{Cluster, CniRetry, Effects, EventKind, Node, PodPhase, RemoveNodeError, WaitReason};
use crate::catalog;
use crate::ec2::{Ec2, Ec2Config};
use crate::ipamd::Ipamd;
use crate::ipamd::config::{CniConfig, ModelConfig};
use crate::rng::Streams;
use crate::subnet::{Subnet, SubnetConfig};
use crate::time::Millis;

/// What the cluster asked for, in order.
#[derive(Default)]
struct Fake {
    retries: Vec<(u32, Millis)>,
    /// Every retry asked for, as the engine would queue it, and when.
    queued: Vec<(CniRetry, Millis)>,
    /// The last retry asked for, as the engine would queue it.
    last_retry: Option<CniRetry>,
    /// Ends of memos asked for: node, epoch, time.
    expiries: Vec<(usize, u32, Millis)>,
    wakes: Vec<(usize, Millis)>,
    launches: Vec<(usize, Millis)>,
    readies: Vec<(usize, Millis)>,
    records: Vec<(EventKind, Option<u32>, Option<u32>)>,
    waits: Vec<(u32, u32, bool)>,
}

impl Effects for Fake {
    fn retry(&mut self, retry: CniRetry, at: Millis) {
        self.retries.push((retry.pod, at));
        self.queued.push((retry, at));
        self.last_retry = Some(retry);
    }
    fn memo_expires(&mut self, node: usize, epoch: u32, at: Millis) {
        self.expiries.push((node, epoch, at));
    }
    fn wake(&mut self, node: usize, at: Millis, _generation: u32) {
        self.wakes.push((node, at));
    }
    fn launch(&mut self, node: usize, at: Millis) {
        self.launches.push((node, at));
    }
    fn ready(&mut self, node: usize, at: Millis) {
        self.readies.push((node, at));
    }
    fn recording(&self) -> bool {
        true
    }
    fn record(
        &mut self,
        _: Millis,
        kind: EventKind,
        pod: Option<u32>,
        node: Option<u32>,
        _: u32,
        _: u32,
    ) {
        self.records.push((kind, pod, node));
    }
    fn pod_waited(
        &mut self,
        pod: u32,
        node: u32,
        _: Millis,
        _: Millis,
        got_ip: bool,
        _: WaitReason,
    ) {
        self.waits.push((pod, node, got_ip));
    }
}

struct World {
    cluster: Cluster,
    ec2: Ec2,
    fx: Fake,
    streams: Streams,
}

impl World {
    /// `pods` pod ids, no node yet, a /24 subnet.
    fn new(pods: u32) -> Self {
        let streams = Streams::new(7);
        let config: SubnetConfig = toml::from_str("cidr = \"10.0.0.0/24\"").unwrap();
        let subnet = Subnet::new(&config, &streams, 0).unwrap();
        World {
            cluster: Cluster::new(pods, 1_000, |_| None),
            ec2: Ec2::new(&Ec2Config::default(), vec![subnet], &streams),
            fx: Fake::default(),
            streams,
        }
    }

    /// A not-yet-started m5.large with `max_pods` (2 host-network pods).
    fn node(&self, max_pods: u32) -> Node {
        let t = catalog::lookup("m5.large").unwrap();
        let n = self.cluster.nodes().len();
        let ipamd = Ipamd::new(
            &CniConfig::default(),
            &ModelConfig::default(),
            t,
            max_pods,
            0,
            0,
            self.streams.stream("node", n as u64),
        );
        Node::new(format!("n-{n}"), 0, t, max_pods, 2, ipamd)
    }

    /// Adds a node of `max_pods`, launched at `now` and Ready ([`World::make_ready`]).
    fn add_ready_node(&mut self, max_pods: u32, now: Millis) -> (usize, Millis) {
        let n = self.cluster.add_node(self.node(max_pods));
        let at = self.make_ready(n, now);
        (n, at)
    }

    /// Launches node `n` at `now` and runs its ipamd until it turns Ready; returns when.
    fn make_ready(&mut self, n: usize, now: Millis) -> Millis {
        self.cluster
            .launch_node(n, now, &mut self.ec2, &mut self.fx);
        assert!(self.cluster.node(n).joined);
        for _ in 0..100 {
            if let Some(&(r, at)) = self.fx.readies.iter().find(|(r, _)| *r == n) {
                self.cluster.node_ready(r, at, &mut self.fx);
                assert!(self.cluster.node(n).ready);
                return at;
            }
            let t = self.cluster.node(n).ipamd.next_wake();
            self.cluster.wake_node(n, t, &mut self.ec2, &mut self.fx);
        }
        panic!("node {n} never turned Ready");
    }

    /// Runs node `n`'s ipamd through every wake-up due up to `t`.
    fn run_node_to(&mut self, n: usize, t: Millis) {
        while self.cluster.node(n).ipamd.next_wake() <= t {
            let w = self.cluster.node(n).ipamd.next_wake();
            self.cluster.wake_node(n, w, &mut self.ec2, &mut self.fx);
        }
    }

    /// The live-pod counts agree with the phases, and each node's pod count with the pods
    /// bound to it.
    fn check_counts(&self) {
        let c = self.cluster.counts();
        let phases: Vec<PodPhase> = (0..self.cluster.pods.len() as u32)
            .map(|p| self.cluster.phase(p))
            .collect();
        let count = |f: fn(&PodPhase) -> bool| phases.iter().filter(|p| f(p)).count() as u32;
        assert_eq!(c.running, count(|p| matches!(p, PodPhase::Running { .. })));
        assert_eq!(
            c.waiting_ip,
            count(|p| matches!(p, PodPhase::WaitingIp { .. }))
        );
        assert_eq!(c.unschedulable, count(|p| *p == PodPhase::Unschedulable));
        for (i, n) in self.cluster.nodes().iter().enumerate() {
            let bound = phases.iter().filter(|p| p.node() == Some(i as u32)).count();
            assert_eq!(n.pods as usize, bound, "node {i}");
        }
    }
}

#[test]
fn a_pod_without_a_ready_node_queues_until_one_is_ready() {
    let mut w = World::new(2);
    let n = w.cluster.add_node(w.node(10));
    w.cluster.add_pod(0, 0, &mut w.fx);
    assert_eq!(w.cluster.phase(0), PodPhase::Unschedulable);
    assert_eq!(w.cluster.counts().unschedulable, 1);
    assert_eq!(w.cluster.counts().ever_unschedulable, 1);
    assert!(
        w.fx.records
            .contains(&(EventKind::PodUnschedulable, Some(0), None))
    );
    w.check_counts();
    w.make_ready(n, 0);
    assert_eq!(
        w.cluster.phase(0).node(),
        Some(n as u32),
        "drained at Ready"
    );
    assert_eq!(w.cluster.counts().unschedulable, 0);
    assert_eq!(w.cluster.counts().ever_unschedulable, 1);
    w.check_counts();
}

#[test]
fn pods_spread_to_the_node_with_fewest_then_the_lowest_index() {
    let mut w = World::new(3);
    let (a, t) = w.add_ready_node(10, 0);
    let (b, t2) = w.add_ready_node(10, 0);
    let now = t.max(t2);
    for p in 0..3 {
        w.cluster.add_pod(p, now, &mut w.fx);
    }
    assert_eq!(w.cluster.phase(0).node(), Some(a as u32));
    assert_eq!(w.cluster.phase(1).node(), Some(b as u32));
    assert_eq!(w.cluster.phase(2).node(), Some(a as u32));
    assert_eq!((w.cluster.node(a).pods, w.cluster.node(b).pods), (2, 1));
    w.check_counts();
}

#[test]
fn a_delete_frees_the_slot_for_the_oldest_queued_pod() {
    // max pods 4 with 2 host-network pods: room for 2.
    let mut w = World::new(4);
    let (n, t) = w.add_ready_node(4, 0);
    for p in 0..4 {
        w.cluster.add_pod(p, t, &mut w.fx);
    }
    assert_eq!(w.cluster.phase(2), PodPhase::Unschedulable);
    assert_eq!(w.cluster.phase(3), PodPhase::Unschedulable);
    w.cluster.delete_pod(0, t + 10, &mut w.fx);
    assert_eq!(w.cluster.phase(0), PodPhase::Absent);
    assert_eq!(w.cluster.phase(2).node(), Some(n as u32), "oldest first");
    assert_eq!(w.cluster.phase(3), PodPhase::Unschedulable);
    // A queued pod deleted is skipped when the queue drains.
    w.cluster.delete_pod(3, t + 20, &mut w.fx);
    assert_eq!(w.cluster.counts().unschedulable, 0);
    w.cluster.delete_pod(1, t + 30, &mut w.fx);
    assert_eq!(w.cluster.node(n).pods, 1);
    w.check_counts();
}

#[test]
fn a_pod_without_an_address_is_retried_until_it_has_one() {
    let mut w = World::new(1);
    let n = w.cluster.add_node(w.node(10));
    // Bound before its node's ipamd has any address (as an imported pod can be).
    w.cluster.nodes[n].pods = 1;
    w.cluster.bind_imported(
        crate::start::Bound {
            pod: 0,
            node: n as u32,
            has_ip: false,
        },
        &mut w.fx,
    );
    assert!(matches!(w.cluster.phase(0), PodPhase::WaitingIp { .. }));
    let waiting: Vec<_> = w.cluster.waiting_ip().collect();
    assert_eq!(
        waiting,
        [crate::cluster::WaitingPod {
            pod: 0,
            node: n as u32,
            bound: 0,
            reason: WaitReason::NoIp
        }]
    );
    assert_eq!(w.fx.retries, vec![(0, 1_000)]);
    w.check_counts();
    let ready = w.make_ready(n, 0);
    let mut now = 1_000;
    while matches!(w.cluster.phase(0), PodPhase::WaitingIp { .. }) {
        assert!(now < 60_000, "no address within a minute");
        w.run_node_to(n, now);
        let r = w.fx.last_retry.expect("a retry is queued");
        w.cluster.retry(r, now, &mut w.fx);
        now += 1_000;
    }
    assert!(now > ready);
    assert_eq!(w.cluster.phase(0), PodPhase::Running { node: n as u32 });
    assert_eq!(w.fx.waits, vec![(0, 0, true)]);
    // A retry for a pod that is no longer waiting does nothing.
    let before = w.fx.retries.len();
    let r = w.fx.last_retry.expect("a retry was queued");
    w.cluster.retry(r, now, &mut w.fx);
    assert_eq!(w.fx.retries.len(), before);
    w.check_counts();
}

/// Binds pods `pods` to a new node whose ipamd is not up (as `[start]` does), and runs
/// their first CNI ADD retry at 1 s: it fails and, ipamd being down until a wake-up, the
/// next ones would too. Returns the node.
fn waiting_on_a_node_down(w: &mut World, pods: &[u32]) -> usize {
    let n = w.cluster.add_node(w.node(10));
    for &pod in pods {
        w.cluster.nodes[n].pods += 1;
        let b = crate::start::Bound {
            pod,
            node: n as u32,
            has_ip: false,
        };
        w.cluster.bind_imported(b, &mut w.fx);
    }
    let mut first = w.fx.queued.clone();
    assert_eq!(first.len(), pods.len());
    first.sort_by_key(|(r, _)| r.key());
    for (r, at) in first {
        assert_eq!(at, 1_000);
        w.cluster.retry(r, at, &mut w.fx);
    }
    n
}

#[test]
fn a_retry_that_would_fail_again_is_parked_until_its_node_changes() {
    let mut w = World::new(3);
    let n = waiting_on_a_node_down(&mut w, &[0, 2]);
    // Both failed at 1 s; their next retries, due at 2 s, are parked, not queued, and no
    // timer is asked for: only a wake-up brings ipamd up.
    assert_eq!(
        w.fx.retries.len(),
        2,
        "nothing queued after the first retries"
    );
    assert!(w.fx.expiries.is_empty());
    assert!(!w.cluster.has_unparked());
    // Each due time up to the end is a retry that failed again: 2 s and 3 s for each pod.
    assert_eq!(w.cluster.parked_retries(3_500), 4);
    assert_eq!(w.cluster.parked_retries(1_999), 0);
    // A timer of an epoch gone by changes nothing.
    w.cluster
        .memo_expired(n, w.cluster.epoch(n).wrapping_sub(1));
    assert!(!w.cluster.has_unparked());
    // The node changes at 4 s during a retry of pod 1 (between the two by key): pod 0's retry
    // due then came before it and failed again, pod 2's comes after it and is queued.
    w.cluster.touch(n);
    assert!(w.cluster.has_unparked());
    let between = CniRetry {
        pod: 1,
        node: n as u32,
        stamp: 0,
    };
    w.cluster
        .take_unparked(4_000, Some(between.key()), &mut w.fx);
    assert!(!w.cluster.has_unparked());
    let queued: Vec<(u32, Millis)> = w.fx.retries[2..].to_vec();
    assert_eq!(queued, vec![(0, 5_000), (2, 4_000)]);
    // Skipped: pod 0 at 2, 3 and 4 s, pod 2 at 2 and 3 s; nothing is parked any more.
    assert_eq!(w.cluster.parked_retries(Millis::MAX), 5);
}

#[test]
fn a_parked_retry_goes_back_when_its_failure_stops_holding() {
    let mut w = World::new(1);
    let n = waiting_on_a_node_down(&mut w, &[0]);
    assert!(!w.cluster.has_unparked());
    // The engine's timer for the current epoch: the retry goes back, to its first due time
    // from the timer's millisecond on (the timer goes before the retries of its time).
    w.cluster.memo_expired(n, w.cluster.epoch(n));
    w.cluster.take_unparked(7_000, None, &mut w.fx);
    assert_eq!(w.fx.retries.last(), Some(&(0, 7_000)));
    assert_eq!(w.cluster.parked_retries(Millis::MAX), 5, "2 s to 6 s");
    // Without the memo nothing is parked: every retry is queued.
    let mut w = World::new(1);
    w.cluster.set_memo_failed_adds(false);
    waiting_on_a_node_down(&mut w, &[0]);
    assert_eq!(w.fx.retries, vec![(0, 1_000), (0, 2_000)]);
    assert_eq!(w.cluster.parked_retries(Millis::MAX), 0);
}

#[test]
fn a_node_added_mid_run_takes_the_queued_pods() {
    let mut w = World::new(3);
    let (a, t) = w.add_ready_node(4, 0);
    for p in 0..3 {
        w.cluster.add_pod(p, t, &mut w.fx);
    }
    assert_eq!(w.cluster.phase(2), PodPhase::Unschedulable);
    let (b, _) = w.add_ready_node(10, t + 60_000);
    assert_eq!(b, a + 1);
    assert_eq!(w.cluster.phase(2).node(), Some(b as u32));
    assert!(
        w.fx.wakes.iter().any(|&(n, _)| n == b),
        "its ipamd is woken"
    );
    w.check_counts();
}

#[test]
fn only_an_empty_node_is_removed_and_it_gets_no_pod_again() {
    let mut w = World::new(3);
    let (a, t) = w.add_ready_node(10, 0);
    let (b, _) = w.add_ready_node(10, 0);
    w.cluster.add_pod(0, t, &mut w.fx);
    assert_eq!(w.cluster.phase(0).node(), Some(a as u32));
    assert_eq!(
        w.cluster.remove_node(a),
        Err(RemoveNodeError::NotEmpty { node: a, pods: 1 })
    );
    assert_eq!(
        w.cluster.remove_node(9),
        Err(RemoveNodeError::NoSuchNode(9))
    );
    assert_eq!(w.cluster.remove_node(b), Ok(()));
    assert!(w.cluster.node(b).removed);
    w.cluster.add_pod(1, t, &mut w.fx);
    w.cluster.add_pod(2, t, &mut w.fx);
    assert_eq!(
        w.cluster.node(a).pods,
        3,
        "nothing goes to the removed node"
    );
    assert_eq!(w.cluster.node(b).pods, 0);
    w.check_counts();
}

#[test]
fn start_plans_a_wake_up_or_a_launch() {
    let mut w = World::new(0);
    let up = w.cluster.add_node(w.node(10));
    w.cluster.nodes[up].ipamd.launch(0, &mut w.ec2).unwrap();
    let mut later = w.node(10);
    later.start = 300_000;
    let later = w.cluster.add_node(later);
    w.cluster.start(&mut w.fx);
    assert_eq!(w.fx.wakes.len(), 1);
    assert_eq!(w.fx.wakes[0].0, up);
    assert_eq!(w.fx.launches, vec![(later, 300_000)]);
}

#[test]
fn only_pods_without_a_slot_once_the_starting_nodes_are_ready_are_a_shortfall() {
    // Two starting nodes with room for 2 pods each; 5 pods created with the cluster.
    let mut w = World::new(6);
    let a = w.cluster.add_node(w.node(4));
    let b = w.cluster.add_node(w.node(4));
    w.cluster.start(&mut w.fx);
    assert!(!w.cluster.settled());
    for p in 0..5 {
        w.cluster.add_pod(p, 0, &mut w.fx);
    }
    let ta = w.make_ready(a, 0);
    assert!(!w.cluster.settled(), "b is still starting");
    let c = w.cluster.counts();
    assert_eq!((c.unschedulable, c.ever_unschedulable), (3, 5));
    assert_eq!(
        c.unschedulable_settled, 5,
        "before the cluster settles every wait counts"
    );
    let tb = w.make_ready(b, ta);
    assert_eq!(w.cluster.settled_at(), Some(tb));
    let c = w.cluster.counts();
    assert_eq!(c.unschedulable, 1, "4 slots for 5 pods");
    assert_eq!(
        c.unschedulable_settled, 1,
        "only the pod still queued at Ready"
    );
    w.cluster.add_pod(5, tb + 1, &mut w.fx);
    let c = w.cluster.counts();
    assert_eq!((c.unschedulable_settled, c.ever_unschedulable), (2, 6));
    w.check_counts();
}
