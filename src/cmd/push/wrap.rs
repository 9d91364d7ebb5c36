//! `pgw push -j JOB -- COMMAND ARGS...`: runs the command with pgw's own
//! stdin, stdout and stderr, measures it, and pushes how the run went:
//!
//! | metric | value |
//! |---|---|
//! | `pgw_job_start_time_seconds` | Unix time the run started |
//! | `pgw_job_duration_seconds` | how long it took |
//! | `pgw_job_exit_code` | its exit code, 128+N when killed by signal N |
//! | `pgw_job_last_success_time_seconds` | Unix time it ended, pushed only when the exit code is 0 |
//!
//! Everything is pushed with POST, which replaces only the families in the
//! body: a failed run updates the first three and leaves the last success of
//! an earlier run in place (a PUT would remove it).
//!
//! With `--aggregate`, where many copies of a job add into one group, the
//! run also counts, and the duration becomes a histogram over every run:
//!
//! | metric | value |
//! |---|---|
//! | `pgw_job_runs_total` | counter, 1 |
//! | `pgw_job_failed_runs_total` | counter, 1 when the exit code is not 0, else 0 |
//! | `pgw_job_duration_seconds` | histogram of the run's duration ([`DURATION_BUCKETS`]) |
//! | `pgw_job_last_duration_seconds` | gauge, how long the run took |
//!
//! The last one replaces the gauge `pgw_job_duration_seconds`, whose name
//! the histogram takes; the other gauges stay (the gateway keeps the last).
//!
//! Signals: SIGTERM and SIGHUP, which supervisors and cron timeouts send to
//! pgw alone, are forwarded to the command, and pgw goes on waiting for it.
//! SIGINT and SIGQUIT come from a terminal, which sends them to the whole
//! foreground process group, so the command already has them: pgw ignores
//! them while the command runs, as a shell does, and still reports the run.
//! Once the command has ended, any of the four stops a push that hangs
//! (after a grace second, which still belongs to the command's end).

use std::borrow::Cow;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use rustix::process::{kill_process, Pid, Signal};
use tokio::signal::unix::{signal, SignalKind};

use super::{push_everywhere, render_body, Config, Method};
use crate::client::Gateway;
use crate::exposition::{Family, Metric, MetricType, Value};

/// Signals that come in this soon after the command ended belong to its end
/// (a Ctrl-C reaches the command and pgw at once) and do not stop the push.
const SIGNAL_GRACE: Duration = Duration::from_secs(1);

/// Upper bounds (seconds) of the duration histogram of aggregated runs: from
/// a second to two hours, what cron jobs and CI shards take, dense at the
/// short end where most runs are.
pub(super) const DURATION_BUCKETS: [f64; 11] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

/// How a run of the command went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Outcome {
    pub(crate) start: SystemTime,
    pub(crate) duration: Duration,
    pub(crate) exit_code: i32,
}

impl Outcome {
    /// A successful run, to check the run's families against the user's
    /// before anything runs.
    pub(super) fn placeholder() -> Outcome {
        Outcome {
            start: UNIX_EPOCH,
            duration: Duration::ZERO,
            exit_code: 0,
        }
    }
}

/// The families pushed about a run; with `aggregate`, the counters and the
/// duration histogram too.
pub(super) fn families(outcome: &Outcome, aggregate: bool) -> Vec<Family<'static>> {
    let unix = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    };
    let family = |name: &'static str, help: &'static str, kind, value| Family {
        name: Cow::Borrowed(name),
        help: Some(Cow::Borrowed(help)),
        kind,
        metrics: vec![Metric {
            labels: Vec::new(),
            value,
            timestamp_ms: None,
            extras: None,
        }],
    };
    let gauge = |name, help, value| family(name, help, MetricType::Gauge, Value::Single(value));
    let seconds = outcome.duration.as_secs_f64();
    let mut out = vec![
        gauge(
            "pgw_job_start_time_seconds",
            "Unix time when the last run of the job started.",
            unix(outcome.start),
        ),
        if aggregate {
            gauge(
                "pgw_job_last_duration_seconds",
                "How long the last run of the job took, in seconds.",
                seconds,
            )
        } else {
            gauge(
                "pgw_job_duration_seconds",
                "How long the last run of the job took, in seconds.",
                seconds,
            )
        },
        gauge(
            "pgw_job_exit_code",
            "Exit code of the last run of the job (128+N when killed by signal N).",
            f64::from(outcome.exit_code),
        ),
    ];
    if outcome.exit_code == 0 {
        out.push(gauge(
            "pgw_job_last_success_time_seconds",
            "Unix time when the last successful run of the job ended.",
            unix(outcome.start + outcome.duration),
        ));
    }
    if aggregate {
        let counter =
            |name, help, value| family(name, help, MetricType::Counter, Value::Single(value));
        out.push(counter("pgw_job_runs_total", "Runs of the job.", 1.0));
        // Pushed as 0 on success too, so that the series exists from the
        // first run and `increase()` sees the first failure.
        out.push(counter(
            "pgw_job_failed_runs_total",
            "Runs of the job that ended with an exit code other than 0.",
            if outcome.exit_code == 0 { 0.0 } else { 1.0 },
        ));
        let mut buckets: Vec<(f64, f64)> = DURATION_BUCKETS
            .iter()
            .map(|&le| (le, if seconds <= le { 1.0 } else { 0.0 }))
            .collect();
        buckets.push((f64::INFINITY, 1.0));
        out.push(family(
            "pgw_job_duration_seconds",
            "How long the runs of the job took, in seconds.",
            MetricType::Histogram,
            Value::Histogram {
                sample_count: 1.0,
                sample_sum: seconds,
                buckets,
            },
        ));
    }
    out
}

