//! The EC2 control plane: address carving, errors, throttling with SDK retries, latency,
//! counters.

use super::throttle::backoff;
use super::*;
use crate::subnet::{Background, Placement, ReservationConfig, ReservationKind, SubnetConfig};

fn subnet_config(cidr: &str, background: u32) -> SubnetConfig {
    SubnetConfig {
        name: Some("pods".into()),
        cidr: cidr.into(),
        placement: Placement::Random,
        background: Background {
            addresses: background,
        },
        reservations: Vec::new(),
    }
}

fn ec2_with(config: &Ec2Config, subnets: &[SubnetConfig], seed: u64) -> Ec2 {
    let streams = Streams::new(seed);
    let subnets = subnets
        .iter()
        .enumerate()
        .map(|(i, c)| Subnet::new(c, &streams, i).unwrap())
        .collect();
    Ec2::new(config, subnets, &streams)
}

fn ec2(cidr: &str) -> Ec2 {
    ec2_with(&Ec2Config::default(), &[subnet_config(cidr, 0)], 1)
}

fn throttle(action: Action, capacity: u32, refill_per_s: f64) -> Ec2Config {
    let mut c = Ec2Config::default();
    c.throttle.insert(
        action,
        Throttle {
            capacity: Some(capacity),
            refill_per_s: Some(refill_per_s),
        },
    );
    c
}

#[test]
fn launch_carves_a_primary_without_an_api_call() {
    let mut e = ec2("10.0.0.0/24");
    let eni = e.launch_primary_eni(0, 9).unwrap();
    assert_eq!((eni.id, eni.cidrs.len()), (EniId(0), 0));
    assert!(e.subnets()[0].is_held(eni.primary));
    assert_eq!(e.subnets()[0].used(), 1);
    assert_eq!(e.calls_total(), 0);
    assert_eq!(e.eni(eni.id).unwrap().slots, 9);
    // A full subnet: the launch fails, still without a call.
    let mut tiny = ec2("10.0.0.0/28");
    for _ in 0..11 {
        tiny.launch_primary_eni(0, 1).unwrap();
    }
    assert_eq!(
        tiny.launch_primary_eni(0, 1),
        Err(Ec2Error::InsufficientFreeAddressesInSubnet)
    );
    assert_eq!(tiny.totals(), ActionCounters::default());
}

#[test]
fn create_eni_with_ips_or_prefixes() {
    let mut e = ec2("10.0.0.0/24");
    let r = e.create_network_interface(0, 0, 9, Request::Ips(3));
    assert_eq!(r.latency, 1_000);
    let eni = r.result.unwrap();
    assert_eq!(eni.cidrs.len(), 3);
    assert!(eni.cidrs.iter().all(|c| c.len == 32 && c.size() == 1));
    assert_eq!(e.subnets()[0].used(), 4);
    let r = e.create_network_interface(0, 0, 9, Request::Prefixes(2));
    let eni2 = r.result.unwrap();
    assert!(eni2.cidrs.iter().all(|c| c.len == 28 && c.addr % 16 == 0));
    assert_eq!(e.subnets()[0].used(), 4 + 1 + 32);
    assert_eq!(e.subnets()[0].prefix_blocks(), 2);
    assert_ne!(eni.id, eni2.id);
    assert_eq!(e.eni(eni2.id).unwrap().cidrs, eni2.cidrs);
    let c = e.counters(Action::CreateNetworkInterface);
    assert_eq!((c.calls, c.succeeded, c.failed), (2, 2, 0));
}

