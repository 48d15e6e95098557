//! The server's HTTP API, tested through real HTTP on loopback, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod funds;
mod helpers;
mod instances;
mod orders;
mod pages;
mod receiver;
mod settlements;
mod transport;
mod webhook_delivery;
mod webhook_support;
mod webhooks;
