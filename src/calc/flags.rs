//! The planners' command lines, as plain structs the binary fills from clap, checked here.
//!
//! Values arrive as text so that every mistake — a negative target, a malformed
//! `--instances` entry, a subnet EC2 would refuse, two sheets at once — becomes one
//! [`CalcError`] line naming the flag, never a panic.

use super::cidr::parse_subnet;
use super::format::Format;
use super::{CalcError, CalcRequest, Calculator, DEFAULT_HOST_NETWORK_PODS, InstanceRow, Sheet};
use crate::catalog::{self, CniVersion, InstanceType, MaxPodsOptions};
use crate::ipamd::config::CniConfig;

/// Counts and targets above this are refused as typos (a /16 holds 65,531 addresses).
pub const MAX_VALUE: i64 = 1_000_000;

/// `ipamsim calc` flags, as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalcFlags {
    /// `--subnet CIDR`.
    pub subnet: Option<String>,
    /// `--instances TYPE:COUNT:PODS[,..]`, each occurrence.
    pub instances: Vec<String>,
    /// `--prefix-delegation`.
    pub prefix_delegation: bool,
    /// `--warm-eni-target N`.
    pub warm_eni_target: Option<String>,
    /// `--warm-prefix-target N`.
    pub warm_prefix_target: Option<String>,
    /// `--warm-ip-target N`.
    pub warm_ip_target: Option<String>,
    /// `--minimum-ip-target N`.
    pub minimum_ip_target: Option<String>,
    /// `--max-eni N`.
    pub max_eni: Option<String>,
    /// `--custom-networking`.
    pub custom_networking: bool,
    /// `--spreadsheet`.
    pub spreadsheet: bool,
    /// `--host-network-ips N`.
    pub host_network_ips: Option<String>,
    /// `--format table|csv|json`.
    pub format: Option<String>,
}

/// `ipamsim max-pods` flags, as given (the names of `max-pods-calculator.sh`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaxPodsFlags {
    /// `--instance-type T`.
    pub instance_type: Option<String>,
    /// `--cni-version X.Y.Z` (default: the latest CNI).
    pub cni_version: Option<String>,
    /// `--cni-custom-networking-enabled`.
    pub custom_networking: bool,
    /// `--cni-prefix-delegation-enabled`.
    pub prefix_delegation: bool,
    /// `--cni-max-eni N`.
    pub cni_max_eni: Option<String>,
    /// `--show-max-allowed`.
    pub show_max_allowed: bool,
}

/// `ipamsim instance-types` arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceTypesFlags {
    /// A name pattern: a substring, or a glob with `*` and `?`.
    pub pattern: Option<String>,
    /// `--format table|csv|json`.
    pub format: Option<String>,
}

