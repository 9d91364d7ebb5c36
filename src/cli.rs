//! The command line: clap definitions only. Each subcommand has one Args
//! struct; turning them into a validated configuration is the subcommand's
//! job (`cmd/*`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::log;

/// pgw: the Prometheus push path in one binary.
#[derive(Debug, Parser)]
#[command(name = "pgw", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// The command line of this process, parsed with [`command`]; clap
    /// prints its own error and exits 2 on a mistake.
    pub fn parse_args() -> Cli {
        let matches = command().get_matches();
        Cli::from_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the program name first) as [`Cli::parse_args`] does.
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::from_matches(&command().try_get_matches_from(args)?)
    }

    fn from_matches(matches: &ArgMatches) -> Result<Cli, clap::Error> {
        Cli::from_arg_matches(matches)
    }
}

/// The whole command line: the derived definitions, and for every on/off
/// flag of `pgw serve` kingpin's `--no-<flag>` form, which the official
/// Pushgateway has for each of its boolean flags, so that a service file
/// that says `--no-web.enable-lifecycle` keeps working. The forms are made
/// here from whatever `SetTrue` flags serve has, so a boolean flag added
/// later gets one without more code; they are left out of the help, which
/// says once that they exist.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("serve", with_no_forms)
}

fn with_no_forms(mut cmd: clap::Command) -> clap::Command {
    let flags: Vec<(String, String)> = cmd
        .get_arguments()
        .filter(|a| matches!(a.get_action(), ArgAction::SetTrue))
        .filter_map(|a| Some((a.get_id().to_string(), a.get_long()?.to_string())))
        .collect();
    for (id, long) in flags {
        let no_id = format!("no-{id}");
        // Each overrides the other: the last one given wins, as in kingpin.
        cmd = cmd.mut_arg(&id, |a| a.overrides_with(no_id.clone())).arg(
            Arg::new(no_id)
                .long(format!("no-{long}"))
                .action(ArgAction::SetTrue)
                .help(format!("Turn --{long} off"))
                .hide(true)
                .overrides_with(id),
        );
    }
    cmd
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a Pushgateway server, a drop-in replacement for the official one.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),

    /// Push metrics to a gateway; replaces the group (PUT) unless --add (POST, like curl's).
    ///
    /// The metrics come from arguments, files or stdin, or are about a command it runs.
    #[command(after_help = PUSH_EXAMPLES)]
    Push(PushArgs),

    /// List a gateway's groups, or the metrics of one group.
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),

    /// Delete one group, or every group matching a selector and/or not pushed for a while.
    #[command(after_help = DELETE_EXAMPLES)]
    Delete(DeleteArgs),

    /// Delete every group of a gateway.
    #[command(after_help = WIPE_EXAMPLES)]
    Wipe(WipeArgs),

    /// Scrape exporters and push what they expose to gateways (or remote write), once or every interval.
    #[command(after_help = RELAY_EXAMPLES)]
    Relay(RelayArgs),

    /// Write the man pages (man/) and shell completions (completions/) from these definitions.
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// `pgw generate` flags.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Directory under which man/ and completions/ are written.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) out: PathBuf,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  pgw serve                                         listen on :9091, memory only
  pgw serve --persistence.file=/var/lib/pgw/store   keep the store across restarts
  pgw serve --web.listen-address=127.0.0.1:9091 --web.enable-admin-api

Flags keep the official Pushgateway's names, so a service file can swap the binary. Every
on/off flag also has kingpin's --no- form (--no-web.enable-admin-api); the last one given wins.";

