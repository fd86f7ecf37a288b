//! What several of the binary-free tests share.

use std::path::Path;

use ipamsim::scenario::Scenario;

/// A shipped scenario, `scenarios/{name}.toml`, with `--set` overrides.
pub fn shipped(name: &str, overrides: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    Scenario::load(&path, &overrides).unwrap_or_else(|e| panic!("{name}: {e}"))
}
