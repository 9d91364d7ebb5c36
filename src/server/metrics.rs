//! The server's own metrics, under the official Pushgateway's names so that
//! existing dashboards keep working: request counters, push duration and size
//! summaries, build information, and the standard `process_*` gauges; plus
//! pgw's own store gauges. Rendered into [`OwnFamily`]s that the store merges
//! into every scrape.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::exposition::proto::encode_series;
use crate::exposition::render::write_series;
use crate::exposition::{Label, Metric, MetricType, Value};
use crate::server::limits::Limit;
use crate::server::store::{OwnFamily, Stats};

/// How long a summary observation counts towards the quantiles; the same
/// window as the Go client's default `MaxAge`.
const SUMMARY_MAX_AGE: Duration = Duration::from_secs(600);
/// At most this many recent observations are kept per summary, so a burst of
/// pushes cannot grow memory; quantiles are then over the latest ones.
const SUMMARY_MAX_SAMPLES: usize = 4096;
const QUANTILES: [f64; 3] = [0.1, 0.5, 0.9];

/// The names and types of every family this module renders, for the store's
/// type check on pushes.
pub const OWN_TYPES: &[(&str, MetricType)] = &[
    ("pgw_auth_failures_total", MetricType::Counter),
    ("pgw_etcd_commits_total", MetricType::Counter),
    ("pgw_etcd_conflicts_total", MetricType::Counter),
    ("pgw_etcd_errors_total", MetricType::Counter),
    ("pgw_etcd_revision", MetricType::Gauge),
    ("pgw_etcd_view_age_seconds", MetricType::Gauge),
    ("pgw_expired_groups_total", MetricType::Counter),
    ("pgw_groups", MetricType::Gauge),
    ("pgw_limit_hits_total", MetricType::Counter),
    ("pgw_persistence_healthy", MetricType::Gauge),
    ("pgw_push_body_bytes_in_flight", MetricType::Gauge),
    ("pgw_series", MetricType::Gauge),
    ("process_cpu_seconds_total", MetricType::Counter),
    ("process_max_fds", MetricType::Gauge),
    ("process_open_fds", MetricType::Gauge),
    ("process_resident_memory_bytes", MetricType::Gauge),
    ("process_start_time_seconds", MetricType::Gauge),
    ("process_virtual_memory_bytes", MetricType::Gauge),
    ("pushgateway_build_info", MetricType::Gauge),
    (
        "pushgateway_http_push_duration_seconds",
        MetricType::Summary,
    ),
    ("pushgateway_http_push_size_bytes", MetricType::Summary),
    ("pushgateway_http_requests_total", MetricType::Counter),
];

#[derive(Default)]
struct Summary {
    count: u64,
    sum: f64,
    recent: VecDeque<(Instant, f64)>,
}

impl Summary {
    fn observe(&mut self, v: f64, now: Instant) {
        self.count += 1;
        self.sum += v;
        if self.recent.len() == SUMMARY_MAX_SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back((now, v));
    }

