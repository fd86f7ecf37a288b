//! `kubectl get pods -A -o json` (spec/real-inputs.md §7).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ImportError, from_item, json, parse_ipv4};

/// One pod of the export, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedPod {
    /// `namespace/name`.
    pub key: String,
    /// `spec.nodeName`.
    pub node: Option<String>,
    /// `spec.hostNetwork`.
    pub host_network: bool,
    /// `status.phase`.
    pub phase: String,
    /// The IPv4 `podIP` (else the first IPv4 entry of `podIPs`).
    pub ip: Option<u32>,
}

impl ExportedPod {
    /// Not `Succeeded`/`Failed`: its sandbox (and address) may still exist.
    pub fn is_live(&self) -> bool {
        self.phase != "Succeeded" && self.phase != "Failed"
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Raw {
    metadata: Meta,
    spec: Spec,
    status: Status,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    namespace: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    node_name: Option<String>,
    host_network: bool,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Status {
    phase: String,
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
    #[serde(rename = "podIPs")]
    pod_ips: Vec<PodIp>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PodIp {
    ip: String,
}

/// The pods of one file, in file order.
pub fn read(obj: &Map<String, Value>, file: &str) -> Result<Vec<ExportedPod>, ImportError> {
    let single;
    let items = if obj.contains_key("items") {
        json::items(obj)
    } else {
        single = Value::Object(obj.clone());
        vec![&single]
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let r: Raw = from_item(item, file, &format!("items[{i}]"))?;
        // IPv6 entries are ignored (spec §2).
        let ip = r
            .status
            .pod_ip
            .as_deref()
            .and_then(parse_ipv4)
            .or_else(|| r.status.pod_ips.iter().find_map(|p| parse_ipv4(&p.ip)));
        out.push(ExportedPod {
            key: format!("{}/{}", r.metadata.namespace, r.metadata.name),
            node: r.spec.node_name.filter(|n| !n.is_empty()),
            host_network: r.spec.host_network,
            phase: r.status.phase,
            ip,
        });
    }
    Ok(out)
}
