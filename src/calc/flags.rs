//! The planners' command lines — `calc`, `max-pods`, `instance-types` — defined once, as
//! clap argument structs the binary embeds unchanged (`ipamsim::calc::CalcArgs` is the
//! `calc` subcommand's own definition; there is no second copy of its flags).
//!
//! Every value is checked by the flag's `value_parser`, so a negative target, a malformed
//! `--instances` entry or a subnet EC2 would refuse is a clap error naming the flag (the
//! binary prints it as one line, exit 2). What needs more than one flag — the instance type
//! in the table the chosen calculator uses, the flags the workbook lacks — is checked by
//! [`CalcArgs::request`] and is a [`CalcError`]. They live in the library, beside the
//! planners whose settings they check, so the checks are unit-tested here.

use std::str::FromStr;

use clap::Args;

use super::cidr::parse_subnet;
use super::format::Format;
use super::{
    CalcError, CalcRequest, Calculator, DEFAULT_HOST_NETWORK_PODS, InstanceRow, Sheet, SubnetSpec,
};
use crate::catalog::{self, CniVersion, InstanceType, MaxPodsOptions};
use crate::ipamd::config::CniConfig;

/// Counts and targets above this are refused as typos (a /16 holds 65,531 addresses).
pub const MAX_VALUE: i64 = 1_000_000;

/// `ipamsim calc`: the subnet, the node groups and the aws-node settings.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Without --spreadsheet: the pool ipamd settles at for each row, against \
the subnet's usable addresses (2^(32-p) - 5), beside the workbook's figures and why they differ."
)]
pub struct CalcArgs {
    /// The (pod) subnet, /16 to /28: `10.0.0.0/20`.
    #[arg(long, value_name = "CIDR", value_parser = parse_subnet)]
    pub subnet: SubnetSpec,
    /// Node groups: instance type, node count, workload pods per node. Comma-separated or
    /// repeated.
    #[arg(
        long,
        value_name = "TYPE:COUNT:PODS[,..]",
        required = true,
        value_delimiter = ','
    )]
    pub instances: Vec<RowSpec>,
    /// ENABLE_PREFIX_DELEGATION=true.
    #[arg(long)]
    pub prefix_delegation: bool,
    /// WARM_ENI_TARGET (default 1); with --spreadsheet, its WarmENI sheet (the default).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = warm_eni_target)]
    pub warm_eni_target: Option<u32>,
    /// WARM_PREFIX_TARGET (default 1, as the EKS manifest ships).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = warm_prefix_target)]
    pub warm_prefix_target: Option<u32>,
    /// WARM_IP_TARGET; with --spreadsheet, its WarmIP sheet.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = unset_ip_target)]
    pub warm_ip_target: Option<u32>,
    /// MINIMUM_IP_TARGET.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = unset_ip_target)]
    pub minimum_ip_target: Option<u32>,
    /// MAX_ENI: attach at most N ENIs per node.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = eni_cap)]
    pub max_eni: Option<u32>,
    /// AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true: pods on secondary ENIs in this subnet.
    #[arg(long)]
    pub custom_networking: bool,
    /// Reproduce the EKS best-practices subnet-calculator workbook instead, quirks included.
    #[arg(long)]
    pub spreadsheet: bool,
    /// Host-network pods per node: they count against max pods; the workbook also counts
    /// each as an address.
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          default_value_t = DEFAULT_HOST_NETWORK_PODS, value_parser = host_network_ips)]
    pub host_network_ips: u32,
    /// Output: an aligned table for people, CSV or JSON for scripts.
    #[arg(long, value_enum, ignore_case = true, default_value_t)]
    pub format: Format,
}

/// One `TYPE:COUNT:PODS` entry of `--instances`, its numbers checked. The type is looked up
/// by [`CalcArgs::request`], in the table the chosen calculator uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowSpec {
    /// The instance type's name, as given.
    pub instance_type: String,
    /// Nodes of that type.
    pub count: u32,
    /// Workload pods per node.
    pub pods_per_node: u32,
}

