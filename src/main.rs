//! The `ipamsim` command line: parse arguments, call the library, print, map errors to exit
//! codes (0 success, 2 bad input, 1 internal failure). Nothing else lives here.
//!
//! Output goes through `io::Result` to the end, as ripgrep does (`crates/core/main.rs`): a
//! closed pipe (`ipamsim instance-types | head -1`) ends the command quietly with exit 0, a
//! stdout that cannot be written (`> /dev/full`) is one error line and exit 1. Flag errors
//! from clap are one line too (the first line of clap's message, then a pointer to --help).

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::{IsTerminal, Write};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ipamsim::engine::RunOptions;

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
    /// Join the folders of `sweep --shard I/N` into the sweep's own files.
    Merge(MergeArgs),
    /// How far one size (a node group, a deployment, the load) can grow before a run fails.
    Headroom(HeadroomArgs),
    /// Which aws-node settings hold the fewest addresses without slowing pods or tripping EC2.
    Tune(TuneArgs),
    /// Static subnet planner: ipamd's steady state, or the EKS workbook with --spreadsheet.
    Calc(CalcArgs),
    /// Max pods per node, exactly as EKS's max-pods-calculator.sh.
    MaxPods(MaxPodsArgs),
    /// List instance types and their ENI/IP limits.
    InstanceTypes(InstanceTypesArgs),
    /// Start from a real cluster: read `aws`/`kubectl` exports, write a scenario folder.
    Import(ImportArgs),
    /// Convert Kubernetes audit logs to a pod trace (time_s,pod,event,node).
    ImportTrace(ImportTraceArgs),
}