#[test]
fn create_is_all_or_nothing() {
    // A /28 has 11 usable addresses.
    let mut e = ec2("10.0.0.0/28");
    let r = e.create_network_interface(0, 0, 20, Request::Ips(11));
    assert_eq!(r.result, Err(Ec2Error::InsufficientFreeAddressesInSubnet));
    assert_eq!(r.latency, 1_000, "a failed call still takes its latency");
    assert_eq!(e.subnets()[0].used(), 0);
    assert!(
        e.create_network_interface(0, 0, 20, Request::Ips(10))
            .result
            .is_ok()
    );
    assert_eq!(e.subnets()[0].free(), 0);
    let c = *e.counters(Action::CreateNetworkInterface);
    assert_eq!(
        (c.calls, c.succeeded, c.insufficient_free_addresses),
        (2, 1, 1)
    );
    // No /28 can ever be a prefix in a /28: the primary is taken back.
    let mut e = ec2("10.0.0.0/28");
    let r = e.create_network_interface(0, 0, 9, Request::Prefixes(1));
    assert_eq!(r.result, Err(Ec2Error::InsufficientCidrBlocks));
    assert_eq!(e.subnets()[0].used(), 0);
    assert_eq!(e.first_insufficient_cidr_blocks(), Some(0));
    // More than the ENI's slots.
    let r = e.create_network_interface(5, 0, 2, Request::Ips(3));
    assert_eq!(r.result, Err(Ec2Error::PrivateIpAddressLimitExceeded));
    assert_eq!(e.subnets()[0].used(), 0);
    // And a primary alone does not fit a full subnet.
    for _ in 0..11 {
        e.launch_primary_eni(0, 1).unwrap();
    }
    let r = e.create_network_interface(9, 0, 2, Request::Prefixes(0));
    assert_eq!(r.result, Err(Ec2Error::InsufficientFreeAddressesInSubnet));
    let c = *e.counters(Action::CreateNetworkInterface);
    assert_eq!(c.calls, 3);
    assert_eq!((c.succeeded, c.failed), (0, 3));
    assert_eq!(
        (
            c.insufficient_free_addresses,
            c.insufficient_cidr_blocks,
            c.private_ip_address_limit_exceeded
        ),
        (1, 1, 1)
    );
}

#[test]
fn the_primary_may_take_the_last_free_block() {
    // A /26 has two candidate blocks (1 and 2). Fill block 1 with one prefix; a new ENI
    // asking for a prefix must place its primary first: outside blocks 1-2 (in 0 or 3) it
    // leaves block 2 free and succeeds; inside block 2 it spoils it and the call fails.
    let mut ok = 0;
    let mut failed = 0;
    for seed in 0..40 {
        let mut e = ec2_with(
            &Ec2Config::default(),
            &[subnet_config("10.0.0.0/26", 0)],
            seed,
        );
        let first = e.create_network_interface(0, 0, 9, Request::Prefixes(1));
        let first = first.result.unwrap();
        let used = e.subnets()[0].used();
        let r = e.create_network_interface(0, 0, 9, Request::Prefixes(1));
        match r.result {
            Ok(eni) => {
                ok += 1;
                assert_ne!(eni.cidrs[0], first.cidrs[0]);
            }
            Err(err) => {
                assert_eq!(err, Ec2Error::InsufficientCidrBlocks);
                assert_eq!(e.subnets()[0].used(), used, "nothing held after a failure");
                failed += 1;
            }
        }
    }
    assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
}

#[test]
fn assign_respects_slots_and_subnet() {
    let mut e = ec2("10.0.0.0/24");
    let eni = e.launch_primary_eni(0, 3).unwrap().id;
    let r = e.assign_private_ip_addresses(0, eni, Request::Ips(2));
    assert_eq!(r.latency, 500);
    assert_eq!(r.result.unwrap().len(), 2);
    // One slot left: a /28 fits, a second does not.
    let r = e.assign_private_ip_addresses(0, eni, Request::Prefixes(2));
    assert_eq!(r.result, Err(Ec2Error::PrivateIpAddressLimitExceeded));
    let used = e.subnets()[0].used();
    let p = e
        .assign_private_ip_addresses(0, eni, Request::Prefixes(1))
        .result
        .unwrap();
    assert_eq!(e.subnets()[0].used(), used + 16);
    assert_eq!(e.eni(eni).unwrap().cidrs.len(), 3);
    assert_eq!(e.eni(eni).unwrap().cidrs[2], p[0]);
    let r = e.assign_private_ip_addresses(0, eni, Request::Ips(1));
    assert_eq!(r.result, Err(Ec2Error::PrivateIpAddressLimitExceeded));
    let c = e.counters(Action::AssignPrivateIpAddresses);
    assert_eq!(
        (c.calls, c.succeeded, c.private_ip_address_limit_exceeded),
        (4, 2, 2)
    );
}

