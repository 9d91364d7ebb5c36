//! What the relay does to an exporter's metrics before they travel: makes
//! them acceptable to a gateway (timestamps dropped, grouping labels in the
//! body handled as the gateway handles them, the relay's own names reserved),
//! applies the family filters, and adds the health series that say how the
//! scrape went. Pure: bytes in, families and figures out.

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;

use regex::Regex;

use crate::exposition::{render, Family, Label, Metric, MetricType, Value};

/// The prefix of the health series; exporter families that use it are dropped
/// so the health series cannot be forged or duplicated by a chained relay.
pub(crate) const HEALTH_PREFIX: &str = "pgw_relay_";

/// Keep/drop filters on family names, each a regex matched against the whole
/// name (anchored, as in Prometheus relabelling).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filters {
    pub(crate) keep: Option<Regex>,
    pub(crate) drop: Option<Regex>,
    /// The flags as given (`--keep '^node_load'`), for the warning when
    /// they leave nothing.
    pub(crate) given: Vec<String>,
}

impl Filters {
    /// Builds anchored filters from the `--keep`/`--drop` patterns; several
    /// patterns of one kind are alternatives.
    pub(crate) fn new(keep: &[String], drop: &[String]) -> Result<Filters, regex::Error> {
        let anchored = |pats: &[String]| -> Result<Option<Regex>, regex::Error> {
            if pats.is_empty() {
                return Ok(None);
            }
            let alt: Vec<String> = pats.iter().map(|p| format!("(?:{p})")).collect();
            Regex::new(&format!("^(?:{})$", alt.join("|"))).map(Some)
        };
        let given = (keep.iter().map(|p| format!("--keep {p:?}")))
            .chain(drop.iter().map(|p| format!("--drop {p:?}")))
            .collect();
        Ok(Filters {
            keep: anchored(keep)?,
            drop: anchored(drop)?,
            given,
        })
    }

    /// Whether any filter is given.
    pub(crate) fn any(&self) -> bool {
        self.keep.is_some() || self.drop.is_some()
    }

    fn passes(&self, name: &str) -> bool {
        self.keep.as_ref().is_none_or(|k| k.is_match(name))
            && !self.drop.as_ref().is_some_and(|d| d.is_match(name))
    }
}

/// What preparing a scrape changed, reported in the health series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Samples (lines of the text format) that are sent.
    pub(crate) samples: u64,
    /// Timestamps removed, since a gateway refuses a push that has any.
    pub(crate) timestamps_dropped: u64,
    /// Families left out by the filters or for using the health prefix.
    pub(crate) families_filtered: u64,
    /// Series left out because, once the grouping labels replaced the body's,
    /// they repeated an earlier series of their family (a gateway refuses
    /// duplicates).
    pub(crate) series_dropped: u64,
}

/// Prepares parsed families for a push to the group whose label names are
/// `grouping_names`.
///
/// A gateway forces every grouping label onto every series, overwriting a
/// body label of the same name (upstream `sanitizeLabels`); the relay does
/// the same by removing those labels from the body, so the gateway and remote
/// write see the same series. When that makes two series of a family equal,
/// the gateway would refuse the whole push, so only the first is kept.
pub(crate) fn prepare<'a>(
    families: Vec<Family<'a>>,
    grouping_names: &[&str],
    filters: &Filters,
) -> (Vec<Family<'a>>, Stats) {
    let mut stats = Stats::default();
    let mut out = Vec::with_capacity(families.len());
    for mut family in families {
        if family.name.starts_with(HEALTH_PREFIX) || !filters.passes(&family.name) {
            stats.families_filtered += 1;
            continue;
        }
        let mut relabelled = false;
        for metric in &mut family.metrics {
            if metric.timestamp_ms.take().is_some() {
                stats.timestamps_dropped += 1;
            }
            let before = metric.labels.len();
            metric
                .labels
                .retain(|l| !grouping_names.contains(&l.name.as_ref()));
            relabelled |= metric.labels.len() != before;
        }
        if relabelled {
            let mut seen: HashSet<Vec<Label<'_>>> = HashSet::new();
            let before = family.metrics.len();
            family.metrics.retain(|m| {
                let mut key = m.labels.clone();
                key.sort();
                seen.insert(key)
            });
            stats.series_dropped += (before - family.metrics.len()) as u64;
        }
        stats.samples += family.metrics.iter().map(sample_count).sum::<u64>();
        out.push(family);
    }
    (out, stats)
}

/// Lines of the text format one series takes.
fn sample_count(metric: &Metric<'_>) -> u64 {
    match &metric.value {
        Value::Single(_) => 1,
        Value::Summary { quantiles, .. } => quantiles.len() as u64 + 2,
        Value::Histogram { buckets, .. } => {
            let inf = buckets.iter().any(|&(le, _)| le == f64::INFINITY);
            buckets.len() as u64 + u64::from(!inf) + 2
        }
    }
}

/// How one scrape went.
#[derive(Debug, Clone, Default)]
pub(crate) struct Health {
    pub(crate) success: bool,
    pub(crate) duration: Duration,
    /// Bytes of the exporter's answer after decompression.
    pub(crate) size_bytes: u64,
    pub(crate) stats: Stats,
}

