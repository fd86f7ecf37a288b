//! The agent's private state types: what the main loop waits on (`Op`, `Main`), the
//! cleanup goroutine's state, and the ENIs and CIDRs EC2 holds beyond the datastore.

use crate::ec2::{Cidr, EniId, NewEni, Request, Response, SubnetId};
use crate::subnet::CniRole;
use crate::time::Millis;

/// An ENI attached to the node (or only existing in EC2) that is not in the datastore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HeldEni {
    pub(super) id: EniId,
    pub(super) primary: bool,
    /// When it was created (its `createdAt` tag), for the leaked-ENI cleanup's 5 min rule.
    pub(super) born: Millis,
    /// Its CIDRs as EC2 knows them.
    pub(super) cidrs: Vec<Cidr>,
}

/// A CIDR on a datastore ENI in EC2 that the datastore lacks: its
/// `UnassignPrivateIpAddresses` failed, or the ENI's `setupENI` failed after `AddENI`
/// (spec §7.2 step 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Drift {
    pub(super) eni: EniId,
    pub(super) cidr: Cidr,
    /// Until when reconcile leaves it out (its reconcile-cooldown entry's expiry; 0 when
    /// it has none).
    pub(super) cached_until: Millis,
}

/// A step of `FreeENI` (§7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FreeStep {
    /// `DescribeNetworkInterfaces(eni)` for the attachment id.
    Describe,
    /// `DetachNetworkInterface`, try number.
    Detach(u32),
    /// `DeleteNetworkInterface`, try number.
    Delete(u32),
}

/// What to do when a plain sleep ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resume {
    /// Retry `DescribeAllENIs` at node init, attempt number.
    InitDescribe(u32),
    /// Retry `DescribeAllENIs` in reconcile, attempt number.
    ReconDescribe(u32),
    /// Retry `TagENI` at init (ENI, try).
    InitTag(usize, u32),
    /// Retry `setupENI` at init (ENI, try).
    InitSetup(usize, u32),
}

/// The call (or built-in sleep) the main loop is waiting on, with EC2's answer.
#[derive(Clone, Debug)]
pub(super) enum Op {
    InitDescribe {
        attempt: u32,
        resp: Response<()>,
    },
    InitModify {
        next: usize,
        resp: Response<()>,
    },
    /// `AssignPrivateIpAddresses`; `retry` for the one-CIDR retry, `fallback` for Auto Mode's
    /// secondary-IP request after `InsufficientCidrBlocks`.
    Assign {
        eni: EniId,
        retry: bool,
        fallback: bool,
        resp: Response<Vec<Cidr>>,
    },
    AssignResync {
        eni: EniId,
        resp: Response<()>,
    },
    /// `createENI`'s `DescribeSubnets` (`GetVpcSubnets`, or `IsSubnetExcluded` when
    /// `second`): the node zone's subnets, most free addresses first, with their tags.
    SubnetsBeforeCreate {
        second: bool,
        n: u32,
        resp: Response<Vec<(SubnetId, CniRole)>>,
    },
    /// `tryCreateNetworkInterface` of `n` addresses/prefixes; `rest` are the subnets still to
    /// try, in order, if it fails (subnet discovery's loop).
    Create {
        req: Request,
        rest: Vec<SubnetId>,
        resp: Response<NewEni>,
    },
    DescribeInstances {
        eni: NewEni,
        resp: Response<()>,
    },
    Attach {
        eni: NewEni,
        resp: Response<()>,
    },
    Modify {
        eni: NewEni,
        resp: Response<()>,
    },
    Imds {
        eni: NewEni,
    },
    SubnetsAtSetup {
        eni: NewEni,
        resp: Response<()>,
    },
    /// The IMDS wait for the empty ENI ID `AllocENI` returns after a failed Modify whose
    /// clean-up worked (spec §7.2 steps 5–6): all 12 polls fail.
    ImdsGiveUp,
    /// Node init, `TagENI` on ENI `next` of the rebuild list, try `attempt`.
    InitTag {
        next: usize,
        attempt: u32,
        resp: Response<()>,
    },
    /// Node init, `setupENI`'s `DescribeSubnets` for ENI `next`, try `attempt`.
    InitSetup {
        next: usize,
        attempt: u32,
        resp: Response<()>,
    },
    /// Reconcile adopts `held`: its `setupENI` `DescribeSubnets`.
    ReconSetup {
        held: HeldEni,
        resp: Response<()>,
    },
    Free {
        held: HeldEni,
        step: FreeStep,
        resp: Response<()>,
    },
    FreeWait {
        held: HeldEni,
        next: FreeStep,
    },
    Unassign {
        eni: EniId,
        cidrs: Vec<Cidr>,
        resp: Response<()>,
    },
    ReconDescribeAll {
        attempt: u32,
        resp: Response<()>,
    },
    ReconDescribeEni {
        eni: EniId,
        resp: Response<()>,
    },
    Sleep {
        then: Resume,
    },
}

/// One ENI as node init rediscovers it from EC2 (§6.1 step 1, §6.4).
#[derive(Clone, Debug)]
pub(super) struct Found {
    pub(super) id: EniId,
    pub(super) primary: bool,
    pub(super) cidrs: Vec<Cidr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TickKind {
    PoolCheck,
    Reconcile,
}

/// Where the main loop is.
#[derive(Clone, Debug)]
pub(super) enum Main {
    /// Node not launched yet.
    Down,
    /// ipamd (re)starts at `at`: node init (§6.1).
    Start { at: Millis },
    /// Sleeping until a loop tick. `skipped_from`: the idle check this sleep skips ticks
    /// after (set only while skipping), which fixes the tick grid for pull-backs.
    Tick {
        at: Millis,
        kind: TickKind,
        skipped_from: Option<Millis>,
    },
    /// Waiting for a call or sleep that ends at `until`: the ipamd's `op` (kept apart so
    /// that `Main` fits the ipamd's hot line, issue 13).
    Busy { until: Millis },
}

/// Which flow a growth step or an ENI free belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Init,
    Grow,
    Shrink,
    FreeEni,
    Reconcile,
}

/// How a growth step (`increaseDatastorePool`) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Grown {
    /// Addresses were added, or the step succeeded with nothing to add.
    Grew,
    /// Nothing done (back-off, no room) or an ENI could not be created (only logged).
    Nothing,
    /// `AssignPrivateIpAddresses` failed with an error other than Insufficient*.
    AssignError,
}

/// The leaked-ENI cleanup goroutine (§7.5).
#[derive(Clone, Debug)]
pub(super) enum Cleanup {
    Off,
    /// Sleeping until the next describe.
    Wait {
        until: Millis,
    },
    /// Waiting for the paginated `DescribeNetworkInterfaces`.
    Describe {
        until: Millis,
        resp: Response<Vec<EniId>>,
    },
    /// Deleting `targets[0]` (try `attempt`), `None` response while backing off.
    Delete {
        until: Millis,
        targets: Vec<EniId>,
        attempt: u32,
        resp: Option<Response<()>>,
    },
}
