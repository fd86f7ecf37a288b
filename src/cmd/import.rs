//! `ipamsim import … --out DIR`: the exports of spec/real-inputs.md into a scenario folder
//! (README "Plan for the cluster you have").

use std::path::PathBuf;

use clap::Args;
use ipamsim::import::Sources;
use ipamsim::import::write::{self, CniSetting};

use super::console::{emit, warnings};

/// `ipamsim import` flags.
#[derive(Args, Debug)]
pub struct ImportArgs {
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
    /// An aws-node variable the export does not hold (it comes from valueFrom/envFrom) or
    /// one to change, written into scenario.toml's `[cni]`: `WARM_ENI_TARGET=1`. Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<CniSetting>,
    /// The folder to write (copies, scenario.toml, import.json).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Reads the exports, writes the folder, prints the account.
pub fn run(args: ImportArgs) -> Result<(), ipamsim::Error> {
    let req = write::ImportRequest {
        sources: Sources {
            subnets: args.subnets,
            network_interfaces: args.enis,
            reservations: args.reservations,
            nodes: args.nodes,
            pods: args.pods,
            aws_node: args.aws_node,
        },
        audit_logs: args.audit_log,
        out: args.out.clone(),
        cni: args.set,
    };
    let done = write::import(&req)?;
    warnings(&done.warnings);
    emit(&format!(
        "{}wrote {}\n",
        done.account.summary(),
        args.out.join("scenario.toml").display()
    ))
}
