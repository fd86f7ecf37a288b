//! `ipamsim merge DIR.. --out DIR`: shard folders into sweep.csv, sweep.svg, sweep.html.

use std::path::PathBuf;

use clap::Args;

use super::console::{emit, plural, warnings};

/// `ipamsim merge` flags.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard folders written by `sweep --shard`, or folders holding them.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// Output folder for sweep.csv, sweep.svg and sweep.html.
    #[arg(long, required = true)]
    out: PathBuf,
}

/// Joins the shards and writes the sweep's files.
pub fn run(args: MergeArgs) -> Result<(), ipamsim::Error> {
    let merged = ipamsim::sweep::merge::merge_into(&args.dirs, &args.out)?;
    warnings(&merged.warnings);
    emit(&format!(
        "merged {} shard{} ({} empty): {} runs ({} cells × {} seed{}); wrote {}\n",
        merged.shards,
        plural(merged.shards),
        merged.empty_shards,
        merged.runs.len(),
        merged.cells,
        merged.seeds,
        plural(merged.seeds),
        args.out.display()
    ))
}
