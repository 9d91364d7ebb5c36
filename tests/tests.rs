//! The one integration-test binary: every test talks to real processes over
//! real sockets (`pgw serve` on port 0, and the official Pushgateway,
//! Prometheus and the Python client where a test compares or interoperates).

mod util;

mod aggregate;
mod aggregate_client;
mod auth;
mod cleanup;
mod cluster;
mod cluster_contrib;
mod contrib;
mod damage;
mod diskfull;
mod etcd_client;
mod generated;
mod hostile;
mod housekeeping;
mod interop;
mod listeners;
mod manage;
mod native;
mod negotiate;
mod pb;
mod persist;
mod push;
mod relay;
mod retry_after;
mod serve;
mod startup;
mod terminal;
mod ui;
mod urls;
mod utf8;
