//! What the commands write: results to stdout through [`emit`], warnings and errors to
//! stderr through [`note`], one line each.
//!
//! Output goes through `io::Result` to the end, as ripgrep does (`crates/core/main.rs`): a
//! closed pipe (`ipamsim instance-types | head -1`) ends the command quietly with exit 0, a
//! stdout that cannot be written (`> /dev/full`) is one error line and exit 1.

use std::io::Write;
use std::path::PathBuf;

use ipamsim::Error;

/// Writes `text` to stdout. A closed pipe is success: whoever reads has what they wanted.
pub fn emit(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            path: PathBuf::from("<standard output>"),
            source: e,
            input: false,
        }),
        _ => Ok(()),
    }
}

/// One line to stderr, `kind: message`; if stderr itself is gone there is no one to tell.
pub fn note(kind: &str, message: &str) {
    // Control characters from user input (a newline in a --set value) stay visible and the
    // message stays one line.
    let mut line = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    let _ = writeln!(std::io::stderr().lock(), "{kind}: {line}");
}

/// Every warning, one `warning:` line each.
pub fn warnings(warnings: &[String]) {
    for w in warnings {
        note("warning", w);
    }
}

/// `""` for one, `"s"` otherwise.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
