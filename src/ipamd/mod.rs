//! A node's ipamd: its settings ([`config`]), its datastore of ENIs, addresses and prefixes,
//! the pure pool-sizing policy, and the reconcile loop that calls EC2.

pub mod config;