/// The exit code a shell would report: the code, or 128+N for signal N.
fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Runs `argv`, pushes the outcome with the user's families, and returns the
/// exit code pgw should end with: the command's, unless the command
/// succeeded and the push failed, which is then the error.
pub(super) fn run(
    gateways: Vec<Gateway>,
    config: &Config,
    user: Vec<Family<'static>>,
    argv: &[String],
) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime that watches the command")?;
    let result = runtime.block_on(supervise(gateways, config.clone(), user, argv));
    // A push given up after a signal may still be waiting on the network:
    // do not wait for it.
    runtime.shutdown_background();
    result
}

async fn supervise(
    gateways: Vec<Gateway>,
    config: Config,
    user: Vec<Family<'static>>,
    argv: &[String],
) -> anyhow::Result<i32> {
    let mut signals = Signals::new()?;
    let program = &argv[0];
    let start = SystemTime::now();
    let clock = Instant::now();
    let mut child = tokio::process::Command::new(program)
        .args(&argv[1..])
        .spawn()
        .map_err(|e| anyhow!("cannot run {program:?}: {e}"))?;
    let status = loop {
        tokio::select! {
            status = child.wait() => {
                break status.with_context(|| format!("cannot wait for {program:?}"))?;
            }
            sig = signals.recv() => {
                if sig == Signal::TERM || sig == Signal::HUP {
                    if let Some(pid) = child.id().and_then(|id| Pid::from_raw(id as i32)) {
                        // It may have exited in between; then there is no one to tell.
                        let _ = kill_process(pid, sig);
                    }
                }
            }
        }
    };
    let ended = Instant::now();
    let outcome = Outcome {
        start,
        duration: ended.duration_since(clock),
        exit_code: exit_code(status),
    };
    let mut all = user;
    all.extend(families(&outcome, config.aggregate.is_some()));
    let body = render_body(&all);
    let mut pushing = tokio::task::spawn_blocking(move || {
        push_everywhere(&gateways, &config, Method::Post, &body)
    });
    let pushed = loop {
        tokio::select! {
            joined = &mut pushing => break joined.context("the push did not finish")?,
            sig = signals.recv() => {
                // A Ctrl-C that ended the command reached pgw at the same
                // moment, but its notification can come in after the exit:
                // it is about the run, not about the push.
                if ended.elapsed() < SIGNAL_GRACE {
                    continue;
                }
                eprintln!(
                    "pgw: error: stopped by signal {} while pushing the outcome of {program:?}",
                    sig.as_raw()
                );
                return Ok(128 + sig.as_raw());
            }
        }
    };
    match pushed {
        Ok(_) => Ok(outcome.exit_code),
        Err(err) if outcome.exit_code == 0 => Err(err),
        Err(err) => {
            // The command's failure is what the caller needs to see in the
            // exit code; the push failure is still reported.
            eprintln!("pgw: error: {err:#}");
            Ok(outcome.exit_code)
        }
    }
}

