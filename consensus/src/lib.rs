//! Raft among the members of a reflector cluster (openraft): the TCP
//! transport between members ([`network`], [`server`], [`protocol`]),
//! cluster bootstrap and membership changes, and write forwarding from
//! followers to the leader ([`member`]). The transport is mutual TLS
//! ([`tls`]). The type configuration and the stores are `storage`'s.

// openraft's RPC and storage errors are what its traits require, large
// as they are.
#![allow(clippy::result_large_err)]

pub mod build;
pub mod campaign;
pub mod config;
pub mod contact;
pub mod manage;
pub mod member;
pub mod network;
pub mod protocol;
pub mod server;
pub mod tls;

pub use member::{Member, MemberError, Transport};
