//! Reading one exported file (spec/real-inputs.md §2): UTF-8 JSON (a BOM is skipped), told by
//! its top level, whatever the file is called. YAML, the AWS CLI's `table`/`text` output,
//! kubectl's table output, a bare array (`--query`), a file of another kind and JSON cut
//! short are errors that say what the file is and how to export the right one.

use std::path::Path;

use serde_json::{Map, Value};

use super::ImportError;

/// The kinds of export ipamsim reads, as `[start]` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// `aws ec2 describe-subnets`.
    Subnets,
    /// `aws ec2 describe-network-interfaces`.
    NetworkInterfaces,
    /// `aws ec2 get-subnet-cidr-reservations`.
    Reservations,
    /// `kubectl get nodes -o json`.
    Nodes,
    /// `kubectl get pods -A -o json`.
    Pods,
    /// `kubectl get daemonset aws-node -n kube-system -o json`.
    AwsNode,
}

impl Input {
    /// The `[start]` key.
    pub fn key(self) -> &'static str {
        match self {
            Input::Subnets => "subnets",
            Input::NetworkInterfaces => "network_interfaces",
            Input::Reservations => "reservations",
            Input::Nodes => "nodes",
            Input::Pods => "pods",
            Input::AwsNode => "aws_node",
        }
    }

    /// The command that exports it.
    pub fn command(self) -> &'static str {
        match self {
            Input::Subnets => "aws ec2 describe-subnets --output json",
            Input::NetworkInterfaces => {
                "aws ec2 describe-network-interfaces --filters Name=subnet-id,Values=subnet-… --output json"
            }
            Input::Reservations => {
                "aws ec2 get-subnet-cidr-reservations --subnet-id subnet-… --output json"
            }
            Input::Nodes => "kubectl get nodes -o json",
            Input::Pods => "kubectl get pods -A -o json",
            Input::AwsNode => "kubectl get daemonset aws-node -n kube-system -o json",
        }
    }
}

/// What a file's top level says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Found {
    Is(Input),
    Other(String),
}

/// Reads `path` (shown as `shown`) as the export `want`; returns its top-level object.
pub fn read(path: &Path, shown: &str, want: Input) -> Result<Map<String, Value>, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Read {
        file: shown.to_string(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ImportError::Invalid {
        file: shown.to_string(),
        message: format!("not UTF-8 text; export with `{}`", want.command()),
    })?;
    parse(&text, shown, want)
}

/// [`read`] on text already in memory.
pub fn parse(text: &str, shown: &str, want: Input) -> Result<Map<String, Value>, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = parse_value(text, shown, want.command())?;
    let obj = match value {
        Value::Object(o) => o,
        Value::Array(a) => {
            return Err(ImportError::Invalid {
                file: shown.to_string(),
                message: format!(
                    "a bare JSON array of {} (output of --query?); {} needs the whole answer: `{}`",
                    a.len(),
                    want.key(),
                    want.command()
                ),
            });
        }
        other => {
            return Err(ImportError::Invalid {
                file: shown.to_string(),
                message: format!(
                    "a bare JSON {}, not an export; {} needs `{}`",
                    json_type(&other),
                    want.key(),
                    want.command()
                ),
            });
        }
    };
    match found(&obj) {
        Found::Is(k) if k == want => Ok(obj),
        // An empty List is a List of nodes as much as of pods.
        Found::Is(Input::Nodes | Input::Pods)
            if matches!(want, Input::Nodes | Input::Pods) && items(&obj).is_empty() =>
        {
            Ok(obj)
        }
        f => Err(ImportError::Invalid {
            file: shown.to_string(),
            message: format!(
                "this is {}; {} needs `{}`",
                describe(&f, &obj),
                want.key(),
                want.command()
            ),
        }),
    }
}

