//! ipamd's pool-sizing rules as pure functions (spec/ipamd-policy.md §1, §2, §4.2–4.7).
//!
//! Each upstream rule is one function of the node's [`PoolStats`] and its [`Settings`]
//! (aws-node variables, instance limits, max pods); nothing here reads time, calls EC2 or
//! touches the datastore. Upstream names are given in each doc comment, all in
//! `pkg/ipamd/ipamd.go` of aws/amazon-vpc-cni-k8s v1.23.1. Arithmetic is done in `i64` so the
//! `max(x − y, 0)` forms behave as Go's `int` arithmetic does.

use crate::catalog::{Hypervisor, InstanceType};
use crate::ipamd::config::CniConfig;

/// Addresses in one /28 prefix (`GetPrefixDelegationDefaults`).
pub const IPS_PER_PREFIX: u32 = 16;

/// How pods get addresses on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Secondary IPs: one /32 per pod address.
    SecondaryIp,
    /// Prefix delegation: /28 prefixes, 16 pod addresses each.
    PrefixDelegation,
}

/// ipamd's view of a node's address pool at one moment (`DataStoreStats` plus
/// `GetFreePrefixes` and `GetENIs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// `TotalIPs`: pod-assignable addresses (1 per /32, 16 per /28).
    pub total_ips: u32,
    /// `AssignedIPs`: addresses held by pods.
    pub assigned_ips: u32,
    /// `CooldownIPs`: unassigned addresses still in `IP_COOLDOWN_PERIOD` (reporting only).
    pub cooldown_ips: u32,
    /// `TotalPrefixes`: /28s held.
    pub total_prefixes: u32,
    /// `GetFreePrefixes`: /28s with no assigned address (cooling ones count as free).
    pub free_prefixes: u32,
    /// `GetENIs`: ENIs in the datastore, the primary included.
    pub enis: u32,
}

impl PoolStats {
    /// `AvailableAddresses`: `total − assigned`. Cooling addresses count as available.
    pub fn available(&self) -> i64 {
        i64::from(self.total_ips) - i64::from(self.assigned_ips)
    }
}

/// `getMaxENI`: `MAX_ENI` when it is at least 1 and below the type's `ENILimit`, else
/// `ENILimit`.
pub fn max_eni(eni_limit: u32, max_eni_env: Option<u32>) -> u32 {
    match max_eni_env {
        Some(m) if m >= 1 && m < eni_limit => m,
        _ => eni_limit,
    }
}

/// `IsPrefixDelegationSupported` (`pkg/awsutils/awsutils.go`): Nitro hypervisor **or** bare
/// metal. (The spec's §2 wording "non-Nitro, non-bare-metal falls back" agrees; upstream is
/// the reference.)
pub fn prefix_delegation_supported(instance: &InstanceType) -> bool {
    instance.hypervisor == Hypervisor::Nitro || instance.bare_metal
}

/// The mode ipamd runs in on `instance`, and whether it silently fell back from prefix
/// delegation to secondary IPs (`isConfigValid`: a warning, then SIP). The scenario loader
/// should warn when the second value is true.
pub fn effective_mode(cni: &CniConfig, instance: &InstanceType) -> (Mode, bool) {
    if !cni.enable_prefix_delegation {
        (Mode::SecondaryIp, false)
    } else if prefix_delegation_supported(instance) {
        (Mode::PrefixDelegation, false)
    } else {
        (Mode::SecondaryIp, true)
    }
}

/// Everything the pool rules read besides the pool itself: aws-node variables, the instance
/// type's limits (§1) and max pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Effective mode (after the non-Nitro fallback).
    pub mode: Mode,
    /// `WARM_ENI_TARGET`.
    pub warm_eni_target: u32,
    /// `WARM_IP_TARGET` (0 = unset).
    pub warm_ip_target: u32,
    /// `MINIMUM_IP_TARGET` (0 = unset).
    pub minimum_ip_target: u32,
    /// `WARM_PREFIX_TARGET`.
    pub warm_prefix_target: u32,
    /// `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`: the primary ENI gets no pod addresses.
    pub custom_networking: bool,
    /// `ENILimit`: the type's ENIs.
    pub eni_limit: u32,
    /// `IPv4Limit`: addresses per ENI, the ENI's primary included.
    pub ipv4_limit: u32,
    /// `maxENI` after `MAX_ENI` ([`max_eni`]).
    pub max_eni: u32,
    /// The node's max pods: ipamd's growth ceiling on total IPs.
    pub max_pods: u32,
}

impl Settings {
    /// The settings of a node of `instance` with `max_pods` under `cni`.
    pub fn new(cni: &CniConfig, instance: &InstanceType, max_pods: u32) -> Self {
        Settings {
            mode: effective_mode(cni, instance).0,
            warm_eni_target: cni.warm_eni_target,
            warm_ip_target: cni.warm_ip_target,
            minimum_ip_target: cni.minimum_ip_target,
            warm_prefix_target: cni.warm_prefix_target,
            custom_networking: cni.custom_network_cfg,
            eni_limit: instance.max_enis,
            ipv4_limit: instance.ipv4_per_eni,
            max_eni: max_eni(instance.max_enis, cni.max_eni),
            max_pods,
        }
    }