#[test]
fn assign_fails_whole_when_the_subnet_is_short() {
    let mut e = ec2("10.0.0.0/27"); // 27 usable, no prefix block
    let eni = e.launch_primary_eni(0, 49).unwrap().id;
    let r = e.assign_private_ip_addresses(0, eni, Request::Ips(27));
    assert_eq!(r.result, Err(Ec2Error::InsufficientFreeAddressesInSubnet));
    assert_eq!(e.subnets()[0].used(), 1);
    let r = e.assign_private_ip_addresses(0, eni, Request::Prefixes(1));
    assert_eq!(r.result, Err(Ec2Error::InsufficientCidrBlocks));
    assert_eq!(e.insufficient_cidr_blocks_total(), 1);
    assert_eq!(e.insufficient_free_addresses_total(), 1);
    assert!(
        e.assign_private_ip_addresses(0, eni, Request::Ips(26))
            .result
            .is_ok()
    );
    assert_eq!(e.subnets()[0].free(), 0);
}

#[test]
fn unassign_and_delete_return_addresses() {
    let mut e = ec2("10.0.0.0/24");
    let eni = e
        .create_network_interface(0, 0, 9, Request::Prefixes(2))
        .result
        .unwrap();
    let ips = e
        .assign_private_ip_addresses(0, eni.id, Request::Ips(3))
        .result
        .unwrap();
    assert_eq!(e.subnets()[0].used(), 1 + 32 + 3);
    let r = e.unassign_private_ip_addresses(10, eni.id, &ips[..2]);
    assert_eq!((r.result, r.latency), (Ok(()), 300));
    assert_eq!(e.subnets()[0].used(), 1 + 32 + 1);
    assert!(!e.subnets()[0].is_held(ips[0].addr));
    let r = e.unassign_private_ip_addresses(10, eni.id, &eni.cidrs[..1]);
    assert_eq!(r.result, Ok(()));
    assert_eq!(e.subnets()[0].prefix_blocks(), 1);
    assert_eq!(e.eni(eni.id).unwrap().cidrs, vec![eni.cidrs[1], ips[2]]);
    let r = e.delete_network_interface(20, eni.id);
    assert_eq!((r.result, r.latency), (Ok(()), 500));
    assert_eq!(e.subnets()[0].used(), 0);
    assert_eq!(e.eni(eni.id), None);
    // Deleting again: NotFound, which ipamd treats as success.
    assert_eq!(e.delete_network_interface(30, eni.id).result, Ok(()));
    assert_eq!(e.counters(Action::DeleteNetworkInterface).succeeded, 2);
    // Ids are never reused.
    let next = e.launch_primary_eni(0, 9).unwrap();
    assert_eq!(next.id, EniId(1));
}

#[test]
#[should_panic(expected = "does not exist")]
fn assigning_to_a_deleted_eni_is_a_caller_bug() {
    let mut e = ec2("10.0.0.0/24");
    let eni = e.launch_primary_eni(0, 9).unwrap().id;
    e.delete_network_interface(0, eni);
    e.assign_private_ip_addresses(0, eni, Request::Ips(1));
}

