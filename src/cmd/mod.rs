//! The commands of the `ipamsim` binary, one module each (ripgrep/xsv style): a command's
//! module defines its flags (a clap `Args` struct) and its `run`, which calls the library and
//! prints. `main.rs` only parses, dispatches and maps the outcome to an exit code.
//!
//! | module | command |
//! |---|---|
//! | [`run`] | `ipamsim run` (also `ipamsim` alone) |
//! | [`sweep`] | `ipamsim sweep`, `sweep --shard I/N` |
//! | [`merge`] | `ipamsim merge` |
//! | [`headroom`] | `ipamsim headroom` |
//! | [`tune`] | `ipamsim tune` |
//! | [`calc`] | `ipamsim calc` (flags: `ipamsim::calc::CalcArgs`) |
//! | [`max_pods`] | `ipamsim max-pods` (flags: `ipamsim::calc::MaxPodsArgs`) |
//! | [`instance_types`] | `ipamsim instance-types` (flags: `ipamsim::calc::InstanceTypesArgs`) |
//! | [`import`] | `ipamsim import` |
//! | [`import_trace`] | `ipamsim import-trace` |
//!
//! Shared pieces: [`batch`] holds the flags `sweep`, `headroom` and `tune` share, defined once
//! and flattened into each; [`spec`] checks the flags whose value is a small language
//! (`--until`, `--constraints`, `--space`); [`console`] writes stdout and stderr; [`flag_error`] turns clap's
//! errors into one line. The planners' flags live in the library (`ipamsim::calc::flags`),
//! beside the checks they need, and are embedded here unchanged.

pub mod batch;
pub mod calc;
pub mod console;
pub mod flag_error;
pub mod headroom;
pub mod import;
pub mod import_trace;
pub mod instance_types;
pub mod max_pods;
pub mod merge;
pub mod run;
pub mod spec;
pub mod sweep;
pub mod tune;

use clap::{CommandFactory, Parser, Subcommand};

/// Simulate how many IP addresses an EKS cluster burns under the Amazon VPC CNI, and when
/// the subnet runs dry.
#[derive(Parser, Debug)]
#[command(name = "ipamsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (the embedded default when none is given).
    Run(run::RunArgs),
    /// Run a scenario over the Cartesian product of varied settings and seeds.
    Sweep(sweep::SweepArgs),
    /// Join the folders of `sweep --shard I/N` into the sweep's own files.
    Merge(merge::MergeArgs),
    /// How far one size (a node group, a deployment, the load) can grow before a run fails.
    Headroom(headroom::HeadroomArgs),
    /// Which aws-node settings hold the fewest addresses without slowing pods or tripping EC2.
    Tune(tune::TuneArgs),
    /// Static subnet planner: ipamd's steady state, or the EKS workbook with --spreadsheet.
    Calc(ipamsim::calc::CalcArgs),
    /// Max pods per node, exactly as EKS's max-pods-calculator.sh.
    MaxPods(ipamsim::calc::MaxPodsArgs),
    /// List instance types and their ENI/IP limits.
    InstanceTypes(ipamsim::calc::InstanceTypesArgs),
    /// Start from a real cluster: read `aws`/`kubectl` exports, write a scenario folder.
    Import(import::ImportArgs),
    /// Convert Kubernetes audit logs to a pod trace (time_s,pod,event,node).
    ImportTrace(import_trace::ImportTraceArgs),
}

impl Cli {
    /// Runs the command; `ipamsim` alone is `ipamsim run`.
    pub fn run(self) -> Result<(), ipamsim::Error> {
        match self.command.unwrap_or_default() {
            Command::Run(args) => run::run(args),
            Command::Sweep(args) => sweep::run(args),
            Command::Merge(args) => merge::run(args),
            Command::Headroom(args) => headroom::run(args),
            Command::Tune(args) => tune::run(args),
            Command::Calc(args) => calc::run(&args),
            Command::MaxPods(args) => max_pods::run(&args),
            Command::InstanceTypes(args) => instance_types::run(&args),
            Command::Import(args) => import::run(args),
            Command::ImportTrace(args) => import_trace::run(args),
        }
    }

    /// What the command line runs, for messages: `ipamsim calc`, or `ipamsim` when its first
    /// argument names no command.
    pub fn command_name(args: &[std::ffi::OsString]) -> String {
        let cli = Cli::command();
        match args
            .get(1)
            .and_then(|a| a.to_str())
            .and_then(|a| cli.find_subcommand(a))
        {
            Some(sub) => format!("ipamsim {}", sub.get_name()),
            None => "ipamsim".to_string(),
        }
    }
}

impl Default for Command {
    fn default() -> Command {
        Command::Run(run::RunArgs::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_a_valid_clap_command() {
        Cli::command().debug_assert();
    }

    /// `token` in `text` as a whole flag or name (`--seed` is not found in `--seeds`).
    fn has(text: &str, token: &str) -> bool {
        text.match_indices(token).any(|(i, _)| {
            let after = text[i + token.len()..].chars().next();
            !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
    }

    /// README's command reference: a synopsis line per command, a table row per flag.
    #[test]
    fn the_readme_lists_every_command_and_every_flag() {
        let readme = include_str!("../../README.md");
        let block = readme
            .split("```text\nipamsim [run]")
            .nth(1)
            .expect("README's command reference");
        let block = format!("ipamsim [run]{}", &block[..block.find("```").unwrap()]);
        let synopses: Vec<&str> = block.lines().collect();
        let rows: Vec<Vec<&str>> = readme
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.split(" | ").collect())
            .collect();
        let cli = Cli::command();
        for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = sub.get_name();
            let head = if name == "run" {
                "ipamsim [run] ".to_string()
            } else {
                format!("ipamsim {name} ")
            };
            let Some(line) = synopses.iter().find(|l| l.starts_with(&head)) else {
                panic!("README has no synopsis `{head}…`");
            };
            let mut longs = Vec::new();
            for arg in sub.get_arguments().filter(|a| a.get_id() != "help") {
                let token = match (arg.get_long(), arg.get_value_names()) {
                    (Some(long), _) => format!("--{long}"),
                    (None, Some([v, ..])) => v.to_string(),
                    (None, _) => arg.get_id().as_str().to_uppercase(),
                };
                assert!(has(line, &token), "`{head}` synopsis lacks {token}");
                let documented = rows.iter().any(|r| {
                    r.len() >= 3 && has(r[0], &token) && r[1].split(", ").any(|c| c == name)
                });
                assert!(documented, "README's flag table lacks {token} of {name}");
                longs.extend(arg.get_long());
            }
            // And nothing the command does not have.
            for word in line.split([' ', '[', ']']).filter(|w| w.starts_with("--")) {
                let flag = word.trim_end_matches('.');
                assert!(
                    longs.iter().any(|l| flag == format!("--{l}")),
                    "`{head}` synopsis has {flag}, which {name} does not take"
                );
            }
        }
    }

    #[test]
    fn messages_name_the_command_run() {
        let name = |args: &[&str]| {
            let v: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            Cli::command_name(&v)
        };
        assert_eq!(name(&["ipamsim", "max-pods", "--x"]), "ipamsim max-pods");
        assert_eq!(name(&["ipamsim", "frobnicate"]), "ipamsim");
        assert_eq!(name(&["ipamsim"]), "ipamsim");
    }
}