    /// `warmIPTargetsDefined`: WARM_IP_TARGET or MINIMUM_IP_TARGET is non-zero.
    pub fn warm_ip_targets_defined(&self) -> bool {
        self.warm_ip_target != 0 || self.minimum_ip_target != 0
    }

    /// `maxPrefixesPerENI` (`Pmax`): `IPv4Limit − 1`, one address slot per /28.
    pub fn max_prefixes_per_eni(&self) -> u32 {
        self.ipv4_limit.saturating_sub(1)
    }

    /// `maxIPsPerENI` (`M`): `IPv4Limit − 1` secondary IPs, or `16 × Pmax` in PD.
    pub fn max_ips_per_eni(&self) -> u32 {
        match self.mode {
            Mode::SecondaryIp => self.ipv4_limit.saturating_sub(1),
            Mode::PrefixDelegation => IPS_PER_PREFIX * self.max_prefixes_per_eni(),
        }
    }

    /// The per-ENI CIDR limit `GetAllocatableENIs` compares with: `M` /32s or `Pmax` /28s.
    pub fn cidrs_per_eni(&self) -> u32 {
        match self.mode {
            Mode::SecondaryIp => self.max_ips_per_eni(),
            Mode::PrefixDelegation => self.max_prefixes_per_eni(),
        }
    }
}

/// What `datastoreTargetState` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetState {
    /// Shortfall: IPs (SIP) or prefixes (PD).
    pub short: u32,
    /// Surplus that may be released: IPs (SIP) or fully free prefixes (PD).
    pub over: u32,
    /// WARM_IP_TARGET or MINIMUM_IP_TARGET is set.
    pub defined: bool,
}

fn div_ceil(x: i64, y: i64) -> i64 {
    (x + y - 1).div_euclid(y)
}

fn clamp_u32(x: i64) -> u32 {
    x.clamp(0, i64::from(u32::MAX)) as u32
}

/// `datastoreTargetState` (§4.3): with `T` = WARM_IP_TARGET and `N` = MINIMUM_IP_TARGET,
/// the pool is short by `max(T − available, N − total, 0)` IPs and over by
/// `max(min(available − T, total − N), 0)`. In PD the shortfall is rounded up to whole /28s,
/// and only fully free /28s beyond both `ceil((assigned + T)/16)` and `ceil(N/16)` count as
/// surplus. Undefined (all zero) when neither target is set.
pub fn target_state(s: &Settings, st: &PoolStats) -> TargetState {
    if !s.warm_ip_targets_defined() {
        return TargetState {
            short: 0,
            over: 0,
            defined: false,
        };
    }
    let (t, n) = (i64::from(s.warm_ip_target), i64::from(s.minimum_ip_target));
    let (total, assigned) = (i64::from(st.total_ips), i64::from(st.assigned_ips));
    let available = st.available();
    let short = (t - available).max(0).max(n - total);
    let over = (available - t).max(0).min(total - n).max(0);
    match s.mode {
        Mode::SecondaryIp => TargetState {
            short: clamp_u32(short),
            over: clamp_u32(over),
            defined: true,
        },
        Mode::PrefixDelegation => {
            let per = i64::from(IPS_PER_PREFIX);
            let prefixes = i64::from(st.total_prefixes);
            let need_warm = div_ceil(assigned + t, per);
            let need_min = div_ceil(n, per);
            let over = i64::from(st.free_prefixes)
                .min(prefixes - need_warm)
                .max(0)
                .min(prefixes - need_min)
                .max(0);
            TargetState {
                short: clamp_u32(div_ceil(short, per)),
                over: clamp_u32(over),
                defined: true,
            }
        }
    }
}

/// The max-pods growth ceiling (v1.16.3+, `isDatastorePoolTooLow`): once total IPs reach max
/// pods the pool is never "too low" again.
pub fn growth_ceiling_reached(s: &Settings, st: &PoolStats) -> bool {
    st.total_ips >= s.max_pods
}

/// `isDatastorePoolTooLow` (§4.2): never at the max-pods ceiling; with a WARM_IP/MINIMUM_IP
/// target, when short of it; otherwise when fewer than `W × unit` addresses are available
/// (`W` = WARM_ENI_TARGET with `unit` = `M` in SIP, WARM_PREFIX_TARGET with `unit` = 16 in
/// PD), or when `W` is 0 and nothing is available.
pub fn too_low(s: &Settings, st: &PoolStats) -> bool {
    if growth_ceiling_reached(s, st) {
        return false;
    }
    let target = target_state(s, st);
    if target.defined {
        return target.short > 0;
    }
    let (w, unit) = match s.mode {
        Mode::SecondaryIp => (s.warm_eni_target, s.max_ips_per_eni()),
        Mode::PrefixDelegation => (s.warm_prefix_target, IPS_PER_PREFIX),
    };
    let available = st.available();
    available < i64::from(w) * i64::from(unit) || (w == 0 && available == 0)
}