impl CalcFlags {
    /// Checks every flag and builds the request.
    pub fn request(&self) -> Result<CalcRequest, CalcError> {
        let subnet = self.subnet.as_deref().ok_or(CalcError::Missing {
            command: "calc",
            flag: "--subnet CIDR",
            example: "--subnet 10.0.0.0/20",
        })?;
        let subnet = parse_subnet(subnet).map_err(CalcError::BadSubnet)?;
        if self.instances.is_empty() {
            return Err(CalcError::Missing {
                command: "calc",
                flag: "--instances TYPE:COUNT:PODS[,..]",
                example: "--instances m5.large:3:20,c5.xlarge:2:40",
            });
        }
        let rows = self
            .instances
            .iter()
            .flat_map(|list| list.split(','))
            .map(|e| parse_row(e, self.spreadsheet))
            .collect::<Result<Vec<_>, _>>()?;
        let format = Format::parse(self.format.as_deref())?;
        let host_network = match &self.host_network_ips {
            Some(v) => count("--host-network-ips", v, "")?,
            None => DEFAULT_HOST_NETWORK_PODS,
        };
        let target = |flag, v: &Option<String>, ipamd| {
            v.as_deref().map(|v| count(flag, v, ipamd)).transpose()
        };
        let warm_eni = target("--warm-eni-target", &self.warm_eni_target, "1")?;
        let warm_prefix = target("--warm-prefix-target", &self.warm_prefix_target, "0")?;
        let warm_ip = target("--warm-ip-target", &self.warm_ip_target, "0 (unset)")?;
        let minimum_ip = target("--minimum-ip-target", &self.minimum_ip_target, "0 (unset)")?;
        let max_eni = self
            .max_eni
            .as_deref()
            .map(|v| eni_cap("--max-eni", v))
            .transpose()?;
        let calculator = if self.spreadsheet {
            let unsupported = [
                (self.prefix_delegation, "--prefix-delegation"),
                (warm_prefix.is_some(), "--warm-prefix-target"),
                (minimum_ip.is_some(), "--minimum-ip-target"),
                (max_eni.is_some(), "--max-eni"),
                (self.custom_networking, "--custom-networking"),
            ];
            if let Some((_, flag)) = unsupported.iter().find(|(on, _)| *on) {
                return Err(CalcError::Conflict(format!(
                    "--spreadsheet reproduces the workbook, which has no {flag}; drop {flag}, \
                     or drop --spreadsheet for ipamd's steady state"
                )));
            }
            Calculator::Spreadsheet(match (warm_eni, warm_ip) {
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
                warm_eni_target: warm_eni.unwrap_or(d.warm_eni_target),
                warm_prefix_target: warm_prefix.unwrap_or(d.warm_prefix_target),
                warm_ip_target: warm_ip.unwrap_or(d.warm_ip_target),
                minimum_ip_target: minimum_ip.unwrap_or(d.minimum_ip_target),
                max_eni,
                custom_network_cfg: self.custom_networking,
                ..d
            })
        };
        Ok(CalcRequest {
            subnet,
            rows,
            host_network,
            calculator,
            format,
        })
    }
}

impl MaxPodsFlags {
    /// Checks the flags: the instance type and the calculator's options.
    pub fn options(&self) -> Result<(&'static InstanceType, MaxPodsOptions), CalcError> {
        let name = self.instance_type.as_deref().ok_or(CalcError::Missing {
            command: "max-pods",
            flag: "--instance-type T",
            example: "--instance-type m5.large",
        })?;
        let t = catalog::lookup(name)?;
        let cni_version = match &self.cni_version {
            Some(v) => v.parse().map_err(|why| CalcError::BadValue {
                flag: "--cni-version",
                value: v.clone(),
                why,
            })?,
            None => CniVersion::LATEST,
        };
        let max_eni = self
            .cni_max_eni
            .as_deref()
            .map(|v| eni_cap("--cni-max-eni", v))
            .transpose()?;
        Ok((
            t,
            MaxPodsOptions {
                cni_version,
                custom_networking: self.custom_networking,
                prefix_delegation: self.prefix_delegation,
                max_eni,
                show_max_allowed: self.show_max_allowed,
            },
        ))
    }
}

impl InstanceTypesFlags {
    /// The matching types (all without a pattern) and the output format.
    pub fn list(&self) -> Result<(Vec<&'static InstanceType>, Format), CalcError> {
        let format = Format::parse(self.format.as_deref())?;
        let Some(pattern) = self.pattern.as_deref() else {
            return Ok((catalog::all().iter().collect(), format));
        };
        let found = catalog::find(pattern);
        if found.is_empty() {
            return Err(CalcError::NoMatch {
                pattern: pattern.to_string(),
                suggestions: catalog::closest(&pattern.to_ascii_lowercase(), 3),
            });
        }
        Ok((found, format))
    }
}

/// One `TYPE:COUNT:PODS` entry. With `--spreadsheet` the type is looked up in the workbook's
/// own table ([`super::lookup`]), else in ipamd's ([`catalog`]).
fn parse_row(entry: &str, spreadsheet: bool) -> Result<InstanceRow, CalcError> {
    let bad = |why: String| CalcError::BadInstances {
        entry: entry.to_string(),
        why,
    };
    let parts: Vec<&str> = entry.trim().split(':').collect();
    let [name, n, p] = parts[..] else {
        return Err(bad(if entry.trim().is_empty() {
            "empty entry".into()
        } else {
            format!("{} fields, not 3", parts.len())
        }));
    };
    let number = |what: &str, v: &str| -> Result<u32, CalcError> {
        match v.trim().parse::<i64>() {
            Ok(x) if x < 0 => Err(bad(format!("{what} {x} is negative"))),
            Ok(x) if x > MAX_VALUE => Err(bad(format!("{what} {x} is above {MAX_VALUE}"))),
            Ok(x) => Ok(x as u32),
            Err(_) => Err(bad(format!("{what} {v:?} is not a whole number"))),
        }
    };
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
        count: number("COUNT", n)?,
        pods_per_node: number("PODS", p)?,
    })
}

