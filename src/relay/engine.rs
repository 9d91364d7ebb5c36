//! `pgw relay`'s engine: given checked [`Options`], each exporter runs its
//! own cycle (scrape, prepare, push to every target in parallel) on its own
//! thread, once (for cron; the exit code tells what failed) or on a fixed
//! schedule until stopped (as a daemon, logging changes rather than every
//! success). Blocking I/O on a few threads keeps the relay light: it lives
//! on every machine of a fleet.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;

use crate::client::{self, Connection, Gateway};
use crate::error::{ExporterFailed, GatewayError};
use crate::exposition::text;
use crate::grouping::GroupingKey;
use crate::relay::fanout::{self, Fanout};
use crate::relay::remote_write;
use crate::relay::scrape::{self, Exporter};
use crate::relay::transform::{self, Filters, Health};

/// One exporter and the group it is pushed to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Source {
    pub(crate) url: String,
    pub(crate) group: GroupingKey,
}

/// What the relay does, checked before anything is sent.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) sources: Vec<Source>,
    pub(crate) every: Option<Duration>,
    pub(crate) scrape_timeout: Duration,
    pub(crate) max_size: usize,
    pub(crate) filters: Filters,
    /// `Pgw-Expire-After` for each push, when asked for.
    pub(crate) expire_after: Option<Duration>,
    pub(crate) fanout: Fanout,
    pub(crate) gateways: Vec<String>,
    pub(crate) remote_write: Vec<String>,
    /// How every target is reached; its retries are those of once mode.
    pub(crate) connection: Connection,
}

/// Where pushes go.
struct Target {
    url: String,
    remote_write: bool,
    client: Gateway,
}

fn targets(config: &Options) -> anyhow::Result<Vec<Target>> {
    let build = |url: &str| {
        // The relay retries by itself (within the interval in daemon mode).
        Gateway::new(&client::Options {
            url: url.to_string(),
            connection: Connection {
                retries: 0,
                ..config.connection.clone()
            },
        })
    };
    let mut out = Vec::new();
    for url in &config.gateways {
        out.push(Target {
            url: url.clone(),
            remote_write: false,
            client: build(url)?,
        });
    }
    for url in &config.remote_write {
        out.push(Target {
            url: url.clone(),
            remote_write: true,
            client: build(url)?,
        });
    }
    Ok(out)
}

