//! `ipamsim import-trace LOG..`: Kubernetes audit logs into a pod trace
//! (`time_s,pod,event,node`), to stdout or `--out`.

use std::path::PathBuf;

use clap::Args;
use ipamsim::import::audit;

use super::console::{emit, note, warnings};

/// `ipamsim import-trace` flags.
#[derive(Args, Debug)]
pub struct ImportTraceArgs {
    /// Audit logs.
    #[arg(required = true, value_name = "LOG")]
    logs: Vec<PathBuf>,
    /// `kubectl get pods -A -o json`: pods live at the start, and host-network pods.
    #[arg(long, value_name = "F")]
    pods: Option<PathBuf>,
    /// `kubectl get nodes -o json`: an `add` names only these nodes.
    #[arg(long, value_name = "F")]
    nodes: Option<PathBuf>,
    /// Write the trace here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Converts the logs and writes the trace.
pub fn run(args: ImportTraceArgs) -> Result<(), ipamsim::Error> {
    let ctx = audit::context_from(args.pods.as_deref(), args.nodes.as_deref())?;
    let trace = audit::convert(&args.logs, &ctx)?;
    warnings(&trace.warnings);
    if !trace.warnings.is_empty() {
        note(
            "warning",
            &format!("{} audit lines skipped", trace.warnings.len()),
        );
    }
    match args.out {
        Some(p) => std::fs::write(&p, trace.to_csv()).map_err(|source| ipamsim::Error::Io {
            path: p,
            source,
            input: false,
        })?,
        None => emit(&trace.to_csv())?,
    }
    Ok(())
}