#[test]
fn an_empty_bucket_throttles_every_attempt() {
    let cfg = throttle(Action::DescribeSubnets, 2, 0.0);
    let mut e = ec2_with(&cfg, &[subnet_config("10.0.0.0/24", 0)], 3);
    for _ in 0..2 {
        assert_eq!(e.request(0, Action::DescribeSubnets).result, Ok(()));
    }
    let r = e.request(0, Action::DescribeSubnets);
    assert_eq!(r.result, Err(Ec2Error::RequestLimitExceeded));
    // Three attempts, waits drawn from the action's retry stream.
    let mut rng = Streams::new(3).stream("ec2-retry", Action::DescribeSubnets.index() as u64);
    let waits = backoff(1, &mut rng) + backoff(2, &mut rng);
    assert_eq!(r.latency, waits);
    let c = *e.counters(Action::DescribeSubnets);
    assert_eq!((c.calls, c.succeeded, c.failed, c.throttled), (5, 2, 3, 3));
    assert_eq!(e.throttled_total(), 3);
    // Other actions have their own buckets.
    assert_eq!(e.request(0, Action::DescribeInstances).result, Ok(()));
    assert_eq!(e.calls_total(), 6);
}

#[test]
fn a_throttled_call_is_retried_like_the_sdk() {
    // One token, one more per second. The second call at t=0 is throttled; the SDK waits
    // uniform(0, 2 s), then uniform(0, 4 s): it succeeds on the first attempt at or after
    // t = 1 s, and the response's latency counts the waits plus the action's 0.5 s.
    for seed in 0..30 {
        let cfg = throttle(Action::AssignPrivateIpAddresses, 1, 1.0);
        let mut e = ec2_with(&cfg, &[subnet_config("10.0.0.0/24", 0)], seed);
        let eni = e.launch_primary_eni(0, 9).unwrap().id;
        assert!(
            e.assign_private_ip_addresses(0, eni, Request::Ips(1))
                .result
                .is_ok()
        );
        let r = e.assign_private_ip_addresses(0, eni, Request::Ips(1));
        let mut rng = Streams::new(seed).stream("ec2-retry", 0);
        let t2 = backoff(1, &mut rng);
        let t3 = t2 + backoff(2, &mut rng);
        let c = *e.counters(Action::AssignPrivateIpAddresses);
        if t2 >= 1_000 {
            assert_eq!((r.result.map(|v| v.len()), r.latency), (Ok(1), t2 + 500));
            assert_eq!((c.calls, c.throttled), (3, 1));
        } else if t3 >= 1_000 {
            assert_eq!((r.result.map(|v| v.len()), r.latency), (Ok(1), t3 + 500));
            assert_eq!((c.calls, c.throttled), (4, 2));
        } else {
            assert_eq!(r.result, Err(Ec2Error::RequestLimitExceeded));
            assert_eq!(r.latency, t3);
            assert_eq!((c.calls, c.throttled), (4, 3));
        }
        assert_eq!(c.calls, c.succeeded + c.failed);
        // Addresses are carved only by the admitted attempt.
        assert_eq!(e.subnets()[0].used(), 1 + c.succeeded as u32);
    }
}

#[test]
fn buckets_are_shared_by_every_caller() {
    // Two nodes' ENIs draw from one AssignPrivateIpAddresses bucket.
    let cfg = throttle(Action::AssignPrivateIpAddresses, 3, 0.0);
    let mut e = ec2_with(&cfg, &[subnet_config("10.0.0.0/24", 0)], 1);
    let a = e.launch_primary_eni(0, 9).unwrap().id;
    let b = e.launch_primary_eni(0, 9).unwrap().id;
    assert!(
        e.assign_private_ip_addresses(0, a, Request::Ips(1))
            .result
            .is_ok()
    );
    assert!(
        e.assign_private_ip_addresses(0, b, Request::Ips(1))
            .result
            .is_ok()
    );
    assert!(
        e.assign_private_ip_addresses(0, a, Request::Ips(1))
            .result
            .is_ok()
    );
    assert_eq!(
        e.assign_private_ip_addresses(0, b, Request::Ips(1)).result,
        Err(Ec2Error::RequestLimitExceeded)
    );
    assert_eq!(e.eni(b).unwrap().cidrs.len(), 1);
}

