//! `pgw list`: the groups of a gateway as a table, a wide table or JSON,
//! filtered by selector, staleness and failure (a refused push or a wrapped
//! job that exited non-zero), sorted failed first and in natural label
//! order; or the metrics of one group. A listing reads the groups in brief
//! where the gateway has that (`groups::fetch_listed`); one group's metrics
//! come from `/api/v1/metrics`. The rendering is pure (records and a
//! fixed "now" in, text out) so the output is snapshot-tested without a
//! gateway; `table` lays the text out to the terminal or to a pipe.

mod table;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use self::table::{Cell, Color, Column, Table};
use crate::cli::{ListArgs, OutputFormat, SortOrder};
use crate::client::groups::{
    self, format_age, format_ago, format_unix, Family, Filter, Group, Listed, Status,
};
use crate::client::Gateway;
use crate::error::{BadInput, NothingMatched};
use crate::grouping::GroupingKey;

pub(crate) fn run(args: ListArgs) -> anyhow::Result<()> {
    let key = super::group_key(&args.key)?;
    let filter = super::filter(&args.filter, args.failed)?;
    let gateway = Gateway::new(&super::gateway_options(&args.gateway)?)?;
    let style = Style::detect();
    let now = groups::now();
    let base = gateway.base();
    let (one, mut listed) = match key {
        // The listing: the brief one where the gateway has it.
        None if !args.metrics => {
            let all = groups::fetch_listed(&gateway)?;
            super::warn_unknown_labels(&filter, all.iter().map(|l| &l.group.key));
            let matched = all
                .into_iter()
                .filter(|l| filter.matches_listed(l, now))
                .collect();
            (None, matched)
        }
        // One group's metrics, which only `/api/v1/metrics` holds.
        key => {
            let body = groups::fetch_body(&gateway)?;
            from_metrics(&body, key, &filter, args.metrics, now, base)?
        }
    };

    if let Some((listed, families)) = one {
        let text = match args.output {
            OutputFormat::Json => render_metrics_json(&listed, &families, now),
            format => render_metrics(
                &listed,
                &families,
                now,
                format == OutputFormat::Wide,
                &style,
            ),
        };
        return print(&text);
    }

    sort(&mut listed, args.sort, args.reverse);
    let text = match args.output {
        OutputFormat::Json => render_json(&listed, now),
        _ if listed.is_empty() => String::new(),
        format => render_table(&listed, now, format == OutputFormat::Wide, &style),
    };
    print(&text)?;
    if listed.is_empty() {
        let what = filter.none_at(base);
        if args.fail_if_none {
            return Err(NothingMatched(what).into());
        }
        if args.output != OutputFormat::Json {
            eprintln!("pgw: {what}");
        }
    }
    // The process ends now, and the OS takes the records and the text back
    // at once: freeing 10,000 groups string by string is work nobody waits for.
    std::mem::forget((listed, text));
    Ok(())
}

/// One group and its families, for `pgw list GROUP`.
type OneGroup = (Listed, Vec<Family>);

/// A group named by `key` (its metrics, or the groups that have its
/// labels among others), or with `--metrics` (`metrics`) and no key the one
/// group the filter selects, read from an answer of `/api/v1/metrics`.
fn from_metrics(
    body: &[u8],
    key: Option<GroupingKey>,
    filter: &Filter,
    metrics: bool,
    now: f64,
    base: &str,
) -> anyhow::Result<(Option<OneGroup>, Vec<Listed>)> {
    let context = || format!("cannot read the groups of {base}");
    let all =
        || -> anyhow::Result<Vec<Listed>> { groups::parse_listed(body).with_context(context) };
    let Some(key) = key else {
        let all = all()?;
        super::warn_unknown_labels(filter, all.iter().map(|l| &l.group.key));
        let matched: Vec<Listed> = all
            .into_iter()
            .filter(|l| filter.matches_listed(l, now))
            .collect();
        if matched.is_empty() {
            return Err(NothingMatched(filter.none_at(base)).into());
        }
        let only = only_one(matched, &filter.describe())?;
        return Ok((parse_again(body, &only, base)?, Vec::new()));
    };
    if let Some(found) = groups::parse_one(body, &key).with_context(context)? {
        return Ok((Some(found), Vec::new()));
    }
    // No group has exactly this key: list the groups it selects, those
    // whose keys hold these labels among others.
    let selected: Vec<Listed> = all()?
        .into_iter()
        .filter(|l| has_labels(&l.group.key, &key))
        .collect();
    if selected.is_empty() {
        return Err(NothingMatched(format!(
            "no group at {base} is {key} or has its labels among others"
        ))
        .into());
    }
    if metrics {
        let only = only_one(selected, &format!("the labels of {key}"))?;
        Ok((parse_again(body, &only, base)?, Vec::new()))
    } else {
        eprintln!(
            "pgw: no group is exactly {key}; {} with these labels among others",
            groups::plural(selected.len())
        );
        Ok((None, selected))
    }
}

