use super::*;
use crate::subnet::{Background, Placement, ReservationConfig, ReservationKind, SubnetConfig};

fn subnet(
    cidr: &str,
    placement: Placement,
    background: u32,
    reservations: Vec<ReservationConfig>,
) -> SubnetConfig {
    SubnetConfig {
        name: None,
        cidr: cidr.to_string(),
        placement,
        background: Background {
            addresses: background,
        },
        reservations,
        tags: Default::default(),
        availability_zone: None,
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
    ec2_with(
        &Ec2Config::default(),
        &[subnet(cidr, Placement::Lowest, 0, vec![])],
        1,
    )
}

#[test]
fn create_assign_unassign_delete_round_trip() {
    let mut e = ec2("10.0.0.0/24");
    let r = e.create_network_interface(0, 0, 9, Request::Ips(3));
    let eni = r.result.unwrap();
    assert_eq!(r.latency, 1_000);
    assert_eq!(eni.cidrs.len(), 3);
    assert!(
        eni.cidrs
            .iter()
            .all(|c| c.prefix_len() == 32 && c.addr() != eni.primary)
    );
    assert_eq!(e.subnets()[0].used(), 4);
    let more = e
        .assign_private_ip_addresses(10, eni.id, Request::Ips(6))
        .result
        .unwrap();
    assert_eq!(e.subnets()[0].used(), 10);
    // Slots: 9 in all, 9 used.
    assert_eq!(
        e.assign_private_ip_addresses(20, eni.id, Request::Ips(1))
            .result,
        Err(Ec2Error::PrivateIpAddressLimitExceeded)
    );
    e.unassign_private_ip_addresses(30, eni.id, &more)
        .result
        .unwrap();
    assert_eq!(e.subnets()[0].used(), 4);
    e.delete_network_interface(40, eni.id).result.unwrap();
    assert_eq!(e.subnets()[0].used(), 0);
    let c = e.counters(Action::AssignPrivateIpAddresses);
    assert_eq!((c.calls, c.succeeded, c.failed), (2, 1, 1));
    assert_eq!(e.total_calls(), 5);
}

#[test]
fn multi_address_requests_are_all_or_nothing() {
    // A /28 has 11 usable addresses.
    let mut e = ec2("10.0.0.0/28");
    let r = e.create_network_interface(0, 0, 49, Request::Ips(11));
    assert_eq!(r.result, Err(Ec2Error::InsufficientFreeAddressesInSubnet));
    assert_eq!(
        e.subnets()[0].used(),
        0,
        "nothing held after a failed request"
    );
    let ok = e
        .create_network_interface(0, 0, 49, Request::Ips(10))
        .result
        .unwrap();
    assert_eq!(ok.cidrs.len(), 10);
    assert_eq!(e.subnets()[0].free(), 0);
    assert_eq!(e.insufficient_free_addresses_total(), 1);
}

#[test]
fn fragmented_subnet_refuses_prefixes_until_a_prefix_reservation_is_used() {
    // Half of a /20 held by scattered tenants: (1/2)^16 of blocks stay free — none in practice.
    let cfg = [subnet("10.0.0.0/20", Placement::Random, 2_045, vec![])];
    let mut e = ec2_with(&Ec2Config::default(), &cfg, 7);
    assert!(e.subnets()[0].free() > 2_000);
    let eni = e.launch_primary_eni(0, 9).unwrap();
    let r = e.assign_private_ip_addresses(0, eni.id, Request::Prefixes(1));
    assert_eq!(r.result, Err(Ec2Error::InsufficientCidrBlocks));
    assert_eq!(e.insufficient_cidr_blocks_total(), 1);
    assert_eq!(e.first_insufficient_cidr_blocks(), Some(0));

    // The same with a /24 prefix reservation: 16 blocks, all usable as prefixes.
    let res = vec![ReservationConfig {
        cidr: "10.0.8.0/24".into(),
        kind: ReservationKind::Prefix,
    }];
    let cfg = [subnet("10.0.0.0/20", Placement::Random, 2_045, res)];
    let mut e = ec2_with(&Ec2Config::default(), &cfg, 7);
    let mut got = 0;
    for i in 0..20 {
        let eni = e.launch_primary_eni(0, 9).unwrap();
        match e
            .assign_private_ip_addresses(i * 60_000, eni.id, Request::Prefixes(1))
            .result
        {
            Ok(c) => {
                assert!(
                    (0x0a00_0800..0x0a00_0900).contains(&c[0].addr()),
                    "{:x}",
                    c[0].addr()
                );
                got += 1;
            }
            Err(err) => {
                assert_eq!(err, Ec2Error::InsufficientCidrBlocks);
                break;
            }
        }
    }
    assert_eq!(
        got, 16,
        "every block of the reservation, then InsufficientCidrBlocks"
    );
}

#[test]
fn throttled_calls_retry_three_times_then_fail() {
    let mut cfg = Ec2Config::default();
    cfg.throttle.insert(
        Action::DescribeSubnets,
        BucketConfig {
            capacity: 2,
            refill_per_s: 0.0,
        },
    );
    let mut e = ec2_with(
        &cfg,
        &[subnet("10.0.0.0/24", Placement::Lowest, 0, vec![])],
        1,
    );
    assert!(e.request(0, Action::DescribeSubnets).result.is_ok());
    assert!(e.request(0, Action::DescribeSubnets).result.is_ok());
    let r = e.request(0, Action::DescribeSubnets);
    assert_eq!(r.result, Err(Ec2Error::RequestLimitExceeded));
    assert!(
        r.latency <= 2_000 + 4_000,
        "waits are uniform(0, 2^attempt s): {}",
        r.latency
    );
    let c = e.counters(Action::DescribeSubnets);
    assert_eq!((c.calls, c.succeeded, c.failed, c.throttled), (5, 2, 3, 3));
    assert_eq!(e.total_throttled(), 3);
}

#[test]
fn buckets_refill_with_time_and_retries_can_succeed() {
    let mut cfg = Ec2Config::default();
    cfg.throttle.insert(
        Action::CreateTags,
        BucketConfig {
            capacity: 1,
            refill_per_s: 1.0,
        },
    );
    let mut e = ec2_with(
        &cfg,
        &[subnet("10.0.0.0/24", Placement::Lowest, 0, vec![])],
        1,
    );
    assert!(e.request(0, Action::CreateTags).result.is_ok());
    // Empty now; one token back after 1 s.
    assert!(e.request(1_000, Action::CreateTags).result.is_ok());
    // At 1.5 s the bucket holds half a token: the first attempt is throttled; the retry
    // waits up to 2 s and the third up to 4 s more, so one of them may find a token.
    let r = e.request(1_500, Action::CreateTags);
    let c = e.counters(Action::CreateTags);
    assert!(c.throttled >= 1);
    if r.result.is_ok() {
        assert!(
            r.latency >= 500,
            "a success needs the bucket refilled: {}",
            r.latency
        );
    }
    assert_eq!(c.calls, c.succeeded + c.failed);
}

#[test]
fn latency_config_forms_and_errors() {
    let c: Ec2Config = toml::from_str(
        r#"
        latency = { AssignPrivateIpAddresses = "250ms", AttachNetworkInterface = { uniform = ["3s", "8s"] }, CreateNetworkInterface = { exponential = "1s" }, DeleteNetworkInterface = { fixed = "2s" } }
        throttle = { CreateTags = { capacity = 7, refill_per_s = 0.5 } }
        "#,
    )
    .unwrap();
    let mut rng = Streams::new(1).stream("t", 0);
    assert_eq!(
        c.latency(Action::AssignPrivateIpAddresses).sample(&mut rng),
        250
    );
    assert_eq!(
        c.latency(Action::DeleteNetworkInterface).sample(&mut rng),
        2_000
    );
    assert_eq!(
        c.latency(Action::DetachNetworkInterface).sample(&mut rng),
        2_000,
        "default"
    );
    for _ in 0..100 {
        let v = c.latency(Action::AttachNetworkInterface).sample(&mut rng);
        assert!((3_000..=8_000).contains(&v));
    }
    let mean = (0..4_000)
        .map(|_| c.latency(Action::CreateNetworkInterface).sample(&mut rng))
        .sum::<u64>() as f64
        / 4_000.0;
    assert!((900.0..1_100.0).contains(&mean), "exponential mean {mean}");
    assert_eq!(c.bucket(Action::CreateTags).capacity, 7);
    assert_eq!(
        c.bucket(Action::AttachNetworkInterface).capacity,
        50,
        "default"
    );

    let err = toml::from_str::<Ec2Config>("latency = { AssignPrivateIps = \"1s\" }").unwrap_err();
    assert!(err.to_string().contains("AssignPrivateIps"), "{err}");
    assert!(toml::from_str::<Ec2Config>("throttle = { CreateTags = { capacity = 1 } }").is_err());
    assert!(toml::from_str::<Ec2Config>("latencies = {}").is_err());
}

#[test]
fn same_seed_same_latencies_and_placements() {
    let cfg: Ec2Config =
        toml::from_str("latency = { AssignPrivateIpAddresses = { exponential = \"1s\" } }")
            .unwrap();
    let run = |seed| {
        let mut e = ec2_with(
            &cfg,
            &[subnet("10.0.0.0/22", Placement::Random, 100, vec![])],
            seed,
        );
        let eni = e.launch_primary_eni(0, 200).unwrap();
        (0..20)
            .map(|t| {
                let r = e.assign_private_ip_addresses(t, eni.id, Request::Ips(2));
                (r.latency, r.result.unwrap())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn bad_ec2_tables_say_what_is_wrong() {
    for (text, says) in [
        ("latency = { CreateTags = \"soon\" }", "invalid duration"),
        ("latency = { CreateTags = -3 }", "negative"),
        (
            "latency = { CreateTags = { normal = \"1s\" } }",
            "exponential",
        ),
        ("latency = { CreateTags = {} }", "empty latency"),
        (
            "latency = { CreateTags = { uniform = [\"8s\", \"3s\"] } }",
            "first bound is above",
        ),
        (
            "latency = { CreateTags = { fixed = \"1s\", exponential = \"1s\" } }",
            "exactly one",
        ),
        (
            "throttle = { CreateTags = { capacity = 0, refill_per_s = 1 } }",
            "at least 1 token",
        ),
        (
            "throttle = { CreateTags = { capacity = 5, refill_per_s = -1 } }",
            "not a rate",
        ),
        (
            "throttle = { CreateTags = { capacity = 5, refill_per_s = nan } }",
            "not a rate",
        ),
    ] {
        let err = toml::from_str::<Ec2Config>(text).unwrap_err().to_string();
        assert!(err.contains(says), "{text}: {err}");
        assert!(!err.contains("did not match any variant"), "{text}: {err}");
    }
    // The plain forms still parse, integers as seconds.
    let c: Ec2Config = toml::from_str("latency = { CreateTags = 2 }").unwrap();
    let mut rng = Streams::new(1).stream("t", 0);
    assert_eq!(c.latency(Action::CreateTags).sample(&mut rng), 2_000);
}

#[test]
fn exponential_draws_use_a_portable_logarithm() {
    // config::ln uses only IEEE-exact operations; it must agree with libm to ~1 ulp.
    for x in [1e-300, 1e-9, 0.001, 0.25, 0.5, 0.7, 0.999_999, 1.0] {
        let (ours, std) = (crate::rng::ln(x), f64::ln(x));
        assert!(
            (ours - std).abs() <= 1e-14 * std.abs().max(1.0),
            "{x}: {ours} vs {std}"
        );
    }
    // And the draws: same seed, same values; mean and median of an exponential.
    let c: Ec2Config =
        toml::from_str("latency = { CreateTags = { exponential = \"1s\" } }").unwrap();
    let mut rng = Streams::new(9).stream("t", 0);
    let mut xs: Vec<Millis> = (0..20_000)
        .map(|_| c.latency(Action::CreateTags).sample(&mut rng))
        .collect();
    let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
    assert!((mean - 1_000.0).abs() < 35.0, "{mean}");
    xs.sort_unstable();
    assert!((xs[xs.len() / 2] as f64 - 693.0).abs() < 25.0);
}

/// `getLeakedENIs` filters on ipamd's tag key, status `available` and the VPC, not on the
/// node: the describe lists every detached ipamd ENI whose `createdAt` is 5 min old
/// (ec2-subnet.md §8, ipamd-policy §7.5).
#[test]
fn the_leaked_eni_describe_sees_every_detached_eni_of_the_vpc() {
    let mut e = ec2("10.0.0.0/24");
    let a = e
        .create_network_interface(0, 0, 9, Request::Ips(2))
        .result
        .unwrap();
    let b = e
        .create_network_interface(0, 0, 9, Request::Ips(2))
        .result
        .unwrap();
    assert!(e.attach_network_interface(1_000, a.id, 1, 3).result.is_ok());
    assert!(e.attach_network_interface(1_000, b.id, 1, 3).result.is_ok());
    let leaked = |e: &mut Ec2, t| e.describe_leaked_enis(t, 300_000).result.unwrap();
    assert!(
        leaked(&mut e, 400_000).is_empty(),
        "attached ENIs are in use"
    );
    assert!(e.detach_network_interface(500_000, a.id).result.is_ok());
    assert_eq!(leaked(&mut e, 600_000), [a.id]);
    assert!(e.delete_network_interface(700_000, a.id).result.is_ok());
    assert!(leaked(&mut e, 800_000).is_empty());
    // A refused attach leaves the ENI available.
    let c = e
        .create_network_interface(0, 0, 9, Request::Ips(0))
        .result
        .unwrap();
    let r = e.attach_network_interface(900_000, c.id, 3, 3);
    assert_eq!(r.result, Err(Ec2Error::AttachmentLimitExceeded));
    assert_eq!(e.counters(Action::AttachNetworkInterface).failed, 1);
    assert_eq!(leaked(&mut e, 900_000), [c.id]);
}

/// `DescribeSubnets` as `GetVpcSubnets` uses it: the node zone's subnets only (a subnet
/// without a zone is alone in its own), most `AvailableIpAddressCount` first, ties in the
/// scenario's order (a stable sort).
#[test]
fn describe_subnets_lists_the_zone_by_free_addresses() {
    let mut configs = vec![
        subnet("10.0.0.0/24", Placement::Lowest, 100, vec![]),
        subnet("10.0.1.0/24", Placement::Lowest, 0, vec![]),
        subnet("10.0.2.0/24", Placement::Lowest, 100, vec![]),
        subnet("10.0.4.0/23", Placement::Lowest, 0, vec![]),
        subnet("10.0.8.0/24", Placement::Lowest, 0, vec![]),
    ];
    for c in &mut configs[..4] {
        c.availability_zone = Some("a".into());
    }
    configs[3].availability_zone = Some("b".into());
    let mut ec2 = ec2_with(&Ec2Config::default(), &configs, 1);
    assert_eq!(ec2.describe_subnets(0, 0).result.unwrap(), [1, 0, 2]);
    assert_eq!(ec2.describe_subnets(0, 3).result.unwrap(), [3]);
    assert_eq!(ec2.describe_subnets(0, 4).result.unwrap(), [4]);
    assert_eq!(ec2.counters(Action::DescribeSubnets).calls, 3);
}