/// `ipamsim max-pods`: the flags of EKS's `max-pods-calculator.sh`, by the same names.
#[derive(Args, Clone, Debug)]
pub struct MaxPodsArgs {
    /// The instance type.
    #[arg(long, value_name = "T", value_parser = instance_type)]
    pub instance_type: &'static InstanceType,
    /// The VPC CNI version (default: the latest).
    #[arg(long, value_name = "X.Y.Z", default_value_t = CniVersion::LATEST)]
    pub cni_version: CniVersion,
    /// Custom networking: the primary ENI carries no pods.
    #[arg(long)]
    pub cni_custom_networking_enabled: bool,
    /// Prefix delegation (CNI 1.9 or later, Nitro types).
    #[arg(long)]
    pub cni_prefix_delegation_enabled: bool,
    /// Use at most N ENIs.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = eni_cap)]
    pub cni_max_eni: Option<u32>,
    /// The raw maximum, without the 110/250 ceiling.
    #[arg(long)]
    pub show_max_allowed: bool,
}

/// `ipamsim instance-types`: a name filter and the output format.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "One type per line: name, ENIs (default network card), IPv4 addresses per \
ENI, hypervisor, vCPUs (- when unknown), max pods in secondary-IP and in prefix mode (the \
max-pods calculator, latest CNI). The table has a header line only on a terminal."
)]
pub struct InstanceTypesArgs {
    /// Name filter: a substring (`m5.`) or a glob (`c6?.*large`).
    pub pattern: Option<String>,
    /// Output: an aligned table for people, CSV or JSON for scripts.
    #[arg(long, value_enum, ignore_case = true, default_value_t)]
    pub format: Format,
}

impl CalcArgs {
    /// Looks the types up and checks the flags that depend on each other; builds the request.
    pub fn request(&self) -> Result<CalcRequest, CalcError> {
        let rows = self
            .instances
            .iter()
            .map(|r| r.resolve(self.spreadsheet))
            .collect::<Result<Vec<_>, _>>()?;
        let calculator = if self.spreadsheet {
            let unsupported = [
                (self.prefix_delegation, "--prefix-delegation"),
                (self.warm_prefix_target.is_some(), "--warm-prefix-target"),
                (self.minimum_ip_target.is_some(), "--minimum-ip-target"),
                (self.max_eni.is_some(), "--max-eni"),
                (self.custom_networking, "--custom-networking"),
            ];
            if let Some((_, flag)) = unsupported.iter().find(|(on, _)| *on) {
                return Err(CalcError::Conflict(format!(
                    "--spreadsheet reproduces the workbook, which has no {flag}; drop {flag}, \
                     or drop --spreadsheet for ipamd's steady state"
                )));
            }
            Calculator::Spreadsheet(match (self.warm_eni_target, self.warm_ip_target) {
                (Some(_), Some(_)) => {
                    return Err(CalcError::Conflict(
                        "--spreadsheet takes one of --warm-eni-target (its WarmENI sheet) or \
                         --warm-ip-target (its WarmIP sheet), not both"
                            .into(),
                    ));
                }
                (_, Some(t)) => Sheet::WarmIp(t),
                (w, None) => Sheet::WarmEni(w.unwrap_or(1)),
            })
        } else {
            let d = CniConfig::default();
            Calculator::SteadyState(CniConfig {
                enable_prefix_delegation: self.prefix_delegation,
                warm_eni_target: self.warm_eni_target.unwrap_or(d.warm_eni_target),
                warm_prefix_target: self.warm_prefix_target.unwrap_or(d.warm_prefix_target),
                warm_ip_target: self.warm_ip_target.unwrap_or(d.warm_ip_target),
                minimum_ip_target: self.minimum_ip_target.unwrap_or(d.minimum_ip_target),
                max_eni: self.max_eni,
                custom_network_cfg: self.custom_networking,
                ..d
            })
        };
        Ok(CalcRequest {
            subnet: self.subnet.clone(),
            rows,
            host_network: self.host_network_ips,
            calculator,
            format: self.format,
        })
    }
}

