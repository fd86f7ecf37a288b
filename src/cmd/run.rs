//! `ipamsim run [SCENARIO]`: load, simulate, write the output folder, print the summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipamsim::engine::{self, EngineStats, Progress, RunOptions};
use ipamsim::report;
use ipamsim::report::format::group_thousands;
use ipamsim::scenario::Scenario;

use super::console::{emit, warnings};

/// `ipamsim run` flags.
#[derive(Args, Debug, Default)]
pub struct RunArgs {
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
    /// After the summary, print the engine's counts: events by kind, the event queue's
    /// mean length at its pops (the pending count to run `heapbench` at), how many of the
    /// nodes' heap blocks went to their node's slab, and the event loop's own time and
    /// events per second (the figure to hold against `heapbench`'s).
    #[arg(long)]
    stats: bool,
}

/// Runs the scenario and writes its folder.
pub fn run(args: RunArgs) -> Result<(), ipamsim::Error> {
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
    warnings(&scenario.warnings);
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
    let mut loop_clock = LoopClock::default();
    let options = RunOptions {
        engine_stats: args.stats,
        ..RunOptions::default()
    };
    let engine::Observed {
        output: result,
        events,
        stats,
    } = engine::run_observed(&scenario, options, args.events, &mut |p| {
        loop_clock.observe(p);
        if let Progress::At(t) = p {
            bar.set_position(t / 1000);
        }
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
    if let Some(st) = stats {
        emit(&stats_text(&st, &loop_clock))?;
    }
    Ok(())
}

/// The event loop's own time, from its first event to its end: what `--stats` holds
/// against heapbench, which likewise times its hold loop and not the filling of its heap
/// (here: reading the scenario, drawing the workloads, launching the nodes, writing the
/// folder).
#[derive(Debug, Default)]
struct LoopClock {
    /// Wall clock and this thread's CPU time at the loop's first event.
    start: Option<(Instant, Option<Duration>)>,
    /// Wall and CPU time from the first event to the loop's end.
    took: Option<(Duration, Option<Duration>)>,
}

impl LoopClock {
    fn observe(&mut self, p: Progress) {
        match p {
            Progress::At(_) if self.start.is_none() => {
                self.start = Some((Instant::now(), thread_cpu_time()));
            }
            Progress::At(_) => {}
            Progress::LoopEnded => {
                if let Some((wall, cpu)) = self.start {
                    let cpu = cpu.zip(thread_cpu_time()).map(|(a, b)| b.saturating_sub(a));
                    self.took = Some((wall.elapsed(), cpu));
                }
            }
        }
    }
}

/// CPU time this thread has used (user and system), where the platform tells it: the
/// event loop runs on the calling thread. (std has no CPU clock; `libc` is already in the
/// tree for `src/hugepages.rs`.)
#[cfg(unix)]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

/// `--stats`: the engine's counts, where the nodes' heap blocks went and how long the event
/// loop took, four lines (printed even with `--quiet`: asked for).
fn stats_text(st: &EngineStats, clock: &LoopClock) -> String {
    let n = |v: u64| group_thousands(&v.to_string());
    let (placed, left) = ipamsim::placement::counts();
    let ran = st.events() - st.parked_retries;
    let timing = match clock.took {
        None => "engine: event loop: no event ran\n".to_string(),
        Some((wall, cpu)) => {
            let secs = cpu.unwrap_or(wall).as_secs_f64().max(1e-9);
            format!(
                "engine: event loop, first event to end: {:.3} s wall, {} ({} events/s by \
                 {}, {} a second of the {} it ran)\n",
                wall.as_secs_f64(),
                cpu.map_or("CPU time unknown".into(), |c| format!(
                    "{:.3} s CPU",
                    c.as_secs_f64()
                )),
                n((st.events() as f64 / secs) as u64),
                if cpu.is_some() { "CPU" } else { "wall" },
                n((ran as f64 / secs) as u64),
                n(ran),
            )
        }
    };
    format!(
        "engine: {} events = {} pod adds + {} pod deletes + {} ipamd wake-ups + {} superseded \
         wake-ups + {} kubelet CNI retries queued + {} parked + {} others\n\
         engine: event queue: {} pops ({} of them parking timers), {} pending on average (a \
         bare binary heap at that size: heapbench {:.0} OPS)\n\
         engine: node heap blocks: {} placed in their node's slab, {} left to the system \
         allocator (slab full or block over {} bytes; src/placement.rs)\n",
        n(st.events()),
        n(st.pod_adds),
        n(st.pod_deletes),
        n(st.wakes),
        n(st.superseded_wakes),
        n(st.retries),
        n(st.parked_retries),
        n(st.other),
        n(st.queue_pops()),
        n(st.memo_expiries),
        group_thousands(&format!("{:.0}", st.mean_pending())),
        st.mean_pending(),
        n(placed),
        n(left),
        ipamsim::placement::SLAB,
    ) + &timing
}