/// `pgw serve` flags, named as the official Pushgateway's.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on for the web interface, API and telemetry (repeatable).
    #[arg(
        long = "web.listen-address",
        visible_alias = "listen",
        value_name = "ADDR",
        default_value = ":9091"
    )]
    pub(crate) listen_address: Vec<String>,

    /// Path under which to expose the server's metrics (the push API stays at /metrics/job/...).
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub(crate) telemetry_path: String,

    /// The URL under which the gateway is reached from outside; its path is the default route prefix.
    #[arg(long = "web.external-url", value_name = "URL")]
    pub(crate) external_url: Option<String>,

    /// Prefix for every route (defaults to the path of --web.external-url).
    #[arg(long = "web.route-prefix", value_name = "PATH")]
    pub(crate) route_prefix: Option<String>,

    /// Enable shutdown via HTTP: PUT or POST /-/quit.
    #[arg(long = "web.enable-lifecycle")]
    pub(crate) enable_lifecycle: bool,

    /// Enable the admin API: PUT /api/v1/admin/wipe deletes every group.
    #[arg(long = "web.enable-admin-api")]
    pub(crate) enable_admin_api: bool,

    /// File in which to keep the store across restarts; empty means memory only.
    #[arg(long = "persistence.file", value_name = "FILE")]
    pub(crate) persistence_file: Option<String>,

    /// Longest time between two compactions of the persistence log into its snapshot (every change is
    /// on disk before it is answered; the log is also compacted whenever it outgrows the snapshot).
    #[arg(long = "persistence.interval", value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub(crate) persistence_interval: Duration,

    /// Answer accepted pushes with 202 instead of 200, as the official server does with this flag.
    /// pgw keeps checking pushes (its check costs time only in proportion to the push) and still refuses bad ones.
    #[arg(long = "push.disable-consistency-check")]
    pub(crate) disable_consistency_check: bool,

    /// Allow UTF-8 characters in metric and label names: quoted names in text pushes, and label
    /// names in push paths (raw, percent-encoded or U__-escaped). Protobuf pushes may carry UTF-8
    /// names either way, as with the official server.
    #[arg(long = "push.enable-utf8-names")]
    pub(crate) enable_utf8_names: bool,

    /// Largest push body accepted after decompression, in bytes.
    #[arg(long = "push.max-body-size", value_name = "BYTES", default_value_t = crate::server::DEFAULT_BODY_LIMIT)]
    pub(crate) max_body_size: usize,

    /// Time limit for reading a push body; a slower client gets 408.
    #[arg(long = "web.read-timeout", value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub(crate) read_timeout: Duration,

    /// Delete a group not pushed for this long (off by default, as upstream keeps groups forever).
    /// A push can ask for its own time to live with the header `Pgw-Expire-After: DURATION`.
    #[arg(long = "expire-after", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) expire_after: Option<Duration>,

    /// POSTs to groups whose job matches this regex (anchored) aggregate, as if they sent the
    /// header `Pgw-Aggregate: sum`: counters, histograms and summaries add into the group's.
    #[arg(long = "push.aggregate-jobs", value_name = "REGEX")]
    pub(crate) aggregate_jobs: Option<String>,

    /// Most series in one push (413 beyond); 0 for no limit.
    #[arg(long = "push.max-series", value_name = "N", default_value_t = crate::server::limits::DEFAULT_MAX_SERIES_PER_PUSH)]
    pub(crate) max_series_per_push: usize,

    /// Longest label name in bytes, in the body or the grouping key (400 beyond); 0 for no limit.
    #[arg(long = "push.max-label-name-length", value_name = "BYTES", default_value_t = crate::server::limits::DEFAULT_MAX_LABEL_NAME_LENGTH)]
    pub(crate) max_label_name_length: usize,

    /// Longest label value in bytes, in the body or the grouping key (400 beyond); 0 for no limit.
    #[arg(long = "push.max-label-value-length", value_name = "BYTES", default_value_t = crate::server::limits::DEFAULT_MAX_LABEL_VALUE_LENGTH)]
    pub(crate) max_label_value_length: usize,

    /// Most labels in a push's grouping key, job included (400 beyond); 0 for no limit.
    #[arg(long = "push.max-grouping-key-labels", value_name = "N", default_value_t = crate::server::limits::DEFAULT_MAX_GROUPING_KEY_LABELS)]
    pub(crate) max_grouping_key_labels: usize,

    /// Most bytes of push bodies read and parsed at once, server-wide, compressed and decompressed
    /// counted; a push that would go beyond gets 503 with Retry-After. At least twice
    /// --push.max-body-size, so that one push of the largest size always fits; 0 for no limit.
    /// [default: 256 MiB, or twice --push.max-body-size if that is more]
    #[arg(long = "push.max-inflight-bytes", value_name = "BYTES")]
    pub(crate) max_inflight_bytes: Option<usize>,

    /// Most groups in the store; a push that would add one more gets 429; 0 for no limit.
    #[arg(long = "store.max-groups", value_name = "N", default_value_t = crate::server::limits::DEFAULT_MAX_GROUPS)]
    pub(crate) max_groups: usize,

    /// Most pushed series in the store; a push that would go beyond gets 429; 0 for no limit.
    #[arg(long = "store.max-series", value_name = "N", default_value_t = crate::server::limits::DEFAULT_MAX_SERIES)]
    pub(crate) max_series: usize,

    #[command(flatten)]
    pub(crate) log: LogArgs,

    /// Start even if the persistence files are damaged: keep every valid record, move the damaged
    /// files aside (FILE.damaged-UNIXTIME) and report how many records were lost.
    #[arg(long = "persistence.recover")]
    pub(crate) persistence_recover: bool,

    /// The official Pushgateway's persistence file, whose groups are taken over at start-up while
    /// pgw's store has never taken a change (with --persistence.file, only once; the official file
    /// is only read).
    #[arg(long = "persistence.import", value_name = "FILE")]
    pub(crate) persistence_import: Option<PathBuf>,

    /// The official web configuration file (TLS, basic auth users who get every role, headers,
    /// rate limit), in the exporter-toolkit format. Reloaded when it changes and on SIGHUP.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub(crate) web_config_file: Option<String>,

    /// pgw's role file: credentials for the push, read and admin roles, push credentials
    /// optionally scoped to jobs (see the README). Reloaded when it changes and on SIGHUP.
    #[arg(long = "auth.file", value_name = "FILE")]
    pub(crate) auth_file: Option<String>,

    /// Serve HTTPS with this PEM certificate (chain) file; needs --web.tls-key-file.
    /// Reloaded when it changes and on SIGHUP.
    #[arg(long = "web.tls-cert-file", value_name = "FILE")]
    pub(crate) tls_cert_file: Option<String>,

    /// PEM private key for --web.tls-cert-file.
    #[arg(long = "web.tls-key-file", value_name = "FILE")]
    pub(crate) tls_key_file: Option<String>,

    /// Close a connection that takes longer than this to finish its TLS handshake or send a
    /// request's headers, or that stays idle this long between requests.
    #[arg(long = "web.read-header-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(crate) read_header_timeout: Duration,

    /// Serve on the sockets systemd passes (socket activation, Linux); --web.listen-address is
    /// then ignored.
    #[arg(long = "web.systemd-socket")]
    pub(crate) systemd_socket: bool,

    #[command(flatten)]
    pub(crate) etcd: Box<EtcdArgs>,
}