impl MaxPodsArgs {
    /// The calculator's settings. ([`MaxPodsOptions`] is the model's type, also built from
    /// aws-node's settings by [`MaxPodsOptions::for_cni`]; this is not a second flag list.)
    pub fn options(&self) -> MaxPodsOptions {
        MaxPodsOptions {
            cni_version: self.cni_version,
            custom_networking: self.cni_custom_networking_enabled,
            prefix_delegation: self.cni_prefix_delegation_enabled,
            max_eni: self.cni_max_eni,
            show_max_allowed: self.show_max_allowed,
        }
    }
}

impl InstanceTypesArgs {
    /// The matching types (all without a pattern).
    pub fn list(&self) -> Result<Vec<&'static InstanceType>, CalcError> {
        let Some(pattern) = self.pattern.as_deref() else {
            return Ok(catalog::all().iter().collect());
        };
        let found = catalog::find(pattern);
        if found.is_empty() {
            return Err(CalcError::NoMatch {
                pattern: pattern.to_string(),
                suggestions: catalog::closest(&pattern.to_ascii_lowercase(), 3),
            });
        }
        Ok(found)
    }
}

impl FromStr for RowSpec {
    type Err = String;

    /// Parses `TYPE:COUNT:PODS` (spaces around the entry and the numbers are ignored), or
    /// says what is wrong with it.
    fn from_str(entry: &str) -> Result<RowSpec, String> {
        let bad = |why: String| format!("{why}; each entry is TYPE:COUNT:PODS, e.g. m5.large:3:20");
        let parts: Vec<&str> = entry.trim().split(':').collect();
        let [name, n, p] = parts[..] else {
            return Err(bad(if entry.trim().is_empty() {
                "empty entry".into()
            } else {
                format!("{} fields, not 3", parts.len())
            }));
        };
        let number = |what: &str, v: &str| -> Result<u32, String> {
            match v.trim().parse::<i64>() {
                Ok(x) if x < 0 => Err(bad(format!("{what} {x} is negative"))),
                Ok(x) if x > MAX_VALUE => Err(bad(format!("{what} {x} is above {MAX_VALUE}"))),
                Ok(x) => Ok(x as u32),
                Err(_) => Err(bad(format!("{what} {v:?} is not a whole number"))),
            }
        };
        Ok(RowSpec {
            instance_type: name.trim().to_string(),
            count: number("COUNT", n)?,
            pods_per_node: number("PODS", p)?,
        })
    }
}

impl RowSpec {
    /// The row, its type looked up: with `--spreadsheet` in the workbook's own table
    /// ([`super::lookup`]), else in ipamd's ([`catalog`]).
    fn resolve(&self, spreadsheet: bool) -> Result<InstanceRow, CalcError> {
        let name = self.instance_type.as_str();
        let instance_type = if spreadsheet {
            match super::lookup::lookup(name) {
                Some(b) => &b.instance_type,
                None => {
                    let t = catalog::lookup(name)?;
                    return Err(CalcError::NotInWorkbook(t.name.clone()));
                }
            }
        } else {
            catalog::lookup(name)?
        };
        Ok(InstanceRow {
            instance_type,
            count: self.count,
            pods_per_node: self.pods_per_node,
        })
    }
}

/// `--instance-type`: a type ipamd knows, or the closest names.
fn instance_type(v: &str) -> Result<&'static InstanceType, catalog::CatalogError> {
    catalog::lookup(v)
}

/// `--warm-eni-target`: ipamd reads a negative value as its default, 1.
fn warm_eni_target(v: &str) -> Result<u32, String> {
    count(v, "1")
}

/// `--warm-prefix-target`: ipamd reads a negative value as 0.
fn warm_prefix_target(v: &str) -> Result<u32, String> {
    count(v, "0")
}

