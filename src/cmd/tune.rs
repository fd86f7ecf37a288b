//! `ipamsim tune SCENARIO`: coarse grid + refinement, then tune.csv/json/html and winner/.

use std::time::Instant;

use clap::Args;
use ipamsim::criteria::Criteria;
use ipamsim::tune::{self, Objective, space::Space};

use super::batch::BatchArgs;
use super::console::{emit, plural, warnings};
use super::spec::{self, Spec};

/// `ipamsim tune` flags.
#[derive(Args, Debug)]
#[command(
    mut_arg("seeds", |a| a.default_value("3")),
    mut_arg("out", |a| a.help("Output folder (default: output/<scenario name>-tune/)")),
    mut_arg("set", |a| a.help(
        "Override a scenario key for every run (not the tuned variables). Repeatable")),
)]
pub struct TuneArgs {
    /// Narrow the space: `mode=sip;WARM_IP_TARGET=unset,1-16;MINIMUM_IP_TARGET=0-32`
    /// (dimensions not named keep the default: mode=sip,pd; WARM_ENI_TARGET=0-3;
    /// WARM_IP_TARGET=unset,1-32; MINIMUM_IP_TARGET=unset,1-64; WARM_PREFIX_TARGET=0-4).
    #[arg(long, value_name = "SPEC", value_parser = Spec(spec::space))]
    space: Option<Space>,
    /// What to minimise (mean over seeds).
    #[arg(long, value_enum, default_value_t = Objective::PeakIps, value_name = "M")]
    objective: Objective,
    /// What every seed must meet, changing the defaults column by column (defaults:
    /// ip_wait_p99_s<=fastest+2, ec2_throttled=0, insufficient_cidr_blocks=0,
    /// insufficient_free_addresses=0).
    #[arg(long, value_name = "C", value_parser = Spec(spec::constraints))]
    constraints: Option<Criteria>,
    #[command(flatten)]
    batch: BatchArgs,
}

/// Searches, writes the folder, prints the winner.
pub fn run(args: TuneArgs) -> Result<(), ipamsim::Error> {
    let b = &args.batch;
    let req = tune::Request {
        space: args.space.clone().unwrap_or_default(),
        objective: args.objective,
        constraints: args
            .constraints
            .clone()
            .unwrap_or_else(Criteria::tune_defaults),
        sets: b.set.clone(),
        seeds: b.seeds,
        threads: b.threads(),
        progress: true,
    };
    let text = b.scenario_text()?;
    let started = Instant::now();
    let t = tune::tune(&text, &req)?;
    let wall = started.elapsed().as_secs_f64();
    warnings(&t.warnings);
    let out = b.out_or(&t.name, "tune");
    tune::page::write_tune(&out, &t)?;
    emit(&format!(
        "{}{} setting{} × {} seed{} ({} refine round{}) in {wall:.2} s wall time; wrote {}\n",
        tune::page::tune_text(&t),
        t.evaluated.len(),
        plural(t.evaluated.len()),
        t.seeds.len(),
        plural(t.seeds.len()),
        t.rounds,
        plural(t.rounds as usize),
        out.display()
    ))
}