/// The etcd store of `pgw serve` (boxed: rarely set, and large).
#[derive(Debug, Args)]
pub(crate) struct EtcdArgs {
    /// Keep the store in etcd (v3 API, comma-separated client URLs, http:// or https://) and run
    /// as one replica of a cluster: every replica serves the whole store, and a change is
    /// answered once etcd has committed it. Excludes --persistence.file.
    #[arg(
        long = "store.etcd.endpoints",
        value_name = "URL,...",
        value_delimiter = ','
    )]
    pub(crate) endpoints: Vec<String>,

    /// Key prefix of the store in etcd; clusters sharing one etcd use different prefixes.
    #[arg(
        long = "store.etcd.prefix",
        value_name = "PREFIX",
        default_value = "/pgw/"
    )]
    pub(crate) prefix: String,

    /// PEM file of the CA that signs etcd's server certificates (default: the web PKI roots).
    #[arg(long = "store.etcd.ca-file", value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,

    /// PEM client certificate for etcd's --client-cert-auth; needs --store.etcd.key-file.
    #[arg(long = "store.etcd.cert-file", value_name = "FILE")]
    pub(crate) cert_file: Option<PathBuf>,

    /// PEM private key for --store.etcd.cert-file.
    #[arg(long = "store.etcd.key-file", value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,

    /// etcd user to authenticate as; needs --store.etcd.password-file.
    #[arg(long = "store.etcd.username", value_name = "NAME")]
    pub(crate) username: Option<String>,

    /// File that holds the etcd user's password (one line).
    #[arg(long = "store.etcd.password-file", value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,

    /// Time limit of one etcd request: a change that cannot be committed within it gets 503.
    #[arg(long = "store.etcd.timeout", value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,

    /// /-/ready fails when this replica's view of etcd was last confirmed current longer ago
    /// than this (etcd unreachable); scrapes keep serving the view.
    #[arg(long = "store.etcd.max-staleness", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(crate) max_staleness: Duration,

    /// How often a replica compacts etcd's history, up to the revision it saw one interval
    /// before; 0 never.
    #[arg(long = "store.etcd.compaction-interval", value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub(crate) compaction_interval: Duration,

    /// etcd's --max-request-bytes: a group whose record is larger is refused with 413.
    #[arg(
        long = "store.etcd.max-request-bytes",
        value_name = "BYTES",
        default_value_t = 1572864
    )]
    pub(crate) max_request_bytes: usize,

    /// etcd's --max-txn-ops: how many groups one transaction may write.
    #[arg(
        long = "store.etcd.max-txn-ops",
        value_name = "N",
        default_value_t = 128
    )]
    pub(crate) max_txn_ops: usize,

    /// Fill an empty etcd prefix once from this pgw persistence file (what --persistence.file
    /// named); a prefix that holds groups is left as it is.
    #[arg(long = "store.etcd.import", value_name = "FILE")]
    pub(crate) import: Option<PathBuf>,
}

