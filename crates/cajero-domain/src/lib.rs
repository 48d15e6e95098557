//! The pure rules of cajero.
//!
//! Everything here is deterministic: no I/O, no async, no clock reads and no randomness.
//! Time and random bytes come in as arguments, so every rule can be tested exhaustively and
//! the simulator can move time. The other crates carry data in and out of these types.

pub mod asobancaria;
pub mod calendar;
pub mod document;
pub mod id;
pub mod ledger;
pub mod lifecycle;
pub mod merchant;
pub mod money;
pub mod name;
pub mod network;
pub mod phone;
pub mod webhook;

pub use document::{Document, DocumentType};
pub use id::{Id, IdKind};
pub use merchant::{MerchantStatus, Mode};
pub use money::{Amount, Currency, Money};
pub use name::PersonName;
pub use phone::PhoneNumber;
