//! `kubectl get nodes -o json` (spec/real-inputs.md §6).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ImportError, from_item, json};

/// One node of the export, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedNode {
    /// `metadata.name`.
    pub name: String,
    /// Instance type label.
    pub instance_type: Option<String>,
    /// `topology.kubernetes.io/zone`.
    pub zone: String,
    /// The first group label present, else `unmanaged`.
    pub group: String,
    /// `eks.amazonaws.com/compute-type`.
    pub compute_type: Option<String>,
    /// The instance id, the last segment of `spec.providerID`.
    pub instance_id: String,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// `status.conditions[type=Ready].status == "True"`.
    pub ready: bool,
    /// `status.allocatable.pods`, else `status.capacity.pods`.
    pub max_pods: Option<u32>,
    /// The zone segment of `spec.providerID` (`aws:///<zone>/<instance-id>`), empty when
    /// absent.
    pub provider_zone: String,
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
    name: String,
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    #[serde(rename = "providerID")]
    provider_id: String,
    unschedulable: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Status {
    allocatable: BTreeMap<String, Value>,
    capacity: BTreeMap<String, Value>,
    conditions: Vec<Condition>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
}

const GROUP_LABELS: [&str; 4] = [
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "karpenter.sh/provisioner-name",
    "alpha.eksctl.io/nodegroup-name",
];

/// The nodes of one file, in file order.
pub fn read(obj: &Map<String, Value>, file: &str) -> Result<Vec<ExportedNode>, ImportError> {
    let mut out = Vec::new();
    let single;
    let items = if obj.contains_key("items") {
        json::items(obj)
    } else {
        single = Value::Object(obj.clone());
        vec![&single]
    };
    for (i, item) in items.into_iter().enumerate() {
        let r: Raw = from_item(item, file, &format!("items[{i}]"))?;
        let l = &r.metadata.labels;
        let pods = r
            .status
            .allocatable
            .get("pods")
            .or_else(|| r.status.capacity.get("pods"));
        let max_pods = match pods {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|s| s.trim().parse().ok())
                    .or_else(|| v.as_u64().and_then(|n| u32::try_from(n).ok()))
                    .ok_or_else(|| ImportError::Invalid {
                        file: file.to_string(),
                        message: format!(
                            "node {}: status.allocatable.pods {v} is not a whole number",
                            r.metadata.name
                        ),
                    })?,
            ),
        };
        out.push(ExportedNode {
            instance_type: l
                .get("node.kubernetes.io/instance-type")
                .or_else(|| l.get("beta.kubernetes.io/instance-type"))
                .cloned(),
            zone: l
                .get("topology.kubernetes.io/zone")
                .cloned()
                .unwrap_or_default(),
            group: GROUP_LABELS
                .iter()
                .find_map(|k| l.get(*k))
                .cloned()
                .unwrap_or_else(|| "unmanaged".into()),
            compute_type: l.get("eks.amazonaws.com/compute-type").cloned(),
            instance_id: r
                .spec
                .provider_id
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string(),
            unschedulable: r.spec.unschedulable,
            ready: r
                .status
                .conditions
                .iter()
                .any(|c| c.kind == "Ready" && c.status == "True"),
            max_pods,
            provider_zone: provider_zone(&r.spec.provider_id).to_string(),
            name: r.metadata.name,
        });
    }
    Ok(out)
}

/// The zone of `aws:///us-west-2a/i-0123…` (the segment before the instance id), or "".
fn provider_zone(provider_id: &str) -> &str {
    provider_id
        .strip_prefix("aws:///")
        .and_then(|rest| rest.rsplit_once('/'))
        .map_or("", |(zone, _)| zone)
}

#[cfg(test)]
mod tests {
    use super::provider_zone;

    #[test]
    fn the_provider_id_names_the_zone_before_the_instance() {
        assert_eq!(
            provider_zone("aws:///us-west-2a/i-0123456789abcdef0"),
            "us-west-2a"
        );
        assert_eq!(provider_zone("aws:///i-0123456789abcdef0"), "");
        assert_eq!(provider_zone(""), "");
        assert_eq!(provider_zone("kind://docker/x/y"), "");
    }
}
