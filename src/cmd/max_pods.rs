//! `ipamsim max-pods`: EKS's max-pods-calculator.sh. The flags are
//! `ipamsim::calc::MaxPodsArgs`.

use ipamsim::calc::MaxPodsArgs;

use super::console::emit;

/// Prints the max pods of the type.
pub fn run(args: &MaxPodsArgs) -> Result<(), ipamsim::Error> {
    let pods = ipamsim::catalog::max_pods(args.instance_type, &args.options());
    emit(&format!("{pods}\n"))
}
