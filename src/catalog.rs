//! Instance types: per-type ENI and IPv4 limits, embedded from `data/instance-types.csv`.
//!
//! The table is upstream ipamd's own (`pkg/vpc/vpc_ip_resource_limit.go` in
//! aws/amazon-vpc-cni-k8s, see `data/instance-types.SOURCE.txt`): `max_enis` is `ENILimit`
//! (interfaces on the default network card) and `ipv4_per_eni` is `IPv4Limit` (addresses per
//! ENI, the ENI's primary address included). It is parsed once, on first use.

//!
//! [`max_pods`] is EKS's max-pods calculator (`max-pods-calculator.sh` in
//! awslabs/amazon-eks-ami, `templates/al2/runtime/` and `templates/al2023/runtime/`, identical
//! logic), restated over this table: the number a node's kubelet gets as `--max-pods`, and the
//! default `max_pods` of a scenario's node group.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The embedded CSV, exactly as shipped in `data/instance-types.csv`.
pub const INSTANCE_TYPES_CSV: &str = include_str!("../data/instance-types.csv");

/// Hypervisor of an instance type, as the table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hypervisor {
    /// AWS Nitro: prefix delegation is supported.
    Nitro,
    /// Xen (previous generations): no prefix delegation.
    Xen,
    /// Bare metal and a few others: ipamd treats them as not Nitro for the max-pods formula.
    Unknown,
}

impl Hypervisor {
    /// The name as written in the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Hypervisor::Nitro => "nitro",
            Hypervisor::Xen => "xen",
            Hypervisor::Unknown => "unknown",
        }
    }
}

/// One row of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceType {
    /// EC2 name, e.g. `m5.large`.
    pub name: String,
    /// `ENILimit`: ENIs on the default network card.
    pub max_enis: u32,
    /// `IPv4Limit`: IPv4 addresses per ENI, primary included.
    pub ipv4_per_eni: u32,
    /// Hypervisor.
    pub hypervisor: Hypervisor,
    /// Bare-metal type.
    pub bare_metal: bool,
    /// Number of network cards.
    pub network_cards: u32,
    /// Index of the default network card.
    pub default_network_card_index: u32,
    /// vCPUs, where known (14 types have none in the sources).
    pub vcpus: Option<u32>,
}

/// An instance-type lookup that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// No such type in the table.
    #[error("unknown instance type {name:?}{}", suggest(.suggestions))]
    UnknownType {
        /// The name asked for.
        name: String,
        /// Close known names, best first.
        suggestions: Vec<String>,
    },
}

fn suggest(s: &[String]) -> String {
    if s.is_empty() {
        " (run `ipamsim instance-types` to list the known types)".into()
    } else {
        format!("; did you mean {}?", s.join(", "))
    }
}

/// All instance types, sorted by name.
pub fn all() -> &'static [InstanceType] {
    static TABLE: OnceLock<Vec<InstanceType>> = OnceLock::new();
    TABLE.get_or_init(|| parse(INSTANCE_TYPES_CSV))
}

/// The instance type called `name` (exact match, case-insensitive), or an error naming the
/// closest known names.
pub fn lookup(name: &str) -> Result<&'static InstanceType, CatalogError> {
    let want = name.trim().to_ascii_lowercase();
    let table = all();
    match table.binary_search_by(|t| t.name.as_str().cmp(want.as_str())) {
        Ok(i) => Ok(&table[i]),
        Err(_) => Err(CatalogError::UnknownType {
            name: name.to_string(),
            suggestions: closest(&want, 3),
        }),
    }
}

/// Types whose name matches `pattern`, case-insensitive, in name order: a glob when the
/// pattern has `*` or `?` (`m5.*`, `c?i.large`), else a substring (`metal`, `m5.`).
pub fn find(pattern: &str) -> Vec<&'static InstanceType> {
    let p = pattern.trim().to_ascii_lowercase();
    let is_glob = p.contains(['*', '?']);
    all()
        .iter()
        .filter(|t| {
            if is_glob {
                glob(p.as_bytes(), t.name.as_bytes())
            } else {
                t.name.contains(&p)
            }
        })
        .collect()
}

