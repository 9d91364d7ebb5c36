//! pgw: a Prometheus Pushgateway server and the client commands of the push path.
//! The binary (`main.rs`) is a thin shell around this library, so integration
//! tests and benchmarks reach the same code.

pub mod exposition;
