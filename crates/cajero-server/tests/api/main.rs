//! The server's HTTP API, tested through real HTTP on loopback, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod claims;
mod contract;
mod footprint;
mod funds;
mod fuzz;
mod helpers;
mod hot_reads;
mod instances;
mod integrity;
mod leases;
mod limits;
mod live_networks;
mod orders;
mod pages;
mod receiver;
mod retention;
mod secrets;
mod settlements;
mod shapes;
mod test_clocks;
mod transport;
mod webhook_delivery;
mod webhook_support;
mod webhooks;