/// `*` any run, `?` any one byte, else literal; the whole name must match.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Up to `n` known names closest to `name` (edit distance, then name order).
pub fn closest(name: &str, n: usize) -> Vec<String> {
    crate::suggest::closest(name, all().iter().map(|t| t.name.as_str()), n)
        .into_iter()
        .map(String::from)
        .collect()
}

/// A VPC CNI version as `--cni-version` takes it: `1.18.0`, `1.9`, `v1.18.0`, `1.9.0-eksbuild.1`.
///
/// Only major and minor matter to the calculator (prefix delegation needs 1.9 or later).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CniVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version (0 when omitted).
    pub patch: u32,
}

impl CniVersion {
    /// The latest VPC CNI release this crate models (spec/ipamd-policy.md: v1.23.1); the
    /// default of `--cni-version`.
    pub const LATEST: CniVersion = CniVersion {
        major: 1,
        minor: 23,
        patch: 1,
    };

    /// Prefix delegation exists from v1.9.0 on. The script's test: major > 1, or major = 1 and
    /// minor > 8.
    pub fn supports_prefix_delegation(self) -> bool {
        self.major > 1 || (self.major == 1 && self.minor > 8)
    }
}

impl fmt::Display for CniVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for CniVersion {
    type Err = String;

    /// Parses `X.Y` or `X.Y.Z`, with an optional leading `v` and an optional `-suffix` or
    /// `+build`.
    ///
    /// Upstream difference: the script reads a leading `v` as part of the major number and so
    /// never grants prefix delegation to `v1.18.0`; we read it as the version it names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{s:?} is not a CNI version; write X.Y.Z, e.g. {}",
                Self::LATEST
            )
        };
        let t = s.trim();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let core = t.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        Ok(CniVersion {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: parts.get(2).map(|p| num(p)).transpose()?.unwrap_or(0),
        })
    }
}

/// The flags of `max-pods-calculator.sh`, as settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPodsOptions {
    /// `--cni-version` (default: [`CniVersion::LATEST`]).
    pub cni_version: CniVersion,
    /// `--cni-custom-networking-enabled`: the primary ENI carries no pods.
    pub custom_networking: bool,
    /// `--cni-prefix-delegation-enabled`.
    pub prefix_delegation: bool,
    /// `--cni-max-eni N`: use at most N ENIs (`MAX_ENI`); `None` = the type's limit.
    pub max_eni: Option<u32>,
    /// `--show-max-allowed`: the raw figure, without the 110/250 ceiling.
    pub show_max_allowed: bool,
}

impl Default for MaxPodsOptions {
    fn default() -> Self {
        MaxPodsOptions {
            cni_version: CniVersion::LATEST,
            custom_networking: false,
            prefix_delegation: false,
            max_eni: None,
            show_max_allowed: false,
        }
    }
}

impl MaxPodsOptions {
    /// The options a node of a scenario gets: the script run with the scenario's CNI settings
    /// (`AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`, `ENABLE_PREFIX_DELEGATION`, `MAX_ENI`) at the
    /// latest CNI version, capped as EKS caps it.
    pub fn for_cni(cni: &crate::ipamd::config::CniConfig) -> MaxPodsOptions {
        MaxPodsOptions {
            cni_version: CniVersion::LATEST,
            custom_networking: cni.custom_network_cfg,
            prefix_delegation: cni.enable_prefix_delegation,
            max_eni: cni.max_eni,
            show_max_allowed: false,
        }
    }
}

/// Ceiling on the recommended max pods for types with more than 30 vCPUs.
pub const MAX_PODS_CEILING_HIGH_CPU: u32 = 250;
/// Ceiling on the recommended max pods for types with 30 vCPUs or fewer (or unknown).
pub const MAX_PODS_CEILING_LOW_CPU: u32 = 110;

/// Whether `max-pods-calculator.sh` uses its prefix formula for this type: prefix delegation
/// asked for, CNI ≥ 1.9, and an instance that `DescribeInstanceTypes` calls `nitro`. Bare-metal
/// types report no hypervisor there, and the data says so (`unknown` for every bare-metal
/// type, c7g.metal included; see `data/instance-types.SOURCE.txt`), so the hypervisor alone
/// decides, exactly as in the script.
pub fn max_pods_uses_prefixes(t: &InstanceType, o: &MaxPodsOptions) -> bool {
    o.prefix_delegation
        && o.cni_version.supports_prefix_delegation()
        && t.hypervisor == Hypervisor::Nitro
}

