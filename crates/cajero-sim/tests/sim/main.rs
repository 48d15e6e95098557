//! The simulator through its HTTP API, as a connector, a cashier and a test would use it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod callbacks;
mod counter;
mod down;
mod faults;
mod magic;
mod network;
mod restart;
mod settlement;
mod settlement_faults;
mod test_clocks;
mod ventanilla;
