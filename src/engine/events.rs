//! `events.csv` (`ipamsim run --events`): every pod's life and every change of a node's pool,
//! in simulated-time order.
//!
//! Columns: `time_s,event,pod,node,detail`. Events:
//! - `pod_add`, `pod_unschedulable` (no node has room), `pod_bound` (scheduled to `node`),
//!   `pod_ip_wait` (its first CNI ADD failed; `detail` = the reason, as in `pod_waits.csv`),
//!   `pod_ip` (`detail` = the address), `pod_delete`;
//! - `node_ready`: a node became Ready (its first ipamd init succeeded; from then on pods may
//!   be bound to it); `node_launch_failed`: a node of a group with a later `start` found no
//!   address for its primary ENI; `ipamd_restart`: a node's ipamd started again (after a
//!   failed init, spec §6.4);
//! - `pool`: a node's pool changed during one ipamd wake-up; `detail` = `total_ips A->B
//!   enis X->Y`.
//!
//! Records are 24 bytes and names are resolved only when the file is written, so recording
//! costs one push per event; it is off unless asked for.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::Error;

use crate::report::WaitReason;
use crate::report::csv::reason_name;
use crate::time::{Millis, seconds};
use crate::workload::Workloads;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A pod was created.
    PodAdd,
    /// No node had room for it.
    PodUnschedulable,
    /// Scheduled to a node.
    PodBound,
    /// Its first CNI ADD failed for this reason.
    PodIpWait(WaitReason),
    /// It got an address (`a`).
    PodIp,
    /// It was deleted.
    PodDelete,
    /// A node became Ready.
    NodeReady,
    /// A node's ipamd started again.
    IpamdRestart,
    /// A node of a group with a later `start` found no address for its primary ENI.
    NodeLaunchFailed,
    /// A node's pool went from `a` to `b` total IPs (ENIs in `enis`).
    Pool {
        /// ENIs before.
        enis_before: u8,
        /// ENIs after.
        enis_after: u8,
    },
}

/// One event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// When.
    pub time: Millis,
    /// What.
    pub kind: EventKind,
    /// The pod (`u32::MAX` for none).
    pub pod: u32,
    /// The node (`u32::MAX` for none).
    pub node: u32,
    /// Address (`PodIp`) or total IPs before (`Pool`).
    pub a: u32,
    /// Total IPs after (`Pool`).
    pub b: u32,
}

/// The recorded events of one run, with what is needed to name pods and nodes.
#[derive(Debug)]
pub struct EventLog {
    pub(crate) records: Vec<EventRecord>,
    pub(crate) workloads: Workloads,
    pub(crate) node_names: Vec<String>,
}

impl EventLog {
    /// The records, in order.
    pub fn records(&self) -> &[EventRecord] {
        &self.records
    }

    /// Writes `events.csv` into `dir` (an output folder being assembled).
    pub fn write_into(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join("events.csv");
        let io = |source| Error::Io {
            path: path.clone(),
            source,
            input: false,
        };
        let mut w = io::BufWriter::new(File::create(&path).map_err(io)?);
        self.write_csv(&mut w).map_err(io)?;
        w.flush().map_err(io)
    }

    /// Writes the `events.csv` text.
    pub fn write_csv(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "time_s,event,pod,node,detail")?;
        let mut pod = String::new();
        for r in &self.records {
            pod.clear();
            if r.pod != u32::MAX {
                self.workloads.write_pod_name(r.pod, &mut pod);
            }
            let node = self
                .node_names
                .get(r.node as usize)
                .map_or("", String::as_str);
            let (event, detail) = match r.kind {
                EventKind::PodAdd => ("pod_add", String::new()),
                EventKind::PodUnschedulable => ("pod_unschedulable", String::new()),
                EventKind::PodBound => ("pod_bound", String::new()),
                EventKind::PodIpWait(reason) => ("pod_ip_wait", reason_name(reason).to_string()),
                EventKind::PodIp => ("pod_ip", std::net::Ipv4Addr::from(r.a).to_string()),
                EventKind::PodDelete => ("pod_delete", String::new()),
                EventKind::NodeReady => ("node_ready", String::new()),
                EventKind::IpamdRestart => ("ipamd_restart", String::new()),
                EventKind::NodeLaunchFailed => ("node_launch_failed", String::new()),
                EventKind::Pool {
                    enis_before,
                    enis_after,
                } => (
                    "pool",
                    format!(
                        "total_ips {}->{} enis {enis_before}->{enis_after}",
                        r.a, r.b
                    ),
                ),
            };
            let pod = if pod.contains([',', '"']) {
                format!("\"{}\"", pod.replace('"', "\"\""))
            } else {
                pod.clone()
            };
            writeln!(out, "{},{event},{pod},{node},{detail}", seconds(r.time))?;
        }
        Ok(())
    }
}