/// Max pods for an instance type, exactly as `max-pods-calculator.sh` computes it.
///
/// ENIs = the default network card's ENIs (`max_enis`), at most `max_eni`, minus one with
/// custom networking. Raw = ENIs × (IPv4 per ENI − 1) + 2, the `− 1` being each ENI's primary
/// address and the `+ 2` the host-network pods (aws-node, kube-proxy); the per-ENI term is
/// × 16 when [`max_pods_uses_prefixes`]. Unless `show_max_allowed`, the result is capped at 250
/// for types with more than 30 vCPUs, else at 110. A type whose vCPUs the catalog does not know
/// is capped at 110: the script's `[ "$CPU_COUNT" -gt 30 ]` fails on a missing count and falls
/// through to the low-CPU branch.
///
/// `max_eni = Some(0)` gives 0 ENIs, as in the script; where the script would then go below
/// zero ENIs (custom networking), this stops at zero.
pub fn max_pods(t: &InstanceType, o: &MaxPodsOptions) -> u32 {
    let enis = o.max_eni.map_or(t.max_enis, |n| n.min(t.max_enis));
    let enis = enis.saturating_sub(u32::from(o.custom_networking));
    let per_eni = t.ipv4_per_eni.saturating_sub(1);
    let per_eni = if max_pods_uses_prefixes(t, o) {
        per_eni * 16
    } else {
        per_eni
    };
    let raw = enis * per_eni + 2;
    if o.show_max_allowed {
        return raw;
    }
    let ceiling = match t.vcpus {
        Some(v) if v > 30 => MAX_PODS_CEILING_HIGH_CPU,
        _ => MAX_PODS_CEILING_LOW_CPU,
    };
    raw.min(ceiling)
}

