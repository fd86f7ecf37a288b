//! `--set KEY=VALUE`: edits to the parsed scenario document, made before deserialisation so
//! that an override is validated exactly like the file it overrides.
//!
//! `KEY` is a dotted path of table keys (`subnet.cidr`, `duration`, `cni.WARM_IP_TARGET`,
//! `model.ip_pick`, `subnet.background.addresses`). In an array (`[[nodegroup]]`,
//! `[[workload]]`, `[[subnets]]`, `reservations`) the next segment picks an element by its
//! `name` (`nodegroup.general.count`; unnamed node groups and workloads answer to their
//! default names, `nodegroup-0`, `deployment-1`) or by its index from 0 (`nodegroup.0.count`).
//! An aws-node variable may be given by its own name (`WARM_IP_TARGET=5` sets
//! `cni.WARM_IP_TARGET`). Missing tables are created; a key the schema does not know is
//! reported by the deserialiser against the `--set`.
//!
//! `VALUE` is read as a TOML value when it is one (`5`, `true`, `1.5`, `"text"`,
//! `[1, 2]`, `{ addresses = 100 }`) and as a plain string otherwise (`4h`, `10.0.0.0/22`).
//! Where the schema (or the file) holds a string at that key, an unquoted value stays a
//! string (`--set name=2024` names the scenario "2024").

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::error::{Locator, ScenarioError};
use crate::ipamd::config::CniConfig;

/// The most segments a key may have. The deepest key of the schema has four
/// (`ec2.latency.AssignPrivateIpAddresses.fixed`); the limit keeps a hostile key of
/// thousands of segments (which the path walk and the deserialiser would follow one stack
/// frame each) a one-line error.
pub const MAX_KEY_SEGMENTS: usize = 16;

/// Splits `KEY=VALUE` at its first `=`; the key is trimmed and must not be empty. The error
/// names the override as number 0; applying the overrides gives the right number.
pub fn parse_override(set: &str) -> Result<(&str, &str), ScenarioError> {
    let err = |message: &str| ScenarioError::Override {
        at: super::Location::Override {
            index: 0,
            set: set.to_string(),
        },
        message: message.to_string(),
    };
    let (key, value) = set.split_once('=').ok_or_else(|| {
        err("expected KEY=VALUE, e.g. `WARM_IP_TARGET=5` or `subnet.cidr=10.0.0.0/22`")
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|s| s.trim().is_empty()) {
        return Err(err(
            "the key is empty or has an empty segment; write a dotted path such as `nodegroup.general.count`",
        ));
    }
    // Counted without collecting: the count is bounded before anything walks the path.
    if key.split('.').nth(MAX_KEY_SEGMENTS).is_some() {
        return Err(err(&format!(
            "the key has more than {MAX_KEY_SEGMENTS} dotted segments; scenario keys have at most 4 (e.g. `nodegroup.general.count`)"
        )));
    }
    Ok((key, value.trim()))
}

/// Applies `overrides` in order to `doc` (later ones win).
pub(super) fn apply<'a>(
    doc: &mut DeTable<'a>,
    overrides: &'a [String],
    loc: &Locator<'_>,
) -> Result<(), ScenarioError> {
    for (k, set) in overrides.iter().enumerate() {
        let (key, value) = parse_override(set).map_err(|e| loc.override_error(k, e.message()))?;
        let span = loc.override_span(k);
        let mut path: Vec<&str> = key.split('.').map(str::trim).collect();
        if path.len() == 1 && CniConfig::VARIABLES.contains(&path[0]) {
            path.insert(0, "cni");
        } else if path.len() == 1 && looks_like_env_var(path[0]) {
            return Err(loc.override_error(k, unknown_variable(path[0])));
        }
        if path[0] == "subnet" && !doc.contains_key("subnet") && doc.contains_key("subnets") {
            return Err(loc.override_error(
                k,
                "this scenario has [[subnets]]; select one by name or index, e.g. `subnets.0.cidr`",
            ));
        }
        if path[0] == "subnets" && !doc.contains_key("subnets") && doc.contains_key("subnet") {
            return Err(loc.override_error(
                k,
                "this scenario has a single [subnet]; write `subnet.KEY`, e.g. `subnet.cidr`",
            ));
        }
        let at = Setter {
            index: k,
            loc,
            span,
            value,
        };
        at.set_in(doc, &path, &[])?;
    }
    Ok(())
}

