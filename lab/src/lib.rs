//! Test networks for Lifeline, built from real kernel parts: network namespaces, TUN
//! devices, `tc tbf` for rates and nftables for NAT. Delay and loss are added in user space
//! by [`Wire`] (the `lifeline-wire` program), because this kernel has no `netem` and no
//! NFQUEUE.
//!
//! Everything created is named `ll<pid>…` and removed on drop, and all traffic stays inside
//! the namespaces. Needs root.

#![warn(clippy::unwrap_used)]

mod nat;
mod netns;
mod scripted;
mod wire;

pub use nat::{Internet, NatKind, Site};
pub use netns::{LabError, Netns};
pub use scripted::Scripted;
pub use wire::{Wire, WireConfig};
