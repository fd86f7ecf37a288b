//! clap's errors, one line each: a flag error is `error: <what> (see ipamsim CMD --help)` on
//! stderr and exit 2; `--help` and `--version` print as clap writes them, exit 0.
//!
//! The line is built from the error's structured context ([`ContextKind`]), not from clap's
//! multi-paragraph rendering: what is wrong (a value error names the flag and, for a value
//! enum, lists the values to write), then clap's suggestions (`did you mean '--seeds'?`, its
//! tips). Kinds without a special wording keep clap's own first paragraph, on one line.

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::console::{emit, note};

/// Prints the error or the help clap returned and gives the exit code: 0 for `--help` and
/// `--version` (1 if stdout cannot be written), 2 for a flag error.
pub fn report(err: &clap::Error, command: &str) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return match emit(&err.render().to_string()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                note("error", &e.to_string());
                ExitCode::from(1)
            }
        };
    }
    note("error", &one_line(err, command));
    ExitCode::from(2)
}

/// The error as one line. `command` is what was run (`ipamsim calc`), for the pointer to
/// its help.
pub fn one_line(err: &clap::Error, command: &str) -> String {
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let list = |kind| match err.get(kind) {
        Some(ContextValue::Strings(v)) => v.as_slice(),
        _ => &[],
    };
    let arg = text(ContextKind::InvalidArg);
    let value = text(ContextKind::InvalidValue);
    let valid = list(ContextKind::ValidValue);
    let what = match (err.kind(), arg, value) {
        (ErrorKind::InvalidValue, Some(arg), Some("")) if !valid.is_empty() => {
            format!("'{arg}' needs a value: write {}", either(valid))
        }
        (ErrorKind::InvalidValue, Some(arg), Some(value)) if !valid.is_empty() => {
            format!(
                "invalid value '{value}' for '{arg}': write {}",
                either(valid)
            )
        }
        (ErrorKind::MissingRequiredArgument, _, _) if !list(ContextKind::InvalidArg).is_empty() => {
            format!("`{command}` needs {}", all(list(ContextKind::InvalidArg)))
        }
        _ => clap_first_paragraph(err),
    };
    let mut parts = vec![what];
    for kind in [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ] {
        match err.get(kind) {
            Some(ContextValue::String(s)) => parts.push(format!("did you mean '{s}'?")),
            Some(ContextValue::Strings(v)) if !v.is_empty() => {
                let quoted: Vec<String> = v.iter().map(|s| format!("'{s}'")).collect();
                parts.push(format!("did you mean {}?", either(&quoted)));
            }
            _ => {}
        }
    }
    if let Some(ContextValue::StyledStrs(tips)) = err.get(ContextKind::Suggested) {
        for tip in tips {
            parts.push(format!("tip: {}", squash(&tip.to_string())));
        }
    }
    format!("{} (see {command} --help)", parts.join("; "))
}

/// clap's own wording of the error: its first paragraph, on one line, without `error: `.
fn clap_first_paragraph(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = squash(rendered.split("\n\n").next().unwrap_or_default());
    first.strip_prefix("error: ").unwrap_or(&first).to_string()
}

/// Words joined by single spaces.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `a`, `a or b`, `a, b or c`.
fn either(items: &[String]) -> String {
    joined(items, "or")
}

/// `a`, `a and b`, `a, b and c`.
fn all(items: &[String]) -> String {
    joined(items, "and")
}

fn joined(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    #[command(name = "ipamsim")]
    enum Cli {
        Pick {
            #[arg(long, value_enum)]
            format: Option<Format>,
            #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
            seeds: Option<u32>,
            #[arg(long, required = true)]
            out: Option<String>,
        },
    }

    #[derive(clap::ValueEnum, Clone, Debug)]
    enum Format {
        Table,
        Csv,
        Json,
    }

    fn line(args: &[&str]) -> String {
        let err = Cli::try_parse_from(args).unwrap_err();
        one_line(&err, "ipamsim pick")
    }

    #[test]
    fn every_flag_error_is_one_line_naming_the_flag() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["ipamsim", "pick", "--out", "o", "--format", "yaml"],
                "invalid value 'yaml' for '--format <FORMAT>': write table, csv or json \
                 (see ipamsim pick --help)",
            ),
            (
                &["ipamsim", "pick", "--out", "o", "--format", "jsn"],
                "invalid value 'jsn' for '--format <FORMAT>': write table, csv or json; \
                 did you mean 'json'? (see ipamsim pick --help)",
            ),
            (
                &["ipamsim", "pick", "--out", "o", "--format="],
                "'--format <FORMAT>' needs a value: write table, csv or json",
            ),
            (
                &["ipamsim", "pick", "--out", "o", "--seeds", "0"],
                "invalid value '0' for '--seeds <SEEDS>': 0 is not in 1..=4294967295",
            ),
            (
                &["ipamsim", "pick"],
                "`ipamsim pick` needs --out <OUT> (see ipamsim pick --help)",
            ),
            (
                &["ipamsim", "pick", "--out", "o", "--seed", "1"],
                "unexpected argument '--seed' found; did you mean '--seeds'?",
            ),
        ];
        for (args, want) in cases {
            let got = line(args);
            assert!(got.contains(want), "{args:?}: {got:?} lacks {want:?}");
            assert!(!got.contains('\n'), "{got:?}");
        }
    }

    #[test]
    fn lists_read_as_words() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(either(&s(&["a"])), "a");
        assert_eq!(either(&s(&["a", "b"])), "a or b");
        assert_eq!(all(&s(&["a", "b", "c"])), "a, b and c");
    }
}