/// An upper-case name with underscores: meant as an aws-node variable.
fn looks_like_env_var(s: &str) -> bool {
    s.contains('_')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn unknown_variable(name: &str) -> String {
    let hint = match crate::suggest::closest(name, CniConfig::VARIABLES.iter().copied(), 1)[..] {
        [v] => format!("did you mean {v}? "),
        _ => String::new(),
    };
    format!(
        "{name} is not an aws-node variable ipamsim models; {hint}Known: {}",
        CniConfig::VARIABLES.join(", ")
    )
}

/// Keys whose values are always strings in the schema (outside `[cni]`, whose variables
/// are not among them).
const STRING_KEYS: [&str; 10] = [
    "name",
    "cidr",
    "placement",
    "instance_type",
    "subnet",
    "pod_subnet",
    "kind",
    "path",
    "ip_pick",
    "type",
];

struct Setter<'s, 'l> {
    index: usize,
    loc: &'l Locator<'l>,
    span: Range<usize>,
    value: &'s str,
}

impl<'s> Setter<'s, '_> {
    fn err(&self, message: String) -> ScenarioError {
        self.loc.override_error(self.index, message)
    }

    fn key<'i>(&self, k: &'i str) -> Spanned<Cow<'i, str>> {
        Spanned::new(self.span.clone(), Cow::Borrowed(k))
    }

    /// Sets `path` (relative to `table`, which sits at `done`) to the value.
    fn set_in<'i>(
        &self,
        table: &mut DeTable<'i>,
        path: &[&'i str],
        done: &[&str],
    ) -> Result<(), ScenarioError>
    where
        's: 'i,
    {
        let (head, rest) = (path[0], &path[1..]);
        if rest.is_empty() {
            let is_string = STRING_KEYS.contains(&head)
                || table.get(head).is_some_and(|v| v.get_ref().is_str());
            let value = parse_value(self.value, is_string);
            table.insert(self.key(head), respan(value, &self.span));
            return Ok(());
        }
        let here: Vec<&str> = done.iter().copied().chain([head]).collect();
        if !table.contains_key(head) {
            table.insert(
                self.key(head),
                Spanned::new(self.span.clone(), DeValue::Table(DeTable::default())),
            );
        }
        match table.get_mut(head).map(Spanned::get_mut) {
            Some(DeValue::Table(t)) => self.set_in(t, rest, &here),
            Some(DeValue::Array(items)) => self.set_in_array(head, items, rest, &here),
            _ => Err(self.err(format!(
                "`{}` is a value, not a table; it has no key `{}`",
                here.join("."),
                rest[0]
            ))),
        }
    }

    fn set_in_array<'i>(
        &self,
        array_key: &str,
        items: &mut DeArray<'i>,
        path: &[&'i str],
        done: &[&str],
    ) -> Result<(), ScenarioError>
    where
        's: 'i,
    {
        let sel = path[0];
        let mut consumed = 1;
        let index = match sel.parse::<usize>() {
            Ok(i) if i < items.len() => i,
            Ok(i) => {
                return Err(self.err(format!(
                    "`{}` has {} entries (indices 0..{}); there is no entry {i}",
                    done.join("."),
                    items.len(),
                    items.len().saturating_sub(1)
                )));
            }
            Err(_) => {
                let names: Vec<String> = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| element_name(array_key, i, v.get_ref()))
                    .collect();
                // A name may hold dots (an imported group `general-m5.large`): the longest run
                // of segments that names an entry wins.
                let found = (1..=path.len()).rev().find_map(|k| {
                    let joined = path[..k].join(".");
                    names.iter().position(|n| *n == joined).map(|i| (i, k))
                });
                match found {
                    Some((i, k)) => {
                        consumed = k;
                        i
                    }
                    None => {
                        return Err(self.err(format!(
                            "no entry of `{}` is named {sel:?} (names: {}); select one by name or by index from 0",
                            done.join("."),
                            if names.is_empty() { "none".into() } else { names.join(", ") }
                        )));
                    }
                }
            }
        };
        let rest = &path[consumed..];
        let here: Vec<&str> = done
            .iter()
            .copied()
            .chain(path[..consumed].iter().copied())
            .collect();
        if rest.is_empty() {
            return Err(self.err(format!(
                "`{}` is a whole entry; set one of its keys, e.g. `{}.count`",
                here.join("."),
                here.join(".")
            )));
        }
        match items.get_mut(index).map(Spanned::get_mut) {
            Some(DeValue::Table(t)) => self.set_in(t, rest, &here),
            _ => Err(self.err(format!("`{}` is a value, not a table", here.join(".")))),
        }
    }
}

/// The name an array element answers to: its `name` key, else its default name.
fn element_name(array_key: &str, index: usize, v: &DeValue<'_>) -> String {
    let table = v.as_table();
    if let Some(name) = table
        .and_then(|t| t.get("name"))
        .and_then(|n| n.get_ref().as_str())
    {
        return name.to_string();
    }
    match array_key {
        "nodegroup" => super::default_nodegroup_name(index),
        "workload" => {
            let kind = table
                .and_then(|t| t.get("kind"))
                .and_then(|k| k.get_ref().as_str())
                .unwrap_or("workload");
            super::default_workload_name(kind, index)
        }
        _ => index.to_string(),
    }
}

/// `VALUE` as TOML when it parses as a value, else as a string (see the module docs).
fn parse_value<'i>(text: &'i str, existing_is_string: bool) -> DeValue<'i> {
    let quoted = text.starts_with('"') || text.starts_with('\'');
    match DeValue::parse(text) {
        Ok(v) if !existing_is_string || quoted || v.get_ref().is_str() => v.into_inner(),
        _ => DeValue::String(Cow::Borrowed(text)),
    }
}

/// Gives `value` and everything inside it the override's span.
fn respan<'i>(value: DeValue<'i>, span: &Range<usize>) -> Spanned<DeValue<'i>> {
    let value = match value {
        DeValue::Array(items) => {
            let mut out = DeArray::new();
            for item in items {
                out.push(respan(item.into_inner(), span));
            }
            DeValue::Array(out)
        }
        DeValue::Table(table) => {
            let mut out = DeTable::default();
            for (k, v) in table {
                out.insert(
                    Spanned::new(span.clone(), k.into_inner()),
                    respan(v.into_inner(), span),
                );
            }
            DeValue::Table(out)
        }
        other => other,
    };
    Spanned::new(span.clone(), value)
}
