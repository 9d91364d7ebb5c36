//! The command line: clap definitions only. Each subcommand has one Args
//! struct; turning them into a validated configuration is the subcommand's
//! job (`cmd/*`).

use std::path::PathBuf;
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

    /// Scrape exporters and push what they expose to gateways (or remote write), once or every interval.
    #[command(after_help = RELAY_EXAMPLES)]
    Relay(RelayArgs),

    /// Write the man pages (man/) and shell completions (completions/) from these definitions.
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// `pgw generate` flags.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory under which man/ and completions/ are written.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
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

    /// Time limit for reading a push body; a slower client gets 408.
    #[arg(long = "web.read-timeout", value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub read_timeout: Duration,

    /// Delete a group not pushed for this long (off by default, as upstream keeps groups forever).
    /// A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`.
    #[arg(long = "expire-after", value_name = "DURATION", value_parser = parse_duration)]
    pub expire_after: Option<Duration>,

    /// Most series in one push (413 beyond); 0 for no limit.
    #[arg(long = "push.max-series", value_name = "N", default_value_t = crate::server::limits::DEFAULT_MAX_SERIES_PER_PUSH)]
    pub max_series_per_push: usize,

    /// Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit.
    #[arg(long = "push.max-label-name-length", value_name = "BYTES", default_value_t = crate::server::limits::DEFAULT_MAX_LABEL_NAME_LENGTH)]
    pub max_label_name_length: usize,

    /// Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit.
    #[arg(long = "push.max-label-value-length", value_name = "BYTES", default_value_t = crate::server::limits::DEFAULT_MAX_LABEL_VALUE_LENGTH)]
    pub max_label_value_length: usize,

    /// Most groups in the store; a push that would add one more gets 429; 0 for no limit.
    #[arg(long = "store.max-groups", value_name = "N", default_value_t = crate::server::limits::DEFAULT_MAX_GROUPS)]
    pub max_groups: usize,

    /// Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit.
    #[arg(long = "store.max-series", value_name = "N", default_value_t = crate::server::limits::DEFAULT_MAX_SERIES)]
    pub max_series: usize,

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
}

/// How the client commands reach a gateway: shared by `push`, `list`,
/// `delete` and `wipe` (flattened into each).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Gateway")]
pub struct GatewayArgs {
    /// The gateway's URL, with its route prefix if it has one.
    #[arg(
        short = 'g',
        long,
        env = "PGW_GATEWAY",
        value_name = "URL",
        default_value = "http://localhost:9091"
    )]
    pub gateway: String,

    /// PEM file of certificate authorities to trust for an https gateway (besides the usual ones).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Do not check the gateway's TLS certificate (the connection stays encrypted).
    #[arg(long)]
    pub insecure: bool,

    /// User name for basic auth; the password comes from PGW_PASSWORD or --password-file.
    #[arg(short = 'u', long, env = "PGW_USER", value_name = "USER")]
    pub user: Option<String>,

    /// Password for basic auth; prefer --password-file, since the environment can leak.
    #[arg(long, env = "PGW_PASSWORD", hide_env_values = true, hide = true)]
    pub password: Option<String>,

    /// File whose first line is the basic-auth password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Bearer token; prefer --token-file, since the environment can leak.
    #[arg(long, env = "PGW_TOKEN", hide_env_values = true, hide = true)]
    pub token: Option<String>,

    /// File whose first line is a bearer token.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Time limit for each request to the gateway.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Retries (with backoff) after a connection error, a timeout or a 5xx answer; never after a 4xx.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
}

