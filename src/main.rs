//! The `ipamsim` command line: parse arguments, call the library, print, map errors to exit
//! codes (0 success, 2 bad input, 1 internal failure). Nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use ipamsim::scenario::Scenario;
use ipamsim::{engine, report};

/// Simulate how many IP addresses an EKS cluster burns under the Amazon VPC CNI, and when
/// the subnet runs dry.
#[derive(Parser, Debug)]
#[command(name = "ipamsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (the embedded default when none is given).
    Run(RunArgs),
    /// Run a scenario over the Cartesian product of varied settings and seeds.
    Sweep(SweepArgs),
    /// Static subnet planner: ipamd's steady state, or the EKS workbook with --spreadsheet.
    Calc(CalcArgs),
    /// Max pods per node, exactly as EKS's max-pods-calculator.sh.
    MaxPods(MaxPodsArgs),
    /// List instance types and their ENI/IP limits.
    InstanceTypes(InstanceTypesArgs),
}

#[derive(Args, Debug, Default)]
struct RunArgs {
    /// Scenario file (TOML); the embedded scenarios/default.toml when omitted.
    scenario: Option<PathBuf>,
    /// Output folder (default: output/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override a scenario key (`subnet.cidr=10.0.0.0/22`) or an aws-node variable
    /// (`WARM_IP_TARGET=5`). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Also write events.csv, every simulated event.
    #[arg(long)]
    events: bool,
}

#[derive(Args, Debug)]
struct SweepArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// A key and the values to try: `WARM_IP_TARGET=0,5,10`. Repeatable; cells are the
    /// Cartesian product.
    #[arg(long = "vary", value_name = "KEY=V1,V2,..", required = true)]
    vary: Vec<String>,
    /// Seeds per cell (seed, seed+1, ...).
    #[arg(long, default_value_t = 1)]
    seeds: u32,
    /// Parallel runs (default: number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Output folder (default: output/<scenario name>-sweep/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a scenario key for every cell. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Args, Debug)]
struct CalcArgs {}

#[derive(Args, Debug)]
struct MaxPodsArgs {}

#[derive(Args, Debug)]
struct InstanceTypesArgs {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run(args),
        Command::Sweep(_) => not_yet("sweep"),
        Command::Calc(_) => not_yet("calc"),
        Command::MaxPods(_) => not_yet("max-pods"),
        Command::InstanceTypes(_) => not_yet("instance-types"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// `ipamsim run`: load, simulate, write the output folder, print the summary.
fn run(args: RunArgs) -> Result<(), ipamsim::Error> {
    let mut overrides = args.set.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("seed={seed}"));
    }
    let (scenario, default_out) = match &args.scenario {
        Some(path) => {
            let s = Scenario::load(path, &overrides)?;
            let out = PathBuf::from("output").join(&s.name);
            (s, out)
        }
        None => (Scenario::embedded_default(&overrides)?, PathBuf::from("output/default")),
    };
    for warning in &scenario.warnings {
        eprintln!("warning: {warning}");
    }
    let out = args.out.unwrap_or(default_out);
    let started = Instant::now();
    let result = engine::run(&scenario)?;
    let wall = started.elapsed().as_secs_f64();
    report::write_run(&out, &result)?;
    if !args.quiet {
        print!("{}", report::text::summary(&result));
        println!(
            "simulated {} events in {wall:.2} s wall time ({:.0} events/s); wrote {}",
            result.summary.events,
            result.summary.events as f64 / wall.max(1e-9),
            out.display()
        );
    }
    Ok(())
}

fn not_yet(cmd: &str) -> Result<(), ipamsim::Error> {
    Err(ipamsim::Error::Usage(format!(
        "`ipamsim {cmd}` is not built yet"
    )))
}