/// The signals pgw handles while a command runs.
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        let on = |kind| signal(kind).context("cannot install a signal handler");
        Ok(Signals {
            term: on(SignalKind::terminate())?,
            hup: on(SignalKind::hangup())?,
            int: on(SignalKind::interrupt())?,
            quit: on(SignalKind::quit())?,
        })
    }

    async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::TERM,
            _ = self.hup.recv() => Signal::HUP,
            _ = self.int.recv() => Signal::INT,
            _ = self.quit.recv() => Signal::QUIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_success_only_on_success() {
        let ok = Outcome {
            start: UNIX_EPOCH + Duration::from_secs(1_764_000_000),
            duration: Duration::from_millis(2500),
            exit_code: 0,
        };
        let fams = families(&ok, false);
        let names: Vec<&str> = fams.iter().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "pgw_job_start_time_seconds",
                "pgw_job_duration_seconds",
                "pgw_job_exit_code",
                "pgw_job_last_success_time_seconds"
            ]
        );
        assert_eq!(fams[3].metrics[0].value, Value::Single(1_764_000_002.5));
        let failed = Outcome { exit_code: 3, ..ok };
        let fams = families(&failed, false);
        assert_eq!(fams.len(), 3);
        assert_eq!(fams[2].metrics[0].value, Value::Single(3.0));
        crate::exposition::validate::check_families(&fams).unwrap();
    }

    #[test]
    fn aggregated_runs_count_and_fill_the_histogram() {
        let ok = Outcome {
            start: UNIX_EPOCH + Duration::from_secs(1_764_000_000),
            duration: Duration::from_millis(2500),
            exit_code: 0,
        };
        let body = String::from_utf8(render_body(&families(&ok, true))).unwrap();
        assert_eq!(
            body,
            "# HELP pgw_job_start_time_seconds Unix time when the last run of the job started.\n\
             # TYPE pgw_job_start_time_seconds gauge\n\
             pgw_job_start_time_seconds 1.764e+09\n\
             # HELP pgw_job_last_duration_seconds How long the last run of the job took, in seconds.\n\
             # TYPE pgw_job_last_duration_seconds gauge\n\
             pgw_job_last_duration_seconds 2.5\n\
             # HELP pgw_job_exit_code Exit code of the last run of the job (128+N when killed by signal N).\n\
             # TYPE pgw_job_exit_code gauge\n\
             pgw_job_exit_code 0\n\
             # HELP pgw_job_last_success_time_seconds Unix time when the last successful run of the job ended.\n\
             # TYPE pgw_job_last_success_time_seconds gauge\n\
             pgw_job_last_success_time_seconds 1.7640000025e+09\n\
             # HELP pgw_job_runs_total Runs of the job.\n\
             # TYPE pgw_job_runs_total counter\n\
             pgw_job_runs_total 1\n\
             # HELP pgw_job_failed_runs_total Runs of the job that ended with an exit code other than 0.\n\
             # TYPE pgw_job_failed_runs_total counter\n\
             pgw_job_failed_runs_total 0\n\
             # HELP pgw_job_duration_seconds How long the runs of the job took, in seconds.\n\
             # TYPE pgw_job_duration_seconds histogram\n\
             pgw_job_duration_seconds_bucket{le=\"1\"} 0\n\
             pgw_job_duration_seconds_bucket{le=\"5\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"15\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"30\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"60\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"120\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"300\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"600\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"1800\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"3600\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"7200\"} 1\n\
             pgw_job_duration_seconds_bucket{le=\"+Inf\"} 1\n\
             pgw_job_duration_seconds_sum 2.5\n\
             pgw_job_duration_seconds_count 1\n"
        );
        // A failed run of three hours: counted as failed, in +Inf only, and
        // without a last success.
        let failed = Outcome {
            duration: Duration::from_secs(3 * 3600),
            exit_code: 137,
            ..ok
        };
        let body = String::from_utf8(render_body(&families(&failed, true))).unwrap();
        for line in [
            "pgw_job_exit_code 137\n",
            "pgw_job_runs_total 1\n",
            "pgw_job_failed_runs_total 1\n",
            "pgw_job_duration_seconds_bucket{le=\"7200\"} 0\n",
            "pgw_job_duration_seconds_bucket{le=\"+Inf\"} 1\n",
            "pgw_job_duration_seconds_sum 10800\n",
        ] {
            assert!(body.contains(line), "{line:?} not in\n{body}");
        }
        assert!(!body.contains("last_success"), "{body}");
        // What the gateway checks, and what pgw checks for an aggregated push.
        crate::exposition::validate::check_families(&families(&failed, true)).unwrap();
        assert_eq!(super::super::not_addable(&families(&failed, true)), None);
    }

    #[test]
    fn exit_codes_like_a_shell() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        // Killed by SIGKILL (9): the raw wait status is the signal number.
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