/// The exports of spec/real-inputs.md; README "Plan for the cluster you have".
#[derive(Args, Debug)]
struct ImportArgs {
    /// `aws ec2 describe-subnets --output json`.
    #[arg(long, value_name = "F")]
    subnets: Option<PathBuf>,
    /// `aws ec2 describe-network-interfaces --filters Name=subnet-id,Values=… --output json`. Repeatable.
    #[arg(long, value_name = "F")]
    enis: Vec<PathBuf>,
    /// `aws ec2 get-subnet-cidr-reservations --subnet-id … --output json`, one per subnet. Repeatable.
    #[arg(long, value_name = "F")]
    reservations: Vec<PathBuf>,
    /// `kubectl get nodes -o json`.
    #[arg(long, value_name = "F")]
    nodes: Option<PathBuf>,
    /// `kubectl get pods -A -o json`.
    #[arg(long, value_name = "F")]
    pods: Option<PathBuf>,
    /// `kubectl get daemonset aws-node -n kube-system -o json`.
    #[arg(long = "aws-node", value_name = "F")]
    aws_node: Option<PathBuf>,
    /// The API server's audit log (JSON lines; CloudWatch exports too). Repeatable.
    #[arg(long = "audit-log", value_name = "F")]
    audit_log: Vec<PathBuf>,
    /// The folder to write (copies, scenario.toml, import.json).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct ImportTraceArgs {
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

impl ImportArgs {
    fn run(self) -> Result<(), ipamsim::Error> {
        use ipamsim::import::{Sources, write};
        let req = write::ImportRequest {
            sources: Sources {
                subnets: self.subnets,
                network_interfaces: self.enis,
                reservations: self.reservations,
                nodes: self.nodes,
                pods: self.pods,
                aws_node: self.aws_node,
            },
            audit_logs: self.audit_log,
            out: self.out.clone(),
        };
        let done = write::import(&req)?;
        for w in &done.warnings {
            eprintln!("warning: {w}");
        }
        print!("{}", done.account.summary());
        println!("wrote {}", self.out.join("scenario.toml").display());
        Ok(())
    }
}

impl ImportTraceArgs {
    fn run(self) -> Result<(), ipamsim::Error> {
        use ipamsim::import::audit;
        let ctx = audit::context_from(self.pods.as_deref(), self.nodes.as_deref())?;
        let trace = audit::convert(&self.logs, &ctx)?;
        for w in &trace.warnings {
            eprintln!("warning: {w}");
        }
        if !trace.warnings.is_empty() {
            eprintln!("warning: {} audit lines skipped", trace.warnings.len());
        }
        match self.out {
            Some(p) => std::fs::write(&p, trace.to_csv()).map_err(|source| ipamsim::Error::Io {
                path: p,
                source,
                input: false,
            })?,
            None => print!("{}", trace.to_csv()),
        }
        Ok(())
    }
}

#[derive(Args, Debug, Default)]
struct RunArgs {
    /// Scenario file (TOML); the embedded scenarios/default.toml when omitted.
    scenario: Option<PathBuf>,
    /// Output folder (default: output/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override the scenario's seed (any integer 0 to 18446744073709551615).
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
    #[arg(long, default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(ipamsim::sweep::MAX_RUNS)))]
    seeds: u32,
    /// Parallel runs (default and most: the machine's available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Output folder (default: output/<scenario name>-sweep/). With --shard: the folder
    /// every shard of the sweep shares (default: output/<scenario name>-sweep-shards/); this
    /// shard writes its partial folder shard-I-of-N/ inside it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a scenario key for every cell. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run only shard I of N: the runs whose index is I modulo N, for `ipamsim merge`.
    /// `auto/N` takes I from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job).
    #[arg(long, value_name = "I/N|auto/N")]
    shard: Option<String>,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Shard folders written by `sweep --shard`, or folders holding them.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// Output folder for sweep.csv, sweep.svg and sweep.html.
    #[arg(long, required = true)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct HeadroomArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// The integer key to grow, in --set syntax (`nodegroup.general.count`), or
    /// `workload.NAME.replicas` (every step scaled), or `load` (every workload, in percent).
    #[arg(long, value_name = "KEY")]
    grow: String,
    /// What a run must meet to pass, changing the defaults column by column:
    /// `ip_wait_p99_s<=30,throttled=0` (defaults: insufficient_cidr_blocks=0,
    /// insufficient_free_addresses=0, nodes_launch_failed=0, pods_unschedulable_after_ready=0,
    /// ip_wait_p99_s<=10; `COLUMN=any` drops one).
    #[arg(long, value_name = "CRITERIA")]
    until: Option<String>,
    /// Seeds per value (seed, seed+1, ...); a value passes only if every seed does.
    #[arg(long, default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(ipamsim::sweep::MAX_RUNS)))]
    seeds: u32,
    /// Parallel runs (default and most: the machine's available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Output folder (default: output/<scenario name>-headroom/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a scenario key for every run. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Args, Debug)]
struct TuneArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// Narrow the space: `mode=sip;WARM_IP_TARGET=unset,1-16;MINIMUM_IP_TARGET=0-32`
    /// (dimensions not named keep the default: mode=sip,pd; WARM_ENI_TARGET=0-3;
    /// WARM_IP_TARGET=unset,1-32; MINIMUM_IP_TARGET=unset,1-64; WARM_PREFIX_TARGET=0-4).
    #[arg(long, value_name = "SPEC")]
    space: Option<String>,
    /// What to minimise (mean over seeds): peak_ips, subnet_used_peak or ec2_calls.
    #[arg(long, default_value = "peak_ips", value_name = "M")]
    objective: String,
    /// What every seed must meet, changing the defaults column by column (defaults:
    /// ip_wait_p99_s<=fastest+2, ec2_throttled=0, insufficient_cidr_blocks=0,
    /// insufficient_free_addresses=0).
    #[arg(long, value_name = "C")]
    constraints: Option<String>,
    /// Seeds per setting (seed, seed+1, ...).
    #[arg(long, default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(ipamsim::sweep::MAX_RUNS)))]
    seeds: u32,
    /// Parallel runs (default and most: the machine's available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Output folder (default: output/<scenario name>-tune/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a scenario key for every run (not the tuned variables). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

// Values are taken as text and checked by the library, so every mistake is one line.
#[derive(Args, Debug)]
#[command(
    after_help = "Without --spreadsheet: the pool ipamd settles at for each row, against \
the subnet's usable addresses (2^(32-p) - 5), beside the workbook's figures and why they differ."
)]
struct CalcArgs {
    /// The (pod) subnet, /16 to /28: `10.0.0.0/20`.
    #[arg(long, value_name = "CIDR")]
    subnet: Option<String>,
    /// Node groups: instance type, node count, workload pods per node. Comma-separated or
    /// repeated.
    #[arg(long, value_name = "TYPE:COUNT:PODS[,..]")]
    instances: Vec<String>,
    /// ENABLE_PREFIX_DELEGATION=true.
    #[arg(long)]
    prefix_delegation: bool,
    /// WARM_ENI_TARGET (default 1); with --spreadsheet, its WarmENI sheet (the default).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    warm_eni_target: Option<String>,
    /// WARM_PREFIX_TARGET (default 1, as the EKS manifest ships).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    warm_prefix_target: Option<String>,
    /// WARM_IP_TARGET; with --spreadsheet, its WarmIP sheet.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    warm_ip_target: Option<String>,
    /// MINIMUM_IP_TARGET.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    minimum_ip_target: Option<String>,
    /// MAX_ENI: attach at most N ENIs per node.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    max_eni: Option<String>,
    /// AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true: pods on secondary ENIs in this subnet.
    #[arg(long)]
    custom_networking: bool,
    /// Reproduce the EKS best-practices subnet-calculator workbook instead, quirks included.
    #[arg(long)]
    spreadsheet: bool,
    /// Host-network pods per node (default 2): they count against max pods; the workbook
    /// also counts each as an address.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    host_network_ips: Option<String>,
    /// Output: table (default), csv or json.
    #[arg(long, value_name = "table|csv|json")]
    format: Option<String>,
}

