//! Reading every export of one start (spec/real-inputs.md §2): pages merged, an ID in two
//! files refused, a cut answer (`NextToken`) refused unless its last page is given.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::aws_node::AwsNode;
use super::enis::ExportedEni;
use super::json::{self, Input};
use super::nodes::ExportedNode;
use super::pods::ExportedPod;
use super::reservations::ExportedReservation;
use super::subnets::ExportedSubnet;
use super::{ImportError, Options, Sources, shown};

type Result<T> = std::result::Result<T, ImportError>;

fn invalid(file: &str, message: String) -> ImportError {
    ImportError::Invalid {
        file: file.to_string(),
        message,
    }
}

/// Every export, parsed (no cross-file checks yet).
pub(super) struct Exports {
    pub subnets_file: String,
    pub all_subnets: Vec<ExportedSubnet>,
    pub eni_files: Vec<(String, Map<String, Value>)>,
    /// Each interface with the index of its file in `eni_files`.
    pub enis: Vec<(ExportedEni, usize)>,
    pub reservations: Vec<(ExportedReservation, String)>,
    pub nodes_file: String,
    pub exported_nodes: Vec<ExportedNode>,
    pub pods_file: String,
    pub exported_pods: Vec<ExportedPod>,
    pub aws_node: Option<AwsNode>,
}

/// Parses every file, in the order of §3–§8.
pub(super) fn read_exports(src: &Sources, opt: &Options) -> Result<Exports> {
    let need = |p: &Option<PathBuf>, input: Input| {
        p.clone().ok_or_else(|| {
            ImportError::Usage(format!(
                "no {} export given; export it with `{}`",
                input.key(),
                input.command()
            ))
        })
    };
    // Parse every file first, in the order of §3–§8.
    let subnets_path = need(&src.subnets, Input::Subnets)?;
    if src.network_interfaces.is_empty() {
        return Err(ImportError::Usage(format!(
            "no network_interfaces export given; export it with `{}`",
            Input::NetworkInterfaces.command()
        )));
    }
    let nodes_path = need(&src.nodes, Input::Nodes)?;
    let subnet_files = read_all(std::slice::from_ref(&subnets_path), Input::Subnets)?;
    let eni_files = read_all(&src.network_interfaces, Input::NetworkInterfaces)?;
    let res_files = read_all(&src.reservations, Input::Reservations)?;
    let node_files = read_all(std::slice::from_ref(&nodes_path), Input::Nodes)?;
    let pod_files = match &src.pods {
        Some(p) => read_all(std::slice::from_ref(p), Input::Pods)?,
        None => Vec::new(),
    };
    let ds_file = match &src.aws_node {
        Some(p) => read_all(std::slice::from_ref(p), Input::AwsNode)?.pop(),
        None => None,
    };

    let mut all_subnets: Vec<ExportedSubnet> = Vec::new();
    let mut seen = BTreeMap::new();
    for (file, obj) in &subnet_files {
        for s in super::subnets::read(obj, file)? {
            dedupe(&mut seen, &s.id, file)?;
            all_subnets.push(s);
        }
    }
    let subnets_file = shown(&subnets_path);
    let mut enis: Vec<(ExportedEni, usize)> = Vec::new();
    let mut seen = BTreeMap::new();
    for (f, (file, obj)) in eni_files.iter().enumerate() {
        for e in super::enis::read(obj, file)? {
            dedupe(&mut seen, &e.id, file)?;
            enis.push((e, f));
        }
    }
    let mut reservations = Vec::new();
    let mut seen = BTreeMap::new();
    for (file, obj) in &res_files {
        for r in super::reservations::read(obj, file)? {
            dedupe(&mut seen, &r.id, file)?;
            reservations.push((r, file.clone()));
        }
    }
    let nodes_file = shown(&nodes_path);
    let mut exported_nodes: Vec<ExportedNode> = Vec::new();
    let mut seen = BTreeMap::new();
    for (file, obj) in &node_files {
        for n in super::nodes::read(obj, file)? {
            dedupe(&mut seen, &n.name, file)?;
            exported_nodes.push(n);
        }
    }
    let pods_file = src.pods.as_deref().map(shown).unwrap_or_default();
    let mut exported_pods: Vec<ExportedPod> = Vec::new();
    let mut seen = BTreeMap::new();
    for (file, obj) in &pod_files {
        for p in super::pods::read(obj, file)? {
            dedupe(&mut seen, &p.key, file)?;
            exported_pods.push(p);
        }
    }
    let aws_node = match &ds_file {
        Some((file, obj)) => Some(super::aws_node::read(obj, file, &opt.provided_cni)?),
        None => None,
    };
    Ok(Exports {
        subnets_file,
        all_subnets,
        eni_files,
        enis,
        reservations,
        nodes_file,
        exported_nodes,
        pods_file,
        exported_pods,
        aws_node,
    })
}

/// Reads the files of one input, merging pages: a `NextToken` is an error unless some file
/// of the input has none (the last page).
fn read_all(paths: &[PathBuf], want: Input) -> Result<Vec<(String, Map<String, Value>)>> {
    let mut out = Vec::new();
    for p in paths {
        let file = shown(p);
        let obj = json::read(p, &file, want)?;
        out.push((file, obj));
    }
    let token = |o: &Map<String, Value>| {
        o.get("NextToken")
            .is_some_and(|t| !t.is_null() && t.as_str() != Some(""))
    };
    if let Some((file, _)) = out.iter().find(|(_, o)| token(o))
        && out.iter().all(|(_, o)| token(o))
    {
        return Err(invalid(
            file,
            "\"NextToken\" is set: this is one page of a longer answer; export without --max-items/--no-paginate, or list every page".into(),
        ));
    }
    Ok(out)
}

/// An ID seen in two files of one input is an error.
fn dedupe(seen: &mut BTreeMap<String, String>, id: &str, file: &str) -> Result<()> {
    if let Some(first) = seen.get(id) {
        return Err(invalid(
            file,
            format!(
                "{id} is also in {first}; give each object once (several files for one input are merged)"
            ),
        ));
    }
    seen.insert(id.to_string(), file.to_string());
    Ok(())
}