/// Parses JSON text, or says what the text is instead.
pub fn parse_value(text: &str, shown: &str, command: &str) -> Result<Value, ImportError> {
    let first = text.char_indices().find(|(_, c)| !c.is_whitespace());
    let Some((at, c)) = first else {
        return Err(ImportError::Invalid {
            file: shown.to_string(),
            message: format!("the file is empty; export with `{command}`"),
        });
    };
    if c != '{' && c != '[' {
        let (line, column) = line_col(text, at);
        return Err(ImportError::Json {
            file: shown.to_string(),
            line,
            column,
            message: format!(
                "not JSON ({}); export with `{command}`",
                looks_like(&text[at..])
            ),
        });
    }
    serde_json::from_str(text).map_err(|e| {
        let message = if e.is_eof() {
            format!(
                "the JSON ends in the middle of {}: the export was cut short; run it again",
                open_container(text)
            )
        } else {
            format!("invalid JSON: {}", strip_position(&e.to_string()))
        };
        ImportError::Json {
            file: shown.to_string(),
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

/// serde_json appends " at line L column C"; the location is printed in front instead.
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

/// What non-JSON text looks like.
fn looks_like(text: &str) -> &'static str {
    let first_line = text.lines().next().unwrap_or("");
    if first_line.starts_with("---") && !first_line.starts_with("----")
        || first_line.starts_with("apiVersion:")
        || first_line.starts_with("kind:")
        || first_line.split_once(':').is_some_and(|(k, v)| {
            !k.contains(' ') && !k.is_empty() && (v.is_empty() || v.starts_with(' '))
        })
    {
        "it looks like YAML"
    } else if first_line.starts_with("----")
        || first_line.starts_with('|')
        || first_line.starts_with('+')
    {
        "it looks like the AWS CLI's table output"
    } else if first_line.starts_with("NAME ") || first_line.starts_with("NAMESPACE ") {
        "it looks like kubectl's table output"
    } else if first_line.contains('\t') {
        "it looks like the AWS CLI's text output"
    } else {
        "it does not start with { or ["
    }
}

/// "an object" or "an array": the innermost container still open at the end of `text`.
fn open_container(text: &str) -> &'static str {
    let mut stack = Vec::new();
    let (mut in_str, mut esc) = (false, false);
    for b in text.bytes() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => stack.push(b),
            b'}' | b']' => {
                stack.pop();
            }
            _ => {}
        }
    }
    match (in_str, stack.last()) {
        (true, _) => "a string",
        (false, Some(b'[')) => "an array",
        _ => "an object",
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `items` of a List, or the object itself for a single object.
pub fn items(obj: &Map<String, Value>) -> Vec<&Value> {
    match obj.get("items") {
        Some(Value::Array(a)) => a.iter().collect(),
        _ if obj.contains_key("kind")
            && obj.get("kind").and_then(Value::as_str) != Some("List") =>
        {
            vec![]
        }
        _ => vec![],
    }
}

fn list_kind(obj: &Map<String, Value>) -> Option<String> {
    obj.get("items")?
        .as_array()?
        .first()
        .and_then(|i| i.get("kind"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn found(obj: &Map<String, Value>) -> Found {
    for (key, input) in [
        ("Subnets", Input::Subnets),
        ("NetworkInterfaces", Input::NetworkInterfaces),
        ("SubnetIpv4CidrReservations", Input::Reservations),
    ] {
        if obj.contains_key(key) {
            return Found::Is(input);
        }
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let k = if kind == "List" || (kind.ends_with("List") && obj.contains_key("items")) {
        match list_kind(obj) {
            Some(k) => k,
            None if kind == "NodeList" => "Node".into(),
            None if kind == "PodList" => "Pod".into(),
            None => "Node".into(), // empty List: either nodes or pods
        }
    } else {
        kind.to_string()
    };
    match k.as_str() {
        "Node" => Found::Is(Input::Nodes),
        "Pod" => Found::Is(Input::Pods),
        "DaemonSet" => Found::Is(Input::AwsNode),
        "" => Found::Other(String::new()),
        other => Found::Other(other.to_string()),
    }
}

fn count(obj: &Map<String, Value>, key: &str) -> usize {
    obj.get(key).and_then(Value::as_array).map_or(0, Vec::len)
}

fn describe(f: &Found, obj: &Map<String, Value>) -> String {
    let n_items = obj
        .get("items")
        .and_then(Value::as_array)
        .map_or(1, Vec::len);
    match f {
        Found::Is(Input::Subnets) => format!(
            "`aws ec2 describe-subnets` output ({} subnets)",
            count(obj, "Subnets")
        ),
        Found::Is(Input::NetworkInterfaces) => format!(
            "`aws ec2 describe-network-interfaces` output ({} network interfaces)",
            count(obj, "NetworkInterfaces")
        ),
        Found::Is(Input::Reservations) => format!(
            "`aws ec2 get-subnet-cidr-reservations` output ({} reservations)",
            count(obj, "SubnetIpv4CidrReservations")
        ),
        Found::Is(Input::Nodes) => {
            format!("`kubectl get nodes -o json` output (a List of {n_items} Node)")
        }
        Found::Is(Input::Pods) => {
            format!("`kubectl get pods -o json` output (a List of {n_items} Pod)")
        }
        Found::Is(Input::AwsNode) => format!(
            "`kubectl get daemonset -o json` output (DaemonSet {})",
            obj.get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("?")
        ),
        Found::Other(k) if k.is_empty() => {
            let keys: Vec<&str> = obj.keys().take(4).map(String::as_str).collect();
            format!(
                "a JSON object with keys {}, none of the exports ipamsim reads",
                if keys.is_empty() {
                    "(none)".to_string()
                } else {
                    keys.join(", ")
                }
            )
        }
        Found::Other(k) if obj.contains_key("items") => {
            format!("`kubectl get` output (a List of {n_items} {k})")
        }
        Found::Other(k) => format!("`kubectl get` output (a {k})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, want: Input) -> String {
        parse(text, "f.json", want).unwrap_err().to_string()
    }

    #[test]
    fn the_kind_is_told_by_the_top_level() {
        assert!(parse(r#"{"Subnets": []}"#, "f", Input::Subnets).is_ok());
        let pods = r#"{"kind":"List","items":[{"kind":"Pod"},{"kind":"Pod"}]}"#;
        assert_eq!(
            err(pods, Input::Nodes),
            "f.json: this is `kubectl get pods -o json` output (a List of 2 Pod); nodes needs `kubectl get nodes -o json`"
        );
        assert!(parse(r#"{"kind":"List","items":[]}"#, "f", Input::Pods).is_ok());
        assert!(err("[1,2]", Input::Subnets).contains("bare JSON array"));
    }

    #[test]
    fn yaml_text_and_cut_short_json_are_named() {
        assert_eq!(
            err("apiVersion: v1\nkind: List\n", Input::Pods),
            "f.json:1:1: not JSON (it looks like YAML); export with `kubectl get pods -A -o json`"
        );
        assert!(err("SUBNETS\tus-east-1a\t251\n", Input::Subnets).contains("text output"));
        assert!(
            err("-----------\n|  DescribeSubnets |\n", Input::Subnets).contains("table output")
        );
        let e = err(
            "{\"NetworkInterfaces\": [\n {\"A\": 1,\n",
            Input::NetworkInterfaces,
        );
        assert!(
            e.starts_with("f.json:3:0: the JSON ends in the middle of an object")
                || e.starts_with("f.json:2:")
                || e.starts_with("f.json:3:"),
            "{e}"
        );
        assert!(e.ends_with("the export was cut short; run it again"), "{e}");
        assert!(err("{\"Subnets\": [1, 2", Input::Subnets).contains("middle of an array"));
        assert!(parse("\u{feff}{\"Subnets\": []}", "f", Input::Subnets).is_ok());
    }
}