/// The flags of EKS's max-pods-calculator.sh.
#[derive(Args, Debug)]
struct MaxPodsArgs {
    /// The instance type.
    #[arg(long, value_name = "T")]
    instance_type: Option<String>,
    /// The VPC CNI version (default: the latest, 1.23.1).
    #[arg(long, value_name = "X.Y.Z")]
    cni_version: Option<String>,
    /// Custom networking: the primary ENI carries no pods.
    #[arg(long)]
    cni_custom_networking_enabled: bool,
    /// Prefix delegation (CNI 1.9 or later, Nitro types).
    #[arg(long)]
    cni_prefix_delegation_enabled: bool,
    /// Use at most N ENIs.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    cni_max_eni: Option<String>,
    /// The raw maximum, without the 110/250 ceiling.
    #[arg(long)]
    show_max_allowed: bool,
}

#[derive(Args, Debug)]
#[command(
    after_help = "One type per line: name, ENIs (default network card), IPv4 addresses per \
ENI, hypervisor, vCPUs (- when unknown), max pods in secondary-IP and in prefix mode (the \
max-pods calculator, latest CNI). The table has a header line only on a terminal."
)]
struct InstanceTypesArgs {
    /// Name filter: a substring (`m5.`) or a glob (`c6?.*large`).
    pattern: Option<String>,
    /// Output: table (default), csv or json.
    #[arg(long, value_name = "table|csv|json")]
    format: Option<String>,
}

impl CalcArgs {
    fn run(self) -> Result<(), ipamsim::Error> {
        use ipamsim::calc;
        let req = calc::CalcFlags {
            subnet: self.subnet,
            instances: self.instances,
            prefix_delegation: self.prefix_delegation,
            warm_eni_target: self.warm_eni_target,
            warm_prefix_target: self.warm_prefix_target,
            warm_ip_target: self.warm_ip_target,
            minimum_ip_target: self.minimum_ip_target,
            max_eni: self.max_eni,
            custom_networking: self.custom_networking,
            spreadsheet: self.spreadsheet,
            host_network_ips: self.host_network_ips,
            format: self.format,
        }
        .request()?;
        emit(&calc::format::render(&calc::run(&req), req.format))
    }
}

impl MaxPodsArgs {
    fn run(self) -> Result<(), ipamsim::Error> {
        let (t, opts) = ipamsim::calc::MaxPodsFlags {
            instance_type: self.instance_type,
            cni_version: self.cni_version,
            custom_networking: self.cni_custom_networking_enabled,
            prefix_delegation: self.cni_prefix_delegation_enabled,
            cni_max_eni: self.cni_max_eni,
            show_max_allowed: self.show_max_allowed,
        }
        .options()?;
        emit(&format!("{}\n", ipamsim::catalog::max_pods(t, &opts)))
    }
}

impl InstanceTypesArgs {
    fn run(self) -> Result<(), ipamsim::Error> {
        use std::io::IsTerminal;
        let (types, format) = ipamsim::calc::InstanceTypesFlags {
            pattern: self.pattern,
            format: self.format,
        }
        .list()?;
        let header = std::io::stdout().is_terminal();
        emit(&ipamsim::calc::format::instance_types(
            &types, format, header,
        ))
    }
}

/// Writes `text` to stdout. A closed pipe is success: whoever reads has what they wanted.
fn emit(text: &str) -> Result<(), ipamsim::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(ipamsim::Error::Io {
            path: PathBuf::from("<standard output>"),
            source: e,
            input: false,
        }),
        _ => Ok(()),
    }
}

