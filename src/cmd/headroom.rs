//! `ipamsim headroom SCENARIO --grow KEY`: the search, then headroom.csv/json/html and
//! first-failing/.

use std::time::Instant;

use clap::Args;
use ipamsim::criteria::Criteria;
use ipamsim::headroom;

use super::batch::BatchArgs;
use super::console::{emit, plural, warnings};
use super::spec::{self, Spec};

/// `ipamsim headroom` flags.
#[derive(Args, Debug)]
#[command(
    mut_arg("seeds", |a| a.help(
        "Seeds per value (seed, seed+1, ...); a value passes only if every seed does")),
    mut_arg("out", |a| a.help("Output folder (default: output/<scenario name>-headroom/)")),
)]
pub struct HeadroomArgs {
    /// The integer key to grow, in --set syntax (`nodegroup.general.count`), or
    /// `workload.NAME.replicas` (every step scaled), or `load` (every workload, in percent).
    #[arg(long, value_name = "KEY")]
    grow: String,
    /// What a run must meet to pass, changing the defaults column by column:
    /// `ip_wait_p99_s<=30,throttled=0` (defaults: insufficient_cidr_blocks=0,
    /// insufficient_free_addresses=0, nodes_launch_failed=0, pods_unschedulable_after_ready=0,
    /// ip_wait_p99_after_ready_s<=10; `COLUMN=any` drops one).
    #[arg(long, value_name = "CRITERIA", value_parser = Spec(spec::until))]
    until: Option<Criteria>,
    #[command(flatten)]
    batch: BatchArgs,
}

/// Searches, writes the folder, prints the answer.
pub fn run(args: HeadroomArgs) -> Result<(), ipamsim::Error> {
    let b = &args.batch;
    let text = b.scenario_text()?;
    let req = headroom::Request {
        grow: args.grow.clone(),
        until: args.until.unwrap_or_else(Criteria::headroom_defaults),
        sets: b.set.clone(),
        seeds: b.seeds,
        threads: b.threads(),
        progress: true,
    };
    let started = Instant::now();
    let h = headroom::headroom(&text, &req)?;
    let wall = started.elapsed().as_secs_f64();
    warnings(&h.warnings);
    let out = b.out_or(&h.name, "headroom");
    headroom::page::write_headroom(&out, &h)?;
    emit(&format!(
        "{}.\n{} probe{} × {} seed{} in {wall:.2} s wall time; wrote {}\n",
        h.sentence().replace('`', ""),
        h.probes.len(),
        plural(h.probes.len()),
        h.seeds.len(),
        plural(h.seeds.len()),
        out.display()
    ))
}
