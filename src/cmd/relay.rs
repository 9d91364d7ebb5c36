//! `pgw relay`: the flags become checked [`relay::Options`] (every mistake
//! in them found before anything is scraped or sent), then the engine runs
//! (`relay::engine`).

use std::time::Duration;

use crate::cli::{FanoutArg, RelayArgs};
use crate::client;
use crate::error::Usage;
use crate::exposition::validate::is_valid_label_name;
use crate::grouping::GroupingKey;
use crate::log;
use crate::relay::engine::{self as relay, Source};
use crate::relay::fanout::Fanout;
use crate::relay::transform::Filters;

/// The default scrape time limit, lowered to half the interval when that is shorter.
const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many intervals a group outlives its last push when the relay asks `pgw serve` for an expiry.
const EXPIRY_INTERVALS: u32 = 3;

pub(crate) fn run(args: RelayArgs) -> anyhow::Result<i32> {
    log::init(args.log.log_level, args.log.log_format);
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    relay::run(&options(&args, &hostname)?)
}

/// The flags as the engine's options; `hostname` is the default instance.
fn options(args: &RelayArgs, hostname: &str) -> anyhow::Result<relay::Options> {
    let instance = args
        .instance
        .clone()
        .unwrap_or_else(|| hostname.to_string());
    if instance.is_empty() {
        return Err(Usage("--instance: the instance must not be empty".into()).into());
    }
    let mut extra = Vec::new();
    for l in &args.labels {
        extra.push(parse_label(l)?);
    }
    let mut sources: Vec<Source> = Vec::new();
    for from in &args.from {
        let (job, url) = split_from(from);
        let job = match job.or(args.job.as_deref()) {
            Some(j) => j.to_string(),
            None => {
                return Err(Usage(format!(
                    "--from {from:?}: no job for this exporter; give --job or write JOB=URL"
                ))
                .into())
            }
        };
        let url = exporter_url(url).map_err(|m| Usage(format!("--from {from:?}: {m}")))?;
        let mut pairs = vec![
            ("job".to_string(), job),
            ("instance".to_string(), instance.clone()),
        ];
        pairs.extend(extra.iter().cloned());
        let group = GroupingKey::new(pairs);
        if let Some(other) = sources.iter().find(|s| s.group == group) {
            return Err(Usage(format!(
                "--from {from:?}: {} goes to the group {group} already; give each exporter its own job (JOB=URL)",
                other.url
            ))
            .into());
        }
        sources.push(Source { url, group });
    }
    let scrape_timeout = match (args.scrape_timeout, args.every) {
        (Some(t), Some(every)) if t >= every => {
            return Err(Usage(format!(
                "--scrape-timeout {} must be shorter than --every {}",
                humantime::format_duration(t),
                humantime::format_duration(every)
            ))
            .into())
        }
        (Some(t), _) => t,
        (None, Some(every)) => DEFAULT_SCRAPE_TIMEOUT.min(every / 2),
        (None, None) => DEFAULT_SCRAPE_TIMEOUT,
    };
    if args.every.is_some_and(|e| e.is_zero()) {
        return Err(Usage("--every must be longer than 0s".into()).into());
    }
    let filters =
        Filters::new(&args.keep, &args.drop).map_err(|e| Usage(format!("--keep/--drop: {e}")))?;
    let expire_after = match (args.expire_after, args.every) {
        (Some(d), _) if d.is_zero() => None,
        (Some(d), _) => Some(d),
        (None, Some(every)) => Some(every * EXPIRY_INTERVALS),
        (None, None) => None,
    };
    let mut gateways = Vec::new();
    for g in super::gateway_values(&args.gateways) {
        let url = super::read_gateway(&g)?;
        if let Some(key) = &url.key {
            return Err(Usage(format!(
                "--gateway {g:?}: a push URL (of the group {key}); pgw relay names its groups \
                 itself (--job, --instance, -l), so give the gateway's URL, {}",
                url.base
            ))
            .into());
        }
        gateways.push(url.base);
    }
    if gateways.is_empty() && args.remote_write.is_empty() {
        gateways.push(super::DEFAULT_GATEWAY.to_string());
    }
    let mut remote_write = Vec::new();
    for r in &args.remote_write {
        remote_write
            .push(client::normalize_base(r).map_err(|e| Usage(format!("--remote-write: {e:#}")))?);
    }
    Ok(relay::Options {
        sources,
        every: args.every,
        scrape_timeout,
        max_size: args.max_size,
        filters,
        expire_after,
        fanout: match args.fanout {
            FanoutArg::All => Fanout::All,
            FanoutArg::Hash => Fanout::Hash,
        },
        gateways,
        remote_write,
        connection: super::connection(&args.connection)?,
    })
}

/// `JOB=URL` or `URL`: a prefix before `=` is a job when it cannot be part
/// of a URL's scheme or host (a URL's query may hold `=` too).
fn split_from(from: &str) -> (Option<&str>, &str) {
    match from.split_once('=') {
        Some((job, url)) if !job.is_empty() && !job.contains([':', '/', '?']) => (Some(job), url),
        _ => (None, from),
    }
}

