//! `kubectl get daemonset aws-node -n kube-system -o json` → `[cni]` (spec/real-inputs.md §8).
//!
//! Only the container named `aws-node` is read (never `aws-eks-nodeagent` or the init
//! containers). An absent or empty variable takes ipamd's *code* default (spec/ipamd-policy.md
//! §2), not the add-on manifest's: `WARM_PREFIX_TARGET` 0, `WARM_ENI_TARGET` 1,
//! `IP_COOLDOWN_PERIOD` 30, `ENABLE_SUBNET_DISCOVERY` true, the rest unset or false. Values
//! are checked by the same deserialiser as a scenario's `[cni]`, so the messages are the same.

use serde::Deserialize as _;
use serde_json::{Map, Value};

use super::ImportError;
use crate::ipamd::config::CniConfig;

/// What the DaemonSet says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsNode {
    /// The `[cni]` variables, code defaults where unset.
    pub cni: CniConfig,
    /// `CLUSTER_NAME`, if set.
    pub cluster_name: Option<String>,
    /// Accepted settings worth a word.
    pub warnings: Vec<String>,
}

/// Reads the DaemonSet. `provided` names `[cni]` variables the scenario (or `--set`) gives
/// itself: those may come from `valueFrom`/`envFrom` without an error.
pub fn read(
    obj: &Map<String, Value>,
    file: &str,
    provided: &[String],
) -> Result<AwsNode, ImportError> {
    let bad = |message: String| ImportError::Invalid {
        file: file.to_string(),
        message,
    };
    let container = obj
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some("aws-node"))
        })
        .ok_or_else(|| bad("no container named aws-node in spec.template.spec.containers; is this the aws-node DaemonSet?".into()))?;
    if container
        .get("envFrom")
        .is_some_and(|e| e.as_array().is_none_or(|a| !a.is_empty()))
    {
        let missing: Vec<&str> = CniConfig::VARIABLES
            .iter()
            .copied()
            .filter(|v| !provided.iter().any(|p| p == v))
            .collect();
        if !missing.is_empty() {
            return Err(bad(format!(
                "the aws-node container reads variables from envFrom (a ConfigMap or Secret); their values are not in the file: give each of {} with --set NAME=…",
                missing.join(", ")
            )));
        }
    }
    let mut env: Vec<(String, String)> = Vec::new();
    for e in container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = e.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(from) = e.get("valueFrom") {
            let is_cni = CniConfig::VARIABLES.contains(&name);
            if is_cni && !provided.iter().any(|p| p == name) {
                let source = if from.get("configMapKeyRef").is_some() {
                    "a ConfigMap"
                } else if from.get("secretKeyRef").is_some() {
                    "a Secret"
                } else {
                    "the pod's fields"
                };
                return Err(bad(format!(
                    "{name} comes from {source} (valueFrom); its value is not in the file: give it with --set {name}=…"
                )));
            }
            continue;
        }
        let value = e.get("value").and_then(Value::as_str).unwrap_or("");
        env.push((name.to_string(), value.to_string()));
    }
    let get = |name: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let truthy = |name: &str| {
        get(name).is_some_and(|v| matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True"))
    };
    let mut table = toml::Table::new();
    for var in CniConfig::VARIABLES {
        if let Some(v) = get(var) {
            table.insert(var.to_string(), toml::Value::String(v.to_string()));
        }
    }
    // ipamd's code default, not the manifest's (spec/ipamd-policy.md §2).
    table
        .entry("WARM_PREFIX_TARGET")
        .or_insert(toml::Value::String("0".into()));
    let cni = CniConfig::deserialize(table).map_err(|e| bad(super::one_line(&e.to_string())))?;
    if truthy("ENABLE_IPv6") {
        return Err(bad("ENABLE_IPv6 is true: the CNI's IPv6 mode has no warm pool and takes no IPv4 addresses; ipamsim models IPv4 only".into()));
    }
    for v in [
        "DISABLE_NETWORK_RESOURCE_PROVISIONING",
        "ENABLE_IMDS_ONLY_MODE",
    ] {
        if truthy(v) {
            return Err(bad(format!(
                "{v} is true: ipamd then leaves the pool alone, so there is nothing to simulate"
            )));
        }
    }
    if cni.enable_prefix_delegation
        && cni.warm_prefix_target == 0
        && cni.warm_ip_target == 0
        && cni.minimum_ip_target == 0
    {
        return Err(bad("ENABLE_PREFIX_DELEGATION is true with WARM_PREFIX_TARGET, WARM_IP_TARGET and MINIMUM_IP_TARGET all unset or 0: aws-node would not start; set one of them (e.g. --set WARM_PREFIX_TARGET=1)".into()));
    }
    let mut warnings = Vec::new();
    for v in ["ENABLE_POD_ENI", "ENABLE_MULTI_NIC"] {
        if truthy(v) {
            warnings.push(format!(
                "{file}: {v} is true; ipamsim models network card 0 and no trunk ENI: pods on branch ENIs keep their addresses but take none from the pool"
            ));
        }
    }
    Ok(AwsNode {
        cni,
        cluster_name: get("CLUSTER_NAME").map(str::to_string),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(env: &str) -> Map<String, Value> {
        let text = format!(
            r#"{{"kind":"DaemonSet","spec":{{"template":{{"spec":{{"containers":[{{"name":"aws-eks-nodeagent","env":[{{"name":"WARM_IP_TARGET","value":"99"}}]}},{{"name":"aws-node","env":[{env}]}}]}}}}}}}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn unset_variables_take_ipamds_code_defaults() {
        let a = read(&ds(""), "a.json", &[]).unwrap();
        assert_eq!(a.cni.warm_prefix_target, 0);
        assert_eq!(a.cni.warm_eni_target, 1);
        assert_eq!(a.cni.warm_ip_target, 0, "the node agent's env is not read");
        let a = read(
            &ds(r#"{"name":"WARM_IP_TARGET","value":"5"},{"name":"CLUSTER_NAME","value":"prod"}"#),
            "a.json",
            &[],
        )
        .unwrap();
        assert_eq!(
            (a.cni.warm_ip_target, a.cluster_name.as_deref()),
            (5, Some("prod"))
        );
    }

    #[test]
    fn bad_settings_are_errors() {
        let e = read(&ds(r#"{"name":"WARM_ENI_TARGET","valueFrom":{"configMapKeyRef":{"name":"c","key":"k"}}}"#), "a.json", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.json: WARM_ENI_TARGET comes from a ConfigMap (valueFrom); its value is not in the file: give it with --set WARM_ENI_TARGET=…"
        );
        assert!(
            read(
                &ds(r#"{"name":"WARM_ENI_TARGET","valueFrom":{"configMapKeyRef":{}}}"#),
                "a.json",
                &["WARM_ENI_TARGET".into()]
            )
            .is_ok()
        );
        let e = read(
            &ds(r#"{"name":"ENABLE_PREFIX_DELEGATION","value":"true"}"#),
            "a.json",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("would not start"), "{e}");
        let e = read(
            &ds(r#"{"name":"WARM_IP_TARGET","value":"-1"}"#),
            "a.json",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("ipamd would silently use"), "{e}");
        assert!(
            read(
                &ds(r#"{"name":"ENABLE_IPv6","value":"true"}"#),
                "a.json",
                &[]
            )
            .is_err()
        );
    }
}