const PUSH_EXAMPLES: &str = "\
Examples:
  pgw push -j backup last_success_seconds=$(date +%s) bytes_total=123
  pgw push -j backup -l instance=db1 --type=gauge --help-text='Size of the dump.' dump_bytes=4096
  some_tool --metrics | pgw push -j some_tool
  pgw push -j node -l instance=$(hostname) -f /var/lib/node_exporter/textfile/backup.prom
  pgw push -j cleaner -l path=/var/tmp 'files_removed{kind=\"log\"}=12'

Wrap a cron job: run it, pass its output and exit code through, push how it went:
  17 3 * * * pgw push -g http://gw:9091 -j nightly-backup -- /usr/local/bin/backup.sh --full
This pushes pgw_job_duration_seconds, pgw_job_exit_code, pgw_job_start_time_seconds and,
on success only, pgw_job_last_success_time_seconds, with POST, so the last success survives
failed runs. Alert when it is older than a day:
  time() - pgw_job_last_success_time_seconds{job=\"nightly-backup\"} > 86400

Many copies of one job adding into one group (pgw serve; the official server merges instead):
  pgw push -g http://gw:9091 --aggregate -j ci-tests -- ./run-shard.sh
This also adds up pgw_job_runs_total, pgw_job_failed_runs_total and the histogram
pgw_job_duration_seconds over every run. Alert on: increase(pgw_job_failed_runs_total[1h]) > 0

--replace (PUT, the default) makes the group hold exactly what is pushed: every family the
group had before is gone. --add (POST, what curl --data-binary does) replaces only the
families named in this push and keeps the group's others. On a terminal, pgw says which
families a default replace removed.

A push URL works as in curl: pgw push http://gw:9091/metrics/job/backup/instance/db1 a=1
(or -g with that URL) pushes to that group; -j/-l may be given too if they name the same one.
Stdin is read when no metric arguments or files are given, or with -f -; metrics in
arguments with data waiting on stdin are refused (exit 2) rather than dropping stdin.
Several -g (or PGW_GATEWAY=URL,URL) push to each gateway; the worst failure is the exit code.

Exit codes: 0 pushed, 2 wrong command line, 3 bad input (nothing sent), 4 gateway unreachable,
5 timed out, 6 refused by the gateway (4xx) or not a gateway, 7 gateway failed (5xx); with a
wrapped command, its own code.";

/// `pgw push` flags.
#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// The job label of the group to push to (needed unless a push URL names the group).
    #[arg(short = 'j', long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// Another grouping label of the group, NAME=VALUE (repeatable); any value works, even empty or with `/`.
    #[arg(short = 'l', long = "label", value_name = "NAME=VALUE")]
    pub(crate) labels: Vec<String>,

    /// Metrics as arguments: NAME=VALUE or NAME{LABEL="VALUE",...}=VALUE.
    #[arg(value_name = "METRIC")]
    pub(crate) metrics: Vec<String>,

    /// File of metrics in the text format (repeatable); `-` is stdin, which is read anyway when nothing else is given.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,

    /// Type of the metrics given as arguments.
    #[arg(
        long = "type",
        value_enum,
        value_name = "TYPE",
        default_value = "untyped"
    )]
    pub(crate) kind: ArgMetricType,

    /// HELP text of the metrics given as arguments.
    #[arg(long, value_name = "TEXT")]
    pub(crate) help_text: Option<String>,

    /// Replace the whole group with this push (HTTP PUT); the default without a wrapped command.
    #[arg(long, conflicts_with_all = ["add", "command"])]
    pub(crate) replace: bool,

    /// Replace only the families in this push, keep the group's others (HTTP POST); always so with a wrapped command.
    #[arg(long)]
    pub(crate) add: bool,

    /// Ask the gateway to add this push into the group (HTTP POST with the header Pgw-Aggregate: sum):
    /// counters, histograms and summaries' _sum and _count add up across pushes, gauges are combined
    /// as --aggregate-gauges says; untyped metrics and negative counters are refused. pgw serve only:
    /// the official Pushgateway ignores the header and merges the push as a plain POST (--add), and
    /// pgw cannot tell. With a wrapped command, it also pushes run and failure counters and a duration
    /// histogram.
    #[arg(long, conflicts_with = "replace")]
    pub(crate) aggregate: bool,

    /// With --aggregate: how the gateway combines pushed gauges with the group's (header
    /// Pgw-Aggregate-Gauges); without it the gateway keeps the last pushed value.
    #[arg(long, value_enum, value_name = "HOW", requires = "aggregate")]
    pub(crate) aggregate_gauges: Option<AggregateGauges>,

    /// Remove sample timestamps instead of refusing the input (the gateway refuses timestamps).
    #[arg(long)]
    pub(crate) strip_timestamps: bool,

    /// Allow UTF-8 metric and label names: quoted in the input ("my.metric" 1) and in --label names,
    /// for a gateway started with --push.enable-utf8-names.
    #[arg(long)]
    pub(crate) utf8_names: bool,

    /// Ask the gateway to drop the group when no push came for this long (header Pgw-Expire-After; pgw serve only).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) expire_after: Option<Duration>,

    /// Compress the body with gzip: auto does so above 64 KiB.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub(crate) gzip: GzipMode,

    /// Check the input and print the body that would be sent, without sending it.
    #[arg(long, conflicts_with = "command")]
    pub(crate) dry_run: bool,

    /// A command to run and report on, after `--`: its output and exit code pass through.
    #[arg(last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,

    #[command(flatten)]
    pub(crate) gateway: GatewayArgs,
}

