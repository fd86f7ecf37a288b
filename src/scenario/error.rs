//! What can be wrong with a scenario, and where.
//!
//! Every message is one line that starts with where the problem is — `FILE:LINE:COL` for a
//! key or value in the scenario file, `--set KEY=VALUE` for an override, `FILE:LINE` for a
//! row of a trace — and ends with what to do about it.
//!
//! Where is data, not text: a [`Location`] says file+line+column or override number, and
//! callers match on it ([`ScenarioError::location`]) — `sweep` names an error in one of a
//! cell's own overrides as the `--vary` it came from that way. The parser reports positions
//! as byte spans, so overrides are given true spans too: they are read as if appended to the
//! scenario text, one `KEY=VALUE` per line after a newline (see [`Locator::override_span`]).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// Where a scenario problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A position in the scenario text (1-based line and column, columns in characters).
    File {
        /// The scenario's `source` (file path as given, or `<embedded default>`).
        file: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
    },
    /// The scenario as a whole (a key that is missing altogether).
    Whole {
        /// The scenario's `source`.
        file: String,
    },
    /// A `--set KEY=VALUE` override: its number among the overrides (from 0) and its text.
    Override {
        /// Which override, in the order given.
        index: usize,
        /// The override text, as given.
        set: String,
    },
}

/// `text` with control characters escaped (`\n` for a line break): a message quotes user
/// text (a name listed among others, a value) and stays one line whatever that text holds.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// At most this many characters of an override are echoed in a message.
const SHOWN_CHARS: usize = 80;

/// An override as shown in a message: control characters escaped (one line, always) and a
/// very long one shortened.
pub fn shown(set: &str) -> String {
    let mut out = String::new();
    for (i, c) in set.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File { file, line, column } => write!(f, "{file}:{line}:{column}"),
            Location::Whole { file } => f.write_str(file),
            Location::Override { set, .. } => write!(f, "--set {}", shown(set)),
        }
    }
}

/// A scenario that cannot be run, and why.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario file could not be read.
    #[error("{}: cannot read the scenario: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Not valid TOML, or not the scenario schema: an unknown key, a value of the wrong type,
    /// a missing required key, or a value its own parser rejects (a bad duration, a negative
    /// aws-node target).
    #[error("{at}: {message}")]
    Toml {
        /// Where.
        at: Location,
        /// What is wrong (and what to do).
        message: String,
    },
    /// A well-formed value the simulator cannot run with (an unknown instance type, steps out
    /// of order, a subnet name nobody defines, …).
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What is wrong and what to do.
        message: String,
    },
    /// A `--set` override that is malformed or selects nothing.
    #[error("{at}: {message}")]
    Override {
        /// Which override ([`Location::Override`]).
        at: Location,
        /// What is wrong and what to do.
        message: String,
    },
    /// A trace file that cannot be read or replayed.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Trace {
        /// The trace file (resolved path).
        path: PathBuf,
        /// The 1-based line of the offending row, when the problem is in one row.
        line: Option<u64>,
        /// What is wrong and what to do.
        message: String,
    },
    /// A `[start]` export that cannot be used (spec/real-inputs.md §10).
    #[error(transparent)]
    Import(crate::import::ImportError),
    /// A scenario file larger than [`super::MAX_SCENARIO_BYTES`].
    #[error(
        "{}: the scenario file is larger than {} MiB, the most ipamsim reads; a scenario is a few KB — is this the right file?",
        path.display(), max >> 20
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        max: u64,
    },
    /// Workloads that would create more pods than the simulator supports.
    #[error(
        "workloads create {pods} pods; the simulator supports at most {max}. Lower rates, replicas or the duration"
    )]
    TooManyPods {
        /// Pods the workloads would create (at least).
        pods: u64,
        /// The limit.
        max: u64,
    },
}

