//! A node's ipamd: its settings ([`config`]), its datastore of ENIs, addresses and prefixes
//! ([`datastore`]), the pure pool-sizing policy ([`policy`]), and the event-driven loop that
//! calls EC2 ([`Ipamd`]).

pub mod config;
pub mod datastore;
pub mod gomap;
pub mod policy;
