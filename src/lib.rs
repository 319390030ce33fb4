//! The order chat server: a customer and the shopping agents of an order talk in real time.
//!
//! - `service`: the chat service, the one place with the rules.
//! - `socket`, `http`: thin adapters (Socket.IO events, REST and internal API) over it.
//! - `store`: the storage trait and its SQLite and PostgreSQL backends.
//! - `realtime`: the service's port to live connections (rooms, presence) over socketioxide.

pub mod app;
pub mod auth;
pub mod blobs;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod presence;
pub mod rates;
pub mod realtime;
pub mod run;
pub mod service;
pub mod socket;
pub mod store;
pub mod versions;
pub mod wire;
