//! `pgw push`: metrics from arguments, files or stdin, checked here with the
//! strict parser and the push checks before anything is sent, then pushed to
//! one group with PUT (`--replace`) or POST (`--add`). With a command after
//! `--`, it runs the command, passes its output and exit code through, and
//! pushes how the run went (`wrap`). With `--aggregate` the push is a POST
//! that asks `pgw serve` to add it into the group (`Pgw-Aggregate: sum`), and
//! what the gateway would refuse to add is refused here first.
//!
//! The body is always re-rendered from the parsed families, so what the
//! gateway receives is the canonical text format whatever the input looked
//! like (CRLF, byte-order mark, no final newline, stripped timestamps).

#[cfg(unix)]
mod wrap;
#[cfg(not(unix))]
#[path = "push/wrap_windows.rs"]
mod wrap;

use std::borrow::Cow;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::{AggregateGauges, ArgMetricType, GzipMode, PushArgs};
use crate::client::{self, Gateway, Reply};
use crate::error::GatewayError;
use crate::error::{BadInput, Usage};
use crate::exposition::validate::{ParseFailure, ParseLimits};
use crate::exposition::{render, text, validate, Family, Label, MetricType, Value};
use crate::grouping::GroupingKey;

/// Bodies larger than this are gzip-compressed in `--gzip=auto` mode: below
/// it, compression saves less time on the wire than it costs.
pub(crate) const GZIP_THRESHOLD: usize = 64 << 10;

/// The families the gateway adds to every group itself: a pushed one is
/// overwritten (official) or ignored (pgw), so pushing one is a mistake.
const GATEWAY_FAMILIES: [&str; 2] = [
    crate::grouping::PUSH_TIME,
    crate::grouping::PUSH_FAILURE_TIME,
];

/// PUT replaces the whole group, POST only the families in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Put,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// `--aggregate`: the gateway adds the push into the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Aggregate {
    /// `--aggregate-gauges`; `None` leaves it to the gateway (last).
    pub(crate) gauges: Option<AggregateGauges>,
}

impl Aggregate {
    /// The request headers that ask for the aggregation.
    fn headers(self) -> Vec<(&'static str, &'static str)> {
        let mut out = vec![("Pgw-Aggregate", "sum")];
        if let Some(gauges) = self.gauges {
            let how = match gauges {
                AggregateGauges::Last => "last",
                AggregateGauges::Sum => "sum",
                AggregateGauges::Max => "max",
                AggregateGauges::Min => "min",
            };
            out.push(("Pgw-Aggregate-Gauges", how));
        }
        out
    }
}

/// What the gateway refuses to add into a group, found before sending.
#[derive(Debug, Clone, PartialEq)]
enum NotAddable {
    /// An untyped family: adding it would be a guess.
    Untyped { family: String },
    /// A counter sample that is negative or not finite: pushed values are
    /// increments, and a counter cannot go down (NaN and infinities would
    /// stay in the group's total for good).
    Counter { series: String, value: f64 },
}

impl NotAddable {
    fn message(&self) -> String {
        match self {
            NotAddable::Untyped { family } => format!(
                "{family} is untyped, and with --aggregate the gateway refuses untyped metrics, \
                 since adding them is a guess: use a counter or gauge"
            ),
            NotAddable::Counter { series, value } if *value < 0.0 => format!(
                "the counter {series} is {}: with --aggregate a pushed counter is added to the \
                 group's, and a counter cannot go down",
                render::format_float(*value)
            ),
            NotAddable::Counter { series, value } => format!(
                "the counter {series} is {}: with --aggregate a pushed counter is added to the \
                 group's, which would stay {} for good",
                render::format_float(*value),
                render::format_float(*value)
            ),
        }
    }
}