#[test]
fn latency_is_configured_per_action_and_seeded() {
    let mut cfg = Ec2Config::default();
    cfg.latency.insert(
        Action::AttachNetworkInterface,
        Latency::Uniform {
            min: 2_000,
            max: 8_000,
        },
    );
    cfg.latency.insert(Action::CreateTags, Latency::Fixed(42));
    let run = |seed| {
        let mut e = ec2_with(&cfg, &[subnet_config("10.0.0.0/24", 0)], seed);
        (0..40)
            .map(|i| e.request(i * 1_000, Action::AttachNetworkInterface).latency)
            .collect::<Vec<_>>()
    };
    let a = run(5);
    assert!(a.iter().all(|l| (2_000..=8_000).contains(l)));
    assert!(a.iter().any(|&l| l != a[0]), "jittered");
    assert_eq!(a, run(5), "same seed, same latencies");
    assert_ne!(a, run(6));
    let mut e = ec2_with(&cfg, &[subnet_config("10.0.0.0/24", 0)], 5);
    assert_eq!(e.request(0, Action::CreateTags).latency, 42);
    assert_eq!(e.request(0, Action::DescribeSubnets).latency, 200);
    assert_eq!(e.request(0, Action::DetachNetworkInterface).latency, 2_000);
}

#[test]
fn half_a_slash_20_of_background_starves_prefixes_but_not_a_reservation() {
    let mut scattered = subnet_config("10.0.0.0/20", 2048);
    let mut e = ec2_with(&Ec2Config::default(), &[scattered.clone()], 11);
    let eni = e.launch_primary_eni(0, 100).unwrap().id;
    let r = e.assign_private_ip_addresses(7_000, eni, Request::Prefixes(1));
    assert_eq!(r.result, Err(Ec2Error::InsufficientCidrBlocks));
    assert_eq!(e.first_insufficient_cidr_blocks(), Some(7_000));
    // Plenty of single addresses are still free.
    assert!(e.subnets()[0].free_for_single_addresses() > 2_000);
    assert!(
        e.assign_private_ip_addresses(8_000, eni, Request::Ips(5))
            .result
            .is_ok()
    );

    scattered.reservations.push(ReservationConfig {
        cidr: "10.0.8.0/24".into(),
        kind: ReservationKind::Prefix,
    });
    let mut e = ec2_with(&Ec2Config::default(), &[scattered], 11);
    let eni = e.launch_primary_eni(0, 100).unwrap().id;
    let mut got = 0;
    for i in 0..20 {
        match e
            .assign_private_ip_addresses(i * 1_000, eni, Request::Prefixes(1))
            .result
        {
            Ok(p) => {
                assert_eq!(p[0].addr & 0xffff_ff00, 0x0a00_0800);
                got += 1;
            }
            Err(err) => {
                assert_eq!(err, Ec2Error::InsufficientCidrBlocks);
                assert_eq!(got, 16, "fails only once the reservation is full");
                assert_eq!(e.first_insufficient_cidr_blocks(), Some(i * 1_000));
                break;
            }
        }
    }
    assert_eq!(got, 16);
}

#[test]
fn rows_follow_action_order_and_sum_to_totals() {
    let mut e = ec2("10.0.0.0/24");
    let eni = e.launch_primary_eni(0, 9).unwrap().id;
    e.request(0, Action::DescribeInstances);
    e.assign_private_ip_addresses(0, eni, Request::Prefixes(20));
    e.assign_private_ip_addresses(0, eni, Request::Prefixes(2));
    let rows = e.ec2_rows();
    let names: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    let want: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(names, want);
    assert_eq!(rows[0].calls, 2);
    assert_eq!((rows[0].succeeded, rows[0].failed), (1, 1));
    let t = e.totals();
    assert_eq!(t.calls, rows.iter().map(|r| r.calls).sum::<u64>());
    assert_eq!(t.calls, 3);
    assert_eq!(t.calls, e.calls_total());
}