/// The types a metric given as an argument can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ArgMetricType {
    Gauge,
    Counter,
    Untyped,
}

/// How an aggregated push combines its gauges with the group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AggregateGauges {
    /// The pushed value replaces the group's (the gateway's default).
    Last,
    /// The values add up.
    Sum,
    /// The larger value stays.
    Max,
    /// The smaller value stays.
    Min,
}

/// When `pgw push` compresses its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GzipMode {
    /// Above 64 KiB, falling back to a plain body if the gateway refuses the compressed one.
    Auto,
    /// Always, for gateways that are known to accept it.
    Always,
    /// Never, for gateways that do not decompress.
    Never,
}

/// Logging flags of the long-running commands (`serve`, `relay`), with
/// the official Pushgateway's names.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct LogArgs {
    /// Only log messages at or above this level.
    #[arg(
        long = "log.level",
        value_enum,
        value_name = "LEVEL",
        default_value = "info"
    )]
    pub(crate) log_level: log::Level,

    /// Output format of log messages.
    #[arg(
        long = "log.format",
        value_enum,
        value_name = "FORMAT",
        default_value = "logfmt"
    )]
    pub(crate) log_format: log::Format,
}

/// How the client commands reach a gateway: shared by `push`, `list`,
/// `delete` and `wipe` (flattened into each).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Gateway")]
pub(crate) struct GatewayArgs {
    /// The gateway's URL, with its route prefix if it has one (default http://localhost:9091; an
    /// empty PGW_GATEWAY counts as unset). push and delete take several (-g repeated, or commas in
    /// PGW_GATEWAY) and send every request to each; push also takes a push URL
    /// (http://gw:9091/metrics/job/JOB/...), whose path names the group.
    #[arg(
        short = 'g',
        long = "gateway",
        env = "PGW_GATEWAY",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub(crate) gateways: Vec<String>,

    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
}

/// TLS, credentials, time limit and retries of requests to gateways: the
/// same flags for every client command, `relay` (whose `-g` repeats)
/// included.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Gateway")]
pub(crate) struct ConnectionArgs {
    /// PEM file of certificate authorities to trust for https gateways (besides the usual ones).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Do not check the gateways' TLS certificates (the connection stays encrypted).
    #[arg(long)]
    pub(crate) insecure: bool,

