//! `ipamsim sweep SCENARIO --vary KEY=V1,V2,..`: every cell × seed in parallel, then
//! sweep.csv, sweep.svg and sweep.html; with `--shard I/N`, only this shard's runs, into
//! `<out>/shard-I-of-N/` for `ipamsim merge`.

use std::time::Instant;

use clap::Args;
use ipamsim::engine;
use ipamsim::sweep::shard::ShardSpec;
use ipamsim::sweep::{self, Prepared, Vary, partial, shard};

use super::batch::BatchArgs;
use super::console::{emit, plural, warnings};

/// `ipamsim sweep` flags.
#[derive(Args, Debug)]
#[command(
    mut_arg("seeds", |a| a.help("Seeds per cell (seed, seed+1, ...)")),
    mut_arg("out", |a| a.help(
        "Output folder (default: output/<scenario name>-sweep/). With --shard: the folder \
         every shard of the sweep shares (default: output/<scenario name>-sweep-shards/); this \
         shard writes its partial folder shard-I-of-N/ inside it")),
    mut_arg("set", |a| a.help("Override a scenario key for every cell. Repeatable")),
)]
pub struct SweepArgs {
    /// A key and the values to try: `WARM_IP_TARGET=0,5,10`. Repeatable; cells are the
    /// Cartesian product.
    #[arg(long = "vary", value_name = "KEY=V1,V2,..", required = true)]
    vary: Vec<Vary>,
    #[command(flatten)]
    batch: BatchArgs,
    /// Run only shard I of N: the runs whose index is I modulo N, for `ipamsim merge`.
    /// `auto/N` takes I from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job).
    #[arg(long, value_name = "I/N|auto/N")]
    shard: Option<ShardSpec>,
}

/// The whole sweep, or one shard of it.
pub fn run(args: SweepArgs) -> Result<(), ipamsim::Error> {
    match args.shard {
        Some(spec) => run_shard(&args, spec),
        None => run_whole(&args),
    }
}

/// Every run, then the sweep's files.
fn run_whole(args: &SweepArgs) -> Result<(), ipamsim::Error> {
    let b = &args.batch;
    let text = b.scenario_text()?;
    let threads = b.threads();
    let started = Instant::now();
    let result = sweep::sweep(
        &text,
        &b.set,
        &args.vary,
        b.seeds,
        threads,
        true,
        engine::run,
    )?;
    let wall = started.elapsed().as_secs_f64();
    warnings(&result.warnings);
    let out = b.out_or(&result.name, "sweep");
    sweep::write_sweep(&out, &result.name, &result.keys, &result.runs)?;
    let cells = result.runs.len() / (b.seeds.max(1) as usize);
    emit(&format!(
        "{} runs ({cells} cells × {} seed{}) in {wall:.2} s wall time on {threads} thread{}; wrote {}\n",
        result.runs.len(),
        b.seeds,
        plural(b.seeds as usize),
        plural(threads),
        out.display()
    ))
}

/// This shard's runs into `<out>/shard-I-of-N/`.
fn run_shard(args: &SweepArgs, spec: ShardSpec) -> Result<(), ipamsim::Error> {
    let b = &args.batch;
    let shard = spec.resolve(|k| std::env::var(k).ok())?;
    let text = b.scenario_text()?;
    let threads = b.threads();
    let started = Instant::now();
    let prepared = Prepared::new(&text, &b.set, &args.vary, b.seeds)?;
    warnings(&prepared.warnings);
    let result = shard::run(&text, &b.set, &prepared, shard, threads, true, engine::run)?;
    let wall = started.elapsed().as_secs_f64();
    let out = b
        .out_or(&prepared.name, "sweep-shards")
        .join(shard.folder_name());
    partial::write(&out, &result)?;
    let m = &result.manifest;
    if m.empty {
        emit(&format!(
            "shard {}/{} holds no runs (the sweep has {}): an empty shard; wrote {}\n",
            m.shard,
            m.shards,
            m.runs_total,
            out.display()
        ))
    } else {
        emit(&format!(
            "shard {}/{}: {} of {} runs in {wall:.2} s wall time on {threads} thread{}; wrote {}\n",
            m.shard,
            m.shards,
            m.runs.len(),
            m.runs_total,
            plural(threads),
            out.display()
        ))
    }
}
