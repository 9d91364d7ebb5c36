//! The command line: clap definitions only. Each subcommand has one Args
//! struct; turning them into a validated configuration is the subcommand's
//! job (`cmd/*`).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::log;

/// pgw: the Prometheus push path in one binary.
#[derive(Debug, Parser)]
#[command(name = "pgw", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Pushgateway server, a drop-in replacement for the official one.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
}

const SERVE_EXAMPLES: &str = "\
Examples:
  pgw serve                                         listen on :9091, memory only
  pgw serve --persistence.file=/var/lib/pgw/store   keep the store across restarts
  pgw serve --web.listen-address=127.0.0.1:9091 --web.enable-admin-api

Flags keep the official Pushgateway's names, so a service file can swap the binary.";

/// `pgw serve` flags, named as the official Pushgateway's.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on for the web interface, API and telemetry (repeatable).
    #[arg(
        long = "web.listen-address",
        visible_alias = "listen",
        value_name = "ADDR",
        default_value = ":9091"
    )]
    pub listen_address: Vec<String>,

    /// Path under which to expose the server's metrics (the push API stays at /metrics/job/...).
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// The URL under which the gateway is reached from outside; its path is the default route prefix.
    #[arg(long = "web.external-url", value_name = "URL")]
    pub external_url: Option<String>,

    /// Prefix for every route (defaults to the path of --web.external-url).
    #[arg(long = "web.route-prefix", value_name = "PATH")]
    pub route_prefix: Option<String>,

    /// Enable shutdown via HTTP: PUT or POST /-/quit.
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,

    /// Enable the admin API: PUT /api/v1/admin/wipe deletes every group.
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,

    /// File in which to keep the store across restarts; empty means memory only.
    #[arg(long = "persistence.file", value_name = "FILE")]
    pub persistence_file: Option<String>,

    /// How often at most the store is written to the persistence file after a change.
    #[arg(long = "persistence.interval", value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub persistence_interval: Duration,

    /// Answer accepted pushes with 202 instead of 200, as the official server does with this flag.
    /// pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones.
    #[arg(long = "push.disable-consistency-check")]
    pub disable_consistency_check: bool,

    /// Largest push body accepted after decompression, in bytes.
    #[arg(long = "push.max-body-size", value_name = "BYTES", default_value_t = crate::server::DEFAULT_BODY_LIMIT)]
    pub max_body_size: usize,

    /// Only log messages at or above this level.
    #[arg(
        long = "log.level",
        value_enum,
        value_name = "LEVEL",
        default_value = "info"
    )]
    pub log_level: log::Level,

    /// Output format of log messages.
    #[arg(
        long = "log.format",
        value_enum,
        value_name = "FORMAT",
        default_value = "logfmt"
    )]
    pub log_format: log::Format,

    /// The official web configuration file (TLS, basic auth users who get every role, headers,
    /// rate limit), in the exporter-toolkit format. Reloaded when it changes and on SIGHUP.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<String>,

    /// pgw's role file: credentials for the push, read and admin roles, push credentials
    /// optionally scoped to jobs (see the README). Reloaded when it changes and on SIGHUP.
    #[arg(long = "auth.file", value_name = "FILE")]
    pub auth_file: Option<String>,

    /// Serve HTTPS with this PEM certificate (chain) file; needs --web.tls-key-file.
    /// Reloaded when it changes and on SIGHUP.
    #[arg(long = "web.tls-cert-file", value_name = "FILE")]
    pub tls_cert_file: Option<String>,

    /// PEM private key for --web.tls-cert-file.
    #[arg(long = "web.tls-key-file", value_name = "FILE")]
    pub tls_key_file: Option<String>,

    /// Close a connection that takes longer than this to finish its TLS handshake or send a
    /// request's headers, or that stays idle this long between requests.
    #[arg(long = "web.read-header-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub read_header_timeout: Duration,
}

/// Durations as humantime reads them (`5m`, `1h30m`, `90s`), which covers Go's
/// duration syntax as the official flags use it.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn official_flag_names_parse() {
        let cli = Cli::try_parse_from([
            "pgw",
            "serve",
            "--web.listen-address=127.0.0.1:0",
            "--web.listen-address=[::1]:0",
            "--persistence.file=/tmp/x",
            "--persistence.interval=1h30m",
            "--web.enable-admin-api",
            "--push.disable-consistency-check",
            "--log.level=debug",
            "--log.format=json",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command;
        assert_eq!(a.listen_address.len(), 2);
        assert_eq!(a.persistence_interval, Duration::from_secs(5400));
        assert!(a.enable_admin_api && a.disable_consistency_check);
    }
}