impl ScenarioError {
    /// Where the problem is, when it is at one place of the scenario or its overrides.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ScenarioError::Toml { at, .. }
            | ScenarioError::Invalid { at, .. }
            | ScenarioError::Override { at, .. } => Some(at),
            _ => None,
        }
    }

    /// What is wrong and what to do, without the location.
    pub fn message(&self) -> String {
        match self {
            ScenarioError::Toml { message, .. }
            | ScenarioError::Invalid { message, .. }
            | ScenarioError::Override { message, .. }
            | ScenarioError::Trace { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// Turns byte spans into [`Location`]s for one scenario text and its overrides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Locator<'a> {
    pub(crate) text: &'a str,
    pub(crate) source: &'a str,
    pub(crate) overrides: &'a [String],
}

impl Locator<'_> {
    /// The location of `span` (None or the whole document: the file as a whole).
    pub(crate) fn locate(&self, span: Option<Range<usize>>) -> Location {
        let Some(span) = span else {
            return self.whole();
        };
        if span.start > self.text.len() {
            let mut start = self.text.len() + 1;
            for (index, set) in self.overrides.iter().enumerate() {
                if span.start <= start + set.len() {
                    return self.at_override(index);
                }
                start += set.len() + 1;
            }
            return self.whole();
        }
        // The document's own span (toml gives the root 0..0) stands for the file as a whole.
        if span.start == 0 && (span.end == 0 || span.end >= self.text.trim_end().len()) {
            return self.whole();
        }
        let start = span.start.min(self.text.len());
        // Spans are byte offsets on char boundaries; be defensive anyway.
        let before = self.text.get(..start).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location::File {
            file: self.source.to_string(),
            line,
            column,
        }
    }

    /// Override `index`'s span in the scenario text extended by the overrides, one per line:
    /// `text \n set₀ \n set₁ …`. Every position in an override's line maps back to it.
    pub(crate) fn override_span(&self, index: usize) -> Range<usize> {
        let start = self.text.len()
            + 1
            + self.overrides[..index]
                .iter()
                .map(|s| s.len() + 1)
                .sum::<usize>();
        start..start + self.overrides[index].len().max(1)
    }

    /// Override `index`.
    pub(crate) fn at_override(&self, index: usize) -> Location {
        Location::Override {
            index,
            set: self.overrides.get(index).cloned().unwrap_or_default(),
        }
    }

    /// An [`ScenarioError::Override`] for override `index`.
    pub(crate) fn override_error(&self, index: usize, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Override {
            at: self.at_override(index),
            message: escape_controls(&message.into()),
        }
    }

    /// The file as a whole.
    pub(crate) fn whole(&self) -> Location {
        Location::Whole {
            file: self.source.to_string(),
        }
    }

    /// An [`ScenarioError::Invalid`] at `span`.
    pub(crate) fn invalid(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            at: self.locate(Some(span)),
            message: escape_controls(&message.into()),
        }
    }

    /// A toml error, located.
    pub(crate) fn toml(&self, err: &toml::de::Error) -> ScenarioError {
        let mut message = one_line(err.message());
        // serde speaks Rust; say it in scenario terms.
        for (rust, plain) in [
            ("expected i64", "expected an integer"),
            ("expected u64", "expected an integer ≥ 0"),
            ("expected f64", "expected a number"),
        ] {
            message = message.replace(rust, plain);
        }
        if message.starts_with("missing field") {
            message.push_str("; add it");
        }
        ScenarioError::Toml {
            at: self.locate(err.span()),
            message,
        }
    }
}

/// Messages are one line: fold any line breaks a parser put in.
pub(crate) fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.trim().lines().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(part.trim());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_become_line_and_column() {
        let text = "a = 1\nbé = 2\n  c = x\n";
        let sets = vec!["WARM_IP_TARGET=5".to_string()];
        let loc = Locator {
            text,
            source: "s.toml",
            overrides: &sets,
        };
        let c = text.find('c').unwrap();
        assert_eq!(loc.locate(Some(c..c + 1)).to_string(), "s.toml:3:3");
        let two = text.find('2').unwrap();
        // Columns count characters, not bytes.
        assert_eq!(loc.locate(Some(two..two + 1)).to_string(), "s.toml:2:6");
        assert_eq!(loc.locate(Some(0..text.len())).to_string(), "s.toml");
        assert_eq!(loc.locate(None).to_string(), "s.toml");
        let o = loc.override_span(0);
        assert_eq!(o.start, text.len() + 1);
        assert_eq!(
            loc.locate(Some(o.clone())),
            Location::Override {
                index: 0,
                set: "WARM_IP_TARGET=5".into()
            }
        );
        assert_eq!(loc.locate(Some(o)).to_string(), "--set WARM_IP_TARGET=5");
    }

    #[test]
    fn overrides_are_told_apart_by_number() {
        let sets = vec!["a=1".to_string(), "bb=22".to_string(), "c=3".to_string()];
        let loc = Locator {
            text: "x = 1\n",
            source: "s.toml",
            overrides: &sets,
        };
        for (k, want) in sets.iter().enumerate() {
            let span = loc.override_span(k);
            for at in [span.start, span.end - 1] {
                match loc.locate(Some(at..at + 1)) {
                    Location::Override { index, set } => {
                        assert_eq!((index, set.as_str()), (k, want.as_str()))
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn long_or_multi_line_overrides_are_shown_on_one_short_line() {
        assert_eq!(shown("a=1\n2"), "a=1\\n2");
        let long = "k=".to_string() + &"x".repeat(10_000);
        assert_eq!(shown(&long).chars().count(), SHOWN_CHARS + 1);
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line(" a\n  b \n"), "a b");
    }
}
