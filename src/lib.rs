//! ghiseul-connector: the institution's side of ghiseul.ro (SNEP), Annex 1 of the technical
//! norms published in Monitorul Oficial nr. 75/2011.
//!
//! Data flows one way: `http` -> `protocol` (SOAP envelope -> message values) ->
//! `service` (check, rules) -> `store` (sqlx) -> back out through `protocol`.

pub mod checks;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod demo;
pub mod export;
pub mod fault;
pub mod http;
pub mod import;
pub mod live;
pub mod messages;
pub mod metrics;
pub mod payout;
pub mod protocol;
pub mod rules;
pub mod service;
pub mod startup;
pub mod store;
pub mod tenancy;
pub mod terminal;
pub mod transfer;
