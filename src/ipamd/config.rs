//! aws-node settings, by their own environment-variable names, and the simulation's
//! `[model]` choices.
//!
//! [`CniConfig`] is the scenario's `[cni]` table. Unset variables take what the EKS add-on
//! manifest ships (`WARM_ENI_TARGET=1`, `WARM_PREFIX_TARGET=1`, everything else at ipamd's
//! code default; spec/ipamd-policy.md §2). Where ipamd would *silently replace* a value (a
//! negative target, `MAX_ENI` < 1, an unparsable number) the scenario is rejected instead, and
//! the message says what ipamd would have done — a typo should not quietly become a different
//! experiment. Values may be written as TOML integers/booleans or, as in a DaemonSet's `env`,
//! as strings (`WARM_IP_TARGET = "5"`).

use serde::{Deserialize, Deserializer};

use crate::time::{Duration, Millis, SECOND};

/// The `[cni]` table: aws-node environment variables that shape the warm pool.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CniConfig {
    /// `ENABLE_PREFIX_DELEGATION`: /28 prefixes instead of secondary IPs (Nitro types only).
    #[serde(
        rename = "ENABLE_PREFIX_DELEGATION",
        default,
        deserialize_with = "de_bool"
    )]
    pub enable_prefix_delegation: bool,
    /// `WARM_ENI_TARGET` (manifest: 1). Ignored when a WARM_IP/MINIMUM_IP target is set, and in PD.
    #[serde(
        rename = "WARM_ENI_TARGET",
        default = "one",
        deserialize_with = "de_warm_eni"
    )]
    pub warm_eni_target: u32,
    /// `WARM_IP_TARGET`; 0 = unset.
    #[serde(rename = "WARM_IP_TARGET", default, deserialize_with = "de_warm_ip")]
    pub warm_ip_target: u32,
    /// `MINIMUM_IP_TARGET`; 0 = unset.
    #[serde(
        rename = "MINIMUM_IP_TARGET",
        default,
        deserialize_with = "de_minimum_ip"
    )]
    pub minimum_ip_target: u32,
    /// `WARM_PREFIX_TARGET` (manifest: 1; code default 0).
    #[serde(
        rename = "WARM_PREFIX_TARGET",
        default = "one",
        deserialize_with = "de_warm_prefix"
    )]
    pub warm_prefix_target: u32,
    /// `MAX_ENI`; `None` = the instance type's limit. Only effective below that limit.
    #[serde(rename = "MAX_ENI", default, deserialize_with = "de_max_eni")]
    pub max_eni: Option<u32>,
    /// `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`: pods use ENIs in the ENIConfig subnet; the primary
    /// ENI carries no pod addresses.
    #[serde(
        rename = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
        default,
        deserialize_with = "de_bool"
    )]
    pub custom_network_cfg: bool,
    /// `IP_COOLDOWN_PERIOD` in seconds (default 30); 0 means no cooldown. A negative value
    /// is refused, as the aws-node entrypoint refuses it (spec §2).
    #[serde(
        rename = "IP_COOLDOWN_PERIOD",
        default = "thirty",
        deserialize_with = "de_cooldown"
    )]
    pub ip_cooldown_period_s: i64,
    /// `ENABLE_SUBNET_DISCOVERY` (default true): `DescribeSubnets` around ENI creation, and an
    /// Insufficient* error on Assign skips to the next ENI instead of the 120 s back-off.
    #[serde(
        rename = "ENABLE_SUBNET_DISCOVERY",
        default = "yes",
        deserialize_with = "de_bool"
    )]
    pub enable_subnet_discovery: bool,
    /// `DISABLE_LEAKED_ENI_CLEANUP` (default false): the hourly DescribeNetworkInterfaces.
    #[serde(
        rename = "DISABLE_LEAKED_ENI_CLEANUP",
        default,
        deserialize_with = "de_bool"
    )]
    pub disable_leaked_eni_cleanup: bool,
}