fn exporter_url(url: &str) -> Result<String, String> {
    let full = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let (scheme, rest) = full.split_once("://").unwrap_or(("", ""));
    if scheme != "http" && scheme != "https" {
        return Err("the scheme must be http or https".into());
    }
    if rest.split(['/', '?']).next().unwrap_or("").is_empty() {
        return Err("no host".into());
    }
    // As in Prometheus' targets, no path means /metrics: `--from
    // localhost:9100` would otherwise scrape the exporter's HTML page.
    match rest.find(['/', '?']) {
        None => Ok(format!("{full}/metrics")),
        Some(i) if &rest[i..] == "/" => Ok(format!("{}metrics", full)),
        Some(_) => Ok(full),
    }
}

fn parse_label(l: &str) -> anyhow::Result<(String, String)> {
    let bad = |m: &str| Usage(format!("--label {l:?}: {m}"));
    let (name, value) = l
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=VALUE"))?;
    if !is_valid_label_name(name) || name.starts_with("__") {
        return Err(bad("not a valid label name").into());
    }
    if name == "job" || name == "instance" {
        return Err(bad("use --job or --instance for this label").into());
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn config(args: &[&str]) -> anyhow::Result<relay::Options> {
        let mut argv = vec!["pgw", "relay"];
        argv.extend_from_slice(args);
        let Command::Relay(a) = Cli::try_parse_from(argv)?.command else {
            panic!("not relay")
        };
        options(&a, "host1")
    }

    #[test]
    fn from_names_a_job_or_takes_the_default() {
        assert_eq!(
            split_from("node=http://x:9100/metrics"),
            (Some("node"), "http://x:9100/metrics")
        );
        assert_eq!(
            split_from("http://x/metrics?a=b"),
            (None, "http://x/metrics?a=b")
        );
        assert_eq!(split_from("x:9100/m?a=b"), (None, "x:9100/m?a=b"));
        let c = config(&[
            "--from",
            "node=localhost:9100/metrics",
            "--from",
            "http://a/m",
            "-j",
            "app",
            "-l",
            "dc=eu",
        ])
        .unwrap();
        assert_eq!(c.sources[0].url, "http://localhost:9100/metrics");
        assert_eq!(
            exporter_url("127.0.0.1:9100").unwrap(),
            "http://127.0.0.1:9100/metrics"
        );
        assert_eq!(
            exporter_url("https://h:9100/").unwrap(),
            "https://h:9100/metrics"
        );
        assert_eq!(exporter_url("h:8080/stats").unwrap(), "http://h:8080/stats");
        assert_eq!(
            c.sources[0].group.to_string(),
            "{dc=\"eu\",instance=\"host1\",job=\"node\"}"
        );
        assert_eq!(c.sources[1].group.get("job"), Some("app"));
        assert_eq!(c.gateways, ["http://localhost:9091"]);
        assert_eq!(c.expire_after, None);
    }

    #[test]
    fn bad_flags_are_refused_with_their_reason() {
        let err = |args: &[&str]| format!("{:#}", config(args).unwrap_err());
        assert!(err(&["--from", "http://a/m"]).contains("no job"));
        assert!(err(&["--from", "a=ftp://x"]).contains("scheme"));
        assert!(err(&["--from", "a=http://x", "--from", "a=http://y"]).contains("group"));
        assert!(err(&["--from", "a=http://x", "-l", "job=x"]).contains("--job"));
        assert!(err(&["--from", "a=http://x", "-l", "1x=y"]).contains("label name"));
        assert!(err(&["--from", "a=http://x", "--keep", "("]).contains("--keep"));
        assert!(err(&[
            "--from",
            "a=http://x",
            "--every",
            "5s",
            "--scrape-timeout",
            "5s"
        ])
        .contains("shorter"));
    }

    #[test]
    fn daemon_defaults_follow_the_interval() {
        let c = config(&[
            "--from",
            "a=http://x",
            "--every",
            "30s",
            "-g",
            "gw1:9091",
            "-g",
            "https://gw2/",
        ])
        .unwrap();
        assert_eq!(c.scrape_timeout, Duration::from_secs(10));
        assert_eq!(c.expire_after, Some(Duration::from_secs(90)));
        assert_eq!(c.gateways, ["http://gw1:9091", "https://gw2"]);
        let c = config(&[
            "--from",
            "a=http://x",
            "--every",
            "4s",
            "--expire-after",
            "0s",
        ])
        .unwrap();
        assert_eq!(c.scrape_timeout, Duration::from_secs(2));
        assert_eq!(c.expire_after, None);
        let c = config(&[
            "--from",
            "a=http://x",
            "--remote-write",
            "http://p:9090/api/v1/write",
        ])
        .unwrap();
        assert!(c.gateways.is_empty());
    }
}
