//! "Byte-identical on any machine", checked across machines: the SHA-256 of every file that
//! `ipamsim run --events` writes for the default scenario and one scenario per feature is
//! checked in (`tests/digests.txt`), so a platform difference (a libm, a float format, a
//! hash order) or an unintended change of output shows up as a failing test naming the file.
//!
//! An intended change of output regenerates the list:
//! `IPAMSIM_UPDATE_DIGESTS=1 cargo test --release --test digests`, and the commit says why
//! the outputs changed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

/// One scenario per feature: prefix delegation with other tenants (the embedded default),
/// secondary IPs with WARM_ENI_TARGET, WARM_IP_TARGET + MINIMUM_IP_TARGET, custom networking,
/// a replayed trace, a run started from imported AWS/kubectl exports with an audit-log workload,
/// a Karpenter node pool over a day.
const SCENARIOS: [&str; 7] = [
    "default",
    "sip-warm-eni",
    "warm-ip",
    "custom-networking",
    "trace-replay",
    "imported/scenario",
    "karpenter",
];

const LIST: &str = "tests/digests.txt";

/// `scenario/file  sha256` for every output file, in name order.
fn digests(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in SCENARIOS {
        let dir = root.join(name.replace('/', "-"));
        let status = Command::new(env!("CARGO_BIN_EXE_ipamsim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "run",
                &format!("scenarios/{name}.toml"),
                "--events",
                "--out",
            ])
            .arg(&dir)
            .output()
            .expect("the binary runs");
        assert!(
            status.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = fs::read(&path).unwrap();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let hex: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            out.insert(format!("{name}/{file}"), hex);
        }
    }
    out
}

#[test]
fn every_output_file_matches_its_checked_in_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let now = digests(tmp.path());
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join(LIST);
    if std::env::var_os("IPAMSIM_UPDATE_DIGESTS").is_some() {
        let text: String = now.iter().map(|(f, d)| format!("{d}  {f}\n")).collect();
        fs::write(&list, text).unwrap();
        return;
    }
    let text = fs::read_to_string(&list).unwrap();
    let want: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(d, f)| (f.to_string(), d.to_string()))
        .collect();
    let mut wrong = Vec::new();
    for (file, digest) in &want {
        match now.get(file) {
            None => wrong.push(format!("{file}: no longer written")),
            Some(d) if d != digest => wrong.push(format!("{file}: bytes differ")),
            Some(_) => {}
        }
    }
    for file in now.keys().filter(|f| !want.contains_key(*f)) {
        wrong.push(format!("{file}: new file, not in {LIST}"));
    }
    assert!(
        wrong.is_empty(),
        "outputs differ from {LIST} (regenerate with IPAMSIM_UPDATE_DIGESTS=1 if intended):\n{}",
        wrong.join("\n")
    );
}
