//! The state checker (`ipamsim::invariants`) runs beside every shipped scenario except the
//! 5,000-node one, in release builds too: no invariant breaks, and the checked run computes
//! exactly what the unchecked one does.

use std::path::Path;

use ipamsim::engine::{RunOptions, run_with};
use ipamsim::scenario::Scenario;

#[test]
fn shipped_scenarios_keep_every_invariant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for name in [
        "default",
        "sip-warm-eni",
        "warm-ip",
        "custom-networking",
        "trace-replay",
        "secondary-subnet",
        "auto-mode",
    ] {
        let s = Scenario::load(&dir.join(format!("{name}.toml")), &[]).unwrap();
        let checked = run_with(
            &s,
            RunOptions {
                check_invariants: true,
                ..RunOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let plain = run_with(
            &s,
            RunOptions {
                check_invariants: false,
                ..RunOptions::default()
            },
        )
        .unwrap();
        assert_eq!(checked, plain, "{name}: checking changed the run");
    }
}
