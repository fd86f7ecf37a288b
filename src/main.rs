//! The `ipamsim` binary: parse the command line, run one command, map the outcome to an exit
//! code — 0 success, 2 bad input (a flag clap refuses, or a library error of that kind), 1
//! internal failure. Each command is a module of [`cmd`]; nothing else lives here.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cmd::Cli;
use cmd::console::note;

fn main() -> ExitCode {
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