/// `isDatastorePoolTooHigh` (§4.2): with a WARM_IP/MINIMUM_IP target, when over it; in PD
/// (always "prefix target defined"), when more /28s are fully free than WARM_PREFIX_TARGET;
/// never in SIP with WARM_ENI_TARGET. Max pods is not consulted.
pub fn too_high(s: &Settings, st: &PoolStats) -> bool {
    let target = target_state(s, st);
    if target.defined {
        return target.over > 0;
    }
    match s.mode {
        Mode::PrefixDelegation => st.free_prefixes > s.warm_prefix_target,
        Mode::SecondaryIp => false,
    }
}

/// `getPrefixesNeeded` (§4.4): prefixes one growth step asks for in PD: at least 1; with a
/// WARM_IP/MINIMUM_IP target its prefix shortfall, else `WARM_PREFIX_TARGET − freePrefixes`.
pub fn prefixes_needed(s: &Settings, st: &PoolStats) -> u32 {
    let target = target_state(s, st);
    let short = if target.defined {
        target.short
    } else {
        s.warm_prefix_target.saturating_sub(st.free_prefixes)
    };
    short.max(1)
}

/// How many CIDRs the growth step wants in total, before the per-ENI room is applied
/// (`toAllocate` in `tryAssignIPs` / `tryAssignPrefixes`). SIP: the IP shortfall with a
/// WARM_IP/MINIMUM_IP target, else a whole ENI (`M`); `None` when a target is set and nothing
/// is short (upstream returns without calling EC2). PD: [`prefixes_needed`], never `None`.
pub fn growth_want(s: &Settings, st: &PoolStats) -> Option<u32> {
    match s.mode {
        Mode::SecondaryIp => {
            let target = target_state(s, st);
            match (target.defined, target.short) {
                (true, 0) => None,
                (true, short) => Some(short),
                (false, _) => Some(s.max_ips_per_eni()),
            }
        }
        Mode::PrefixDelegation => Some(prefixes_needed(s, st)),
    }
}

/// The count of one `AssignPrivateIpAddresses` call on an ENI already holding `held` CIDRs:
/// `min(limit − held, want)`.
pub fn assign_count(s: &Settings, held: u32, want: u32) -> u32 {
    s.cidrs_per_eni().saturating_sub(held).min(want)
}

/// `GetENIResourcesToAllocate` (§4.4): what a new ENI is created with. SIP: `M`, or
/// `min(short, M)` with a WARM_IP/MINIMUM_IP target. PD: `min(prefixesNeeded, Pmax)`.
/// (`createENI` also caps it at `IPv4Limit − 1`, which is the same number.)
pub fn resources_for_new_eni(s: &Settings, st: &PoolStats) -> u32 {
    match s.mode {
        Mode::SecondaryIp => {
            let target = target_state(s, st);
            if target.defined {
                target.short.min(s.max_ips_per_eni())
            } else {
                s.max_ips_per_eni()
            }
        }
        Mode::PrefixDelegation => prefixes_needed(s, st).min(s.max_prefixes_per_eni()),
    }
}

/// `hasRoomForEni` (§4.4): fewer ENIs in the datastore than `maxENI` (no trunk, EFA or
/// unmanaged ENIs are modelled).
pub fn has_room_for_eni(s: &Settings, enis_in_datastore: u32) -> bool {
    enis_in_datastore < s.max_eni
}

/// How many CIDRs one shrink releases (`tryUnassignCidrsFromAll`, §4.6): the surplus of
/// [`target_state`] with a WARM_IP/MINIMUM_IP target, else in PD the fully free /28s beyond
/// WARM_PREFIX_TARGET, else none.
pub fn shrink_amount(s: &Settings, st: &PoolStats) -> u32 {
    let target = target_state(s, st);
    if target.defined {
        return target.over;
    }
    match s.mode {
        Mode::PrefixDelegation => st.free_prefixes.saturating_sub(s.warm_prefix_target),
        Mode::SecondaryIp => 0,
    }
}

/// `shouldRemoveExtraENIs` (§4.7), on the stats taken before the pass's growth or shrink:
/// always with a WARM_IP/MINIMUM_IP target (the deletability check decides); otherwise when
/// `(W + 1) × M` addresses are available (`W` = WARM_ENI_TARGET, or WARM_PREFIX_TARGET in PD,
/// where `M` is a whole ENI of prefixes); failing that, in PD, when some non-primary ENI has
/// no pods (`CheckFreeableENIexists`, asked only then).
pub fn should_remove_extra_enis(
    s: &Settings,
    st: &PoolStats,
    freeable_eni_exists: impl FnOnce() -> bool,
) -> bool {
    if s.warm_ip_targets_defined() {
        return true;
    }
    let w = match s.mode {
        Mode::SecondaryIp => s.warm_eni_target,
        Mode::PrefixDelegation => s.warm_prefix_target,
    };
    let whole = (i64::from(w) + 1) * i64::from(s.max_ips_per_eni());
    if st.available() >= whole {
        return true;
    }
    s.mode == Mode::PrefixDelegation && freeable_eni_exists()
}

#[cfg(test)]
mod tests;
