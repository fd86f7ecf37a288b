//! Karpenter's subnet provider (aws/karpenter-provider-aws `pkg/providers/subnet/subnet.go`,
//! `DefaultProvider`) and the zone a launch lands in.
//!
//! Karpenter does not read the subnets at launch time. Its nodeclass reconciler lists them
//! every [`SUBNET_REFRESH_INTERVAL`](super::SUBNET_REFRESH_INTERVAL)
//! (`pkg/controllers/nodeclass/subnet.go`): `List` caches each subnet's
//! `AvailableIpAddressCount` and forgets the in-flight predictions, and the nodeclass status
//! keeps the subnets sorted by that count, most first, ties by subnet ID. At each launch,
//! `ZonalSubnetsForLaunch` keeps per zone the status subnet with the most addresses
//! (the in-flight prediction when there is one, else the cached count; a later subnet
//! replaces the kept one only when strictly greater) and subtracts from every kept
//! subnet's prediction the max pods of the smallest instance type offered (`minPods`):
//! the addresses it expects the node to take. After EC2 Fleet answers,
//! `UpdateInflightIPs` gives that deduction back to the subnets Fleet did not use, if
//! their cached count has not been refreshed since. So between two refreshes, each launch
//! counts its subnet down by `minPods`, and the next launch in the same batch sees it —
//! which spreads a burst across zones.
//!
//! Which zone EC2 Fleet picks among the offered zonal subnets is EC2's business (the
//! lowest-price allocation strategy, equal prices across zones); the model takes the zone
//! whose subnet has the most predicted addresses after the deduction, ties to the first in
//! status order ([`choose`]). The subnet ID of the tie-breaks is the subnet's position in
//! the scenario.

/// One zone's subnet as `ZonalSubnetsForLaunch` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZonalSubnet {
    /// The zone.
    pub zone: u32,
    /// The subnet (index into the scenario's subnets).
    pub subnet: usize,
    /// Its cached `AvailableIpAddressCount` at the call (`Subnet.AvailableIPAddressCount`).
    pub available: i64,
}

/// The provider's caches, shared by every pool (one `DefaultProvider` per controller).
#[derive(Clone, Debug)]
pub struct SubnetProvider {
    /// `availableIPAddressCache`: the count at the subnet's last `List`; `None` = never
    /// listed (read as 0, Go's zero value).
    cached: Vec<Option<i64>>,
    /// `inflightIPs`: the predicted count since the last `List`.
    inflight: Vec<Option<i64>>,
    /// Per pool: its subnets (the EC2NodeClass selector).
    pool_subnets: Vec<Vec<usize>>,
    /// Per pool: `nodeClass.Status.Subnets`, sorted at the last refresh.
    status: Vec<Vec<usize>>,
}

impl SubnetProvider {
    /// A provider over `subnet_count` subnets for pools selecting `pool_subnets`. Nothing
    /// is listed yet: call [`Self::refresh`] at t = 0, as the nodeclass reconciler runs at
    /// start-up.
    pub fn new(subnet_count: usize, pool_subnets: Vec<Vec<usize>>) -> Self {
        SubnetProvider {
            cached: vec![None; subnet_count],
            inflight: vec![None; subnet_count],
            status: pool_subnets.clone(),
            pool_subnets,
        }
    }

    /// The nodeclass reconciler of every pool: `List` (cache `available[s]`, EC2's
    /// `AvailableIpAddressCount`, and forget the in-flight prediction of every listed
    /// subnet), then the status sorted by count, most first, ties by subnet ID.
    pub fn refresh(&mut self, available: &[u32]) {
        for (pool, subnets) in self.pool_subnets.iter().enumerate() {
            for &s in subnets {
                self.cached[s] = Some(i64::from(available[s]));
                self.inflight[s] = None;
            }
            let status = &mut self.status[pool];
            status.clone_from(subnets);
            status.sort_by_key(|&s| (std::cmp::Reverse(available[s]), s));
        }
    }

    /// What the provider believes subnet `s` has free: its in-flight prediction, else its
    /// cached count.
    pub fn predicted(&self, s: usize) -> i64 {
        self.inflight[s].unwrap_or_else(|| self.cached[s].unwrap_or(0))
    }

    /// `ZonalSubnetsForLaunch` for pool `pool`: per zone (`zone_of[s]`), the status subnet
    /// with the most addresses, each counted down by `min_pods`. Zones in the order their
    /// first subnet appears in the status.
    pub fn zonal_subnets_for_launch(
        &mut self,
        pool: usize,
        zone_of: &[u32],
        min_pods: i64,
    ) -> Vec<ZonalSubnet> {
        let mut zonal: Vec<ZonalSubnet> = Vec::new();
        for &s in &self.status[pool] {
            let zone = zone_of[s];
            let candidate = ZonalSubnet {
                zone,
                subnet: s,
                available: self.cached[s].unwrap_or(0),
            };
            match zonal.iter_mut().find(|z| z.zone == zone) {
                Some(kept) => {
                    let current = self.inflight[kept.subnet].unwrap_or(kept.available);
                    let new = self.inflight[s].unwrap_or(candidate.available);
                    if current < new {
                        *kept = candidate;
                    }
                }
                None => zonal.push(candidate),
            }
        }
        for z in &zonal {
            let prev = self.inflight[z.subnet].unwrap_or(z.available);
            self.inflight[z.subnet] = Some(prev - min_pods);
        }
        zonal
    }

