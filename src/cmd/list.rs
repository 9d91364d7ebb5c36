//! `pgw list`: the groups of a gateway as a table (comfy-table), a wide table
//! or JSON, filtered by selector, staleness and failure, sorted by labels or
//! age; or the metrics of one group. The rendering is pure (records and a
//! fixed "now" in, text out) so the output is snapshot-tested without a
//! gateway.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{ListArgs, OutputFormat, SortOrder};
use crate::client::groups::{self, format_age, format_ago, format_unix, Family, Filter, Group};
use crate::client::Gateway;
use crate::error::{BadInput, NothingMatched};
use crate::grouping::GroupingKey;

pub(crate) fn run(args: ListArgs) -> anyhow::Result<()> {
    let key = super::group_key(&args.key)?;
    let filter = super::filter(&args.filter, args.failed)?;
    let gateway = Gateway::new(&super::gateway_options(&args.gateway)?)?;
    let style = Style::detect();
    let now = groups::now();
    let body = groups::fetch_body(&gateway)?;
    let context = || format!("cannot read the groups of {}", gateway.base());

    let key = match key {
        Some(key) => Some(key),
        None if args.metrics => {
            let matched: Vec<Group> = groups::parse(&body)
                .with_context(context)?
                .into_iter()
                .filter(|g| filter.matches(g, now))
                .collect();
            Some(only_one(matched, &filter, gateway.base())?)
        }
        None => None,
    };

    if let Some(key) = key {
        let Some((group, families)) = groups::parse_one(&body, &key).with_context(context)? else {
            return Err(NothingMatched(format!("no group {key} at {}", gateway.base())).into());
        };
        let text = match args.output {
            OutputFormat::Json => render_metrics_json(&group, &families, now),
            format => render_metrics(&group, &families, now, format == OutputFormat::Wide, &style),
        };
        return print(&text);
    }

    let all = groups::parse(&body).with_context(context)?;
    super::warn_unknown_labels(&filter, &all);
    let mut listed: Vec<Group> = all.into_iter().filter(|g| filter.matches(g, now)).collect();
    sort(&mut listed, args.sort, args.reverse);
    let text = match args.output {
        OutputFormat::Json => render_json(&listed, now),
        _ if listed.is_empty() => String::new(),
        format => render_table(&listed, now, format == OutputFormat::Wide, &style),
    };
    print(&text)?;
    if listed.is_empty() {
        let what = filter.none_at(gateway.base());
        if args.fail_if_none {
            return Err(NothingMatched(what).into());
        }
        if args.output != OutputFormat::Json {
            eprintln!("pgw: {what}");
        }
    }
    Ok(())
}