    fn value(&mut self, now: Instant) -> Value {
        while let Some(&(t, _)) = self.recent.front() {
            if now.duration_since(t) > SUMMARY_MAX_AGE {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        let mut values: Vec<f64> = self.recent.iter().map(|&(_, v)| v).collect();
        values.sort_by(f64::total_cmp);
        let quantiles = QUANTILES
            .iter()
            .map(|&q| {
                let v = if values.is_empty() {
                    f64::NAN
                } else {
                    let rank = (q * (values.len() - 1) as f64).round() as usize;
                    values[rank]
                };
                (q, v)
            })
            .collect();
        Value::Summary {
            sample_count: self.count as f64,
            sample_sum: self.sum,
            quantiles,
        }
    }
}

/// Events per second over the last minute, in one-second buckets: a fixed
/// few hundred bytes whatever the rate.
#[derive(Debug)]
struct RateMeter {
    /// (second since start, count) per slot; slot = second % 60.
    slots: [(u64, u64); 60],
    total: u64,
}

impl Default for RateMeter {
    fn default() -> RateMeter {
        RateMeter {
            slots: [(0, 0); 60],
            total: 0,
        }
    }
}

impl RateMeter {
    fn add(&mut self, second: u64) {
        let slot = &mut self.slots[(second % 60) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 += 1;
        self.total += 1;
    }

    /// The mean rate over the 60 whole seconds before `second` (or since
    /// the start, if that is shorter).
    fn per_second(&self, second: u64) -> f64 {
        let window = second.clamp(1, 60);
        let from = second.saturating_sub(window);
        let n: u64 = self
            .slots
            .iter()
            .filter(|(s, _)| *s >= from && *s < second)
            .map(|(_, c)| c)
            .sum();
        n as f64 / window as f64
    }
}

/// pgw's own figures for the status view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    pub(crate) pushes_total: u64,
    pub(crate) pushes_per_second: f64,
    pub(crate) expired_groups_total: u64,
}

#[derive(Default)]
struct Counters {
    /// (code, handler, method) -> count
    requests: BTreeMap<(u16, &'static str, &'static str), u64>,
    /// by method (`put`, `post`)
    push_duration: BTreeMap<&'static str, Summary>,
    push_size: BTreeMap<&'static str, Summary>,
    /// (role, reason) -> refused requests
    auth_failures: BTreeMap<(&'static str, &'static str), u64>,
    expired_groups: u64,
    limit_hits: BTreeMap<Limit, u64>,
    pushes: RateMeter,
}

pub(crate) struct OwnMetrics {
    counters: Mutex<Counters>,
    start_time: SystemTime,
    started: Instant,
}

impl OwnMetrics {
    pub(crate) fn new(start_time: SystemTime) -> OwnMetrics {
        OwnMetrics {
            counters: Mutex::new(Counters::default()),
            start_time,
            started: Instant::now(),
        }
    }

    /// Counts a request other than a scrape, as upstream's
    /// `pushgateway_http_requests_total` does.
    pub(crate) fn count_request(&self, code: u16, handler: &'static str, method: &'static str) {
        *self
            .counters
            .lock()
            .requests
            .entry((code, handler, method))
            .or_default() += 1;
    }

    /// Counts a request refused for its credentials: `reason` is
    /// `missing`, `wrong` or `forbidden`, `role` what the request needed.
    pub(crate) fn count_auth_failure(&self, role: &'static str, reason: &'static str) {
        *self
            .counters
            .lock()
            .auth_failures
            .entry((role, reason))
            .or_default() += 1;
    }

    /// Starts every `pgw_auth_failures_total` series at 0, so that the
    /// first refusal shows in `rate()` and `increase()`; called when
    /// credentials are configured.
    pub(crate) fn init_auth_failures(&self, roles: &[&'static str], reasons: &[&'static str]) {
        let mut c = self.counters.lock();
        for &role in roles {
            for &reason in reasons {
                c.auth_failures.entry((role, reason)).or_default();
            }
        }
    }

    /// Counts groups deleted by expiry.
    pub(crate) fn count_expired(&self, n: usize) {
        self.counters.lock().expired_groups += n as u64;
    }

    /// Counts a request refused by a limit.
    pub(crate) fn count_limit_hit(&self, limit: Limit) {
        *self.counters.lock().limit_hits.entry(limit).or_default() += 1;
    }

    /// Records one push (PUT or POST): its duration and size in bytes.
    pub(crate) fn observe_push(&self, method: &'static str, duration: Duration, size: usize) {
        let now = Instant::now();
        let second = now.duration_since(self.started).as_secs();
        let mut c = self.counters.lock();
        c.pushes.add(second);
        c.push_duration
            .entry(method)
            .or_default()
            .observe(duration.as_secs_f64(), now);
        c.push_size
            .entry(method)
            .or_default()
            .observe(size as f64, now);
    }

    /// Push totals and rate, and expiries, for the status view.
    pub(crate) fn figures(&self) -> Figures {
        let second = self.started.elapsed().as_secs();
        let c = self.counters.lock();
        Figures {
            pushes_total: c.pushes.total,
            pushes_per_second: c.pushes.per_second(second),
            expired_groups_total: c.expired_groups,
        }
    }

    /// Renders every own family, sorted by name. `healthy` is whether the
    /// persistence log takes changes (`None`: the store is in memory only);
    /// `inflight_bytes` is what push bodies hold of the in-flight budget now;
    /// `etcd`, the figures of the etcd store, when the store lives there.
    pub(crate) fn render(
        &self,
        stats: Stats,
        healthy: Option<bool>,
        inflight_bytes: usize,
        etcd: Option<crate::server::etcd::engine::Figures>,
    ) -> Vec<OwnFamily> {
        let now = Instant::now();
        let mut c = self.counters.lock();
        let mut out = Vec::new();
        let single = |v: f64| Value::Single(v);
        let failures = c
            .auth_failures
            .iter()
            .map(|(&(role, reason), &n)| {
                (
                    vec![("role", role.to_string()), ("reason", reason.to_string())],
                    single(n as f64),
                )
            })
            .collect();
        out.push(family(
            "pgw_auth_failures_total",
            "Requests refused for missing, wrong or insufficient credentials, by the role the request needed.",
            MetricType::Counter,
            failures,
        ));
        if let Some(e) = etcd {
            let figures: [(&'static str, &'static str, MetricType, f64); 5] = [
                (
                    "pgw_etcd_commits_total",
                    "Transactions this replica committed to etcd (each holds a batch of changes).",
                    MetricType::Counter,
                    e.commits as f64,
                ),
                (
                    "pgw_etcd_conflicts_total",
                    "Transactions that failed because another replica committed first; their changes were checked again and retried.",
                    MetricType::Counter,
                    e.conflicts as f64,
                ),
                (
                    "pgw_etcd_errors_total",
                    "Requests to etcd that failed (unreachable, no quorum, too large, refused).",
                    MetricType::Counter,
                    e.errors as f64,
                ),
                (
                    "pgw_etcd_revision",
                    "The etcd revision of this replica's view of the store.",
                    MetricType::Gauge,
                    e.revision as f64,
                ),
                (
                    "pgw_etcd_view_age_seconds",
                    "Seconds since this replica's view of the store was last confirmed to be etcd's latest; /-/ready fails above --store.etcd.max-staleness.",
                    MetricType::Gauge,
                    e.view_age.as_secs_f64(),
                ),
            ];
            for (name, help, kind, v) in figures {
                out.push(family(name, help, kind, vec![(vec![], single(v))]));
            }
        }
        out.push(family(
            "pgw_expired_groups_total",
            "Groups deleted because their time to live ran out since their last push.",
            MetricType::Counter,
            vec![(vec![], single(c.expired_groups as f64))],
        ));
        out.push(family(
            "pgw_groups",
            "Number of groups in the store.",
            MetricType::Gauge,
            vec![(vec![], single(stats.groups as f64))],
        ));
        // Every limit is shown, at 0 until hit, so an alert on its rate
        // works from the start.
        let hits = Limit::ALL
            .iter()
            .map(|l| {
                let n = c.limit_hits.get(l).copied().unwrap_or(0);
                (vec![("limit", l.name().to_string())], single(n as f64))
            })
            .collect();
        out.push(family(
            "pgw_limit_hits_total",
            "Requests refused because they hit a limit, by limit.",
            MetricType::Counter,
            hits,
        ));
        if let Some(healthy) = healthy {
            out.push(family(
                "pgw_persistence_healthy",
                "1 while the persistence log takes changes, 0 while it refuses them (a full or read-only disk, a failed write): pushes are then answered 507 and /-/ready 503.",
                MetricType::Gauge,
                vec![(vec![], single(f64::from(u8::from(healthy))))],
            ));
        }
        out.push(family(
            "pgw_push_body_bytes_in_flight",
            "Bytes of push bodies being read and parsed now, counted against --push.max-inflight-bytes.",
            MetricType::Gauge,
            vec![(vec![], single(inflight_bytes as f64))],
        ));
        out.push(family(
            "pgw_series",
            "Number of pushed series in the store, not counting push_time_seconds and push_failure_time_seconds.",
            MetricType::Gauge,
            vec![(vec![], single(stats.series as f64))],
        ));
        out.extend(process_families(self.start_time));
        out.push(family(
            "pushgateway_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, goversion from which pushgateway was built, and the goos and goarch for the build.",
            MetricType::Gauge,
            vec![(build_labels(), single(1.0))],
        ));
        let durations = c
            .push_duration
            .iter_mut()
            .map(|(m, s)| (vec![("method", m.to_string())], s.value(now)))
            .collect();
        out.push(family(
            "pushgateway_http_push_duration_seconds",
            "HTTP request duration for pushes to the Pushgateway.",
            MetricType::Summary,
            durations,
        ));
        let sizes = c
            .push_size
            .iter_mut()
            .map(|(m, s)| (vec![("method", m.to_string())], s.value(now)))
            .collect();
        out.push(family(
            "pushgateway_http_push_size_bytes",
            "HTTP request size for pushes to the Pushgateway.",
            MetricType::Summary,
            sizes,
        ));
        let requests = c
            .requests
            .iter()
            .map(|(&(code, handler, method), &n)| {
                (
                    vec![
                        ("code", code.to_string()),
                        ("handler", handler.to_string()),
                        ("method", method.to_string()),
                    ],
                    single(n as f64),
                )
            })
            .collect();
        out.push(family(
            "pushgateway_http_requests_total",
            "Total HTTP requests processed by the Pushgateway, excluding scrapes.",
            MetricType::Counter,
            requests,
        ));
        out.retain(|f| !f.text.is_empty());
        out
    }
}

fn build_labels() -> Vec<(&'static str, String)> {
    crate::server::identity::build_info_labels()
}

fn family(
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    series: Vec<(Vec<(&'static str, String)>, Value)>,
) -> OwnFamily {
    let (mut text, mut proto) = (Vec::new(), Vec::new());
    for (labels, value) in series {
        let metric = Metric {
            labels: labels.into_iter().map(|(n, v)| Label::new(n, v)).collect(),
            value,
            timestamp_ms: None,
            extras: None,
        };
        write_series(&mut text, name, kind, &metric);
        encode_series(&mut proto, kind, &metric);
    }
    OwnFamily {
        name,
        help,
        kind,
        text,
        proto,
    }
}

/// The standard `process_*` gauges, read from /proc where there is one.
fn process_families(start_time: SystemTime) -> Vec<OwnFamily> {
    let mut out = Vec::new();
    let proc = ProcStats::read();
    let one = |v: f64| vec![(Vec::new(), Value::Single(v))];
    if let Some(cpu) = proc.cpu_seconds {
        out.push(family(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            MetricType::Counter,
            one(cpu),
        ));
    }
    if let Some(max) = proc.max_fds {
        out.push(family(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            MetricType::Gauge,
            one(max),
        ));
    }
    if let Some(open) = proc.open_fds {
        out.push(family(
            "process_open_fds",
            "Number of open file descriptors.",
            MetricType::Gauge,
            one(open),
        ));
    }
    if let Some(rss) = proc.resident_bytes {
        out.push(family(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            MetricType::Gauge,
            one(rss),
        ));
    }
    let start = start_time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    out.push(family(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        MetricType::Gauge,
        one(start),
    ));
    if let Some(vsz) = proc.virtual_bytes {
        out.push(family(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            MetricType::Gauge,
            one(vsz),
        ));
    }
    out
}

#[derive(Default)]
struct ProcStats {
    cpu_seconds: Option<f64>,
    resident_bytes: Option<f64>,
    virtual_bytes: Option<f64>,
    open_fds: Option<f64>,
    max_fds: Option<f64>,
}

impl ProcStats {
    fn read() -> ProcStats {
        let mut s = ProcStats::default();
        // Field layout of /proc/self/stat (proc(5)): after the command name
        // in parentheses, utime and stime are fields 14 and 15 (clock ticks),
        // vsize 23 (bytes) and rss 24 (pages).
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<f64>().ok());
                // USER_HZ is 100 on every Linux platform Rust supports.
                if let (Some(u), Some(st)) = (num(14), num(15)) {
                    s.cpu_seconds = Some((u + st) / 100.0);
                }
                s.virtual_bytes = num(23);
                s.resident_bytes = num(24).map(|pages| pages * 4096.0);
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            s.open_fds = Some(dir.count() as f64);
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
            s.max_fds = limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_meter_counts_the_last_whole_minute() {
        let mut m = RateMeter::default();
        m.add(0);
        assert_eq!(m.per_second(0), 0.0, "no whole second has passed");
        assert_eq!(m.per_second(1), 1.0);
        m.total = 0;
        m.slots = [(0, 0); 60];
        for _ in 0..30 {
            m.add(0);
        }
        for _ in 0..90 {
            m.add(10);
        }
        assert_eq!(m.total, 120);
        // At second 20 the window is the 20 seconds so far.
        assert_eq!(m.per_second(20), 6.0);
        // At second 65, second 0 has left the window (and its slot is
        // reused by second 60).
        m.add(60);
        assert_eq!(m.per_second(65), 91.0 / 60.0);
        assert_eq!(m.per_second(200), 0.0);
    }

    #[test]
    fn own_types_lists_every_rendered_family_in_order() {
        let m = OwnMetrics::new(SystemTime::now());
        m.count_request(200, "push", "put");
        m.observe_push("put", Duration::from_millis(3), 100);
        m.count_auth_failure("push", "wrong");
        let families = m.render(Stats::default(), Some(true), 0, None);
        let names: Vec<&str> = families.iter().map(|f| f.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "families must be sorted for the merge");
        for f in &families {
            let listed = OWN_TYPES.iter().find(|(n, _)| *n == f.name);
            assert_eq!(listed.map(|(_, t)| *t), Some(f.kind), "{}", f.name);
        }
        assert!(names.contains(&"pushgateway_http_requests_total"));
    }

    #[test]
    fn summary_quantiles_come_from_recent_values() {
        let mut s = Summary::default();
        let now = Instant::now();
        for v in 1..=100 {
            s.observe(f64::from(v), now);
        }
        let Value::Summary {
            sample_count,
            sample_sum,
            quantiles,
        } = s.value(now)
        else {
            panic!("a summary")
        };
        assert_eq!(sample_count, 100.0);
        assert_eq!(sample_sum, 5050.0);
        assert_eq!(quantiles[1], (0.5, 51.0));
    }
}