    /// User name for basic auth; the password comes from PGW_PASSWORD or --password-file.
    #[arg(short = 'u', long, env = "PGW_USER", value_name = "USER")]
    pub(crate) user: Option<String>,

    /// Password for basic auth; prefer --password-file, since the environment can leak.
    #[arg(long, env = "PGW_PASSWORD", hide_env_values = true, hide = true)]
    pub(crate) password: Option<String>,

    /// File whose first line is the basic-auth password.
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,

    /// Bearer token; prefer --token-file, since the environment can leak.
    #[arg(long, env = "PGW_TOKEN", hide_env_values = true, hide = true)]
    pub(crate) token: Option<String>,

    /// File whose first line is a bearer token.
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,

    /// Time limit for each request to a gateway.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,

    /// Retries after a connection error, a timeout, a 5xx answer or a 429 with Retry-After: with backoff, or after what a 503 or 429 asks with Retry-After (at most 30s and --timeout); never after another 4xx.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) retries: u32,
}

const LIST_EXAMPLES: &str = "\
Examples:
  pgw list                                    every group: labels, counts, last push, status
  pgw list -s 'job=node,instance=~web-.*'     groups matching a selector
  pgw list --stale 1h --sort age              groups not pushed for an hour, oldest first
  pgw list --failed -o wide                   groups whose last push failed, with more columns
  pgw list -o json | jq '.groups[].labels'    the documented JSON shape (README, \"pgw list\")
  pgw list -j backup -l instance=db1          the metrics of the group {job=\"backup\",instance=\"db1\"}
  pgw list 'job=backup,instance=db1'          the same group, written as its labels
  pgw list --metrics -s job=backup            the metrics of the one group matching a selector";

const DELETE_EXAMPLES: &str = "\
Examples:
  pgw delete -j backup -l instance=db1     delete the group {job=\"backup\",instance=\"db1\"}
  pgw delete 'job=backup,instance=db1'     the same group, written as its labels
  pgw delete 'job=backup,instance=\"\"'      the group with an empty instance (not the one without)
  pgw delete -s 'job=~ci-.*' --dry-run     show what would go, delete nothing
  pgw delete --stale 24h                   every group not pushed for a day

Clean up stale groups from cron (--fail-if-none exits 8 when there was nothing to do):
  */15 * * * *  pgw delete -g http://gateway:9091 --stale 2h -s 'job=~batch-.*'

Against pgw serve the clean-up is one atomic request (DELETE /api/v1/groups); against
the official Pushgateway pgw lists, then deletes group by group, and spares a group
pushed again since the listing.";

const WIPE_EXAMPLES: &str = "\
Examples:
  pgw wipe                    ask on the terminal, showing how many groups will go
  pgw wipe --yes              no question (needed when stdin is not a terminal)
  pgw wipe --yes --per-group  delete group by group, for a gateway without the admin API

Without --per-group this is PUT /api/v1/admin/wipe, which needs the gateway's
--web.enable-admin-api.";

/// Names one group exactly: `-j JOB -l NAME=VALUE...` (the same flags as
/// `push`) or its labels as one argument, `job=x,instance=y`.
#[derive(Debug, Clone, Args)]
pub(crate) struct KeyArgs {
    /// The group's labels, `job=JOB,NAME=VALUE...` (exact: every label, `=` only; `NAME=""` is an empty value).
    #[arg(value_name = "GROUP", conflicts_with = "job")]
    pub(crate) group: Option<String>,

    /// The group's job.
    #[arg(short = 'j', long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// Another grouping label of the group (repeatable); `NAME=` is an empty value.
    #[arg(short = 'l', long = "label", value_name = "NAME=VALUE", requires = "job", value_parser = parse_key_label)]
    pub(crate) labels: Vec<(String, String)>,
}

/// Which groups to pick: `-s` selector, `--stale`.
#[derive(Debug, Clone, Args)]
pub(crate) struct FilterArgs {
    /// Only groups matching this label selector (`job=node,instance=~web-.*`; `=`, `!=`, `=~`, `!~`).
    #[arg(short = 's', long, value_name = "SELECTOR", conflicts_with_all = ["group", "job"])]
    pub(crate) selector: Option<String>,

    /// Only groups whose last successful push is older than this, or that have none (`90s`, `1h`, `2d`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with_all = ["group", "job"])]
    pub(crate) stale: Option<Duration>,
}

/// `pgw list` flags.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,

    #[command(flatten)]
    pub(crate) filter: FilterArgs,

    /// Only failed groups: the last push was refused, or the job `pgw push --` wrapped exited non-zero.
    #[arg(long, conflicts_with_all = ["group", "job"])]
    pub(crate) failed: bool,

    /// Show the metrics of one group: the one named, or the only one matching the filters.
    #[arg(long)]
    pub(crate) metrics: bool,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub(crate) output: OutputFormat,

    /// Order of the groups (label values in natural order: web-2 before web-10).
    #[arg(long, value_enum, default_value = "status")]
    pub(crate) sort: SortOrder,

    /// Reverse the order.
    #[arg(short = 'r', long)]
    pub(crate) reverse: bool,

    /// Exit with 8 when no group is listed.
    #[arg(long)]
    pub(crate) fail_if_none: bool,

    #[command(flatten)]
    pub(crate) gateway: GatewayArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// A table that fits the terminal.
    Table,
    /// The table with more columns (push times, last failure, time to live, URL path).
    Wide,
    /// JSON, in the shape the README documents.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SortOrder {
    /// Failed groups first, then by labels.
    Status,
    /// By labels: job first, then the other labels.
    Labels,
    /// By age: oldest push first.
    Age,
}

/// `pgw delete` flags.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["group", "job", "selector", "stale"])))]
pub(crate) struct DeleteArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,

    #[command(flatten)]
    pub(crate) filter: FilterArgs,

    /// Print what would be deleted, delete nothing.
    #[arg(short = 'n', long)]
    pub(crate) dry_run: bool,

    /// Exit with 8 when no group matched (for scripts that want to know).
    #[arg(long)]
    pub(crate) fail_if_none: bool,

    /// Do not ask when the selection is every group on the gateway (required then when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,

    #[command(flatten)]
    pub(crate) gateway: GatewayArgs,
}

/// `pgw wipe` flags.
#[derive(Debug, Args)]
pub(crate) struct WipeArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,

    /// Delete the groups one by one (for a gateway whose admin API is off).
    #[arg(long)]
    pub(crate) per_group: bool,

    #[command(flatten)]
    pub(crate) gateway: GatewayArgs,
}