/// The key of the one group of `matched` (`--metrics` with filters).
fn only_one(matched: Vec<Group>, filter: &Filter, base: &str) -> anyhow::Result<GroupingKey> {
    match matched.len() {
        0 => Err(NothingMatched(filter.none_at(base)).into()),
        1 => Ok(matched.into_iter().next().expect("one group").key),
        n => {
            let mut names: Vec<String> =
                matched.iter().take(5).map(|g| g.key.to_string()).collect();
            if n > 5 {
                names.push("...".into());
            }
            Err(BadInput(format!(
                "--metrics shows one group, but {n} match {}: {}; narrow the selector or name the group with -j/-l",
                filter.describe(),
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

/// Orders groups by labels (job first, then the other labels by name), or
/// by age, oldest push first (never pushed before anything else).
pub(crate) fn sort(groups: &mut [Group], order: SortOrder, reverse: bool) {
    let by_labels = |a: &Group, b: &Group| groups::label_order(&a.key, &b.key);
    match order {
        SortOrder::Labels => groups.sort_by(by_labels),
        SortOrder::Age => groups.sort_by(|a, b| {
            let t = |g: &Group| g.push_time.unwrap_or(f64::NEG_INFINITY);
            t(a).partial_cmp(&t(b))
                .unwrap_or(Ordering::Equal)
                .then_with(|| by_labels(a, b))
        }),
    }
    if reverse {
        groups.reverse();
    }
}

/// How the table is drawn: on a terminal it fits its width and may use
/// colour; otherwise it is as wide as its content, without colour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// The width to fit, `None` for no limit.
    pub(crate) width: Option<u16>,
    pub(crate) color: bool,
}

impl Style {
    /// For stdout: on a terminal, its width (`COLUMNS` first) and colour
    /// unless `NO_COLOR` is set and not empty (no-color.org); into a pipe or
    /// a file, whole lines and no colour, whatever the environment says.
    pub(crate) fn detect() -> Style {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let columns = || std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        // comfy-table asks the terminal; a pseudo-terminal nobody sized
        // answers 0, which is no width to fit.
        let width = tty
            .then(|| columns().or_else(|| Table::new().width()))
            .flatten()
            .filter(|w| *w >= 20);
        Style {
            width,
            color: tty && !no_color,
        }
    }

    /// No colour, a fixed width: what snapshot tests render.
    #[cfg(test)]
    fn plain(width: u16) -> Style {
        Style {
            width: Some(width),
            color: false,
        }
    }

    /// A table with these column headers; `right` columns are aligned right,
    /// and only `flexible` ones wrap to fit the width (the others keep
    /// their content's width: an age or a status broken over lines is
    /// unreadable).
    fn table(&self, header: &[&str], right: &[usize], flexible: &[usize]) -> Table {
        let mut t = Table::new();
        // Plain columns, as `kubectl get` and `ps` print them: easy to read,
        // and `grep`/`awk` work on the lines.
        t.load_style(comfy_table::presets::NOTHING);
        t.force_no_tty();
        if self.color {
            t.enforce_styling();
        }
        if let Some(w) = self.width {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        let color = self.color;
        t.set_header(header.iter().map(|h| {
            let c = Cell::new(h);
            if color {
                c.add_attribute(Attribute::Bold)
            } else {
                c
            }
        }));
        for (i, column) in t.column_iter_mut().enumerate() {
            column.set_padding((0, 2));
            if right.contains(&i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
            if !flexible.contains(&i) {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        t
    }

    fn colored(&self, text: String, color: Color) -> Cell {
        let cell = Cell::new(text);
        if self.color {
            cell.fg(color)
        } else {
            cell
        }
    }
}

/// A label value as shown in a table: bare when it is plain, quoted (Rust
/// and PromQL escapes) when it is empty or holds spaces, quotes, commas or
/// control characters, so every value reads back unambiguously.
fn show_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | ',' | '=' | '\\'));
    if plain {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// `instance=web-1 zone=eu`: every label of the group but `job`.
fn show_labels<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let parts: Vec<String> = labels
        .map(|(n, v)| format!("{n}={}", show_value(v)))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

fn other_labels(key: &GroupingKey) -> String {
    show_labels(
        key.labels()
            .iter()
            .filter(|(n, _)| n != "job")
            .map(|(n, v)| (n.as_str(), v.as_str())),
    )
}

fn status(group: &Group, style: &Style) -> Cell {
    if group.last_push_ok {
        style.colored("ok".into(), Color::Green)
    } else {
        style.colored("failed".into(), Color::Red)
    }
}

fn expires(group: &Group) -> String {
    match group.expires_in {
        Some(left) => format!("in {}", format_age(left)),
        None => "-".into(),
    }
}

/// The groups as a table. The EXPIRES column appears only when some group
/// has an expiry (never against the official server).
pub(crate) fn render_table(groups: &[Group], now: f64, wide: bool, style: &Style) -> String {
    let with_expiry = groups.iter().any(|g| g.expires_in.is_some());
    let mut header = vec!["JOB", "LABELS", "METRICS", "SERIES", "LAST PUSH", "STATUS"];
    if with_expiry {
        header.push("EXPIRES");
    }
    if wide {
        header.extend(["PUSHED AT", "LAST FAILURE"]);
        if with_expiry {
            header.push("TTL");
        }
        header.push("PATH");
    }
    let flexible = [0, 1, header.len() - 1];
    let mut table = style.table(
        &header,
        &[2, 3],
        if wide { &flexible } else { &flexible[..2] },
    );
    for g in groups {
        let mut row = vec![
            Cell::new(show_value(g.key.get("job").unwrap_or(""))),
            Cell::new(other_labels(&g.key)),
            Cell::new(g.metrics),
            Cell::new(g.series),
            Cell::new(format_ago(g.age(now))),
            status(g, style),
        ];
        if with_expiry {
            row.push(Cell::new(expires(g)));
        }
        if wide {
            row.push(Cell::new(g.push_time.map_or("-".into(), format_unix)));
            row.push(Cell::new(g.failure_time.map_or("never".into(), |t| {
                format_ago(Some((now - t).max(0.0)))
            })));
            if with_expiry {
                row.push(Cell::new(
                    g.expire_after
                        .map_or("-".into(), |s| format_age(s.max(0.0))),
                ));
            }
            row.push(Cell::new(g.key.to_path()));
        }
        table.add_row(row);
    }
    finish(&mut table)
}

/// The table's lines without trailing blanks, ending with a newline. A
/// column that may wrap keeps at least 16 characters (or its content's
/// width): on a very narrow terminal the lines get longer rather than the
/// labels one character wide.
fn finish(table: &mut Table) -> String {
    let widths = table.column_max_content_widths();
    for (column, width) in table.column_iter_mut().zip(widths) {
        if column.constraint().is_none() {
            // The boundary counts the padding too.
            let least = width.min(16) + column.padding_width();
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(least)));
        }
    }
    let mut out = table.trim_fmt();
    out.push('\n');
    out
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
}

impl<'a> GroupJson<'a> {
    fn new(g: &'a Group, now: f64) -> GroupJson<'a> {
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
            // Milliseconds are all the precision an age needs.
            last_push_age_seconds: g.age(now).map(|a| (a * 1000.0).round() / 1000.0),
            last_push_ok: g.last_push_ok,
            last_failure_unix: g.failure_time,
            expire_after_seconds: g.expire_after,
            expires_in_seconds: g.expires_in,
        }
    }
}

/// `{"groups":[...]}`, pretty-printed, with a final newline.
pub(crate) fn render_json(groups: &[Group], now: f64) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        groups: Vec<GroupJson<'a>>,
    }
    let doc = Doc {
        groups: groups.iter().map(|g| GroupJson::new(g, now)).collect(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("plain data serialises");
    out.push('\n');
    out
}

/// `{"group":{...},"metrics":[{"name","type","help","time_stamp","series"}]}`;
/// the series objects are the gateway's own (spec 3.1).
pub(crate) fn render_metrics_json(group: &Group, families: &[Family], now: f64) -> String {
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
        group: GroupJson::new(group, now),
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

/// One group's metrics: a line about the group, then one row per series,
/// with the series' labels other than the grouping ones.
pub(crate) fn render_metrics(
    group: &Group,
    families: &[Family],
    now: f64,
    wide: bool,
    style: &Style,
) -> String {
    let mut out = format!(
        "{}  {}, {}, last push {} ({})\n",
        group.key,
        count(group.metrics, "metric"),
        count(group.series, "series"),
        format_ago(group.age(now)),
        if group.last_push_ok { "ok" } else { "failed" },
    );
    if let Some(left) = group.expires_in {
        out.truncate(out.len() - 1);
        out.push_str(&format!(", expires in {}\n", format_age(left)));
    }
    if families.is_empty() {
        return out;
    }
    let mut header = vec!["METRIC", "TYPE", "LABELS", "VALUE"];
    if wide {
        header.extend(["PUSHED AT", "HELP"]);
    }
    let mut table = style.table(&header, &[], &[0, 2, 3, 5]);
    for f in families {
        for s in &f.series {
            let mut row = vec![
                Cell::new(&f.name),
                Cell::new(f.kind.to_ascii_lowercase()),
                Cell::new(series_labels(&group.key, s)),
                Cell::new(series_value(s, wide)),
            ];
            if wide {
                row.push(Cell::new(f.time_stamp.as_deref().unwrap_or("-")));
                row.push(Cell::new(f.help.as_deref().unwrap_or("")));
            }
            table.add_row(row);
        }
    }
    out.push('\n');
    out.push_str(&finish(&mut table));
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
fn series_labels(key: &GroupingKey, series: &Value) -> String {
    let Some(labels) = series.get("labels").and_then(Value::as_object) else {
        return "-".into();
    };
    show_labels(labels.iter().filter_map(|(n, v)| {
        let v = v.as_str()?;
        let implied = key.get(n) == Some(v) || (n == "instance" && v.is_empty());
        (!implied).then_some((n.as_str(), v))
    }))
}

/// `7`, or `count=4 sum=2.5` for a summary or histogram (wide: with its
/// quantiles or buckets, `0.5=1 1=3 +Inf=4`, in numeric order).
fn series_value(series: &Value, wide: bool) -> String {
    if let Some(v) = series.get("value").and_then(Value::as_str) {
        return v.to_string();
    }
    let text = |k: &str| series.get(k).and_then(Value::as_str).unwrap_or("?");
    let mut out = format!("count={} sum={}", text("count"), text("sum"));
    if wide {
        for k in ["quantiles", "buckets"] {
            let Some(map) = series.get(k).and_then(Value::as_object) else {
                continue;
            };
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
            entries.sort_by(|a, b| num(a.0).total_cmp(&num(b.0)));
            for (bound, count) in entries {
                out.push_str(&format!(" {bound}={}", count.as_str().unwrap_or("?")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_764_000_000.0;

    fn group(labels: &[(&str, &str)], push: Option<f64>, ok: bool) -> Group {
        Group {
            key: GroupingKey::new(labels.iter().copied()),
            push_time: push,
            failure_time: None,
            last_push_ok: ok,
            metrics: 2,
            series: 5,
            expire_after: None,
            expires_in: None,
        }
    }

    fn fixture() -> Vec<Group> {
        let mut failed = group(
            &[("job", "node"), ("instance", "db 1")],
            Some(NOW - 7_512.0),
            false,
        );
        failed.failure_time = Some(NOW - 30.0);
        let mut v = vec![
            group(
                &[("job", "node"), ("instance", "web-1")],
                Some(NOW - 192.4),
                true,
            ),
            failed,
            group(
                &[("job", "backup"), ("path", "/var/tmp"), ("instance", "")],
                Some(NOW - 3.0 * 86_400.0),
                true,
            ),
            group(&[("job", "ghost")], None, false),
        ];
        sort(&mut v, SortOrder::Labels, false);
        v
    }

    #[test]
    fn table_snapshot() {
        let text = render_table(&fixture(), NOW, false, &Style::plain(100));
        let expected = "\
JOB     LABELS                     METRICS  SERIES  LAST PUSH   STATUS
backup  instance=\"\" path=/var/tmp        2       5  3days ago   ok
ghost   -                                2       5  never       failed
node    instance=\"db 1\"                  2       5  2h 5m ago   failed
node    instance=web-1                   2       5  3m 12s ago  ok
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn wide_table_snapshot_with_expiry() {
        let mut groups = fixture();
        groups[3].expire_after = Some(600.0);
        groups[3].expires_in = Some(407.6);
        let text = render_table(&groups, NOW, true, &Style::plain(250));
        let expected = "\
JOB     LABELS                     METRICS  SERIES  LAST PUSH   STATUS  EXPIRES    PUSHED AT             LAST FAILURE  TTL  PATH
backup  instance=\"\" path=/var/tmp        2       5  3days ago   ok      -          2025-11-21T16:00:00Z  never         -    /metrics/job/backup/instance@base64/=/path@base64/L3Zhci90bXA
ghost   -                                2       5  never       failed  -          -                     never         -    /metrics/job/ghost
node    instance=\"db 1\"                  2       5  2h 5m ago   failed  -          2025-11-24T13:54:48Z  30s ago       -    /metrics/job/node/instance@base64/ZGIgMQ
node    instance=web-1                   2       5  3m 12s ago  ok      in 6m 47s  2025-11-24T15:56:47Z  never         10m  /metrics/job/node/instance/web-1
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn narrow_terminal_wraps_labels_only() {
        let mut groups = fixture();
        groups[0].key = GroupingKey::new([
            ("job", "backup"),
            ("path", "/var/lib/backups/nightly/full"),
            ("host", "db-primary-1.eu-west.example.com"),
        ]);
        let text = render_table(&groups, NOW, false, &Style::plain(70));
        assert!(text.lines().all(|l| l.chars().count() <= 70), "\n{text}");
        assert!(text.contains("3m 12s ago"), "ages are not wrapped\n{text}");
        assert_eq!(text.lines().count(), 8, "\n{text}");
        let wide = render_table(&groups, NOW, false, &Style::plain(10));
        assert!(
            wide.contains("instance=web-1"),
            "at least 16 columns\n{wide}"
        );
    }

    #[test]
    fn json_snapshot() {
        let groups = fixture();
        let text = render_json(&groups[2..4], NOW);
        let expected = r#"{
  "groups": [
    {
      "labels": {
        "instance": "db 1",
        "job": "node"
      },
      "path": "/metrics/job/node/instance@base64/ZGIgMQ",
      "metrics": 2,
      "series": 5,
      "last_push": "2025-11-24T13:54:48Z",
      "last_push_unix": 1763992488.0,
      "last_push_age_seconds": 7512.0,
      "last_push_ok": false,
      "last_failure_unix": 1763999970.0,
      "expire_after_seconds": null,
      "expires_in_seconds": null
    },
    {
      "labels": {
        "instance": "web-1",
        "job": "node"
      },
      "path": "/metrics/job/node/instance/web-1",
      "metrics": 2,
      "series": 5,
      "last_push": "2025-11-24T15:56:47Z",
      "last_push_unix": 1763999807.6,
      "last_push_age_seconds": 192.4,
      "last_push_ok": true,
      "last_failure_unix": null,
      "expire_after_seconds": null,
      "expires_in_seconds": null
    }
  ]
}
"#;
        assert_eq!(text, expected, "\n{text}");
        assert_eq!(render_json(&[], NOW), "{\n  \"groups\": []\n}\n");
    }

    #[test]
    fn age_order_puts_the_oldest_first() {
        let mut groups = fixture();
        sort(&mut groups, SortOrder::Age, false);
        let jobs: Vec<_> = groups.iter().map(|g| g.key.to_string()).collect();
        assert_eq!(
            jobs,
            [
                r#"{job="ghost"}"#,
                r#"{instance="",job="backup",path="/var/tmp"}"#,
                r#"{instance="db 1",job="node"}"#,
                r#"{instance="web-1",job="node"}"#,
            ]
        );
        sort(&mut groups, SortOrder::Age, true);
        assert_eq!(groups[0].key.get("instance"), Some("web-1"));
    }

    fn families() -> Vec<Family> {
        let series = |v: Value| vec![v];
        vec![
            Family {
                name: "job_duration_seconds".into(),
                kind: "HISTOGRAM".into(),
                help: Some("Duration.".into()),
                time_stamp: Some("2025-11-24T15:56:47.6Z".into()),
                series: series(serde_json::json!({
                    "labels": {"instance": "web-1", "job": "node"},
                    "buckets": {"+Inf": "4", "0.5": "1", "1": "3"},
                    "count": "4", "sum": "2.5"
                })),
            },
            Family {
                name: "job_runs_total".into(),
                kind: "COUNTER".into(),
                help: None,
                time_stamp: None,
                series: vec![
                    serde_json::json!({"labels": {"instance": "web-1", "job": "node"}, "value": "7"}),
                    serde_json::json!({"labels": {"instance": "web-1", "job": "node", "result": "fail ed"}, "value": "1"}),
                ],
            },
        ]
    }

    #[test]
    fn metrics_snapshot() {
        let groups = fixture();
        let g = &groups[3];
        let text = render_metrics(g, &families(), NOW, false, &Style::plain(100));
        let expected = "\
{instance=\"web-1\",job=\"node\"}  2 metrics, 5 series, last push 3m 12s ago (ok)

METRIC                TYPE       LABELS            VALUE
job_duration_seconds  histogram  -                 count=4 sum=2.5
job_runs_total        counter    -                 7
job_runs_total        counter    result=\"fail ed\"  1
";
        assert_eq!(text, expected, "\n{text}");
        let wide = render_metrics(g, &families(), NOW, true, &Style::plain(200));
        assert!(
            wide.contains("count=4 sum=2.5 0.5=1 1=3 +Inf=4  2025-11-24T15:56:47.6Z  Duration."),
            "\n{wide}"
        );
    }

    #[test]
    fn metrics_json_keeps_the_gateway_series() {
        let groups = fixture();
        let text = render_metrics_json(&groups[3], &families(), NOW);
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["group"]["labels"]["instance"], "web-1");
        assert_eq!(doc["metrics"][0]["type"], "HISTOGRAM");
        assert_eq!(doc["metrics"][0]["series"][0]["buckets"]["+Inf"], "4");
        assert_eq!(doc["metrics"][1]["help"], Value::Null);
    }

    #[test]
    fn values_that_need_it_are_quoted() {
        assert_eq!(show_value("web-1"), "web-1");
        assert_eq!(show_value("/var/tmp"), "/var/tmp");
        assert_eq!(show_value(""), "\"\"");
        assert_eq!(show_value("a b"), "\"a b\"");
        assert_eq!(show_value("a,b"), "\"a,b\"");
        assert_eq!(show_value("Προμηθεύς"), "Προμηθεύς");
    }
}