/// `--warm-ip-target`, `--minimum-ip-target`: ipamd reads a negative value as unset.
fn unset_ip_target(v: &str) -> Result<u32, String> {
    count(v, "0 (unset)")
}

/// `--host-network-ips`: a count of pods, nothing ipamd reads.
fn host_network_ips(v: &str) -> Result<u32, String> {
    count(v, "")
}

/// A count from 0 to [`MAX_VALUE`]. `ipamd` names what ipamd would use instead of a
/// negative value (empty: the value is not ipamd's).
fn count(v: &str, ipamd: &str) -> Result<u32, String> {
    match v.trim().parse::<i64>() {
        Ok(x) if x < 0 && ipamd.is_empty() => Err("is negative; give a value ≥ 0".into()),
        Ok(x) if x < 0 => Err(format!(
            "is negative; ipamd would silently use {ipamd} instead. Give a value ≥ 0"
        )),
        Ok(x) if x > MAX_VALUE => Err(format!("is above {MAX_VALUE}")),
        Ok(x) => Ok(x as u32),
        Err(_) => Err("is not a whole number".into()),
    }
}

/// `--max-eni` / `--cni-max-eni` (`MAX_ENI`): at least 1.
fn eni_cap(v: &str) -> Result<u32, String> {
    let n = count(v, "the type's ENI limit")?;
    if n < 1 {
        return Err(
            "is below 1; ipamd ignores MAX_ENI below 1 and uses the type's ENI limit. \
                    Leave the flag out for that"
                .into(),
        );
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The flags as a command of their own, as the binary embeds them.
    #[derive(Parser, Debug)]
    enum Cli {
        Calc(CalcArgs),
        MaxPods(MaxPodsArgs),
        InstanceTypes(InstanceTypesArgs),
    }

    fn parse(args: &str) -> Result<Cli, String> {
        Cli::try_parse_from(std::iter::once("ipamsim").chain(args.split_whitespace()))
            .map_err(|e| e.to_string())
    }

    fn calc(args: &str) -> Result<CalcRequest, String> {
        let subnet = if args.contains("--subnet") {
            ""
        } else {
            "--subnet 10.0.0.0/23"
        };
        match parse(&format!("calc {subnet} --instances m5.large:1:1 {args}"))? {
            Cli::Calc(c) => c.request().map_err(|e| e.to_string()),
            _ => unreachable!(),
        }
    }

    fn max_pods(args: &str) -> Result<(&'static str, MaxPodsOptions), String> {
        match parse(&format!("max-pods {args}"))? {
            Cli::MaxPods(m) => Ok((m.instance_type.name.as_str(), m.options())),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_flags_are_a_valid_clap_command() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn builds_requests() {
        let args = [
            "ipamsim",
            "calc",
            "--subnet",
            " 10.0.0.0/23",
            "--instances",
            "m5.large:1:1",
            "--instances",
            "m5.12xlarge:2:100, c5.2xlarge: 1 :30",
            "--instances=t3.small:4:0",
        ];
        let Cli::Calc(c) = Cli::try_parse_from(args).unwrap() else {
            panic!()
        };
        let r = c.request().unwrap();
        assert_eq!(r.rows.len(), 4);
        assert_eq!(
            (r.rows[2].instance_type.name.as_str(), r.rows[2].count),
            ("c5.2xlarge", 1)
        );
        assert_eq!(r.host_network, 2);
        assert_eq!(r.format, Format::Table);
        assert_eq!(r.calculator, Calculator::SteadyState(CniConfig::default()));
        assert_eq!(
            calc("--spreadsheet").unwrap().calculator,
            Calculator::Spreadsheet(Sheet::WarmEni(1))
        );
        assert_eq!(
            calc("--spreadsheet --warm-ip-target 4").unwrap().calculator,
            Calculator::Spreadsheet(Sheet::WarmIp(4))
        );
        let r = calc(
            "--warm-ip-target 4 --minimum-ip-target 10 --max-eni 2 --prefix-delegation \
             --format JSON --host-network-ips 0",
        )
        .unwrap();
        let Calculator::SteadyState(c) = &r.calculator else {
            panic!()
        };
        assert_eq!(
            (c.warm_ip_target, c.minimum_ip_target, c.max_eni),
            (4, 10, Some(2))
        );
        assert!(c.enable_prefix_delegation);
        assert_eq!((r.format, r.host_network), (Format::Json, 0));
    }

    #[test]
    fn bad_input_is_one_clear_message_naming_the_flag() {
        let cases: &[(&str, &str)] = &[
            ("--subnet 10.0.0.1/20", "did you mean 10.0.0.0/20?"),
            ("--subnet 10.0.0.0/29", "EC2 subnets are /16 to /28"),
            ("--instances m5.lrage:1:1", "did you mean m5.large"),
            ("--instances m5.large:1", "2 fields, not 3"),
            ("--instances m5.large:1:1,", "empty entry"),
            ("--instances m5.large:-1:1", "COUNT -1 is negative"),
            (
                "--instances m5.large:1:x",
                "PODS \"x\" is not a whole number",
            ),
            ("--warm-ip-target -1", "ipamd would silently use 0 (unset)"),
            ("--warm-eni-target -2", "ipamd would silently use 1"),
            ("--minimum-ip-target five", "not a whole number"),
            ("--host-network-ips -1", "is negative; give a value ≥ 0"),
            ("--max-eni 0", "ipamd ignores MAX_ENI below 1"),
            ("--warm-prefix-target 9999999", "above 1000000"),
            ("--format xml", "invalid value 'xml' for '--format"),
            (
                "--spreadsheet --warm-eni-target 1 --warm-ip-target 1",
                "not both",
            ),
            (
                "--spreadsheet --prefix-delegation",
                "which has no --prefix-delegation",
            ),
        ];
        for (args, want) in cases {
            let msg = calc(args).unwrap_err();
            assert!(
                msg.contains(want),
                "{args}: {msg:?} should contain {want:?}"
            );
            if msg.starts_with("error: invalid value") {
                // A value error names its flag.
                let flag = args.split_whitespace().next().unwrap();
                assert!(msg.contains(&format!("'{flag} <")), "{args}: {msg:?}");
            }
        }
        assert!(
            parse("calc --instances m5.large:1:1")
                .unwrap_err()
                .contains("--subnet <CIDR>")
        );
        assert!(
            parse("calc --subnet 10.0.0.0/23")
                .unwrap_err()
                .contains("--instances <")
        );
    }

    #[test]
    fn max_pods_flags() {
        let (t, o) = max_pods(
            "--instance-type m5.8xlarge --cni-version 1.11.2 --cni-prefix-delegation-enabled \
             --cni-max-eni 4",
        )
        .unwrap();
        assert_eq!(t, "m5.8xlarge");
        assert_eq!(
            (o.cni_version.minor, o.max_eni, o.prefix_delegation),
            (11, Some(4), true)
        );
        assert_eq!(
            max_pods("--instance-type m5.large").unwrap().1,
            MaxPodsOptions::default()
        );
        let e = |args: &str| max_pods(args).unwrap_err();
        assert!(e("--cni-version 1.9.0").contains("--instance-type <T>"));
        assert!(e("--instance-type m5.large --cni-version one").contains("not a CNI version"));
        assert!(e("--instance-type m5.large --cni-max-eni -1").contains("negative"));
        assert!(e("--instance-type m9.large").contains("unknown instance type"));
    }

    #[test]
    fn instance_type_patterns() {
        let list = |args: &str| match parse(&format!("instance-types {args}")).unwrap() {
            Cli::InstanceTypes(a) => a.list().map_err(|e| e.to_string()),
            _ => unreachable!(),
        };
        assert_eq!(list("t3.small").unwrap().len(), 1);
        assert!(
            list("t3.smol")
                .unwrap_err()
                .contains("did you mean t3.small")
        );
        assert_eq!(list("").unwrap().len(), catalog::all().len());
    }
}