/// The first family or series in `families` that an aggregated push cannot
/// carry.
fn not_addable(families: &[Family<'_>]) -> Option<NotAddable> {
    for family in families {
        match family.kind {
            MetricType::Untyped => {
                return Some(NotAddable::Untyped {
                    family: family.name.to_string(),
                })
            }
            MetricType::Counter => {
                for metric in &family.metrics {
                    if let Value::Single(v) = metric.value {
                        if !(v.is_finite() && v >= 0.0) {
                            return Some(NotAddable::Counter {
                                series: series_name(&family.name, &metric.labels),
                                value: v,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The 1-based number of the line where family `name` first appears in
/// `text`: its `# TYPE` or `# HELP` line or its first sample.
fn family_line(text: &str, name: &str) -> Option<usize> {
    let quoted = format!("\"{name}\"");
    let is_name = |s: &str| s == name || s == quoted;
    text.lines().enumerate().find_map(|(i, line)| {
        let line = line.trim_start_matches('\u{feff}').trim();
        let found = if let Some(rest) = line.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            matches!(words.next(), Some("TYPE" | "HELP")) && words.next().is_some_and(is_name)
        } else if let Some(rest) = line.strip_prefix('{') {
            // A quoted name inside the braces: {"my.name",a="b"} 1
            rest.split([',', '}'])
                .next()
                .is_some_and(|n| is_name(n.trim()))
        } else {
            line.split(['{', ' ', '\t']).next().is_some_and(is_name)
        };
        found.then_some(i + 1)
    })
}

/// Where metrics come from, in the order they are read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "stdin".to_string(),
        }
    }
}

/// The checked command line of `pgw push`.
#[derive(Debug, Clone)]
struct Config {
    key: GroupingKey,
    method: Method,
    /// Metric arguments, already parsed into families.
    arg_families: Vec<Family<'static>>,
    sources: Vec<Source>,
    strip_timestamps: bool,
    /// `--utf8-names`: quoted names in the input may be any UTF-8.
    utf8_names: bool,
    aggregate: Option<Aggregate>,
    expire_after: Option<Duration>,
    gzip: GzipMode,
    command: Option<Vec<String>>,
    /// Every gateway to push to; `None` with `--dry-run`, which reaches no
    /// gateway and does not check the connection flags.
    gateways: Option<Vec<client::Options>>,
    /// Whether the user left the method to the default (PUT), to be told
    /// when a replace removes families.
    default_replace: bool,
}

pub(crate) fn run(args: PushArgs) -> anyhow::Result<i32> {
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let config = Config::from_args(args, stdin_is_terminal, &stdin_has_data)?;
    // The gateway flags (URL, credential files, CA) are checked before any
    // input is read, so a typo there does not swallow a pipeline's output.
    let gateways = match &config.gateways {
        None => None,
        Some(all) => Some(
            all.iter()
                .map(Gateway::new)
                .collect::<anyhow::Result<Vec<Gateway>>>()?,
        ),
    };
    let mut families = config.arg_families.clone();
    for source in &config.sources {
        families.extend(read_source(
            source,
            config.strip_timestamps,
            config.utf8_names,
            config.aggregate.is_some(),
        )?);
    }
    match &config.command {
        Some(argv) => {
            // The run's own families are checked with the user's now, so a
            // clash is found before the command runs, not after.
            let mut all = families.clone();
            all.extend(wrap::families(
                &wrap::Outcome::placeholder(),
                config.aggregate.is_some(),
            ));
            check(&all, &config.key)?;
            let gateways = gateways.expect("--dry-run conflicts with a command");
            wrap::run(gateways, &config, families, argv)
        }
        None => {
            // An empty PUT would leave the group with nothing but its push
            // time: a pipeline whose producer failed must not do that.
            if families.is_empty() {
                let from: Vec<String> = config.sources.iter().map(Source::name).collect();
                return Err(BadInput(format!(
                    "no metrics in the input ({}); nothing was sent \
                     (pgw delete removes a group)",
                    from.join(", ")
                ))
                .into());
            }
            check(&families, &config.key)?;
            let body = render_body(&families);
            match gateways {
                None => std::io::stdout()
                    .write_all(&body)
                    .context("cannot write to stdout")?,
                Some(gateways) => {
                    let before = replaced_families(&gateways, &config);
                    push_everywhere(&gateways, &config, config.method, &body)?;
                    if let Some(before) = before {
                        note_dropped(&config.key, before, &families);
                    }
                }
            }
            Ok(0)
        }
    }
}

/// Pushes `body` to every gateway (`super::on_each_gateway`).
fn push_everywhere(
    gateways: &[Gateway],
    config: &Config,
    method: Method,
    body: &[u8],
) -> anyhow::Result<()> {
    let bases: Vec<String> = gateways.iter().map(|g| g.base().to_string()).collect();
    super::on_each_gateway(&bases, |i| {
        push(&gateways[i], config, method, body).map(|_| ())
    })
}

/// The families the group has now, when a default PUT is about to replace
/// it and someone watches stderr: to tell them what the replace removes,
/// the one surprise of PUT for a curl user (whose `--data-binary` is a
/// POST). One listing of the first gateway; `None` when it cannot be had,
/// for scripts (stderr not a terminal), and with `--replace`, which says
/// the user knows.
fn replaced_families(gateways: &[Gateway], config: &Config) -> Option<Vec<String>> {
    if !config.default_replace || !std::io::stderr().is_terminal() {
        return None;
    }
    let body = client::groups::fetch_body(gateways.first()?).ok()?;
    let (_, families) = client::groups::parse_one(&body, &config.key).ok()??;
    Some(families.into_iter().map(|f| f.name).collect())
}

/// Says which of the group's families a replace removed, if any.
fn note_dropped(key: &GroupingKey, before: Vec<String>, pushed: &[Family<'_>]) {
    let gone: Vec<String> = before
        .into_iter()
        .filter(|name| !GATEWAY_FAMILIES.contains(&name.as_str()))
        .filter(|name| !pushed.iter().any(|f| f.name == *name))
        .collect();
    if !gone.is_empty() {
        eprintln!(
            "pgw: note: the push replaced the group {key} (PUT), which no longer has {}; \
             --add (POST) keeps a group's other families, --replace says you mean it",
            gone.join(", ")
        );
    }
}

/// Whether stdin has data waiting: a file with bytes left, or a pipe,
/// socket or device that is readable within a moment and not at its end.
/// A terminal is not asked. The moment (100 ms) covers a producer that
/// starts with pgw (`echo 'c 3' | pgw push ...`); a pipe that stays open
/// and silent (ssh, some CI runners) is then taken as empty, not read to
/// an end that may never come.
#[cfg(unix)]
fn stdin_has_data() -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    use rustix::fs::{fstat, seek, FileType, SeekFrom};
    let stdin = std::io::stdin();
    let fd = std::os::fd::AsFd::as_fd(&stdin);
    if let Ok(stat) = fstat(fd) {
        if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile {
            let at = seek(fd, SeekFrom::Current(0)).unwrap_or(0);
            return u64::try_from(stat.st_size).unwrap_or(0) > at;
        }
    }
    let timeout = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    if !matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
        || !fds[0].revents().contains(PollFlags::IN)
    {
        return false;
    }
    // Readable means data or the end; one byte tells which. It is lost, but
    // pgw refuses the command line when there is one.
    let mut byte = [0u8; 1];
    matches!(rustix::io::read(fd, &mut byte), Ok(1))
}

/// Windows: stdin is only looked at when it is read.
#[cfg(not(unix))]
fn stdin_has_data() -> bool {
    false
}

impl Config {
    fn from_args(
        args: PushArgs,
        stdin_is_terminal: bool,
        stdin_has_data: &dyn Fn() -> bool,
    ) -> anyhow::Result<Config> {
        let mut metrics = args.metrics;
        // A URL as the first argument is the push URL of a curl line: a
        // metric argument never starts so (a metric name has no `/`).
        let pasted = metrics
            .first()
            .filter(|m| m.starts_with("http://") || m.starts_with("https://"))
            .is_some()
            .then(|| metrics.remove(0));
        let urls = match &pasted {
            Some(url) => {
                vec![super::read_gateway(url).context("the push URL")?]
            }
            None => super::gateway_urls(&args.gateway)?,
        };
        let key = group(&urls, args.job.as_deref(), &args.labels, args.utf8_names)?;
        let command = (!args.command.is_empty()).then_some(args.command);
        // A wrapped run always adds: with PUT, a failed run would remove the
        // last success pushed by an earlier run. An aggregated push is a
        // POST by the protocol (clap refuses it with --replace).
        let method = if args.add || command.is_some() || args.aggregate {
            Method::Post
        } else {
            Method::Put
        };
        let mut sources = Vec::new();
        for file in args.files {
            let source = if file.as_os_str() == "-" {
                Source::Stdin
            } else {
                Source::File(file)
            };
            if source == Source::Stdin && sources.contains(&Source::Stdin) {
                return Err(Usage("-f - is given twice; stdin can be read once".into()).into());
            }
            sources.push(source);
        }
        if command.is_some() && sources.contains(&Source::Stdin) {
            return Err(Usage(
                "-f - cannot be used with a wrapped command, which keeps stdin for itself".into(),
            )
            .into());
        }
        if metrics.is_empty() && sources.is_empty() && command.is_none() {
            if stdin_is_terminal {
                return Err(Usage(
                    "no metrics to push: give NAME=VALUE arguments, -f FILE, pipe the text \
                     format to stdin, or a command to wrap after --"
                        .into(),
                )
                .into());
            }
            sources.push(Source::Stdin);
        } else if command.is_none()
            && !sources.contains(&Source::Stdin)
            && !stdin_is_terminal
            && stdin_has_data()
        {
            // Stdin is read only when nothing else is given, or with `-f -`:
            // pushing the arguments alone would drop what was piped in.
            return Err(Usage(
                "stdin has data, but the metrics come from arguments or -f, and then stdin is \
                 not read: add -f - to push it too, or give it </dev/null"
                    .into(),
            )
            .into());
        }
        if args.expire_after.is_some_and(|d| d.is_zero()) {
            return Err(Usage("--expire-after must be longer than 0s".into()).into());
        }
        let kind = match args.kind {
            ArgMetricType::Gauge => MetricType::Gauge,
            ArgMetricType::Counter => MetricType::Counter,
            ArgMetricType::Untyped => MetricType::Untyped,
        };
        let arg_families =
            parse_arg_metrics(&metrics, kind, args.help_text.as_deref(), args.utf8_names)?;
        let aggregate = args.aggregate.then_some(Aggregate {
            gauges: args.aggregate_gauges,
        });
        if aggregate.is_some() {
            if let Some(refusal) = not_addable(&arg_families) {
                let hint = match refusal {
                    // The default --type is untyped, so say which flag fixes it.
                    NotAddable::Untyped { .. } => " (--type=counter or --type=gauge)",
                    NotAddable::Counter { .. } => "",
                };
                return Err(BadInput(format!(
                    "metric argument: {}{hint}; nothing was sent",
                    refusal.message()
                ))
                .into());
            }
        }
        let gateways = if args.dry_run {
            None
        } else {
            let connection = super::connection(&args.gateway.connection)?;
            Some(
                urls.into_iter()
                    .map(|u| client::Options {
                        url: u.base,
                        connection: connection.clone(),
                    })
                    .collect(),
            )
        };
        Ok(Config {
            key,
            method,
            arg_families,
            sources,
            strip_timestamps: args.strip_timestamps,
            utf8_names: args.utf8_names,
            aggregate,
            expire_after: args.expire_after,
            gzip: args.gzip,
            command,
            gateways,
            default_replace: method == Method::Put && !args.replace,
        })
    }
}

/// The group to push to: named by `-j`/`-l`, or by the push URL(s), or by
/// both when they agree exactly.
fn group(
    urls: &[client::GatewayUrl],
    job: Option<&str>,
    labels: &[String],
    utf8_names: bool,
) -> anyhow::Result<GroupingKey> {
    let mut from_url: Option<&GroupingKey> = None;
    for key in urls.iter().filter_map(|u| u.key.as_ref()) {
        match from_url {
            Some(other) if other != key => {
                return Err(Usage(format!(
                    "the push URLs name different groups, {other} and {key}; push to one group"
                ))
                .into())
            }
            _ => from_url = Some(key),
        }
    }
    let from_flags = match job {
        Some(job) => Some(grouping_key(job, labels, utf8_names)?),
        None if !labels.is_empty() => {
            return Err(
                Usage("--label needs --job (or a push URL that names the group)".into()).into(),
            )
        }
        None => None,
    };
    match (from_url, from_flags) {
        (Some(url), Some(flags)) if *url != flags => Err(Usage(format!(
            "the push URL names the group {url}, but -j/-l name {flags}; name the group once"
        ))
        .into()),
        (Some(url), _) => Ok(url.clone()),
        (None, Some(flags)) => Ok(flags),
        (None, None) => Err(Usage(
            "no group to push to: give -j JOB (and -l NAME=VALUE), or a push URL \
             (http://gw:9091/metrics/job/JOB/...)"
                .into(),
        )
        .into()),
    }
}

/// The grouping key from `--job` and `--label NAME=VALUE` flags; with
/// `utf8_names` a label name may be any UTF-8 (it goes into the push path in
/// its `U__` form).
fn grouping_key(job: &str, labels: &[String], utf8_names: bool) -> Result<GroupingKey, Usage> {
    if job.is_empty() {
        return Err(Usage("--job: the job name must not be empty".into()));
    }
    let mut pairs = vec![("job".to_string(), job.to_string())];
    for label in labels {
        let Some((name, value)) = label.split_once('=') else {
            return Err(Usage(format!("--label {label:?}: expected NAME=VALUE")));
        };
        if name == "job" {
            return Err(Usage(format!(
                "--label {label:?}: the job is given with --job"
            )));
        }
        if utf8_names && (name.is_empty() || name.starts_with("__")) {
            return Err(Usage(format!(
                "--label {label:?}: {name:?} is not a valid label name \
                 (with --utf8-names: not empty, not starting with __)"
            )));
        }
        if !utf8_names && (!validate::is_valid_label_name(name) || name.starts_with("__")) {
            return Err(Usage(format!(
                "--label {label:?}: {name:?} is not a valid label name \
                 ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __; UTF-8 names need --utf8-names)"
            )));
        }
        if pairs.iter().any(|(n, _)| n == name) {
            return Err(Usage(format!("--label {label:?}: {name} is given twice")));
        }
        pairs.push((name.to_string(), value.to_string()));
    }
    Ok(GroupingKey::new(pairs))
}

/// Parses metric arguments (`NAME=VALUE`, `NAME{LABEL="VALUE",...}=VALUE`)
/// into families of type `kind`, one per name, in the order first given.
/// Each argument is turned into a sample line and read by the strict text
/// parser, so arguments follow exactly the rules of the text format.
fn parse_arg_metrics(
    args: &[String],
    kind: MetricType,
    help: Option<&str>,
    utf8_names: bool,
) -> Result<Vec<Family<'static>>, BadInput> {
    let options = ParseLimits {
        utf8_names,
        ..ParseLimits::NONE
    };
    let mut families: Vec<Family<'static>> = Vec::new();
    for arg in args {
        let bad = |why: &str| BadInput(format!("metric argument {arg:?}: {why}"));
        // The value is a number and never holds `=`; label values may.
        let Some((series, value)) = arg.rsplit_once('=') else {
            return Err(bad(
                "expected NAME=VALUE or NAME{LABEL=\"VALUE\",...}=VALUE",
            ));
        };
        let (series, value) = (series.trim(), value.trim());
        if series.is_empty() || value.is_empty() {
            return Err(bad(
                "expected NAME=VALUE or NAME{LABEL=\"VALUE\",...}=VALUE",
            ));
        }
        if series.contains('\n') || value.contains(char::is_whitespace) {
            return Err(bad("a line break or a blank has no place here"));
        }
        let line = format!("{series} {value}\n");
        let parsed = text::parse_with(&line, &options).map_err(|e| match e {
            ParseFailure::Invalid(e) => bad(&e.message),
            ParseFailure::OverLimit(over) => bad(&over.message),
        })?;
        // Without a TYPE line every sample is its own untyped family.
        let [family] = <[Family<'_>; 1]>::try_from(parsed).map_err(|_| bad("not one sample"))?;
        let mut family = family.into_owned();
        family.kind = kind;
        family.help = help.map(|h| Cow::Owned(h.to_string()));
        match families.iter_mut().find(|f| f.name == family.name) {
            Some(existing) => existing.metrics.extend(family.metrics),
            None => families.push(family),
        }
    }
    Ok(families)
}

/// Reads and parses one source; the error names the source and the line.
fn read_source(
    source: &Source,
    strip_timestamps: bool,
    utf8_names: bool,
    aggregate: bool,
) -> anyhow::Result<Vec<Family<'static>>> {
    let name = source.name();
    let bytes = match source {
        Source::File(path) => std::fs::read(path)
            .map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?,
        Source::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| BadInput(format!("cannot read stdin: {e}")))?;
            buf
        }
    };
    let options = ParseLimits {
        utf8_names,
        ..ParseLimits::NONE
    };
    let families = text::parse_bytes_with(&bytes, &options).map_err(|e| match e {
        ParseFailure::Invalid(e) => anyhow::Error::from(e).context(name.clone()),
        ParseFailure::OverLimit(over) => anyhow::Error::from(over).context(name.clone()),
    })?;
    let mut families: Vec<Family<'static>> = families.into_iter().map(Family::into_owned).collect();
    if strip_timestamps {
        for metric in families.iter_mut().flat_map(|f| f.metrics.iter_mut()) {
            metric.timestamp_ms = None;
        }
    } else if let Some((family, metric)) = families
        .iter()
        .flat_map(|f| f.metrics.iter().map(move |m| (f, m)))
        .find(|(_, m)| m.timestamp_ms.is_some())
    {
        // The parser keeps no line numbers on samples; find the line again.
        let text = String::from_utf8_lossy(&bytes);
        let at = first_timestamp_line(&text)
            .map(|line| format!(", line {line}"))
            .unwrap_or_default();
        return Err(BadInput(format!(
            "{name}{at}: {} has a timestamp ({}); the gateway refuses timestamps, \
             remove them or pass --strip-timestamps",
            series_name(&family.name, &metric.labels),
            metric.timestamp_ms.unwrap_or_default(),
        ))
        .into());
    }
    if aggregate {
        if let Some(refusal) = not_addable(&families) {
            let at = match &refusal {
                NotAddable::Untyped { family } => {
                    family_line(&String::from_utf8_lossy(&bytes), family)
                        .map(|line| format!(", line {line}"))
                        .unwrap_or_default()
                }
                NotAddable::Counter { .. } => String::new(),
            };
            return Err(BadInput(format!(
                "{name}{at}: {}; nothing was sent",
                refusal.message()
            ))
            .into());
        }
    }
    Ok(families)
}

/// The 1-based number of the first sample line that carries a timestamp (a
/// third field after the name and labels).
fn first_timestamp_line(text: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        // After the label set only the value and the timestamp follow, so
        // the last `}` closes the labels even when a value holds one.
        let rest = match line.rfind('}') {
            Some(end) => &line[end + 1..],
            None => line.split_once(char::is_whitespace).map_or("", |(_, r)| r),
        };
        (rest.split_whitespace().count() >= 2).then_some(i + 1)
    })
}

/// The checks of a push body, plus the ones that concern the grouping key:
/// a series label with a grouping label's name would be overwritten by the
/// gateway, so a different value is refused here rather than lost there.
fn check(families: &[Family<'_>], key: &GroupingKey) -> Result<(), BadInput> {
    for family in families {
        if GATEWAY_FAMILIES.contains(&&*family.name) {
            return Err(BadInput(format!(
                "{} is the gateway's own metric; it cannot be pushed",
                family.name
            )));
        }
        for metric in &family.metrics {
            for label in &metric.labels {
                if let Some(value) = key.get(&label.name) {
                    if value != label.value {
                        return Err(BadInput(format!(
                            "{} has the label {}={:?}, but the group has {}={value:?} and the \
                             gateway would overwrite it; drop the label or change --{}",
                            series_name(&family.name, &metric.labels),
                            label.name,
                            label.value,
                            label.name,
                            if label.name == "job" { "job" } else { "label" },
                        )));
                    }
                }
            }
        }
    }
    validate::check_families(families)
        .map_err(|e| BadInput(format!("the metrics cannot be pushed: {e}")))
}

/// The text format of `families`, as the gateway will parse it.
fn render_body(families: &[Family<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for family in families {
        render::write_family(&mut out, family);
    }
    out
}

/// `name{a="x",b="y"}`, for messages.
fn series_name(name: &str, labels: &[Label<'_>]) -> String {
    if labels.is_empty() {
        return name.to_string();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    format!("{name}{{{}}}", pairs.join(","))
}

/// Whether a body of `len` bytes is sent compressed.
fn wants_gzip(mode: GzipMode, len: usize) -> bool {
    match mode {
        GzipMode::Always => true,
        GzipMode::Never => false,
        GzipMode::Auto => len > GZIP_THRESHOLD,
    }
}

/// Level 1: exposition text is so repetitive that it compresses about ten
/// times at any level, and level 1 does it in less than half the time of the
/// default level 6 (4.8 MB, 100,000 series: 490 kB in 26 ms, against 509 kB
/// in 67 ms with zlib).
fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// A `Pgw-Expire-After` value humantime and Go both read: whole seconds, or
/// milliseconds when the duration has a fraction.
fn expire_header(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Whether a refusal of a compressed body means that the gateway did not
/// decompress it: the body was checked here, so a gateway that still finds
/// a parse error (or says 415) has read the gzip bytes as text (Pushgateway
/// before 1.5 did).
fn refused_gzip(err: &GatewayError) -> bool {
    match err {
        GatewayError::Rejected {
            status, message, ..
        } => {
            status.0 == 415
                || (status.0 == 400
                    && (message.0.contains("text format parsing error")
                        || message.0.contains("gzip")))
        }
        _ => false,
    }
}

/// Sends `body` (the text format) to the group of `config.key`.
fn push(gateway: &Gateway, config: &Config, method: Method, body: &[u8]) -> anyhow::Result<Reply> {
    let path = config.key.to_path();
    let expire = config.expire_after.map(expire_header);
    let mut headers: Vec<(&str, &str)> =
        vec![("Content-Type", "text/plain; version=0.0.4; charset=utf-8")];
    if let Some(e) = &expire {
        headers.push(("Pgw-Expire-After", e));
    }
    if let Some(aggregate) = config.aggregate {
        headers.extend(aggregate.headers());
    }
    let context = || format!("cannot push to group {}", config.key);
    if wants_gzip(config.gzip, body.len()) {
        let compressed = gzip(body);
        let mut gz_headers = headers.clone();
        gz_headers.push(("Content-Encoding", "gzip"));
        match gateway.send(method.as_str(), &path, &gz_headers, Some(&compressed)) {
            Err(e) if config.gzip == GzipMode::Auto && refused_gzip(&e) => {}
            other => return other.with_context(context),
        }
    }
    gateway
        .send(method.as_str(), &path, &headers, Some(body))
        .with_context(context)
}

#[cfg(test)]
mod tests;