/// Set by SIGTERM, SIGINT or Ctrl-C; every wait of the daemon ends early on it.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `deadline`; true when stopped first.
    fn wait_until(&self, deadline: Instant) -> bool {
        let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *stopped {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = self
                .cv
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Runs the relay: once, the exit code saying what went wrong, or every
/// interval until SIGTERM, SIGINT or Ctrl-C.
pub(crate) fn run(config: &Options) -> anyhow::Result<i32> {
    let targets = targets(config)?;
    let stop = Arc::new(Stop::default());
    match config.every {
        None => once(config, &targets, &stop),
        Some(every) => {
            let handler_stop = stop.clone();
            ctrlc::set_handler(move || handler_stop.stop())
                .context("cannot install the signal handler")?;
            daemon(config, &targets, every, &stop);
            Ok(0)
        }
    }
}

/// What one cycle of one source came to.
#[derive(Default)]
struct Outcome {
    scrape_error: Option<String>,
    /// The scrape had families and the filters left none of them.
    filtered_all: bool,
    /// One per target pushed to: its index and the result.
    pushes: Vec<(usize, Result<(), GatewayError>)>,
}

/// Scrape and push every source once; the exit code says what went wrong:
/// a push that failed first (its kind decides), then an exporter that failed.
fn once(config: &Options, targets: &[Target], stop: &Stop) -> anyhow::Result<i32> {
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = config
            .sources
            .iter()
            .map(|source| {
                s.spawn(move || {
                    let exporter =
                        Exporter::new(&source.url, config.scrape_timeout, config.max_size);
                    cycle(config, source, &exporter, targets, None, stop, None)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a relay cycle panicked"))
            .collect()
    });
    let mut first_push_error = None;
    let mut scrape_error = None;
    for (source, outcome) in config.sources.iter().zip(outcomes) {
        let total = outcome.pushes.len();
        let failed = outcome.pushes.iter().filter(|(_, r)| r.is_err()).count();
        for (i, result) in outcome.pushes {
            let url = &targets[i].url;
            // With several targets each one's status is logged; the first
            // failure is also the command's error and picks the exit code.
            match result {
                Ok(()) if total > 1 && failed > 0 => {
                    info!("pushed", group = source.group, target = url)
                }
                Ok(()) => debug!("pushed", group = source.group, target = url),
                Err(e) => {
                    if total > 1 {
                        error!("push failed", group = source.group, target = url, err = e);
                    }
                    if first_push_error.is_none() {
                        first_push_error = Some(anyhow::Error::new(e).context(format!(
                            "cannot push group {} ({failed} of {total} targets failed)",
                            source.group
                        )));
                    }
                }
            }
        }
        if let Some(e) = outcome.scrape_error {
            if scrape_error.is_some() || first_push_error.is_some() {
                warn!(
                    "scrape failed; pushed only the health series",
                    group = source.group,
                    err = e
                );
            } else {
                scrape_error = Some(e);
            }
        }
    }
    if let Some(e) = first_push_error {
        if let Some(s) = scrape_error {
            warn!("scrape failed; pushed only the health series", err = s);
        }
        return Err(e);
    }
    match scrape_error {
        Some(e) => Err(ExporterFailed(e).into()),
        None => Ok(0),
    }
}

/// The targets one source's pushes go to: the gateways by fanout, then every
/// remote-write receiver.
fn chosen(config: &Options, targets: &[Target], source: &Source) -> Vec<usize> {
    let mut out = fanout::targets(config.fanout, &source.group.canonical(), &config.gateways);
    out.extend(config.gateways.len()..targets.len());
    out
}

/// Runs every source on its own thread, a cycle per interval, until stopped.
fn daemon(config: &Options, targets: &[Target], every: Duration, stop: &Stop) {
    info!(
        "relay started",
        sources = config.sources.len(),
        every = humantime::format_duration(every),
        targets = targets
            .iter()
            .map(|t| t.url.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    std::thread::scope(|s| {
        for source in &config.sources {
            s.spawn(move || source_loop(config, source, targets, every, stop));
        }
    });
    info!("relay stopped");
}

/// One source's schedule. Cycles start on a fixed grid (`start + k *
/// every`) plus a little jitter, so a fleet started together does not push
/// in lockstep; a cycle that runs late skips the grid points it missed
/// instead of starting cycles back to back, so cycles never overlap.
fn source_loop(
    config: &Options,
    source: &Source,
    targets: &[Target],
    every: Duration,
    stop: &Stop,
) {
    let exporter = Exporter::new(&source.url, config.scrape_timeout, config.max_size);
    let jitter_max = (every / 10).min(Duration::from_secs(5));
    let mut tick = Instant::now();
    let mut state = State::default();
    let mut run_at = tick;
    loop {
        if stop.wait_until(run_at) {
            return;
        }
        let deadline = tick + every;
        let outcome = cycle(
            config,
            source,
            &exporter,
            targets,
            Some(deadline),
            stop,
            Some(&mut state),
        );
        state.pushed(source, targets, &outcome);
        tick += every;
        let now = Instant::now();
        if tick <= now {
            let behind = (now - tick).as_nanos() / every.as_nanos() + 1;
            warn!(
                "cycle took longer than the interval; skipping to the next",
                group = source.group,
                skipped = behind,
            );
            tick += every * behind as u32;
        }
        run_at = tick + jitter_max.mul_f64(fastrand::f64());
    }
}

/// What the last cycle of a source saw: so the logs tell of changes (a
/// failure every cycle, a recovery once) rather than of every success, and
/// so remote write can end the series that disappeared.
#[derive(Default)]
struct State {
    scrape_failed: bool,
    /// The last scrape's families were all left out by the filters.
    filtered_all: bool,
    failed_targets: Vec<usize>,
    /// The series of the last remote write, to end those that disappear.
    remote_series: Vec<Vec<crate::exposition::proto::prompb::Label>>,
}

impl State {
    /// Logs how a scrape went, as soon as it is over (before the pushes,
    /// which may be retried until the next cycle).
    fn scraped(&mut self, source: &Source, scrape_error: Option<&str>) {
        match scrape_error {
            Some(e) => {
                warn!(
                    "scrape failed; pushing only the health series",
                    group = source.group,
                    err = e
                );
                self.scrape_failed = true;
            }
            None if self.scrape_failed => {
                info!(
                    "scrape recovered",
                    group = source.group,
                    exporter = source.url
                );
                self.scrape_failed = false;
            }
            None => {}
        }
    }

    /// Logs how the pushes went.
    fn pushed(&mut self, source: &Source, targets: &[Target], outcome: &Outcome) {
        for (i, result) in &outcome.pushes {
            let url = &targets[*i].url;
            let was_failing = self.failed_targets.contains(i);
            match result {
                Err(e) => {
                    warn!("push failed", group = source.group, target = url, err = e);
                    if !was_failing {
                        self.failed_targets.push(*i);
                    }
                }
                Ok(()) if was_failing => {
                    info!("push recovered", group = source.group, target = url);
                    self.failed_targets.retain(|t| t != i);
                }
                Ok(()) => debug!("pushed", group = source.group, target = url),
            }
        }
    }
}

/// One scrape and the pushes of what it gave (or of the health series alone).
fn cycle(
    config: &Options,
    source: &Source,
    exporter: &Exporter,
    targets: &[Target],
    deadline: Option<Instant>,
    stop: &Stop,
    state: Option<&mut State>,
) -> Outcome {
    let (scraped, duration) = scrape::timed(|| exporter.scrape());
    let timestamp_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut health = Health {
        duration,
        ..Health::default()
    };
    let mut outcome = Outcome::default();
    let names: Vec<&str> = source
        .group
        .labels()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    let mut families = Vec::new();
    let mut size_hint = 0;
    match &scraped {
        Ok(s) => {
            health.size_bytes = s.size_bytes;
            size_hint = s.text.len();
            match text::parse(&s.text) {
                Ok(parsed) => {
                    let offered = parsed.len();
                    let (prepared, stats) = transform::prepare(parsed, &names, &config.filters);
                    outcome.filtered_all =
                        config.filters.any() && offered > 0 && prepared.is_empty();
                    families = prepared;
                    health.stats = stats;
                    health.success = true;
                }
                Err(e) => {
                    outcome.scrape_error = Some(format!(
                        "the exporter at {} answered{} text that does not parse: {e}",
                        exporter.url,
                        if s.openmetrics { " OpenMetrics" } else { "" }
                    ))
                }
            }
        }
        Err(e) => outcome.scrape_error = Some(e.to_string()),
    }
    let mut state = state;
    // Said once in daemon mode (until the filters let something through
    // again): a filter that matches nothing is a mistake, not an event.
    let said = state.as_deref().is_some_and(|s| s.filtered_all);
    if outcome.filtered_all && !said {
        warn!(
            "--keep/--drop left none of the exporter's families; the regexes match the whole \
             name (anchored, as in Prometheus), so a prefix is written NAME.*",
            group = source.group,
            filters = config.filters.given.join(" "),
        );
    }
    if let Some(state) = state.as_deref_mut() {
        state.filtered_all = outcome.filtered_all;
        state.scraped(source, outcome.scrape_error.as_deref());
    }
    let health_families = transform::health_families(&health);
    let chosen = chosen(config, targets, source);
    let gateway_body = chosen
        .iter()
        .any(|&i| !targets[i].remote_write)
        .then(|| transform::render_body(&families, &health_families, size_hint));
    let remote_body = chosen.iter().any(|&i| targets[i].remote_write).then(|| {
        let mut request = remote_write::write_request(
            &[&families, &health_families],
            &source.group,
            timestamp_ms,
        );
        if let Some(state) = state {
            let previous = std::mem::take(&mut state.remote_series);
            state.remote_series = remote_write::mark_stale(&mut request, previous, timestamp_ms);
        }
        remote_write::encode(&request)
    });
    drop(families);
    let path = source.group.to_path();
    let expire = config
        .expire_after
        .map(|d| humantime::format_duration(d).to_string());
    let mut gateway_headers = vec![("Content-Type", "text/plain; version=0.0.4; charset=utf-8")];
    if let Some(e) = &expire {
        gateway_headers.push(("Pgw-Expire-After", e.as_str()));
    }
    let send = |i: usize| {
        let target = &targets[i];
        let (path, headers, body): (&str, &[(&str, &str)], &[u8]) = if target.remote_write {
            (
                "",
                &remote_write::HEADERS,
                remote_body.as_deref().unwrap_or_default(),
            )
        } else {
            (
                &path,
                &gateway_headers,
                gateway_body.as_deref().unwrap_or_default(),
            )
        };
        push(
            target,
            path,
            headers,
            body,
            config.connection.retries,
            deadline,
            stop,
        )
    };
    // Several targets are pushed to in parallel, so that one that is down
    // and retried does not hold back the others; one needs no thread.
    let results: Vec<(usize, Result<(), GatewayError>)> = if chosen.len() == 1 {
        vec![(chosen[0], send(chosen[0]))]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = chosen
                .iter()
                .map(|&i| (i, s.spawn(move || send(i))))
                .collect();
            handles
                .into_iter()
                .map(|(i, h)| (i, h.join().expect("a push panicked")))
                .collect()
        })
    };
    outcome.pushes = results;
    outcome
}

/// One push with retries: `retries` of them in once mode, as many as fit
/// before `deadline` (the next cycle) in daemon mode. A 4xx is final (but a
/// 429 with `Retry-After`); a 503 or 429 with `Retry-After` waits what it
/// asks for, within the same limits as the client commands
/// ([`Gateway::retry_wait`]).
fn push(
    target: &Target,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    retries: u32,
    deadline: Option<Instant>,
    stop: &Stop,
) -> Result<(), GatewayError> {
    let method = if target.remote_write { "POST" } else { "PUT" };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match target.client.send(method, path, headers, Some(body)) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        // The client's rule: a 4xx is final, a 503 or 429 with Retry-After
        // waits what it asks for, anything else backs off.
        let Some(wait) = target.client.retry_wait(&err, attempt) else {
            return Err(err);
        };
        let retry = match deadline {
            Some(d) => Instant::now() + wait < d,
            None => attempt <= retries,
        };
        if !retry || stop.is_stopped() {
            return Err(err);
        }
        debug!(
            "retrying push",
            target = target.url,
            attempt = attempt,
            err = err
        );
        if stop.wait_until(Instant::now() + wait) {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_ends_waits() {
        let stop = Stop::default();
        assert!(!stop.wait_until(Instant::now() + Duration::from_millis(1)));
        stop.stop();
        assert!(stop.wait_until(Instant::now() + Duration::from_secs(3600)));
    }
}
