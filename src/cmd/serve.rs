//! `pgw serve`: turns the flags into a server configuration (checking them
//! first), then runs the server on a multi-threaded runtime.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::cli::ServeArgs;
use crate::error::Usage;
use crate::server::limits::{self, Limits};
use crate::server::{self, Config};

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    crate::log::init(args.log.log_level, args.log.log_format);
    let config = config(args)?;
    // Taken while this is the only thread, since it changes the environment.
    let inherited = if config.systemd_socket {
        Some(systemd_sockets()?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(server::run(config, inherited))
}

#[cfg(target_os = "linux")]
fn systemd_sockets() -> anyhow::Result<Vec<std::net::TcpListener>> {
    server::http::bind::systemd_sockets()
}

#[cfg(not(target_os = "linux"))]
fn systemd_sockets() -> anyhow::Result<Vec<std::net::TcpListener>> {
    Err(Usage("--web.systemd-socket is only available on Linux".into()).into())
}

/// Validates the flags into a [`Config`]; a mistake in them is a usage
/// error (exit 2), found before any file is read or address bound.
pub(crate) fn config(args: ServeArgs) -> anyhow::Result<Config> {
    if !args.telemetry_path.starts_with('/') {
        return Err(Usage(format!(
            "--web.telemetry-path must start with '/', got {:?}",
            args.telemetry_path
        ))
        .into());
    }
    if args.telemetry_path.starts_with("/metrics/job") {
        return Err(Usage(
            "--web.telemetry-path must not be under /metrics/job, which is the push API".into(),
        )
        .into());
    }
    if args.max_body_size == 0 {
        return Err(Usage("--push.max-body-size must be at least 1 byte".into()).into());
    }
    if args.read_header_timeout.is_zero() {
        return Err(Usage("--web.read-header-timeout must be longer than 0s".into()).into());
    }
    // `--flag=` (empty) means unset, as kingpin treats upstream's file flags.
    let file = |f: &Option<String>| f.as_deref().filter(|p| !p.is_empty()).map(PathBuf::from);
    let security = server::security::Sources {
        web_config_file: file(&args.web_config_file),
        auth_file: file(&args.auth_file),
        tls_cert_file: file(&args.tls_cert_file),
        tls_key_file: file(&args.tls_key_file),
    };
    if security.tls_cert_file.is_some() != security.tls_key_file.is_some() {
        return Err(Usage(
            "--web.tls-cert-file and --web.tls-key-file go together: give both or neither".into(),
        )
        .into());
    }
    if args.read_timeout.is_zero() {
        return Err(Usage("--web.read-timeout must be longer than 0".into()).into());
    }
    // Anchored, as Prometheus anchors its regexes.
    let aggregate_jobs = args
        .aggregate_jobs
        .as_deref()
        .map(|re| {
            regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| {
                Usage(format!(
                    "--push.aggregate-jobs: {re:?} is not a valid regex: {e}"
                ))
            })
        })
        .transpose()?;
    if args.expire_after.is_some_and(|d| d.is_zero()) {
        return Err(Usage(
            "--expire-after must be longer than 0 (leave it out to keep groups forever)".into(),
        )
        .into());
    }
    // A compressed body and its decompressed copy are held together, each
    // up to the body limit: a budget of less would refuse a lone push of
    // the largest size for ever.
    let lone_push = args.max_body_size.saturating_mul(2);
    let max_inflight_bytes = match args.max_inflight_bytes {
        None => lone_push.max(limits::DEFAULT_MAX_INFLIGHT_BYTES),
        Some(n) if n != 0 && n < lone_push => {
            return Err(Usage(format!(
                "--push.max-inflight-bytes must be at least twice --push.max-body-size \
                 ({lone_push} bytes), so that one push of the largest size fits, got {n}; \
                 or 0 for no limit"
            ))
            .into())
        }
        Some(n) => n,
    };
    let limits = Limits {
        max_series_per_push: args.max_series_per_push,
        max_label_name_length: args.max_label_name_length,
        max_label_value_length: args.max_label_value_length,
        max_groups: args.max_groups,
        max_series: args.max_series,
        max_grouping_key_labels: args.max_grouping_key_labels,
    };
    // As upstream's status shows them (Go's Duration.String()).
    let duration = server::http::api::go_duration;
    let route_prefix =
        server::route_prefix(args.route_prefix.as_deref(), args.external_url.as_deref());
    // `--persistence.file=` (empty) means memory only, as upstream.
    let persistence_file = args
        .persistence_file
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let etcd = etcd_config(&args, persistence_file.as_deref())?;
    let flags = vec![
        (
            "log.format",
            format!("{:?}", args.log.log_format).to_lowercase(),
        ),
        (
            "log.level",
            format!("{:?}", args.log.log_level).to_lowercase(),
        ),
        (
            "persistence.file",
            persistence_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("persistence.interval", duration(args.persistence_interval)),
        ("persistence.recover", args.persistence_recover.to_string()),
        (
            "persistence.import",
            args.persistence_import
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        (
            "push.disable-consistency-check",
            args.disable_consistency_check.to_string(),
        ),
        ("push.enable-utf8-names", args.enable_utf8_names.to_string()),
        (
            "push.aggregate-jobs",
            args.aggregate_jobs.clone().unwrap_or_default(),
        ),
        (
            "expire-after",
            args.expire_after.map(duration).unwrap_or_default(),
        ),
        ("push.max-body-size", args.max_body_size.to_string()),
        (
            "push.max-label-name-length",
            args.max_label_name_length.to_string(),
        ),
        (
            "push.max-label-value-length",
            args.max_label_value_length.to_string(),
        ),
        ("push.max-series", args.max_series_per_push.to_string()),
        (
            "push.max-grouping-key-labels",
            args.max_grouping_key_labels.to_string(),
        ),
        ("push.max-inflight-bytes", max_inflight_bytes.to_string()),
        ("store.max-groups", args.max_groups.to_string()),
        ("store.max-series", args.max_series.to_string()),
        ("web.read-timeout", duration(args.read_timeout)),
        ("web.enable-admin-api", args.enable_admin_api.to_string()),
        ("web.enable-lifecycle", args.enable_lifecycle.to_string()),
        (
            "web.external-url",
            args.external_url.clone().unwrap_or_default(),
        ),
        ("web.listen-address", args.listen_address.join(",")),
        ("web.systemd-socket", args.systemd_socket.to_string()),
        ("store.etcd.endpoints", args.etcd.endpoints.join(",")),
        ("store.etcd.prefix", args.etcd.prefix.clone()),
        ("store.etcd.timeout", duration(args.etcd.timeout)),
        ("web.route-prefix", route_prefix.clone()),
        ("web.telemetry-path", args.telemetry_path.clone()),
        (
            "web.config.file",
            args.web_config_file.clone().unwrap_or_default(),
        ),
        ("auth.file", args.auth_file.clone().unwrap_or_default()),
        (
            "web.tls-cert-file",
            args.tls_cert_file.clone().unwrap_or_default(),
        ),
        (
            "web.tls-key-file",
            args.tls_key_file.clone().unwrap_or_default(),
        ),
        (
            "web.read-header-timeout",
            duration(args.read_header_timeout),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok(Config {
        listen_addresses: args.listen_address,
        systemd_socket: args.systemd_socket,
        route_prefix,
        telemetry_path: args.telemetry_path,
        enable_admin_api: args.enable_admin_api,
        enable_lifecycle: args.enable_lifecycle,
        disable_consistency_check: args.disable_consistency_check,
        utf8_names: args.enable_utf8_names,
        persistence_file,
        etcd,
        persistence_interval: args.persistence_interval,
        persistence_recover: args.persistence_recover,
        persistence_import: args.persistence_import,
        body_limit: args.max_body_size,
        max_inflight_bytes,
        read_timeout: args.read_timeout,
        expire_after: args.expire_after,
        aggregate_jobs,
        limits,
        flags,
        security,
        read_header_timeout: args.read_header_timeout,
    })
}

/// The etcd store's flags, checked; `None` without `--store.etcd.endpoints`.
fn etcd_config(
    args: &ServeArgs,
    persistence_file: Option<&std::path::Path>,
) -> anyhow::Result<Option<server::etcd::Config>> {
    let endpoints: Vec<String> = args
        .etcd
        .endpoints
        .iter()
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    if endpoints.is_empty() {
        let set = [
            ("--store.etcd.import", args.etcd.import.is_some()),
            ("--store.etcd.ca-file", args.etcd.ca_file.is_some()),
            ("--store.etcd.cert-file", args.etcd.cert_file.is_some()),
            ("--store.etcd.username", args.etcd.username.is_some()),
        ];
        if let Some((flag, _)) = set.iter().find(|(_, set)| *set) {
            return Err(Usage(format!("{flag} needs --store.etcd.endpoints")).into());
        }
        return Ok(None);
    }
    for e in &endpoints {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(Usage(format!(
                "--store.etcd.endpoints: {e:?} is not an http:// or https:// URL"
            ))
            .into());
        }
    }
    if let Some(file) = persistence_file {
        return Err(Usage(format!(
            "--persistence.file and --store.etcd.endpoints exclude each other: the store lives \
             in etcd; to fill an empty etcd prefix once from {}, use --store.etcd.import={}",
            file.display(),
            file.display()
        ))
        .into());
    }
    if args.etcd.import.is_some() && args.persistence_import.is_some() {
        return Err(Usage(
            "--store.etcd.import and --persistence.import exclude each other: an empty prefix \
             is filled from one store"
                .into(),
        )
        .into());
    }
    if args.etcd.cert_file.is_some() != args.etcd.key_file.is_some() {
        return Err(Usage(
            "--store.etcd.cert-file and --store.etcd.key-file go together: give both or neither"
                .into(),
        )
        .into());
    }
    if args.etcd.username.is_some() != args.etcd.password_file.is_some() {
        return Err(Usage(
            "--store.etcd.username and --store.etcd.password-file go together: give both or \
             neither"
                .into(),
        )
        .into());
    }
    if args.etcd.timeout.is_zero() {
        return Err(Usage("--store.etcd.timeout must be longer than 0".into()).into());
    }
    if args.etcd.max_staleness.is_zero() {
        return Err(Usage("--store.etcd.max-staleness must be longer than 0".into()).into());
    }
    if args.etcd.max_txn_ops < 2 {
        return Err(Usage(format!(
            "--store.etcd.max-txn-ops must be at least 2 (a group and the head key), got {}",
            args.etcd.max_txn_ops
        ))
        .into());
    }
    if args.etcd.max_request_bytes < 16 * 1024 {
        return Err(Usage(format!(
            "--store.etcd.max-request-bytes must be at least 16384, got {}",
            args.etcd.max_request_bytes
        ))
        .into());
    }
    let mut prefix = args.etcd.prefix.clone();
    if prefix.is_empty() {
        return Err(Usage("--store.etcd.prefix must not be empty".into()).into());
    }
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(Some(server::etcd::Config {
        endpoints,
        prefix,
        ca_file: args.etcd.ca_file.clone(),
        cert_file: args.etcd.cert_file.clone(),
        key_file: args.etcd.key_file.clone(),
        username: args.etcd.username.clone(),
        password_file: args.etcd.password_file.clone(),
        timeout: args.etcd.timeout,
        max_staleness: args.etcd.max_staleness,
        compaction_interval: (!args.etcd.compaction_interval.is_zero())
            .then_some(args.etcd.compaction_interval),
        max_request_bytes: args.etcd.max_request_bytes,
        max_txn_ops: args.etcd.max_txn_ops,
        import: args.etcd.import.clone(),
    }))
}