    /// `UpdateInflightIPs` after Fleet launched into `chosen`: the offered subnets Fleet did
    /// not use get their `min_pods` back, if their cached count is still the one the launch
    /// saw.
    pub fn update_inflight_ips(&mut self, offered: &[ZonalSubnet], chosen: usize, min_pods: i64) {
        for z in offered.iter().filter(|z| z.subnet != chosen) {
            if self.cached[z.subnet] == Some(z.available)
                && let Some(ips) = &mut self.inflight[z.subnet]
            {
                *ips += min_pods;
            }
        }
    }

    /// `UpdateICEdSubnet`: Fleet answered that `s` has no address left; cache 0 and forget
    /// its prediction until the next refresh.
    pub fn update_iced_subnet(&mut self, s: usize) {
        self.cached[s] = Some(0);
        self.inflight[s] = None;
    }
}

/// The zonal subnet the node goes to (EC2 Fleet's choice, modelled): the most predicted
/// addresses, ties to the first offered. `None` when nothing is offered.
pub fn choose(provider: &SubnetProvider, offered: &[ZonalSubnet]) -> Option<ZonalSubnet> {
    let mut best: Option<ZonalSubnet> = None;
    for z in offered {
        if best.is_none_or(|b| provider.predicted(z.subnet) > provider.predicted(b.subnet)) {
            best = Some(*z);
        }
    }
    best
}

/// One launch's subnet: `ZonalSubnetsForLaunch`, the zone choice, `UpdateInflightIPs`.
pub fn place(
    provider: &mut SubnetProvider,
    pool: usize,
    zone_of: &[u32],
    min_pods: u32,
) -> Option<usize> {
    let min_pods = i64::from(min_pods);
    let offered = provider.zonal_subnets_for_launch(pool, zone_of, min_pods);
    let chosen = choose(provider, &offered)?;
    provider.update_inflight_ips(&offered, chosen.subnet, min_pods);
    Some(chosen.subnet)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subnets 0, 1 in zone 0; subnet 2 in zone 1.
    const ZONES: [u32; 3] = [0, 0, 1];

    fn provider(available: &[u32]) -> SubnetProvider {
        let mut p = SubnetProvider::new(3, vec![vec![0, 1, 2]]);
        p.refresh(available);
        p
    }

    #[test]
    fn per_zone_the_subnet_with_most_addresses() {
        let mut p = provider(&[100, 300, 200]);
        let z = p.zonal_subnets_for_launch(0, &ZONES, 29);
        // Status sorted most first: 1 (300), 2 (200), 0 (100).
        assert_eq!(
            z,
            vec![
                ZonalSubnet {
                    zone: 0,
                    subnet: 1,
                    available: 300
                },
                ZonalSubnet {
                    zone: 1,
                    subnet: 2,
                    available: 200
                },
            ]
        );
        // Every offered subnet is counted down by minPods; the other one is untouched.
        assert_eq!(
            (p.predicted(1), p.predicted(2), p.predicted(0)),
            (271, 171, 100)
        );
    }

    #[test]
    fn ties_keep_the_first_in_status_order() {
        let mut p = provider(&[50, 50, 10]);
        let z = p.zonal_subnets_for_launch(0, &ZONES, 1);
        assert_eq!(
            z[0].subnet, 0,
            "equal counts: subnet ID order, the first is kept"
        );
    }

    #[test]
    fn in_flight_launches_spread_a_burst_across_zones() {
        // Zone 0's best subnet has 120 free, zone 1's 100; each node predicts 29 addresses.
        let mut p = provider(&[120, 0, 100]);
        let picks: Vec<usize> = (0..4)
            .map(|_| place(&mut p, 0, &ZONES, 29).unwrap())
            .collect();
        // 120 → 91 (zone 0), then 100 > 91 → zone 1: 71, then 91 > 71 → zone 0: 62, then 71 → zone 1.
        assert_eq!(picks, vec![0, 2, 0, 2]);
        // Fleet's unused offers got their deduction back: only launches count.
        assert_eq!((p.predicted(0), p.predicted(2)), (120 - 58, 100 - 58));
        // A refresh forgets the predictions and reads EC2 again.
        p.refresh(&[110, 0, 90]);
        assert_eq!((p.predicted(0), p.predicted(2)), (110, 90));
    }

    #[test]
    fn a_later_subnet_in_a_zone_wins_on_its_prediction() {
        let zones = [0, 0, 1];
        let mut p = provider(&[100, 90, 0]);
        // The first launch brings subnet 0 to 70, below subnet 1's 90 in the same zone.
        assert_eq!(place(&mut p, 0, &zones, 30), Some(0));
        assert_eq!(place(&mut p, 0, &zones, 30), Some(1));
        assert_eq!((p.predicted(0), p.predicted(1)), (70, 60));
    }

    #[test]
    fn an_iced_subnet_reads_zero_until_the_refresh() {
        let mut p = provider(&[100, 0, 50]);
        p.update_iced_subnet(0);
        assert_eq!(place(&mut p, 0, &ZONES, 10), Some(2));
        p.refresh(&[100, 0, 50]);
        assert_eq!(place(&mut p, 0, &ZONES, 10), Some(0));
    }
}