/// A non-negative count. `ipamd` names what ipamd would use instead of a negative value.
fn count(flag: &'static str, v: &str, ipamd: &str) -> Result<u32, CalcError> {
    let bad = |why: String| CalcError::BadValue {
        flag,
        value: v.to_string(),
        why,
    };
    match v.trim().parse::<i64>() {
        Ok(x) if x < 0 && ipamd.is_empty() => Err(bad("is negative; give a value ≥ 0".into())),
        Ok(x) if x < 0 => Err(bad(format!(
            "is negative; ipamd would silently use {ipamd} instead. Give a value ≥ 0"
        ))),
        Ok(x) if x > MAX_VALUE => Err(bad(format!("is above {MAX_VALUE}"))),
        Ok(x) => Ok(x as u32),
        Err(_) => Err(bad("is not a whole number".into())),
    }
}

/// `MAX_ENI` / `--cni-max-eni`: at least 1.
fn eni_cap(flag: &'static str, v: &str) -> Result<u32, CalcError> {
    let n = count(flag, v, "the type's ENI limit")?;
    if n < 1 {
        return Err(CalcError::BadValue {
            flag,
            value: v.to_string(),
            why: "is below 1; ipamd ignores MAX_ENI below 1 and uses the type's ENI limit. \
                  Leave the flag out for that"
                .into(),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(subnet: &str, instances: &str) -> CalcFlags {
        CalcFlags {
            subnet: Some(subnet.into()),
            instances: vec![instances.into()],
            ..CalcFlags::default()
        }
    }

    fn err(f: &CalcFlags) -> String {
        f.request().unwrap_err().to_string()
    }

    #[test]
    fn builds_requests() {
        let mut f = flags("10.0.0.0/23", "m5.12xlarge:2:100, c5.2xlarge:1:30");
        f.instances.push("t3.small:4:0".into());
        let r = f.request().unwrap();
        assert_eq!(r.rows.len(), 3);
        assert_eq!(
            (r.rows[1].instance_type.name.as_str(), r.rows[1].count),
            ("c5.2xlarge", 1)
        );
        assert_eq!(r.host_network, 2);
        assert_eq!(r.format, Format::Table);
        let Calculator::SteadyState(c) = &r.calculator else {
            panic!()
        };
        assert_eq!(c, &CniConfig::default());

        f.spreadsheet = true;
        assert_eq!(
            f.request().unwrap().calculator,
            Calculator::Spreadsheet(Sheet::WarmEni(1))
        );
        f.warm_ip_target = Some("4".into());
        assert_eq!(
            f.request().unwrap().calculator,
            Calculator::Spreadsheet(Sheet::WarmIp(4))
        );
        f.spreadsheet = false;
        f.minimum_ip_target = Some("10".into());
        f.max_eni = Some("2".into());
        f.prefix_delegation = true;
        f.format = Some("JSON".into());
        let r = f.request().unwrap();
        let Calculator::SteadyState(c) = &r.calculator else {
            panic!()
        };
        assert_eq!(
            (c.warm_ip_target, c.minimum_ip_target, c.max_eni),
            (4, 10, Some(2))
        );
        assert!(c.enable_prefix_delegation);
        assert_eq!(r.format, Format::Json);
    }

    #[test]
    fn bad_input_is_one_clear_message() {
        let ok = flags("10.0.0.0/23", "m5.large:1:1");
        let with = |g: fn(&mut CalcFlags)| {
            let mut f = ok.clone();
            g(&mut f);
            err(&f)
        };
        let cases: Vec<(String, &str)> = vec![
            (with(|f| f.subnet = None), "needs --subnet"),
            (with(|f| f.instances.clear()), "needs --instances"),
            (
                with(|f| f.subnet = Some("10.0.0.1/20".into())),
                "did you mean 10.0.0.0/20?",
            ),
            (
                with(|f| f.subnet = Some("10.0.0.0/29".into())),
                "EC2 subnets are /16 to /28",
            ),
            (
                with(|f| f.instances = vec!["m5.lrage:1:1".into()]),
                "did you mean m5.large",
            ),
            (
                with(|f| f.instances = vec!["m5.large:1".into()]),
                "2 fields, not 3",
            ),
            (
                with(|f| f.instances = vec!["m5.large:1:1,".into()]),
                "empty entry",
            ),
            (
                with(|f| f.instances = vec!["m5.large:-1:1".into()]),
                "COUNT -1 is negative",
            ),
            (
                with(|f| f.instances = vec!["m5.large:1:x".into()]),
                "PODS \"x\" is not a whole number",
            ),
            (
                with(|f| f.warm_ip_target = Some("-1".into())),
                "ipamd would silently use 0 (unset)",
            ),
            (
                with(|f| f.warm_eni_target = Some("-2".into())),
                "ipamd would silently use 1",
            ),
            (
                with(|f| f.minimum_ip_target = Some("five".into())),
                "not a whole number",
            ),
            (
                with(|f| f.host_network_ips = Some("-1".into())),
                "--host-network-ips -1: is negative",
            ),
            (
                with(|f| f.max_eni = Some("0".into())),
                "ipamd ignores MAX_ENI below 1",
            ),
            (
                with(|f| f.warm_prefix_target = Some("9999999".into())),
                "above 1000000",
            ),
            (
                with(|f| f.format = Some("xml".into())),
                "write table, csv or json",
            ),
            (
                with(|f| {
                    f.spreadsheet = true;
                    f.warm_eni_target = Some("1".into());
                    f.warm_ip_target = Some("1".into());
                }),
                "not both",
            ),
            (
                with(|f| {
                    f.spreadsheet = true;
                    f.prefix_delegation = true;
                }),
                "which has no --prefix-delegation",
            ),
        ];
        for (msg, want) in cases {
            assert!(msg.contains(want), "{msg:?} should contain {want:?}");
            assert!(!msg.contains('\n'), "{msg:?}");
        }
    }

    #[test]
    fn max_pods_flags() {
        let f = MaxPodsFlags {
            instance_type: Some("m5.8xlarge".into()),
            cni_version: Some("1.11.2".into()),
            prefix_delegation: true,
            cni_max_eni: Some("4".into()),
            ..MaxPodsFlags::default()
        };
        let (t, o) = f.options().unwrap();
        assert_eq!(t.name, "m5.8xlarge");
        assert_eq!(
            (o.cni_version.minor, o.max_eni, o.prefix_delegation),
            (11, Some(4), true)
        );
        let d = MaxPodsFlags {
            instance_type: Some("m5.large".into()),
            ..MaxPodsFlags::default()
        };
        assert_eq!(d.options().unwrap().1.cni_version, CniVersion::LATEST);
        let e = |g: fn(&mut MaxPodsFlags)| {
            let mut f = d.clone();
            g(&mut f);
            f.options().unwrap_err().to_string()
        };
        assert!(e(|f| f.instance_type = None).contains("needs --instance-type"));
        assert!(e(|f| f.cni_version = Some("one".into())).contains("not a CNI version"));
        assert!(e(|f| f.cni_max_eni = Some("-1".into())).contains("negative"));
        assert!(e(|f| f.instance_type = Some("m9.large".into())).contains("unknown instance type"));
    }

    #[test]
    fn instance_type_patterns() {
        let f = InstanceTypesFlags {
            pattern: Some("t3.small".into()),
            format: None,
        };
        assert_eq!(f.list().unwrap().0.len(), 1);
        let f = InstanceTypesFlags {
            pattern: Some("t3.smol".into()),
            format: None,
        };
        assert!(
            f.list()
                .unwrap_err()
                .to_string()
                .contains("did you mean t3.small")
        );
        assert_eq!(
            InstanceTypesFlags::default().list().unwrap().0.len(),
            catalog::all().len()
        );
    }
}
