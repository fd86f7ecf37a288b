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
//!   failed init, spec §6.4); with `[[nodepool]]`s, `node_launched` (Karpenter launched the
//!   node; it boots, then turns Ready as any node), `node_terminated` (consolidation removed
//!   it: its ENIs are deleted) and `pod_evicted` (a pod of a consolidated node, pending again);
//! - `pool`: a node's pool changed during one ipamd wake-up; `detail` = `total_ips A->B
//!   enis X->Y`.
//!
//! Records are 40 bytes and names are resolved only when the file is written, so recording
//! costs one push per event; it is off unless asked for.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use std::fmt::Write as _;

use crate::Error;
use crate::report::csv;

use crate::cluster::{EventKind, EventRecord};
use crate::time::seconds;
use crate::workload::Workloads;

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

    /// Writes the `events.csv` text (through the `csv` serializer, one row struct a line).
    pub fn write_csv(&self, out: &mut impl Write) -> io::Result<()> {
        let mut w = csv::Writer::into_writer(out, csv::columns::<EventRow>())?;
        let mut pod = String::new();
        let mut detail = String::new();
        for r in &self.records {
            pod.clear();
            if let Some(p) = r.pod {
                self.workloads.write_pod_name(p, &mut pod);
            }
            let node = r
                .node
                .and_then(|n| self.node_names.get(n as usize))
                .map_or("", String::as_str);
            detail.clear();
            let event = match r.kind {
                EventKind::PodAdd => "pod_add",
                EventKind::PodUnschedulable => "pod_unschedulable",
                EventKind::PodBound => "pod_bound",
                EventKind::PodIpWait(reason) => {
                    detail.push_str(reason.name());
                    "pod_ip_wait"
                }
                EventKind::PodIp => {
                    let _ = write!(detail, "{}", std::net::Ipv4Addr::from(r.a));
                    "pod_ip"
                }
                EventKind::PodDelete => "pod_delete",
                EventKind::NodeReady => "node_ready",
                EventKind::IpamdRestart => "ipamd_restart",
                EventKind::NodeLaunchFailed => "node_launch_failed",
                EventKind::NodeLaunched => "node_launched",
                EventKind::NodeTerminated => "node_terminated",
                EventKind::PodEvicted => "pod_evicted",
                EventKind::Pool {
                    enis_before,
                    enis_after,
                } => {
                    let _ = write!(
                        detail,
                        "total_ips {}->{} enis {enis_before}->{enis_after}",
                        r.a, r.b
                    );
                    "pool"
                }
            };
            w.try_row(EventRow {
                time_s: &seconds(r.time),
                event,
                pod: &pod,
                node,
                detail: &detail,
            })?;
        }
        w.flush()
    }
}

/// One line of `events.csv`; its fields are the columns, in order.
#[derive(Debug, Default, serde::Serialize)]
struct EventRow<'a> {
    time_s: &'a str,
    event: &'a str,
    pod: &'a str,
    node: &'a str,
    detail: &'a str,
}