fn parse(text: &str) -> Vec<InstanceType> {
    // The file is part of the binary and checked by a unit test: a malformed row is a build
    // defect, so it panics with the row rather than being skipped silently.
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut out: Vec<InstanceType> = rdr
        .records()
        .map(|rec| {
            let r = rec.expect("embedded instance-types.csv is well-formed");
            let num = |i: usize| -> u32 {
                r[i].parse()
                    .unwrap_or_else(|_| panic!("bad number in column {i} of {:?}", r))
            };
            InstanceType {
                name: r[0].to_string(),
                max_enis: num(1),
                ipv4_per_eni: num(2),
                hypervisor: match &r[3] {
                    "nitro" => Hypervisor::Nitro,
                    "xen" => Hypervisor::Xen,
                    _ => Hypervisor::Unknown,
                },
                bare_metal: &r[4] == "true",
                network_cards: num(5),
                default_network_card_index: num(6),
                vcpus: r[7].parse().ok(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_every_row() {
        let rows = INSTANCE_TYPES_CSV.lines().count() - 1;
        assert_eq!(all().len(), rows);
        assert_eq!(rows, 1391);
    }

    #[test]
    fn spec_examples() {
        // spec/ipamd-policy.md §1 table.
        for (name, enis, ipv4) in [
            ("t3.small", 3, 4),
            ("t3.medium", 3, 6),
            ("t3.large", 3, 12),
            ("m5.large", 3, 10),
            ("c5.large", 3, 10),
            ("m5.xlarge", 4, 15),
            ("m5.2xlarge", 4, 15),
            ("m5.4xlarge", 8, 30),
            ("p3dn.24xlarge", 15, 50),
        ] {
            let t = lookup(name).unwrap();
            assert_eq!((t.max_enis, t.ipv4_per_eni), (enis, ipv4), "{name}");
        }
        assert_eq!(lookup("M5.Large").unwrap().name, "m5.large");
    }

    #[test]
    fn unknown_type_suggests_close_names() {
        let err = lookup("m5.lrage").unwrap_err();
        let CatalogError::UnknownType { suggestions, .. } = &err;
        assert_eq!(suggestions.first().map(String::as_str), Some("m5.large"));
        assert!(err.to_string().contains("did you mean m5.large"));
    }

    #[test]
    fn find_by_substring_or_glob() {
        let names = |p: &str| find(p).iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names("m5.large"), ["m5.large"]);
        assert!(names("M5.").contains(&"m5.24xlarge".to_string()));
        assert!(names("m5.*").iter().all(|n| n.starts_with("m5.")));
        assert!(!names("m5.*").contains(&"m5a.large".to_string()));
        assert_eq!(names("t3.?mall"), ["t3.small"]);
        assert_eq!(
            names("*.metal").len(),
            all().iter().filter(|t| t.name.ends_with(".metal")).count()
        );
        assert!(names("zz*").is_empty());
        assert!(glob(b"a*b*c", b"axxbyyc") && !glob(b"a*b", b"ab_") && glob(b"*", b""));
    }

    #[test]
    fn bare_metal_types_report_no_hypervisor_as_ec2_does() {
        // DescribeInstanceTypes has no Hypervisor for *.metal: no bare-metal entry says nitro.
        let metal: Vec<_> = all().iter().filter(|t| t.bare_metal).collect();
        assert!(metal.len() > 100);
        assert!(metal.iter().all(|t| t.hypervisor != Hypervisor::Nitro));
        // c7g.metal: 15 ENIs × 49 + 2 with prefix delegation too, capped at 250 (64 vCPUs).
        let c7g = |f: fn(&mut MaxPodsOptions)| mp("c7g.metal", "1.23.1", f);
        assert_eq!(c7g(|o| o.prefix_delegation = true), 250);
        let raw = |o: &mut MaxPodsOptions| {
            o.prefix_delegation = true;
            o.max_eni = Some(2);
            o.show_max_allowed = true;
        };
        assert_eq!(c7g(raw), 2 * 49 + 2);
    }

    #[test]
    fn the_filled_vcpu_counts_lift_the_cap() {
        let vcpus = |n: &str| lookup(n).unwrap().vcpus;
        assert_eq!(vcpus("u-6tb1.metal"), Some(448));
        assert_eq!(vcpus("trn2.3xlarge"), Some(12));
        // 5 ENIs × 29 + 2 = 147 IPs, capped at 250 (was 110 without a vCPU count).
        assert_eq!(mp("u-6tb1.metal", "1.23.1", |_| {}), 147);
        assert_eq!(all().iter().filter(|t| t.vcpus.is_none()).count(), 5);
    }

    fn mp(name: &str, version: &str, f: impl FnOnce(&mut MaxPodsOptions)) -> u32 {
        let mut o = MaxPodsOptions {
            cni_version: version.parse().unwrap(),
            ..MaxPodsOptions::default()
        };
        f(&mut o);
        max_pods(lookup(name).unwrap(), &o)
    }

    #[test]
    fn max_pods_upstream_cases() {
        // awslabs/amazon-eks-ami test cases and their describe-instance-types mocks.
        assert_eq!(mp("m5.8xlarge", "1.11.2", |_| {}), 234);
        assert_eq!(
            mp("m5.8xlarge", "1.11.2", |o| o.prefix_delegation = true),
            250
        );
        assert_eq!(
            mp("c6in.32xlarge", "1.18.0", |o| o.show_max_allowed = true),
            394
        );
        assert_eq!(mp("m4.xlarge", "1.7.5", |_| {}), 58);
    }

    #[test]
    fn max_pods_quirks() {
        // EKS docs: m5.large is 29, and 110 with prefix delegation (capped: 2 vCPUs).
        assert_eq!(mp("m5.large", "1.9.0", |_| {}), 29);
        assert_eq!(mp("m5.large", "1.9.0", |o| o.prefix_delegation = true), 110);
        assert_eq!(
            mp("m5.large", "1.9.0", |o| {
                o.prefix_delegation = true;
                o.show_max_allowed = true
            }),
            3 * 9 * 16 + 2
        );
        // Before 1.9 there is no prefix delegation: the flag changes nothing.
        assert_eq!(mp("m5.large", "1.8.9", |o| o.prefix_delegation = true), 29);
        // Xen never takes the prefix formula.
        assert_eq!(
            mp("m4.xlarge", "1.18.0", |o| o.prefix_delegation = true),
            58
        );
        // Bare metal never does either, even c7g.metal, which the CNI table calls nitro.
        assert_eq!(
            mp("c7g.metal", "1.18.0", |o| {
                o.prefix_delegation = true;
                o.show_max_allowed = true
            }),
            15 * 49 + 2
        );
        // Custom networking drops one ENI; --cni-max-eni caps first.
        assert_eq!(
            mp("m5.large", "1.18.0", |o| o.custom_networking = true),
            2 * 9 + 2
        );
        assert_eq!(mp("m5.large", "1.18.0", |o| o.max_eni = Some(2)), 2 * 9 + 2);
        assert_eq!(mp("m5.large", "1.18.0", |o| o.max_eni = Some(9)), 29);
        assert_eq!(
            mp("m5.large", "1.18.0", |o| {
                o.max_eni = Some(1);
                o.custom_networking = true
            }),
            2
        );
        // Unknown vCPUs: the low-CPU ceiling (c7i.32xlarge has 15 × 49 + 2 = 737 raw).
        assert_eq!(lookup("c7i.32xlarge").unwrap().vcpus, None);
        assert_eq!(mp("c7i.32xlarge", "1.18.0", |_| {}), 110);
        // 30 vCPUs is still "low"; 32 is high.
        assert_eq!(mp("m5.8xlarge", "1.18.0", |_| {}), 234);
    }

    #[test]
    fn cni_versions() {
        let v = |s: &str| s.parse::<CniVersion>();
        assert_eq!(
            v("1.18.0").unwrap(),
            CniVersion {
                major: 1,
                minor: 18,
                patch: 0
            }
        );
        assert_eq!(v("v1.9.0-eksbuild.1").unwrap().minor, 9);
        assert_eq!(v("1.9").unwrap().patch, 0);
        assert!(v("1.9.0").unwrap().supports_prefix_delegation());
        assert!(!v("1.8.5").unwrap().supports_prefix_delegation());
        assert!(v("2.0.0").unwrap().supports_prefix_delegation());
        assert!(!v("0.99.0").unwrap().supports_prefix_delegation());
        for bad in ["", "1", "abc", "1.x.0", "1..0", "1.2.3.4", "-1.2.3"] {
            let e = v(bad).unwrap_err();
            assert!(e.contains("not a CNI version"), "{bad}: {e}");
        }
        assert_eq!(CniVersion::LATEST.to_string(), "1.23.1");
    }

    /// The script, restated step by step in its own terms: strings for the version, signed
    /// shell arithmetic, `min_number` as "sort and take the first".
    fn script(
        t: &InstanceType,
        version: &str,
        custom: bool,
        pd: bool,
        max_eni: Option<u32>,
        show: bool,
    ) -> i64 {
        let min_number = |mut xs: Vec<i64>| {
            xs.sort();
            xs[0]
        };
        let split: Vec<&str> = version.split('.').collect();
        let (major, minor): (i64, i64) = (split[0].parse().unwrap(), split[1].parse().unwrap());
        let pd_supported = major > 1 || (major == 1 && minor > 8);
        let hypervisor = if t.bare_metal {
            "null"
        } else {
            t.hypervisor.as_str()
        };
        let mut enis_for_pods = match max_eni {
            None => t.max_enis as i64,
            Some(n) => min_number(vec![n as i64, t.max_enis as i64]),
        };
        if custom {
            enis_for_pods -= 1;
        }
        let ips = t.ipv4_per_eni as i64;
        let max_pods = if hypervisor == "nitro" && pd && pd_supported {
            enis_for_pods * ((ips - 1) * 16) + 2
        } else {
            enis_for_pods * (ips - 1) + 2
        };
        if show {
            return max_pods;
        }
        let cpu = t.vcpus.map(|c| c as i64);
        if cpu.is_some_and(|c| c > 30) {
            min_number(vec![250, max_pods])
        } else {
            min_number(vec![110, max_pods])
        }
    }

    proptest::proptest! {
        #[test]
        fn max_pods_is_the_script(
            i in 0..all().len(),
            major in 0u32..3,
            minor in 0u32..30,
            patch in 0u32..10,
            custom: bool,
            pd: bool,
            max_eni in proptest::option::of(1u32..20),
            show: bool,
        ) {
            let t = &all()[i];
            let version = format!("{major}.{minor}.{patch}");
            let o = MaxPodsOptions {
                cni_version: version.parse().unwrap(),
                custom_networking: custom,
                prefix_delegation: pd,
                max_eni,
                show_max_allowed: show,
            };
            let want = script(t, &version, custom, pd, max_eni, show);
            proptest::prop_assert_eq!(i64::from(max_pods(t, &o)), want, "{} {:?}", t.name, o);
        }
    }
}