/// One line to stderr; if stderr itself is gone there is no one to tell.
fn note(kind: &str, message: &str) {
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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_error(&err),
    };
    let result = match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run(args),
        Command::Sweep(args) => match args.shard.clone() {
            Some(spec) => sweep_shard(args, &spec),
            None => sweep(args),
        },
        Command::Merge(args) => merge(args),
        Command::Headroom(args) => headroom(args),
        Command::Tune(args) => tune(args),
        Command::Calc(args) => args.run(),
        Command::MaxPods(args) => args.run(),
        Command::InstanceTypes(args) => args.run(),
        Command::Import(args) => args.run(),
        Command::ImportTrace(args) => args.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            note("error", &err.to_string());
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// `--help` and `--version` as clap prints them; a flag error as one line, exit 2.
fn clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return match emit(&err.render().to_string()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                note("error", &e.to_string());
                ExitCode::from(1)
            }
        };
    }
    // clap's message is paragraphs: the error (with any list it names), tips, the usage and
    // a pointer to --help. Keep the error and the tips, on one line.
    let text = err.render().to_string();
    let mut kept: Vec<String> = Vec::new();
    for (i, paragraph) in text.split("\n\n").enumerate() {
        let words: Vec<&str> = paragraph.split_whitespace().collect();
        if i == 0 || words.first() == Some(&"tip:") {
            kept.push(words.join(" "));
        }
    }
    let line = kept.join("; ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    note("error", &format!("{line} (see ipamsim --help)"));
    ExitCode::from(2)
}

/// `ipamsim run`: load, simulate, write the output folder, print the summary.
fn run(args: RunArgs) -> Result<(), ipamsim::Error> {
    let (mut scenario, default_out) = match &args.scenario {
        Some(path) => {
            let s = Scenario::load(path, &args.set)?;
            let out = PathBuf::from("output").join(&s.name);
            (s, out)
        }
        None => (
            Scenario::embedded_default(&args.set)?,
            PathBuf::from("output/default"),
        ),
    };
    // Any u64, straight onto the scenario: a TOML integer (and so `--set seed=`) stops at
    // i64::MAX, and the flag is not a `--set` the user wrote.
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    for warning in &scenario.warnings {
        note("warning", warning);
    }
    let out = args.out.unwrap_or(default_out);
    let started = Instant::now();
    // A bar only for long runs (≥ 2,000 node-hours) on a terminal.
    let node_hours = u64::from(scenario.node_count()) * scenario.duration / 3_600_000;
    let bar = if !args.quiet && node_hours >= 2_000 && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(scenario.duration / 1000);
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {pos}/{len} simulated s  {elapsed} elapsed, ~{eta} left",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let (result, events) =
        engine::run_observed(&scenario, RunOptions::default(), args.events, &mut |t| {
            bar.set_position(t / 1000)
        })?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    report::write_run_with(&out, &result, |dir| match &events {
        None => Ok(()),
        Some(log) => log.write_into(dir),
    })?;
    if !args.quiet {
        emit(&format!(
            "{}simulated {} events in {wall:.2} s wall time ({:.0} events/s); wrote {}\n",
            report::text::summary(&result),
            result.summary.events,
            result.summary.events as f64 / wall.max(1e-9),
            out.display()
        ))?;
    }
    Ok(())
}

/// `ipamsim sweep`: every cell × seed in parallel, then sweep.csv, sweep.svg, sweep.html.
fn sweep(args: SweepArgs) -> Result<(), ipamsim::Error> {
    use ipamsim::sweep::{self, Vary};
    let varies = args
        .vary
        .iter()
        .map(|v| v.parse::<Vary>())
        .collect::<Result<Vec<_>, _>>()?;
    let text = ipamsim::scenario::ScenarioText::read(&args.scenario)?;
    let threads = threads(args.jobs);
    let started = Instant::now();
    let result = sweep::sweep(
        &text,
        &args.set,
        &varies,
        args.seeds,
        threads,
        true,
        engine::run,
    )?;
    let wall = started.elapsed().as_secs_f64();
    for warning in &result.warnings {
        note("warning", warning);
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}-sweep", result.name)));
    sweep::write_sweep(&out, &result.name, &result.keys, &result.runs)?;
    let cells = result.runs.len() / (args.seeds.max(1) as usize);
    emit(&format!(
        "{} runs ({cells} cells × {} seed{}) in {wall:.2} s wall time on {threads} thread{}; wrote {}\n",
        result.runs.len(),
        args.seeds,
        if args.seeds == 1 { "" } else { "s" },
        if threads == 1 { "" } else { "s" },
        out.display()
    ))
}