/// Whether `key` has every label of `wanted`, with its value.
fn has_labels(key: &GroupingKey, wanted: &GroupingKey) -> bool {
    wanted
        .labels()
        .iter()
        .all(|(n, v)| key.get(n) == Some(v.as_str()))
}

/// The group with `key` and its families, which the listing just had.
fn parse_again(body: &[u8], key: &GroupingKey, base: &str) -> anyhow::Result<Option<OneGroup>> {
    let found = groups::parse_one(body, key)
        .with_context(|| format!("cannot read the groups of {base}"))?;
    Ok(Some(
        found.context("the group left the answer it was read from")?,
    ))
}

/// The key of the one group of `matched` (`--metrics`), which is not empty;
/// `what` names what selected them.
fn only_one(matched: Vec<Listed>, what: &str) -> anyhow::Result<GroupingKey> {
    match matched.len() {
        1 => Ok(matched.into_iter().next().expect("one group").group.key),
        n => {
            let mut names: Vec<String> = matched
                .iter()
                .take(5)
                .map(|l| l.group.key.to_string())
                .collect();
            if n > 5 {
                names.push("...".into());
            }
            Err(BadInput(format!(
                "--metrics shows one group, but {n} match {what}: {}; narrow the selector or name the group with -j/-l",
                names.join(", ")
            ))
            .into())
        }
    }
}

/// Writes to stdout; a closed pipe (`pgw list | head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Orders groups: by status (failed first: a refused push, then the
/// highest exit code), then by labels (job first, then the other labels by
/// name, values in natural order); by labels alone; or by age, oldest push
/// first (never pushed before anything else).
pub(crate) fn sort(listed: &mut Vec<Listed>, order: SortOrder, reverse: bool) {
    let by_labels = |a: &Listed, b: &Listed| groups::label_order(&a.group.key, &b.group.key);
    let urgency = |l: &Listed| match l.status() {
        Status::PushFailed => (0, 0),
        Status::Exit(code) => (1, -code),
        Status::Ok => (2, 0),
    };
    let compare = |a: &Listed, b: &Listed| match order {
        SortOrder::Status => urgency(a).cmp(&urgency(b)).then_with(|| by_labels(a, b)),
        SortOrder::Labels => by_labels(a, b),
        SortOrder::Age => {
            let t = |l: &Listed| l.group.push_time.unwrap_or(f64::NEG_INFINITY);
            t(a).partial_cmp(&t(b))
                .unwrap_or(Ordering::Equal)
                .then_with(|| by_labels(a, b))
        }
    };
    // Sorting the positions moves a word a swap, not a whole record; the
    // records then move once, to where they belong.
    let mut at: Vec<usize> = (0..listed.len()).collect();
    at.sort_by(|&a, &b| compare(&listed[a], &listed[b]));
    if reverse {
        at.reverse();
    }
    let mut slots: Vec<Option<Listed>> = listed.drain(..).map(Some).collect();
    listed.extend(
        at.into_iter()
            .map(|i| slots[i].take().expect("each position once")),
    );
}

/// How the table is drawn: on a terminal it fits its width and may use
/// colour; otherwise it is as wide as its content, one line per row,
/// without colour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// The width to fit, `None` for no limit.
    pub(crate) width: Option<usize>,
    pub(crate) color: bool,
}