/// A `-l NAME=VALUE` of a grouping key: a label name (not `job`, which has
/// `-j`, nor a reserved `__` name) and any value, empty included.
fn parse_key_label(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))?;
    if !crate::exposition::validate::is_valid_label_name(name) || name.starts_with("__") {
        return Err(format!("{name:?} is not a valid grouping label name"));
    }
    if name == "job" {
        return Err("give the job with -j/--job".to_string());
    }
    Ok((name.to_string(), value.to_string()))
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
pub(crate) struct RelayArgs {
    /// Exporter to scrape, as URL or JOB=URL (repeatable; each goes to its own group). As in
    /// Prometheus' targets, `host:9100` means http://host:9100/metrics.
    #[arg(long, value_name = "[JOB=]URL", required = true)]
    pub(crate) from: Vec<String>,

    /// Job of the exporters given without JOB= in --from.
    #[arg(short = 'j', long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// The instance label of the groups (default: this host's name).
    #[arg(long, value_name = "NAME")]
    pub(crate) instance: Option<String>,

    /// A further grouping label (repeatable).
    #[arg(short = 'l', long = "label", value_name = "NAME=VALUE")]
    pub(crate) labels: Vec<String>,

    /// Keep running, scraping and pushing once per interval (with a little jitter).
    /// A failed push is then retried until the next cycle is due, instead of --retries times.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) every: Option<Duration>,

    /// Time limit of a scrape (default: 10s, and at most half the interval).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) scrape_timeout: Option<Duration>,

    /// Largest exporter answer accepted, in bytes after decompression; a larger one is a failed scrape.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub(crate) max_size: usize,

    /// Relay only the metric families whose name matches this regex (repeatable). Anchored as in
    /// Prometheus: it must match the whole name, so a prefix is `node_load.*`; a warning says
    /// when the filters leave no family.
    #[arg(long, value_name = "REGEX")]
    pub(crate) keep: Vec<String>,

