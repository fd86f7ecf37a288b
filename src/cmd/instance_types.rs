//! `ipamsim instance-types [PATTERN]`: the catalog. The flags are
//! `ipamsim::calc::InstanceTypesArgs`.

use std::io::IsTerminal;

use ipamsim::calc::InstanceTypesArgs;

use super::console::emit;

/// Prints the matching types; the table has a header line only on a terminal.
pub fn run(args: &InstanceTypesArgs) -> Result<(), ipamsim::Error> {
    let types = args.list()?;
    let header = std::io::stdout().is_terminal();
    emit(&ipamsim::calc::format::instance_types(
        &types,
        args.format,
        header,
    ))
}