impl Default for CniConfig {
    fn default() -> Self {
        CniConfig {
            enable_prefix_delegation: false,
            warm_eni_target: 1,
            warm_ip_target: 0,
            minimum_ip_target: 0,
            warm_prefix_target: 1,
            max_eni: None,
            custom_network_cfg: false,
            ip_cooldown_period_s: 30,
            enable_subnet_discovery: true,
            disable_leaked_eni_cleanup: false,
        }
    }
}

impl CniConfig {
    /// `warmIPTargetsDefined`: WARM_IP_TARGET or MINIMUM_IP_TARGET is set (non-zero).
    pub fn warm_ip_targets_defined(&self) -> bool {
        self.warm_ip_target != 0 || self.minimum_ip_target != 0
    }

    /// `IP_COOLDOWN_PERIOD` in milliseconds (0 when ≤ 0: no cooldown).
    pub fn ip_cooldown(&self) -> Millis {
        self.ip_cooldown_period_s.max(0) as Millis * SECOND
    }

    /// Why the aws-node entrypoint (`cmd/aws-vpc-cni/main.go`, `validateEnvVars`) would
    /// refuse these settings, if it would (spec §2): prefix delegation with
    /// `WARM_PREFIX_TARGET`, `WARM_IP_TARGET` and `MINIMUM_IP_TARGET` all unset or 0. The
    /// container then exits before ipamd starts, so no node ever becomes Ready (§6.3); the
    /// scenario is rejected instead. (A negative or non-integer `IP_COOLDOWN_PERIOD`, the
    /// entrypoint's other check, is refused when the table is read.)
    pub fn entrypoint_refusal(&self) -> Option<String> {
        let no_target =
            self.warm_prefix_target == 0 && self.warm_ip_target == 0 && self.minimum_ip_target == 0;
        (self.enable_prefix_delegation && no_target).then(|| {
            "ENABLE_PREFIX_DELEGATION = true with WARM_PREFIX_TARGET, WARM_IP_TARGET and MINIMUM_IP_TARGET all 0 or unset: the aws-node entrypoint refuses to start (validateEnvVars), ipamd never runs and no node becomes Ready. Set WARM_PREFIX_TARGET = 1 (the manifest default) or a WARM_IP_TARGET / MINIMUM_IP_TARGET".to_string()
        })
    }

    /// The variable names this table accepts, for `--set` and messages.
    pub const VARIABLES: [&'static str; 10] = [
        "ENABLE_PREFIX_DELEGATION",
        "WARM_ENI_TARGET",
        "WARM_IP_TARGET",
        "MINIMUM_IP_TARGET",
        "WARM_PREFIX_TARGET",
        "MAX_ENI",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
        "IP_COOLDOWN_PERIOD",
        "ENABLE_SUBNET_DISCOVERY",
        "DISABLE_LEAKED_ENI_CLEANUP",
    ];
}

/// How a pod's address is picked among the free ones (spec "Modelling choices" 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpPick {
    /// Go map iteration as ipamd sees it: 8-slot rotation for ≤ 8 entries, random rotation
    /// beyond.
    #[default]
    GoMap,
    /// Insertion order, lowest address first.
    FirstFit,
    /// Uniformly random among free addresses.
    Random,
}