const RELAY_EXAMPLES: &str = "\
Examples:
  pgw relay --from http://localhost:9100/metrics -g https://gw:9091 --job node
      scrape node_exporter once and push it to {job=\"node\",instance=\"<host name>\"}
  pgw relay --from http://localhost:9100/metrics -g gw:9091 --job node --every 30s
      the same every 30 seconds, until SIGTERM or Ctrl-C
  pgw relay --from node=http://localhost:9100/metrics --from app=http://localhost:8080/metrics \\
      -g http://gw1:9091 -g http://gw2:9091 --fanout hash --every 30s
      two exporters, each to its own job, each group on one of two gateways
  pgw relay --from http://localhost:9182/metrics --job windows --every 1m \\
      --remote-write http://prometheus:9090/api/v1/write
      windows_exporter straight into Prometheus, Mimir or VictoriaMetrics

Every push carries the health series pgw_relay_scrape_success (1 or 0),
pgw_relay_scrape_duration_seconds, pgw_relay_scrape_size_bytes and others; when a
scrape fails the group holds only those. Exit codes: see the README (9: the exporter failed).";

/// `pgw relay` flags. The gateway options are those of the other client
/// commands, except that `-g` may be repeated.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Exporter to scrape, as URL or JOB=URL (repeatable; each goes to its own group).
    #[arg(long, value_name = "[JOB=]URL", required = true)]
    pub from: Vec<String>,

    /// Job of the exporters given without JOB= in --from.
    #[arg(short = 'j', long, value_name = "JOB")]
    pub job: Option<String>,

    /// The instance label of the groups (default: this host's name).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,

    /// A further grouping label (repeatable).
    #[arg(short = 'l', long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,

    /// Keep running, scraping and pushing once per interval (with a little jitter).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub every: Option<Duration>,

    /// Time limit of a scrape (default: 10s, and at most half the interval).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub scrape_timeout: Option<Duration>,

    /// Largest exporter answer accepted, in bytes after decompression; a larger one is a failed scrape.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_size: usize,

    /// Relay only the metric families whose name matches this regex (whole name; repeatable).
    #[arg(long, value_name = "REGEX")]
    pub keep: Vec<String>,

    /// Leave out the metric families whose name matches this regex (whole name; repeatable).
    #[arg(long, value_name = "REGEX")]
    pub drop: Vec<String>,

    /// Ask `pgw serve` to delete a group not pushed for this long (header Pgw-Expire-After;
    /// the official server ignores it). Default with --every: 3 intervals; 0s: never.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expire_after: Option<Duration>,

    /// Also (or instead) send the samples with the Prometheus remote-write protocol to this URL (repeatable).
    #[arg(long, value_name = "URL")]
    pub remote_write: Vec<String>,

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

    /// A gateway's URL (repeatable; default http://localhost:9091 unless --remote-write is given).
    #[arg(
        short = 'g',
        long = "gateway",
        env = "PGW_GATEWAY",
        value_name = "URL",
        value_delimiter = ',',
        help_heading = "Gateway"
    )]
    pub gateways: Vec<String>,

    /// With several gateways: give every push to all of them, or each group to one chosen by hash.
    #[arg(
        long,
        value_enum,
        value_name = "HOW",
        default_value = "all",
        help_heading = "Gateway"
    )]
    pub fanout: crate::relay::fanout::Fanout,

    /// PEM file of certificate authorities to trust for https gateways (besides the usual ones).
    #[arg(long, value_name = "FILE", help_heading = "Gateway")]
    pub ca_cert: Option<PathBuf>,

    /// Do not check the gateways' TLS certificates (the connection stays encrypted).
    #[arg(long, help_heading = "Gateway")]
    pub insecure: bool,

    /// User name for basic auth; the password comes from PGW_PASSWORD or --password-file.
    #[arg(
        short = 'u',
        long,
        env = "PGW_USER",
        value_name = "USER",
        help_heading = "Gateway"
    )]
    pub user: Option<String>,

    /// Password for basic auth; prefer --password-file, since the environment can leak.
    #[arg(long, env = "PGW_PASSWORD", hide_env_values = true, hide = true)]
    pub password: Option<String>,

    /// File whose first line is the basic-auth password.
    #[arg(long, value_name = "FILE", help_heading = "Gateway")]
    pub password_file: Option<PathBuf>,

    /// Bearer token; prefer --token-file, since the environment can leak.
    #[arg(long, env = "PGW_TOKEN", hide_env_values = true, hide = true)]
    pub token: Option<String>,

    /// File whose first line is a bearer token.
    #[arg(long, value_name = "FILE", help_heading = "Gateway")]
    pub token_file: Option<PathBuf>,

    /// Time limit for each request to a gateway.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, help_heading = "Gateway")]
    pub timeout: Duration,

    /// Retries (with backoff) of a push after a connection error, a timeout or a 5xx answer.
    /// With --every a push is retried until the next cycle is due instead.
    #[arg(long, value_name = "N", default_value_t = 2, help_heading = "Gateway")]
    pub retries: u32,
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
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(a.listen_address.len(), 2);
        assert_eq!(a.persistence_interval, Duration::from_secs(5400));
        assert!(a.enable_admin_api && a.disable_consistency_check);
    }
}