/// The health series names, in the order they are written.
pub(crate) const HEALTH_SERIES: [&str; 7] = [
    "pgw_relay_scrape_success",
    "pgw_relay_scrape_duration_seconds",
    "pgw_relay_scrape_size_bytes",
    "pgw_relay_scrape_samples",
    "pgw_relay_timestamps_dropped",
    "pgw_relay_families_filtered",
    "pgw_relay_series_dropped",
];

/// The health series: gauges without labels (the group's labels are added by
/// the gateway, or by the remote-write conversion).
pub(crate) fn health_families(h: &Health) -> Vec<Family<'static>> {
    let values = [
        (
            "1 if the relay's last scrape of the exporter succeeded, else 0.",
            if h.success { 1.0 } else { 0.0 },
        ),
        (
            "How long the relay's last scrape took.",
            h.duration.as_secs_f64(),
        ),
        (
            "Size of the exporter's last answer after decompression.",
            h.size_bytes as f64,
        ),
        (
            "Samples relayed from the last scrape.",
            h.stats.samples as f64,
        ),
        (
            "Timestamps removed from the last scrape (a gateway refuses them).",
            h.stats.timestamps_dropped as f64,
        ),
        (
            "Metric families left out of the last scrape by the filters.",
            h.stats.families_filtered as f64,
        ),
        (
            "Series left out of the last scrape as duplicates once the group's labels replaced the exporter's.",
            h.stats.series_dropped as f64,
        ),
    ];
    HEALTH_SERIES
        .iter()
        .zip(values)
        .map(|(name, (help, value))| {
            let mut f = Family::new(Cow::Borrowed(*name), MetricType::Gauge);
            f.help = Some(Cow::Borrowed(help));
            f.metrics.push(Metric {
                labels: Vec::new(),
                value: Value::Single(value),
                timestamp_ms: None,
                extras: None,
            });
            f
        })
        .collect()
}

/// Renders the push body: the exporter's families, then the health series.
pub(crate) fn render_body(
    families: &[Family<'_>],
    health: &[Family<'_>],
    size_hint: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 1024);
    for family in families.iter().chain(health) {
        render::write_family(&mut out, family);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text;

    const SCRAPE: &str = "\
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.5 1700000000000
# TYPE up gauge
up{job=\"other\",instance=\"a\"} 1
up{job=\"other\",instance=\"b\"} 1
up{job=\"other\",instance=\"c\",zone=\"z\"} 0
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile=\"0.5\"} 0.001
go_gc_duration_seconds_sum 0.1
go_gc_duration_seconds_count 10
# TYPE pgw_relay_scrape_success gauge
pgw_relay_scrape_success 1
";

    #[test]
    fn prepares_like_a_gateway_would() {
        let families = text::parse(SCRAPE).unwrap();
        let (out, stats) = prepare(families, &["instance", "job"], &Filters::default());
        assert_eq!(
            stats,
            Stats {
                samples: 1 + 2 + 3,
                timestamps_dropped: 1,
                families_filtered: 1,
                series_dropped: 1,
            }
        );
        let up = &out[1];
        assert_eq!(up.metrics.len(), 2);
        assert!(up.metrics[0].labels.is_empty());
        assert_eq!(up.metrics[1].labels, vec![Label::new("zone", "z")]);
        assert!(out
            .iter()
            .all(|f| f.metrics.iter().all(|m| m.timestamp_ms.is_none())));
    }

    #[test]
    fn filters_are_anchored_alternatives() {
        let f = Filters::new(&["node_.*".into(), "up".into()], &["node_load.*".into()]).unwrap();
        assert!(f.passes("node_cpu_seconds_total"));
        assert!(f.passes("up"));
        assert!(!f.passes("upx"), "anchored");
        assert!(!f.passes("node_load1"));
        assert!(!f.passes("go_goroutines"));
        assert!(Filters::new(&["(".into()], &[]).is_err());
        let families = text::parse(SCRAPE).unwrap();
        let (out, stats) = prepare(families, &["job", "instance"], &f);
        assert_eq!(out.len(), 1);
        assert_eq!(stats.families_filtered, 3);
    }

    #[test]
    fn body_parses_back_with_health_series() {
        let families = text::parse(SCRAPE).unwrap();
        let (out, stats) = prepare(families, &["job", "instance"], &Filters::default());
        let health = health_families(&Health {
            success: true,
            duration: Duration::from_millis(12),
            size_bytes: SCRAPE.len() as u64,
            stats,
        });
        let body = render_body(&out, &health, 0);
        let text = String::from_utf8(body).unwrap();
        let parsed = text::parse(&text).unwrap();
        crate::exposition::validate::check_families(&parsed).unwrap();
        assert!(text.contains("pgw_relay_scrape_success 1\n"));
        assert!(text.contains("pgw_relay_scrape_duration_seconds 0.012\n"));
        assert!(text.contains("pgw_relay_timestamps_dropped 1\n"));
        let failed = health_families(&Health::default());
        let text = String::from_utf8(render_body(&[], &failed, 0)).unwrap();
        assert!(text.contains("pgw_relay_scrape_success 0\n"));
        assert_eq!(text::parse(&text).unwrap().len(), HEALTH_SERIES.len());
    }
}