/// The `[model]` table: simulation choices, not upstream settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Pod IP choice.
    #[serde(default)]
    pub ip_pick: IpPick,
    /// kubelet's retry interval for a failed CNI ADD (default 1 s; at least
    /// [`MIN_CNI_RETRY`]).
    #[serde(default = "one_second", deserialize_with = "de_cni_retry")]
    pub cni_retry: Duration,
    /// IMDS visibility wait after attaching a new ENI (default 1 s).
    #[serde(default = "one_second")]
    pub imds_delay: Duration,
    /// Delay from the instance (or the aws-node container) starting to ipamd starting
    /// (default 0).
    #[serde(default)]
    pub ipamd_start_delay: Duration,
    /// When the aws-node liveness probe kills a container whose ipamd exited, counted from
    /// the container's start (default 80 s: the chart's 60 s initial delay, then three
    /// failures 10 s apart; spec §6.3 and "Modelling choices" 8). Later kills come on the
    /// probe's 10 s grid.
    #[serde(default = "eighty_seconds")]
    pub liveness_kill: Duration,
    /// A Karpenter node's boot: from its launch (EC2 Fleet's answer; the primary ENI takes
    /// its address then) to the aws-node container starting, after which ipamd's own start
    /// and init decide readiness as for any node (spec §6.3). Default 30 s: EKS Linux nodes
    /// launched by Karpenter take about 30 s "to become available to schedule your pods"
    /// (O. Faruk, "How I Reduced EKS Windows Node Start Time From 5 Min to ~90s",
    /// HackerNoon, 2024-06-08; the same order as Karpenter's docs' "average node startup
    /// time" well within a Spot 2-minute notice, `website/content/en/docs/concepts/
    /// disruption.md`). That figure includes aws-node's start, so the model's Ready comes
    /// a little later (by ipamd's init, about a second). Node groups are not affected:
    /// their nodes are up at their `start`.
    #[serde(default = "thirty_seconds")]
    pub node_boot: Duration,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            ip_pick: IpPick::GoMap,
            cni_retry: Duration(SECOND),
            imds_delay: Duration(SECOND),
            ipamd_start_delay: Duration(0),
            liveness_kill: eighty_seconds(),
            node_boot: thirty_seconds(),
        }
    }
}

fn one() -> u32 {
    1
}
fn thirty() -> i64 {
    30
}
fn yes() -> bool {
    true
}
fn one_second() -> Duration {
    Duration(SECOND)
}
fn thirty_seconds() -> Duration {
    Duration(30 * SECOND)
}
fn eighty_seconds() -> Duration {
    Duration(80 * SECOND)
}

/// The shortest `cni_retry`: a pod waiting for an address is retried every `cni_retry`, so
/// the interval bounds the events one waiting pod costs (100 ms: 864,000 a day). A 0 would
/// retry forever at one instant (issue 14). kubelet itself retries a failed sandbox on its
/// pod-worker backoff, seconds apart, so nothing realistic is lost.
pub const MIN_CNI_RETRY: Millis = 100;

fn de_cni_retry<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = Duration::deserialize(d)?;
    if v.millis() < MIN_CNI_RETRY {
        return Err(serde::de::Error::custom(format!(
            "cni_retry = {v} is below {MIN_CNI_RETRY} ms, the shortest retry interval (each waiting pod is retried every cni_retry; shorter floods the run with retries); use e.g. \"1s\""
        )));
    }
    Ok(v)
}

/// An integer written as a TOML integer or a string, as a DaemonSet env value would be.
#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(i64),
    Str(String),
}

fn de_int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match IntOrString::deserialize(d)? {
        IntOrString::Int(v) => Ok(v),
        IntOrString::Str(s) => s.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "{s:?} is not an integer (ipamd's strconv.Atoi would reject it and fall back to the default)"
            ))
        }),
    }
}

fn non_negative<'de, D: Deserializer<'de>>(d: D, name: &str, ipamd: &str) -> Result<u32, D::Error> {
    let v = de_int(d)?;
    if v < 0 {
        return Err(serde::de::Error::custom(format!(
            "{name} = {v} is negative; ipamd would silently use {ipamd} instead. Write {ipamd} (or a value ≥ 0)"
        )));
    }
    u32::try_from(v).map_err(|_| serde::de::Error::custom(format!("{name} = {v} is too large")))
}

fn de_cooldown<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = de_int(d)?;
    if v < 0 {
        return Err(serde::de::Error::custom(format!(
            "IP_COOLDOWN_PERIOD = {v} is negative: the aws-node entrypoint refuses to start (validateEnvVars), ipamd never runs and the node never becomes Ready. Write 0 for no cooldown, or a number of seconds"
        )));
    }
    Ok(v)
}