impl Style {
    /// For stdout: on a terminal, its width (`COLUMNS` first, then what the
    /// terminal says, else 80) and colour unless `NO_COLOR` is set and not
    /// empty (no-color.org); into a pipe or a file, whole lines and no
    /// colour, whatever the environment says.
    pub(crate) fn detect() -> Style {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let columns = || std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        // comfy-table asks the terminal; a pseudo-terminal nobody sized
        // answers 0, which is no width to fit.
        let asked = || comfy_table::Table::new().width().map(usize::from);
        let width = tty.then(|| {
            columns()
                .filter(|w| *w > 0)
                .or_else(|| asked().filter(|w| *w > 0))
                .unwrap_or(80)
        });
        Style {
            width,
            color: tty && !no_color,
        }
    }

    /// No colour, a fixed width: what snapshot tests render.
    #[cfg(test)]
    fn plain(width: usize) -> Style {
        Style {
            width: Some(width),
            color: false,
        }
    }

    fn render(&self, table: &Table) -> String {
        table.render(self.width, self.color)
    }
}

/// A label value as shown in a table: bare when it is plain, quoted (Rust
/// and PromQL escapes) when it is empty or holds spaces, quotes, commas or
/// control characters, so every value reads back unambiguously.
fn show_value(v: &str) -> Cow<'_, str> {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | ',' | '=' | '\\'));
    if plain {
        Cow::Borrowed(v)
    } else {
        Cow::Owned(format!("{v:?}"))
    }
}

/// `instance=web-1`, `zone=eu`: one part per label, `-` for none.
fn show_labels<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let parts: Vec<String> = labels
        .map(|(n, v)| {
            let v = show_value(v);
            let mut part = String::with_capacity(n.len() + 1 + v.len());
            part.push_str(n);
            part.push('=');
            part.push_str(&v);
            part
        })
        .collect();
    if parts.is_empty() {
        vec!["-".into()]
    } else {
        parts
    }
}

/// Every label of the group but `job`.
fn other_labels(key: &GroupingKey) -> Vec<String> {
    show_labels(
        key.labels()
            .iter()
            .filter(|(n, _)| n != "job")
            .map(|(n, v)| (n.as_str(), v.as_str())),
    )
}

fn status(listed: &Listed) -> Cell {
    let status = listed.status();
    let color = if status == Status::Ok {
        Color::Green
    } else {
        Color::Red
    };
    Cell::new(status.to_string()).color(color)
}

fn expires(group: &Group) -> String {
    match group.expires_in {
        Some(left) => format!("in {}", format_age(left)),
        None => "-".into(),
    }
}

/// The groups as a table. The EXPIRES column appears only when some group
/// has an expiry (never against the official server), LAST SUCCESS only
/// when some group was pushed by a wrapped job. On a narrow terminal the
/// columns go in this order: (wide) PATH, PUSHED AT, TTL, then SERIES,
/// METRICS, (wide) LAST FAILURE.
pub(crate) fn render_table(listed: &[Listed], now: f64, wide: bool, style: &Style) -> String {
    let with_expiry = listed.iter().any(|l| l.group.expires_in.is_some());
    let with_jobs = wide && listed.iter().any(|l| l.job.wrapped());
    let mut columns = vec![
        Column::cut("JOB", 16, 8),
        Column::wrap("LABELS", 24, 16),
        Column::whole("METRICS").right().drop(5),
        Column::whole("SERIES").right().drop(4),
        Column::whole("LAST PUSH"),
        Column::whole("STATUS"),
    ];
    if with_expiry {
        columns.push(Column::whole("EXPIRES"));
    }
    if wide {
        columns.push(Column::whole("PUSHED AT").drop(2));
        columns.push(Column::whole("LAST FAILURE").drop(6));
        if with_jobs {
            columns.push(Column::whole("LAST SUCCESS"));
        }
        if with_expiry {
            columns.push(Column::whole("TTL").drop(3));
        }
        columns.push(Column::whole("PATH").drop(1));
    }
    let mut table = Table::new(columns);
    for l in listed {
        let g = &l.group;
        let mut row = vec![
            Cell::new(show_value(g.key.get("job").unwrap_or(""))),
            Cell::parts(other_labels(&g.key)),
            Cell::new(g.metrics.to_string()),
            Cell::new(g.series.to_string()),
            Cell::new(format_ago(g.age(now))),
            status(l),
        ];
        if with_expiry {
            row.push(Cell::new(expires(g)));
        }
        if wide {
            row.push(Cell::new(g.push_time.map_or("-".into(), format_unix)));
            row.push(Cell::new(g.failure_time.map_or("never".into(), |t| {
                format_ago(Some((now - t).max(0.0)))
            })));
            if with_jobs {
                row.push(Cell::new(last_success(l, now)));
            }
            if with_expiry {
                row.push(Cell::new(
                    g.expire_after
                        .map_or("-".into(), |s| format_age(s.max(0.0))),
                ));
            }
            row.push(Cell::new(g.key.to_path()));
        }
        table.row(row);
    }
    style.render(&table)
}