    /// Leave out the metric families whose name matches this regex (whole name, anchored; repeatable).
    #[arg(long, value_name = "REGEX")]
    pub(crate) drop: Vec<String>,

    /// Ask `pgw serve` to delete a group not pushed for this long (header Pgw-Expire-After;
    /// the official server ignores it). Default with --every: 3 intervals; 0s: never.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) expire_after: Option<Duration>,

    /// Also (or instead) send the samples with the Prometheus remote-write protocol to this URL (repeatable).
    #[arg(long, value_name = "URL")]
    pub(crate) remote_write: Vec<String>,

    #[command(flatten)]
    pub(crate) log: LogArgs,

    /// A gateway's URL (repeatable, or commas in PGW_GATEWAY; default http://localhost:9091 unless
    /// --remote-write is given; an empty PGW_GATEWAY counts as unset).
    #[arg(
        short = 'g',
        long = "gateway",
        env = "PGW_GATEWAY",
        value_name = "URL",
        value_delimiter = ',',
        help_heading = "Gateway"
    )]
    pub(crate) gateways: Vec<String>,

    /// With several gateways: give every push to all of them, or each group to one chosen by hash.
    #[arg(
        long,
        value_enum,
        value_name = "HOW",
        default_value = "all",
        help_heading = "Gateway"
    )]
    pub(crate) fanout: FanoutArg,

    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
}

/// `--fanout`: how pushes are spread over several gateways (`relay::fanout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FanoutArg {
    /// Every gateway gets every push.
    All,
    /// Each group goes to one gateway, chosen by a consistent hash of its grouping key.
    Hash,
}

// The log's level and format are plain enums of `log`, which knows no
// clap; these impls let the flags name them.
impl clap::ValueEnum for log::Level {
    fn value_variants<'a>() -> &'a [Self] {
        &log::Level::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for log::Format {
    fn value_variants<'a>() -> &'a [Self] {
        &log::Format::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Durations as humantime reads them (`5m`, `1h30m`, `90s`), which covers Go's
/// duration syntax as the official flags use it.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    fn serve(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_args([&["pgw", "serve"], args].concat()).unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        a
    }

    #[test]
    fn every_serve_flag_has_its_no_form_and_the_last_one_wins() {
        let a = serve(&["--web.enable-admin-api", "--no-web.enable-admin-api"]);
        assert!(!a.enable_admin_api);
        let a = serve(&["--no-web.enable-admin-api", "--web.enable-admin-api"]);
        assert!(a.enable_admin_api);
        let a = serve(&["--no-web.enable-lifecycle"]);
        assert!(!a.enable_lifecycle);
        // Every SetTrue flag of serve, whatever it is called.
        let cmd = command();
        let serve_cmd = cmd.find_subcommand("serve").unwrap();
        let bools: Vec<String> = serve_cmd
            .get_arguments()
            .filter(|a| matches!(a.get_action(), ArgAction::SetTrue) && !a.is_hide_set())
            .map(|a| a.get_long().unwrap().to_string())
            .collect();
        assert!(bools.len() >= 5, "{bools:?}");
        for long in &bools {
            let on = format!("--{long}");
            let off = format!("--no-{long}");
            let flags = |args: &[&str]| {
                let cli = Cli::try_parse_args([&["pgw", "serve"], args].concat()).unwrap();
                let Command::Serve(a) = cli.command else {
                    panic!("not serve")
                };
                format!("{a:?}")
            };
            assert_eq!(flags(&[&on, &off]), flags(&[]), "{off} after {on}");
            assert_eq!(flags(&[&off, &on]), flags(&[&on]), "{on} after {off}");
            assert_ne!(flags(&[&on]), flags(&[]), "{on} changes something");
        }
        // Other commands have none.
        assert!(Cli::try_parse_args(["pgw", "push", "--no-replace", "-j", "x", "a=1"]).is_err());
    }

    /// Every flag and argument of every command says what it is for.
    #[test]
    fn every_argument_has_help() {
        fn check(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "pgw", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:?}");
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
            "--push.enable-utf8-names",
            "--log.level=debug",
            "--log.format=json",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(a.listen_address.len(), 2);
        assert_eq!(a.persistence_interval, Duration::from_secs(5400));
        assert!(a.enable_admin_api && a.disable_consistency_check && a.enable_utf8_names);
    }
}
