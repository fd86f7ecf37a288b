//! The library's error type and its exit codes.
//!
//! Each module owns a `thiserror` error for its own failures; [`Error`] gathers them so the
//! binary can map any failure to DESIGN.md's exit codes: 2 for bad input (scenario, flags,
//! trace, data), 1 for an internal failure (an output folder that cannot be written).

use std::path::PathBuf;

/// Any failure the library reports to the binary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An unknown instance type.
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    /// A bad subnet, CIDR, reservation or background load.
    #[error(transparent)]
    Subnet(#[from] crate::subnet::SubnetError),
    /// A scenario (or one of its trace files) that cannot be run.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// An exported file (`[start]`, `ipamsim import`) that cannot be used.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// A bad `calc`, `max-pods` or `instance-types` command line.
    #[error(transparent)]
    Calc(#[from] crate::calc::CalcError),
    /// A bad `--shard`, or shard folders `merge` refuses.
    #[error(transparent)]
    Shard(#[from] crate::sweep::shard::ShardError),
    /// A bad command-line value (the message says which flag and what to do).
    #[error("{0}")]
    Usage(String),
    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
        /// Whether this is the user's input (exit 2) or our output (exit 1).
        input: bool,
    },
}

impl Error {
    /// DESIGN.md §3: 2 for bad input, 1 for an internal failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Io { input: false, .. } => 1,
            _ => 2,
        }
    }
}