/// `2h 5m ago`, `never` for a wrapped job that never succeeded, `-` for a
/// group no wrapped job pushed.
fn last_success(l: &Listed, now: f64) -> String {
    match l.job.last_success {
        Some(t) => format_ago(Some((now - t).max(0.0))),
        None if l.job.wrapped() => "never".into(),
        None => "-".into(),
    }
}

/// One group in the documented JSON shape (README "pgw list").
#[derive(Serialize)]
struct GroupJson<'a> {
    labels: BTreeMap<&'a str, &'a str>,
    path: String,
    metrics: usize,
    series: usize,
    last_push: Option<String>,
    last_push_unix: Option<f64>,
    last_push_age_seconds: Option<f64>,
    last_push_ok: bool,
    last_failure_unix: Option<f64>,
    expire_after_seconds: Option<f64>,
    expires_in_seconds: Option<f64>,
    status: String,
    job_exit_code: Option<i64>,
    job_last_success_unix: Option<f64>,
    job_last_success_age_seconds: Option<f64>,
}

/// Milliseconds are all the precision an age needs.
fn age_seconds(t: f64, now: f64) -> f64 {
    ((now - t).max(0.0) * 1000.0).round() / 1000.0
}

impl<'a> GroupJson<'a> {
    fn new(l: &'a Listed, now: f64) -> GroupJson<'a> {
        let g = &l.group;
        GroupJson {
            labels: g
                .key
                .labels()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
            path: g.key.to_path(),
            metrics: g.metrics,
            series: g.series,
            last_push: g.push_time.map(format_unix),
            last_push_unix: g.push_time,
            last_push_age_seconds: g.push_time.map(|t| age_seconds(t, now)),
            last_push_ok: g.last_push_ok,
            last_failure_unix: g.failure_time,
            expire_after_seconds: g.expire_after,
            expires_in_seconds: g.expires_in,
            status: l.status().to_string(),
            job_exit_code: l.job.exit_code,
            job_last_success_unix: l.job.last_success,
            job_last_success_age_seconds: l.job.last_success.map(|t| age_seconds(t, now)),
        }
    }
}

/// `{"groups":[...]}`, pretty-printed, with a final newline.
pub(crate) fn render_json(listed: &[Listed], now: f64) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        groups: Vec<GroupJson<'a>>,
    }
    let doc = Doc {
        groups: listed.iter().map(|l| GroupJson::new(l, now)).collect(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("plain data serialises");
    out.push('\n');
    out
}

/// `{"group":{...},"metrics":[{"name","type","help","time_stamp","series"}]}`;
/// the series objects are the gateway's own (spec 3.1), raw values included.
pub(crate) fn render_metrics_json(listed: &Listed, families: &[Family], now: f64) -> String {
    #[derive(Serialize)]
    struct FamilyJson<'a> {
        name: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        help: Option<&'a str>,
        time_stamp: Option<&'a str>,
        series: &'a [Value],
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        group: GroupJson<'a>,
        metrics: Vec<FamilyJson<'a>>,
    }
    let doc = Doc {
        group: GroupJson::new(listed, now),
        metrics: families
            .iter()
            .map(|f| FamilyJson {
                name: &f.name,
                kind: &f.kind,
                help: f.help.as_deref(),
                time_stamp: f.time_stamp.as_deref(),
                series: &f.series,
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("plain data serialises");
    out.push('\n');
    out
}

/// One group's metrics: a line about the group (on two lines when it does
/// not fit the terminal: the key, then the rest), then one row per series,
/// with the series' labels other than the grouping ones.
pub(crate) fn render_metrics(
    listed: &Listed,
    families: &[Family],
    now: f64,
    wide: bool,
    style: &Style,
) -> String {
    let group = &listed.group;
    let mut about = vec![
        count(group.metrics, "metric"),
        count(group.series, "series"),
        format!("last push {}", format_ago(group.age(now))),
        listed.status().to_string(),
    ];
    if listed.job.wrapped() {
        about.push(format!("last success {}", last_success(listed, now)));
    }
    if let Some(left) = group.expires_in {
        about.push(format!("expires in {}", format_age(left)));
    }
    let (key, about) = (group.key.to_string(), about.join(", "));
    let one_line = table::width(&key) + 2 + table::width(&about);
    let mut out = if style.width.is_some_and(|w| one_line > w) {
        format!("{key}\n{about}\n")
    } else {
        format!("{key}  {about}\n")
    };
    if families.is_empty() {
        return out;
    }
    let mut columns = vec![
        Column::cut("METRIC", 40, 12),
        Column::whole("TYPE").drop(3),
        Column::wrap("LABELS", 16, 10),
        Column::wrap("VALUE", 24, 12),
    ];
    if wide {
        columns.push(Column::whole("PUSHED AT").drop(1));
        columns.push(Column::wrap("HELP", 20, 10).drop(2));
    }
    let mut table = Table::new(columns);
    for f in families {
        for s in &f.series {
            let mut row = vec![
                Cell::new(&f.name),
                Cell::new(f.kind.to_ascii_lowercase()),
                Cell::parts(series_labels(&group.key, s)),
                Cell::parts(series_value(&f.name, s, wide, now)),
            ];
            if wide {
                row.push(Cell::new(f.time_stamp.as_deref().unwrap_or("-")));
                let help = f.help.as_deref().unwrap_or("");
                row.push(Cell::parts(help.split(' ').map(str::to_string).collect()));
            }
            table.row(row);
        }
    }
    out.push('\n');
    out.push_str(&style.render(&table));
    out
}

/// `1 metric`, `2 metrics`, `1 series`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 || noun.ends_with('s') {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The labels of a series that the grouping key does not already say; the
/// empty `instance` the gateway adds to every series is left out too.
fn series_labels(key: &GroupingKey, series: &Value) -> Vec<String> {
    let Some(labels) = series.get("labels").and_then(Value::as_object) else {
        return vec!["-".into()];
    };
    show_labels(labels.iter().filter_map(|(n, v)| {
        let v = v.as_str()?;
        let implied = key.get(n) == Some(v) || (n == "instance" && v.is_empty());
        (!implied).then_some((n.as_str(), v))
    }))
}

/// Whether a family's values are Unix times: the gateway's push times and,
/// by the Prometheus naming convention, `*_time_seconds` and
/// `*_timestamp_seconds` (`pgw_job_last_success_time_seconds`,
/// `process_start_time_seconds`).
fn holds_times(family: &str) -> bool {
    family.ends_with("_time_seconds") || family.ends_with("_timestamp_seconds")
}

/// `2026-12-01T10:00:00Z (3m ago)` for a Unix time after 2001 in a family
/// that holds times; anything else (a 0 for "never", a small count) is
/// left as the gateway wrote it.
fn show_time(family: &str, value: &str, now: f64) -> Option<Vec<String>> {
    let t: f64 = value.parse().ok()?;
    if !holds_times(family) || !(1e9..1e11).contains(&t) {
        return None;
    }
    let when = if t <= now {
        format_ago(Some(now - t))
    } else {
        format!("in {}", format_age(t - now))
    };
    Some(vec![format_unix(t), format!("({when})")])
}

/// `7`, a time as [`show_time`] writes it, or `count=4 sum=2.5` for a
/// summary or histogram (wide: with its quantiles or buckets, `0.5=1 1=3
/// +Inf=4`, in numeric order); one part per word.
fn series_value(family: &str, series: &Value, wide: bool, now: f64) -> Vec<String> {
    if let Some(v) = series.get("value").and_then(Value::as_str) {
        return show_time(family, v, now).unwrap_or_else(|| vec![v.to_string()]);
    }
    let text = |k: &str| series.get(k).and_then(Value::as_str).unwrap_or("?");
    let mut out = vec![
        format!("count={}", text("count")),
        format!("sum={}", text("sum")),
    ];
    if wide {
        for k in ["quantiles", "buckets"] {
            let Some(map) = series.get(k).and_then(Value::as_object) else {
                continue;
            };
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
            entries.sort_by(|a, b| num(a.0).total_cmp(&num(b.0)));
            for (bound, count) in entries {
                out.push(format!("{bound}={}", count.as_str().unwrap_or("?")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
