//! The `ipamsim` binary: parse the command line, run one command, map the outcome to an exit
//! code — 0 success, 2 bad input (a flag clap refuses, or a library error of that kind), 1
//! internal failure. Each command is a module of [`cmd`]; nothing else lives here.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cmd::Cli;
use cmd::console::note;

/// Huge pages for the simulation's memory (`src/hugepages.rs`).
#[global_allocator]
static ALLOC: ipamsim::hugepages::HugePages = ipamsim::hugepages::HugePages;

fn main() -> ExitCode {
    ipamsim::hugepages::grow_heap_in_large_steps();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => return cmd::flag_error::report(&err, &Cli::command_name(&args)),
    };
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            note("error", &err.to_string());
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