fn de_warm_eni<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    non_negative(d, "WARM_ENI_TARGET", "1")
}
fn de_warm_ip<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    non_negative(d, "WARM_IP_TARGET", "0 (unset)")
}
fn de_minimum_ip<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    non_negative(d, "MINIMUM_IP_TARGET", "0 (unset)")
}
fn de_warm_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    non_negative(d, "WARM_PREFIX_TARGET", "0")
}

fn de_max_eni<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = de_int(d)?;
    if v < 1 {
        return Err(serde::de::Error::custom(format!(
            "MAX_ENI = {v} is below 1; ipamd would ignore it and use the instance type's ENI limit. Remove MAX_ENI for that"
        )));
    }
    u32::try_from(v)
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("MAX_ENI = {v} is too large")))
}

/// A boolean as TOML `true`/`false` or as Go's `strconv.ParseBool` strings.
fn de_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrString {
        Bool(bool),
        Str(String),
    }
    match BoolOrString::deserialize(d)? {
        BoolOrString::Bool(b) => Ok(b),
        BoolOrString::Str(s) => match s.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(serde::de::Error::custom(format!(
                "{s:?} is not a boolean (ipamd's strconv.ParseBool accepts true/false/1/0/t/f; it would fall back to the default)"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CniConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn unset_means_manifest_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, CniConfig::default());
        assert_eq!((c.warm_eni_target, c.warm_prefix_target), (1, 1));
        assert!(!c.warm_ip_targets_defined());
        assert_eq!(c.ip_cooldown(), 30_000);
    }

    #[test]
    fn env_style_strings_are_accepted() {
        let c = parse("WARM_IP_TARGET = \"5\"\nENABLE_PREFIX_DELEGATION = \"true\"\nMAX_ENI = 2")
            .unwrap();
        assert_eq!(c.warm_ip_target, 5);
        assert!(c.enable_prefix_delegation);
        assert_eq!(c.max_eni, Some(2));
        assert!(c.warm_ip_targets_defined());
    }

    #[test]
    fn values_ipamd_would_replace_are_errors_that_say_so() {
        let e = parse("WARM_ENI_TARGET = -1").unwrap_err();
        assert!(e.contains("ipamd would silently use 1"), "{e}");
        let e = parse("MAX_ENI = 0").unwrap_err();
        assert!(e.contains("instance type's ENI limit"), "{e}");
        let e = parse("WARM_IP_TARGET = \"five\"").unwrap_err();
        assert!(e.contains("not an integer"), "{e}");
        let e = parse("WARM_IP_TARGETS = 5").unwrap_err();
        assert!(e.contains("WARM_IP_TARGETS"), "{e}");
    }

    /// `validateEnvVars` (cmd/aws-vpc-cni/main.go): the entrypoint refuses a negative
    /// `IP_COOLDOWN_PERIOD` and prefix delegation without any target.
    #[test]
    fn settings_the_entrypoint_refuses_are_errors_that_say_so() {
        let e = parse("IP_COOLDOWN_PERIOD = -5").unwrap_err();
        assert!(e.contains("entrypoint refuses"), "{e}");
        assert_eq!(parse("IP_COOLDOWN_PERIOD = 0").unwrap().ip_cooldown(), 0);
        let pd = parse("ENABLE_PREFIX_DELEGATION = true\nWARM_PREFIX_TARGET = 0").unwrap();
        let m = pd.entrypoint_refusal().expect("refused");
        assert!(
            m.contains("never becomes Ready") || m.contains("no node becomes Ready"),
            "{m}"
        );
        let ok =
            parse("ENABLE_PREFIX_DELEGATION = true\nWARM_PREFIX_TARGET = 0\nWARM_IP_TARGET = 3");
        assert_eq!(ok.unwrap().entrypoint_refusal(), None);
        let sip = parse("WARM_PREFIX_TARGET = 0").unwrap();
        assert_eq!(sip.entrypoint_refusal(), None);
    }
}