/// `ipamsim sweep --shard I/N`: this shard's runs into `<out>/shard-I-of-N/`.
fn sweep_shard(args: SweepArgs, spec: &str) -> Result<(), ipamsim::Error> {
    use ipamsim::sweep::{Prepared, Vary, partial, shard};
    let shard = spec
        .parse::<shard::ShardSpec>()?
        .resolve(|k| std::env::var(k).ok())?;
    let varies = args
        .vary
        .iter()
        .map(|v| v.parse::<Vary>())
        .collect::<Result<Vec<_>, _>>()?;
    let text = ipamsim::scenario::ScenarioText::read(&args.scenario)?;
    let threads = threads(args.jobs);
    let started = Instant::now();
    let prepared = Prepared::new(&text, &args.set, &varies, args.seeds)?;
    for warning in &prepared.warnings {
        note("warning", warning);
    }
    let result = shard::run(
        &text,
        &args.set,
        &prepared,
        shard,
        threads,
        true,
        engine::run,
    )?;
    let wall = started.elapsed().as_secs_f64();
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}-sweep-shards", prepared.name)))
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
            if threads == 1 { "" } else { "s" },
            out.display()
        ))
    }
}

/// `ipamsim merge`: shard folders into sweep.csv, sweep.svg, sweep.html.
fn merge(args: MergeArgs) -> Result<(), ipamsim::Error> {
    let merged = ipamsim::sweep::merge::merge_into(&args.dirs, &args.out)?;
    for warning in &merged.warnings {
        note("warning", warning);
    }
    emit(&format!(
        "merged {} shard{} ({} empty): {} runs ({} cells × {} seed{}); wrote {}\n",
        merged.shards,
        if merged.shards == 1 { "" } else { "s" },
        merged.empty_shards,
        merged.runs.len(),
        merged.cells,
        merged.seeds,
        if merged.seeds == 1 { "" } else { "s" },
        args.out.display()
    ))
}

/// Threads for `--jobs`, capped as `sweep` caps them (a note says so).
fn threads(jobs: Option<u32>) -> usize {
    let (threads, capped) = ipamsim::sweep::threads(jobs.map(|j| j as usize));
    if let Some(capped) = capped {
        note("note", &capped);
    }
    threads
}

/// `ipamsim headroom`: the search, then headroom.csv/json/html and first-failing/.
fn headroom(args: HeadroomArgs) -> Result<(), ipamsim::Error> {
    use ipamsim::{criteria::Criteria, headroom};
    let mut until = Criteria::headroom_defaults();
    if let Some(text) = &args.until {
        until = until.changed_by(text, false, "--until")?;
    }
    let text = ipamsim::scenario::ScenarioText::read(&args.scenario)?;
    let req = headroom::Request {
        grow: args.grow,
        until,
        sets: args.set,
        seeds: args.seeds,
        threads: threads(args.jobs),
        progress: true,
    };
    let started = Instant::now();
    let h = headroom::headroom(&text, &req)?;
    let wall = started.elapsed().as_secs_f64();
    for warning in &h.warnings {
        note("warning", warning);
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}-headroom", h.name)));
    headroom::page::write_headroom(&out, &h)?;
    emit(&format!(
        "{}.\n{} probe{} × {} seed{} in {wall:.2} s wall time; wrote {}\n",
        h.sentence().replace('`', ""),
        h.probes.len(),
        if h.probes.len() == 1 { "" } else { "s" },
        h.seeds.len(),
        if h.seeds.len() == 1 { "" } else { "s" },
        out.display()
    ))
}

/// `ipamsim tune`: coarse grid + refinement, then tune.csv/json/html and winner/.
fn tune(args: TuneArgs) -> Result<(), ipamsim::Error> {
    use ipamsim::{criteria::Criteria, tune};
    let space = match &args.space {
        Some(spec) => tune::space::Space::parse(spec)?,
        None => tune::space::Space::default(),
    };
    let mut constraints = Criteria::tune_defaults();
    if let Some(text) = &args.constraints {
        constraints = constraints.changed_by(text, true, "--constraints")?;
    }
    let req = tune::Request {
        space,
        objective: args.objective.parse()?,
        constraints,
        sets: args.set,
        seeds: args.seeds,
        threads: threads(args.jobs),
        progress: true,
    };
    let text = ipamsim::scenario::ScenarioText::read(&args.scenario)?;
    let started = Instant::now();
    let t = tune::tune(&text, &req)?;
    let wall = started.elapsed().as_secs_f64();
    for warning in &t.warnings {
        note("warning", warning);
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}-tune", t.name)));
    tune::page::write_tune(&out, &t)?;
    emit(&format!(
        "{}{} setting{} × {} seed{} ({} refine round{}) in {wall:.2} s wall time; wrote {}\n",
        tune::page::tune_text(&t),
        t.evaluated.len(),
        if t.evaluated.len() == 1 { "" } else { "s" },
        t.seeds.len(),
        if t.seeds.len() == 1 { "" } else { "s" },
        t.rounds,
        if t.rounds == 1 { "" } else { "s" },
        out.display()
    ))
}
