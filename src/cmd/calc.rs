//! `ipamsim calc`: the static subnet planners. The flags are `ipamsim::calc::CalcArgs`.

use ipamsim::calc::{self, CalcArgs};

use super::console::emit;

/// Checks the flags, runs the chosen calculator, prints its report.
pub fn run(args: &CalcArgs) -> Result<(), ipamsim::Error> {
    let req = args.request()?;
    emit(&calc::format::render(&calc::run(&req), req.format))
}
