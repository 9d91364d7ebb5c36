//! The store's unit tests: pushes, checks, limits, views and scrapes,
//! driven through the store's own methods.

use super::*;
use crate::exposition::names::Escaping;
use crate::exposition::{text, Family, Label};
use crate::server::metrics::OWN_TYPES;
use std::time::UNIX_EPOCH;

fn key(pairs: &[(&str, &str)]) -> GroupingKey {
    GroupingKey::new(pairs.iter().copied())
}

fn push(store: &Store, k: &GroupingKey, body: &str, mode: Mode) -> Result<(), PushError> {
    push_at(store, k, body, mode, None, SystemTime::now())
}

fn push_at(
    store: &Store,
    k: &GroupingKey,
    body: &str,
    mode: Mode,
    ttl: Option<Duration>,
    now: SystemTime,
) -> Result<(), PushError> {
    let families = text::parse(body).expect("test bodies parse");
    let mut p = prepare(k.clone(), families, now)?;
    p.ttl = ttl;
    store.push(p, mode, now)
}

fn keys(removed: &[Removed]) -> Vec<String> {
    removed.iter().map(|r| r.key.to_string()).collect()
}

#[test]
fn delete_matching_is_selector_and_staleness() {
    let store = Store::new(OWN_TYPES);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let old = t0;
    let fresh = t0 + Duration::from_secs(3600);
    let now = t0 + Duration::from_secs(3700);
    push_at(
        &store,
        &key(&[("job", "ci"), ("instance", "ci-1")]),
        "a 1\n",
        Mode::Replace,
        None,
        old,
    )
    .unwrap();
    push_at(
        &store,
        &key(&[("job", "ci"), ("instance", "ci-2")]),
        "a 2\n",
        Mode::Replace,
        None,
        fresh,
    )
    .unwrap();
    push_at(
        &store,
        &key(&[("job", "ci"), ("instance", "web-1")]),
        "a 3\n",
        Mode::Replace,
        None,
        old,
    )
    .unwrap();
    push_at(
        &store,
        &key(&[("job", "node")]),
        "b 1\n",
        Mode::Replace,
        None,
        old,
    )
    .unwrap();
    let sel: Selector = "job=ci,instance=~ci-.*".parse().unwrap();
    let dry = store.delete_matching(&sel, None, now, true).unwrap();
    assert_eq!(
        keys(&dry),
        [
            "{instance=\"ci-1\",job=\"ci\"}",
            "{instance=\"ci-2\",job=\"ci\"}"
        ]
    );
    assert_eq!(store.stats().groups, 4, "a dry run deletes nothing");
    let stale = store
        .delete_matching(&sel, Some(Duration::from_secs(600)), now, false)
        .unwrap();
    assert_eq!(keys(&stale), ["{instance=\"ci-1\",job=\"ci\"}"]);
    assert_eq!(stale[0].push_time, 1_000_000.0);
    assert_eq!(store.stats().groups, 3);
    // Staleness alone: everything pushed more than ten minutes ago.
    let all_stale = store
        .delete_matching(
            &Selector::default(),
            Some(Duration::from_secs(600)),
            now,
            false,
        )
        .unwrap();
    assert_eq!(all_stale.len(), 2);
    assert_eq!(
        store.stats(),
        Stats {
            groups: 1,
            series: 1
        }
    );
    assert!(!exposition(&store).contains("web-1"));
}

#[test]
fn groups_expire_after_their_own_time_to_live() {
    let store = Store::new(OWN_TYPES);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let short = key(&[("job", "short")]);
    let long = key(&[("job", "long")]);
    let never = key(&[("job", "never")]);
    push_at(
        &store,
        &short,
        "a 1\n",
        Mode::Replace,
        Some(Duration::from_secs(60)),
        t0,
    )
    .unwrap();
    push_at(
        &store,
        &long,
        "b 1\n",
        Mode::Replace,
        Some(Duration::from_secs(600)),
        t0,
    )
    .unwrap();
    push_at(&store, &never, "c 1\n", Mode::Replace, None, t0).unwrap();
    assert!(store
        .expire(t0 + Duration::from_secs(59))
        .unwrap()
        .is_empty());
    let view = &store.groups()[2];
    assert_eq!(view.key, short);
    assert_eq!(view.expires_in(t0 + Duration::from_secs(45)), Some(15.0));
    // A new push restarts the clock (and a refused one does not).
    push_at(
        &store,
        &short,
        "a 2\n",
        Mode::Merge,
        Some(Duration::from_secs(60)),
        t0 + Duration::from_secs(30),
    )
    .unwrap();
    assert!(push_at(
        &store,
        &short,
        "a 2\na 2\n",
        Mode::Merge,
        Some(Duration::from_secs(60)),
        t0 + Duration::from_secs(80)
    )
    .is_err());
    assert!(store
        .expire(t0 + Duration::from_secs(89))
        .unwrap()
        .is_empty());
    let gone = store.expire(t0 + Duration::from_secs(90)).unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].key, short);
    assert_eq!(gone[0].ttl, Some(Duration::from_secs(60)));
    // A push without a time to live makes the group permanent again.
    push_at(
        &store,
        &long,
        "b 2\n",
        Mode::Replace,
        None,
        t0 + Duration::from_secs(100),
    )
    .unwrap();
    assert!(store
        .expire(t0 + Duration::from_secs(100_000))
        .unwrap()
        .is_empty());
    assert_eq!(store.stats().groups, 2);
    assert_eq!(store.groups()[0].expires_in(t0), None);
}

#[test]
fn store_limits_refuse_without_changing_anything() {
    let limits = Limits {
        max_groups: 2,
        max_series: 3,
        ..Limits::default()
    };
    let store = Store::new(OWN_TYPES).with_limits(limits);
    push(&store, &key(&[("job", "a")]), "m 1\n", Mode::Replace).unwrap();
    push(
        &store,
        &key(&[("job", "b")]),
        "m{x=\"1\"} 1\n",
        Mode::Replace,
    )
    .unwrap();
    let err = push(&store, &key(&[("job", "c")]), "n 1\n", Mode::Replace).unwrap_err();
    let PushError::Limit(hit) = err else {
        panic!("{err}")
    };
    assert_eq!(hit.limit, Limit::Groups);
    assert!(
        hit.to_string()
            .contains("group {job=\"c\"} cannot be added"),
        "{hit}"
    );
    // Two series stored; replacing b's one by two makes three: allowed.
    push(
        &store,
        &key(&[("job", "b")]),
        "m{x=\"1\"} 1\nm{x=\"2\"} 1\n",
        Mode::Replace,
    )
    .unwrap();
    let before = exposition(&store);
    let err = push(&store, &key(&[("job", "a")]), "k 1\n", Mode::Merge).unwrap_err();
    let PushError::Limit(hit) = err else {
        panic!("{err}")
    };
    assert_eq!(hit.limit, Limit::Series);
    assert_eq!(pushed_lines(&before), pushed_lines(&exposition(&store)));
    // Shrinking is always allowed, even over the limit.
    push(&store, &key(&[("job", "a")]), "k 1\n", Mode::Replace).unwrap();
}

fn pushed_lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.contains("push_failure_time_seconds"))
        .map(str::to_string)
        .collect()
}

fn exposition(store: &Store) -> String {
    let mut out = Vec::new();
    store.write_exposition(&mut out, &[], Escaping::Underscores);
    String::from_utf8(out).unwrap()
}

/// The exposition without the synthetic push-time series, whose values
/// change with the clock.
fn pushed(store: &Store) -> String {
    exposition(store)
        .lines()
        .filter(|l| !l.contains("push_time_seconds") && !l.contains("push_failure_time_seconds"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn grouping_labels_override_body_labels_and_instance_is_added() {
    let store = Store::new(OWN_TYPES);
    let k = key(&[("job", "lbl"), ("foo", "bar")]);
    push(
        &store,
        &k,
        "m1{foo=\"baz\",job=\"zzz\",instance=\"body\"} 1\nm2 2\n",
        Mode::Replace,
    )
    .unwrap();
    let out = pushed(&store);
    assert!(
        out.contains("m1{foo=\"bar\",instance=\"body\",job=\"lbl\"} 1\n"),
        "{out}"
    );
    assert!(
        out.contains("m2{foo=\"bar\",instance=\"\",job=\"lbl\"} 2\n"),
        "{out}"
    );
}

#[test]
fn put_replaces_the_group_and_post_only_named_families() {
    let store = Store::new(OWN_TYPES);
    let k = key(&[("job", "j")]);
    push(&store, &k, "a 1\nb 2\n", Mode::Replace).unwrap();
    push(&store, &k, "b{x=\"1\"} 3\n", Mode::Merge).unwrap();
    let out = pushed(&store);
    assert!(out.contains("a{instance=\"\",job=\"j\"} 1"), "{out}");
    assert!(
        out.contains("b{instance=\"\",job=\"j\",x=\"1\"} 3"),
        "{out}"
    );
    assert!(
        !out.contains("} 2\n"),
        "POST drops unpushed series of a family: {out}"
    );
    push(&store, &k, "c 4\n", Mode::Replace).unwrap();
    let out = pushed(&store);
    assert!(!out.contains("\na{") && !out.contains("\nb{"), "{out}");
    assert_eq!(
        store.stats(),
        Stats {
            groups: 1,
            series: 1
        }
    );
}

#[test]
fn families_are_merged_sorted_with_one_header() {
    let store = Store::new(OWN_TYPES);
    push(
        &store,
        &key(&[("job", "b")]),
        "# HELP z Zed.\n# TYPE z gauge\nz 1\na 1\n",
        Mode::Replace,
    )
    .unwrap();
    push(
        &store,
        &key(&[("job", "a")]),
        "# TYPE z gauge\nz 2\n",
        Mode::Replace,
    )
    .unwrap();
    let out = pushed(&store);
    assert_eq!(out.matches("# TYPE z gauge").count(), 1, "{out}");
    assert!(out.contains("# HELP z Zed.\n# TYPE z gauge\nz{instance=\"\",job=\"a\"} 2\nz{instance=\"\",job=\"b\"} 1\n"), "{out}");
    let a = out.find("# TYPE a").unwrap();
    assert!(a < out.find("# TYPE z").unwrap());
}

#[test]
fn help_is_the_first_group_with_one_in_key_order() {
    let store = Store::new(OWN_TYPES);
    push(
        &store,
        &key(&[("job", "c")]),
        "# HELP m From c.\nm 1\n",
        Mode::Replace,
    )
    .unwrap();
    push(&store, &key(&[("job", "a")]), "m 1\n", Mode::Replace).unwrap();
    push(
        &store,
        &key(&[("job", "b")]),
        "# HELP m From b.\nm 1\n",
        Mode::Replace,
    )
    .unwrap();
    assert!(pushed(&store).contains("# HELP m From b.\n"));
}

#[test]
fn type_clash_across_groups_is_refused_and_changes_nothing() {
    let store = Store::new(OWN_TYPES);
    push(
        &store,
        &key(&[("job", "a")]),
        "# TYPE x counter\nx 1\n",
        Mode::Replace,
    )
    .unwrap();
    let before = pushed(&store);
    let err = push(
        &store,
        &key(&[("job", "b")]),
        "# TYPE x gauge\nx 1\n",
        Mode::Replace,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("metric family x") && err.to_string().contains("{job=\"a\"}"),
        "{err}"
    );
    assert_eq!(pushed(&store), before);
    assert_eq!(store.stats().groups, 1, "a refused push creates no group");
    // The only group holding a family may change its type.
    push(
        &store,
        &key(&[("job", "a")]),
        "# TYPE x gauge\nx 1\n",
        Mode::Replace,
    )
    .unwrap();
}

#[test]
fn own_metric_type_clash_is_refused() {
    let store = Store::new(OWN_TYPES);
    let err = push(
        &store,
        &key(&[("job", "a")]),
        "# TYPE pushgateway_http_requests_total gauge\npushgateway_http_requests_total 1\n",
        Mode::Replace,
    )
    .unwrap_err();
    assert!(err.to_string().contains("gateway's own metric"), "{err}");
}

#[test]
fn duplicate_series_across_groups_is_refused() {
    let store = Store::new(OWN_TYPES);
    push(
        &store,
        &key(&[("job", "x")]),
        "m{instance=\"a\"} 1\n",
        Mode::Replace,
    )
    .unwrap();
    let err = push(
        &store,
        &key(&[("job", "x"), ("instance", "a")]),
        "m 1\n",
        Mode::Replace,
    )
    .unwrap_err();
    assert!(err.to_string().contains("same labels"), "{err}");
    assert_eq!(store.stats().groups, 1);
}

#[test]
fn empty_instance_beside_no_instance_cannot_poison_the_store() {
    // Upstream accepts the group {job="ei",instance=""} beside {job="ei"}
    // and from then on every scrape fails.
    let store = Store::new(OWN_TYPES);
    push(&store, &key(&[("job", "ei")]), "m 1\n", Mode::Replace).unwrap();
    let err = push(
        &store,
        &key(&[("job", "ei"), ("instance", "")]),
        "",
        Mode::Replace,
    )
    .unwrap_err();
    assert!(err.to_string().contains("push_time_seconds"), "{err}");
    assert_eq!(store.stats().groups, 1);
}

#[test]
fn refused_push_marks_an_existing_group_failed() {
    let store = Store::new(OWN_TYPES);
    let k = key(&[("job", "a")]);
    push(&store, &k, "x 1\n", Mode::Replace).unwrap();
    store.record_failure(&k, SystemTime::now());
    let g = &store.groups()[0];
    assert!(g.failure_time > 0.0 && g.push_time > 0.0);
    store.record_failure(&key(&[("job", "nope")]), SystemTime::now());
    assert_eq!(store.stats().groups, 1);
}

/// Each family name's text size, kept up to date by every change, is
/// the sum of its groups' texts.
fn assert_text_bytes_agree(store: &Store, after: &str) {
    let inner = store.inner.read();
    for (name, index) in &inner.families {
        let sum: usize = index.groups.values().map(|m| m.family.text.len()).sum();
        assert_eq!(index.text_bytes, sum, "{name} after {after}");
    }
}

#[test]
fn scrape_sizes_follow_every_change() {
    let store = Store::new(OWN_TYPES);
    let (a, b) = (key(&[("job", "a")]), key(&[("job", "b")]));
    let steps: [(&str, &GroupingKey, &str, Mode); 5] = [
        ("a first push", &a, "x 1\ny 2\n", Mode::Replace),
        (
            "a longer series by POST",
            &a,
            "x{l=\"long value\"} 3\n",
            Mode::Merge,
        ),
        ("b", &b, "x 4\n", Mode::Replace),
        ("a PUT that drops x", &a, "y 5\n", Mode::Replace),
        ("an empty PUT", &b, "", Mode::Replace),
    ];
    for (what, k, body, mode) in steps {
        push(&store, k, body, mode).unwrap();
        assert_text_bytes_agree(&store, what);
    }
    store.record_failure(&a, SystemTime::now());
    assert_text_bytes_agree(&store, "a failure");
    store.delete(&b).unwrap();
    assert_text_bytes_agree(&store, "a delete");
    // The reserved size is the scrape's size, give or take the headers.
    let mut out = Vec::new();
    store.write_exposition(&mut out, &[], Escaping::Underscores);
    let inner = store.inner.read();
    let reserved: usize = inner.families.values().map(|i| i.text_bytes).sum();
    assert!(
        reserved > 0 && reserved <= out.len(),
        "{reserved} {}",
        out.len()
    );
    drop(inner);
    store.wipe().unwrap();
    assert!(store.inner.read().families.is_empty());
}

#[test]
fn push_and_failure_times_keep_their_own_time_stamps() {
    let store = Store::new(OWN_TYPES);
    let k = key(&[("job", "a")]);
    let t = |s| UNIX_EPOCH + Duration::from_secs(s);
    // A new group: both families stamped with its first push.
    push_at(&store, &k, "x 1\n", Mode::Replace, None, t(100)).unwrap();
    let stamps = |store: &Store| {
        let g = &store.groups()[0];
        (g.synthetic[1].pushed_at(), g.synthetic[0].pushed_at())
    };
    assert_eq!(stamps(&store), (t(100), t(100)));
    // A refusal stamps only the failure time.
    store.record_failure(&k, t(200));
    assert_eq!(stamps(&store), (t(100), t(200)));
    // A success stamps only the push time.
    push_at(&store, &k, "x 2\n", Mode::Merge, None, t(300)).unwrap();
    assert_eq!(stamps(&store), (t(300), t(200)));
    let g = &store.groups()[0];
    assert_eq!((g.push_time, g.failure_time), (300.0, 200.0));
}

#[test]
fn a_push_refused_by_the_store_marks_its_group_failed() {
    let store = Store::new(OWN_TYPES);
    push(
        &store,
        &key(&[("job", "a")]),
        "# TYPE x counter\nx 1\n",
        Mode::Replace,
    )
    .unwrap();
    push(&store, &key(&[("job", "b")]), "y 1\n", Mode::Replace).unwrap();
    push(
        &store,
        &key(&[("job", "b")]),
        "# TYPE x gauge\nx 1\n",
        Mode::Replace,
    )
    .unwrap_err();
    let groups = store.groups();
    assert_eq!(groups[0].failure_time, 0.0);
    assert!(groups[1].failure_time >= groups[1].push_time);
    assert!(pushed(&store).contains("y{instance=\"\",job=\"b\"} 1"));
}

#[test]
fn timestamps_and_duplicates_in_one_push_are_refused() {
    let k = key(&[("job", "a")]);
    let err = prepare(
        k.clone(),
        text::parse("x 1 1000\n").unwrap(),
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(err.0.contains("timestamp"), "{err}");
    // Two series that only differ in a label the grouping key overrides.
    let err = prepare(
        k,
        text::parse("x{job=\"p\"} 1\nx{job=\"q\"} 2\n").unwrap(),
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(err.0.contains("duplicate"), "{err}");
}

#[test]
fn delete_is_exact_and_wipe_empties() {
    let store = Store::new(OWN_TYPES);
    push(&store, &key(&[("job", "x")]), "a 1\n", Mode::Replace).unwrap();
    push(
        &store,
        &key(&[("job", "x"), ("instance", "y")]),
        "a 1\n",
        Mode::Replace,
    )
    .unwrap();
    assert!(store.delete(&key(&[("job", "x")])).unwrap());
    assert!(!store.delete(&key(&[("job", "x")])).unwrap());
    assert_eq!(store.stats().groups, 1);
    // The deleted group's series are free again.
    push(&store, &key(&[("job", "x")]), "a 1\n", Mode::Replace).unwrap();
    assert_eq!(store.wipe().unwrap(), 2);
    assert_eq!(store.stats(), Stats::default());
    assert_eq!(exposition(&store), "");
}

#[test]
fn pushed_push_time_is_ignored() {
    let store = Store::new(OWN_TYPES);
    push(
        &store,
        &key(&[("job", "x")]),
        "push_time_seconds 5\npush_failure_time_seconds 7\n",
        Mode::Replace,
    )
    .unwrap();
    let out = exposition(&store);
    assert!(
        out.contains("push_failure_time_seconds{instance=\"\",job=\"x\"} 0\n"),
        "{out}"
    );
    assert!(!out.contains("} 5\n"), "{out}");
}

#[test]
fn own_families_merge_in_order() {
    let store = Store::new(OWN_TYPES);
    push(
        &store,
        &key(&[("job", "x")]),
        "# HELP pgw_groups Mine.\n# TYPE pgw_groups gauge\npgw_groups 9\nzzz 1\n",
        Mode::Replace,
    )
    .unwrap();
    let own = vec![OwnFamily {
        name: "pgw_groups",
        help: "Number of groups in the store.",
        kind: MetricType::Gauge,
        text: b"pgw_groups 1\n".to_vec(),
        proto: Vec::new(),
    }];
    let mut out = Vec::new();
    store.write_exposition(&mut out, &own, Escaping::Underscores);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("# HELP pgw_groups Number of groups in the store.\n# TYPE pgw_groups gauge\npgw_groups 1\npgw_groups{instance=\"\",job=\"x\"} 9\n"), "{out}");
    assert_eq!(out.matches("# TYPE pgw_groups").count(), 1);
}

#[test]
fn summaries_read_a_wrapped_jobs_outcome() {
    let store = Store::new(OWN_TYPES);
    // A label value with `}` and a space must not be taken for the value.
    let k = key(&[("job", "backup"), ("path", "/var/x} 9")]);
    let body = "pgw_job_exit_code 2\npgw_job_last_success_time_seconds 1.7e+09\n";
    push(&store, &k, body, Mode::Replace).unwrap();
    push(&store, &key(&[("job", "plain")]), "x 1\n", Mode::Replace).unwrap();
    let summaries = store.summaries();
    let get = |job: &str| {
        summaries
            .iter()
            .find(|s| s.key.get("job") == Some(job))
            .unwrap()
    };
    let backup = get("backup");
    assert_eq!(backup.job_exit_code, Some(2.0));
    assert_eq!(backup.job_last_success, Some(1.7e9));
    assert_eq!(get("plain").job_exit_code, None);
    assert_eq!(get("plain").job_last_success, None);
}

/// Several series in a job's families: read as `pgw list` reads the JSON
/// API, in the order it lists them (the decoded series).
#[test]
fn summaries_read_every_series_of_a_wrapped_jobs_families() {
    use crate::exposition::Value;
    let store = Store::new(OWN_TYPES);
    let body = "pgw_job_exit_code{step=\"a} b\"} NaN\npgw_job_exit_code{step=\"b\"} 0\n\
                pgw_job_exit_code{step=\"c\"} 3\npgw_job_exit_code{step=\"d\"} 1\n\
                pgw_job_last_success_time_seconds{step=\"a\"} 1.5e+09\n\
                pgw_job_last_success_time_seconds{step=\"b\"} 1.7e+09\n\
                pgw_job_last_success_time_seconds{step=\"c\"} 0\n";
    push(&store, &key(&[("job", "steps")]), body, Mode::Replace).unwrap();
    let histogram = "# TYPE pgw_job_exit_code histogram\npgw_job_exit_code_bucket{le=\"+Inf\"} 2\n\
                     pgw_job_exit_code_sum 2\npgw_job_exit_code_count 2\n\
                     pgw_job_last_success_time_seconds 0\n";
    // Another store: a family has one type across the groups of a store.
    let other = Store::new(OWN_TYPES);
    push(&other, &key(&[("job", "odd")]), histogram, Mode::Replace).unwrap();
    let summaries = store.summaries();
    let steps = summaries
        .iter()
        .find(|s| s.key.get("job") == Some("steps"))
        .unwrap();
    assert_eq!(steps.job_exit_code, Some(3.0));
    assert_eq!(steps.job_last_success, Some(1.7e9));
    // The text is read in the order of the decoded series, which the JSON
    // API writes: the first finite value is the 0 of step b.
    let view = store.group(&key(&[("job", "steps")])).unwrap();
    let family = view
        .families
        .iter()
        .find(|f| &*f.name == "pgw_job_exit_code")
        .unwrap();
    let decoded: Vec<f64> = family
        .decode()
        .metrics
        .iter()
        .filter_map(|m| match m.value {
            Value::Single(v) if v.is_finite() => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(decoded, [0.0, 3.0, 1.0]);
    let odd = &other.summaries()[0];
    assert_eq!((odd.job_exit_code, odd.job_last_success), (None, None));
}

/// A log that takes changes until told to refuse them, as the journal does
/// on a full disk.
#[derive(Default)]
struct FullLog {
    refuse: std::sync::atomic::AtomicBool,
    appended: std::sync::atomic::AtomicU64,
}

impl ChangeLog for FullLog {
    fn encode(&self, _change: &Change<'_>) -> Vec<u8> {
        Vec::new()
    }

    fn append(&self, _record: Vec<u8>) -> Result<u64, Refused> {
        use std::sync::atomic::Ordering;
        if self.refuse.load(Ordering::SeqCst) {
            return Err(Refused("the disk is full".into()));
        }
        Ok(self.appended.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn appended(&self) -> u64 {
        self.appended.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn synced(&self) -> tokio::sync::watch::Receiver<Synced> {
        tokio::sync::watch::channel(Synced::default()).1
    }
}

#[test]
fn a_change_the_log_refuses_changes_nothing() {
    let log = Arc::new(FullLog::default());
    let store = Store::new(OWN_TYPES).with_log(log.clone());
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let (a, b) = (key(&[("job", "a")]), key(&[("job", "b")]));
    push_at(
        &store,
        &a,
        "x 1\n",
        Mode::Replace,
        Some(Duration::from_secs(60)),
        t0,
    )
    .unwrap();
    push_at(&store, &b, "y 1\n", Mode::Replace, None, t0).unwrap();
    log.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    let before = exposition(&store);
    let refused = |e: PushError| matches!(e, PushError::Refused(_));
    assert!(refused(
        push(&store, &a, "x 2\n", Mode::Replace).unwrap_err()
    ));
    assert!(refused(
        push(&store, &key(&[("job", "new")]), "z 1\n", Mode::Merge).unwrap_err()
    ));
    // A push refused by a check would set the failure time: a change the
    // log cannot take either.
    assert!(push(&store, &b, "x 1\n", Mode::Replace).is_err());
    store.record_failure(&a, t0 + Duration::from_secs(5));
    assert!(store.delete(&a).is_err());
    assert!(store.delete_groups(&[a.clone(), b.clone()]).is_err());
    assert!(store.wipe().is_err());
    assert!(store.expire(t0 + Duration::from_secs(3600)).is_err());
    let all = Selector::default();
    assert!(store.delete_matching(&all, None, t0, false).is_err());
    assert_eq!(exposition(&store), before, "nothing changed");
    assert_eq!(store.stats().groups, 2);
    assert_eq!(log.appended(), 2, "nothing was logged");
    // Taken again: the same push now goes through.
    log.refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    push(&store, &a, "x 2\n", Mode::Replace).unwrap();
    assert!(
        pushed(&store).contains("x{instance=\"\",job=\"a\"} 2"),
        "{}",
        pushed(&store)
    );
}

#[test]
fn a_family_persisted_without_protobuf_gets_it_from_its_text() {
    let k = key(&[("job", "j")]);
    let body = "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n# TYPE c counter\nc{x=\"y\"} 4\n";
    let now = SystemTime::now();
    let p = prepare(k, text::parse(body).unwrap(), now).unwrap();
    for f in p.families() {
        let old = StoredFamily::from_parts(
            &f.name,
            f.kind,
            f.help.as_deref(),
            f.pushed_at(),
            f.text.to_vec(),
            None,
            f.fingerprints().to_vec(),
        );
        assert_eq!(old.proto(), f.proto(), "family {}", f.name);
        assert_eq!(old.decode().metrics, f.decode().metrics);
    }
}

/// The protobuf scrape read back and written as text is the text scrape:
/// the same families in the same order, one HELP each, the same series.
fn protobuf_as_text(store: &Store, own: &[OwnFamily]) -> String {
    let mut out = Vec::new();
    store.write_protobuf(&mut out, own, Escaping::Underscores);
    let families = crate::exposition::proto::decode_delimited(&out).expect("the scrape decodes");
    let mut text = Vec::new();
    for family in &families {
        crate::exposition::render::write_family(&mut text, family);
    }
    String::from_utf8(text).unwrap()
}

#[test]
fn the_protobuf_scrape_holds_what_the_text_scrape_holds() {
    let store = Store::new(OWN_TYPES);
    let body_a = "# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n\
        rpc_seconds_bucket{le=\"0.5\"} 1\nrpc_seconds_bucket{le=\"+Inf\"} 3\n\
        rpc_seconds_sum 2.5\nrpc_seconds_count 3\n\
        # TYPE q summary\nq{quantile=\"0.5\"} 1.5\nq_sum 7\nq_count 2\n\
        # HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 3\n\
        # TYPE pgw_groups gauge\npgw_groups 4\nmid 1e+06\n";
    let body_b = "# HELP jobs_total Other help.\n# TYPE jobs_total counter\n\
        jobs_total{x=\"y\"} 5\n# TYPE temp gauge\ntemp -0.5\n";
    push(&store, &key(&[("job", "a")]), body_a, Mode::Replace).unwrap();
    push(&store, &key(&[("job", "b")]), body_b, Mode::Replace).unwrap();
    let metrics = crate::server::metrics::OwnMetrics::new(SystemTime::now());
    let own = metrics.render(store.stats(), Some(true), 0, None);
    let mut text = Vec::new();
    store.write_exposition(&mut text, &own, Escaping::Underscores);
    let text = String::from_utf8(text).unwrap();
    assert_eq!(protobuf_as_text(&store, &own), text);
    // The merge and the HELP choice are there to be compared.
    assert!(text.contains("# HELP jobs_total Jobs.\n"), "{text}");
    assert!(
        text.contains("pgw_groups 2\npgw_groups{instance=\"\",job=\"a\"} 4\n"),
        "{text}"
    );
    assert!(
        text.contains("push_time_seconds{instance=\"\",job=\"b\"}"),
        "{text}"
    );
}

#[test]
fn families_without_series_are_left_out_of_both_scrapes() {
    let store = Store::new(OWN_TYPES);
    let k = key(&[("job", "a")]);
    let families = vec![
        Family::new("empty".to_string(), MetricType::Counter),
        text::parse("x 1\n").unwrap().remove(0),
    ];
    store
        .push(
            prepare(k, families, SystemTime::now()).unwrap(),
            Mode::Replace,
            SystemTime::now(),
        )
        .unwrap();
    // The store keeps it (the JSON API shows it, as upstream's does).
    assert!(store.inner.read().families.contains_key("empty"));
    let own = [OwnFamily {
        name: "a_own",
        help: "Nothing yet.",
        kind: MetricType::Counter,
        text: Vec::new(),
        proto: Vec::new(),
    }];
    let mut out = Vec::new();
    store.write_exposition(&mut out, &own, Escaping::Underscores);
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("empty") && !out.contains("a_own"), "{out}");
    assert!(out.contains("\nx{instance=\"\",job=\"a\"} 1\n"), "{out}");
    assert_eq!(protobuf_as_text(&store, &own), out);
}

#[test]
fn utf8_names_are_escaped_per_scrape_and_legacy_families_copied() {
    let store = Store::new(OWN_TYPES);
    let utf8 = crate::exposition::validate::ParseLimits {
        utf8_names: true,
        ..crate::exposition::validate::ParseLimits::NONE
    };
    let body = "# TYPE \"my.metric\" summary\n{\"my.metric\",\"a.b\"=\"x{\",quantile=\"0.5\"} 1\n\
                {\"my.metric_sum\",\"a.b\"=\"x{\"} 2\n{\"my.metric_count\",\"a.b\"=\"x{\"} 3\n\
                plain{a=\"1\"} 4\n";
    let families = text::parse_with(body, &utf8).unwrap();
    let k = key(&[("job", "j")]);
    let p = prepare(k.clone(), families, SystemTime::now()).unwrap();
    let legacy: Vec<(&str, bool)> = p
        .families()
        .iter()
        .map(|f| (&*f.name, f.legacy_names))
        .collect();
    assert_eq!(legacy, vec![("my.metric", false), ("plain", true)]);
    // Restored from its parts, a family finds its flag again.
    for f in p.families() {
        let back = StoredFamily::from_parts(
            &f.name,
            f.kind,
            None,
            f.pushed_at(),
            f.text.to_vec(),
            None,
            f.fingerprints.to_vec(),
        );
        assert_eq!(back.legacy_names, f.legacy_names, "{}", f.name);
        assert_eq!(back.proto(), f.proto(), "{}", f.name);
    }
    store.push(p, Mode::Replace, SystemTime::now()).unwrap();
    let scrape = |e| {
        let mut out = Vec::new();
        store.write_exposition(&mut out, &[], e);
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .filter(|l| !l.contains("push_"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        scrape(Escaping::Underscores),
        "# TYPE my_metric summary\n\
         my_metric{a_b=\"x{\",instance=\"\",job=\"j\",quantile=\"0.5\"} 1\n\
         my_metric_sum{a_b=\"x{\",instance=\"\",job=\"j\"} 2\n\
         my_metric_count{a_b=\"x{\",instance=\"\",job=\"j\"} 3\n\
         # TYPE plain untyped\n\
         plain{a=\"1\",instance=\"\",job=\"j\"} 4"
    );
    assert_eq!(
        scrape(Escaping::AllowUtf8),
        "# TYPE \"my.metric\" summary\n\
         {\"my.metric\",\"a.b\"=\"x{\",instance=\"\",job=\"j\",quantile=\"0.5\"} 1\n\
         {\"my.metric_sum\",\"a.b\"=\"x{\",instance=\"\",job=\"j\"} 2\n\
         {\"my.metric_count\",\"a.b\"=\"x{\",instance=\"\",job=\"j\"} 3\n\
         # TYPE plain untyped\n\
         plain{a=\"1\",instance=\"\",job=\"j\"} 4"
    );
    let values = scrape(Escaping::Values);
    assert!(
        values.contains("\nU__my_2e_metric_sum{U__a_2e_b=\"x{\",instance=\"\",job=\"j\"} 2\n"),
        "{values}"
    );
    let dots = scrape(Escaping::Dots);
    assert!(dots.starts_with("# TYPE my_dot_metric summary\n"), "{dots}");
    // The protobuf scrape escapes the same names the same way.
    for escaping in [Escaping::Underscores, Escaping::AllowUtf8, Escaping::Dots] {
        let mut out = Vec::new();
        store.write_protobuf(&mut out, &[], escaping);
        let families = crate::exposition::proto::decode_delimited(&out).unwrap();
        let mut text = Vec::new();
        for family in &families {
            crate::exposition::render::write_family(&mut text, family);
        }
        let text = String::from_utf8(text).unwrap();
        let text: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("push_") && !l.starts_with("# HELP"))
            .collect();
        assert_eq!(text.join("\n"), scrape(escaping), "{escaping:?}");
    }
}

#[test]
fn fingerprints_are_the_streamed_hash_of_name_and_labels() {
    // Fingerprints are persisted (snapshots, log records, etcd): the value
    // for a label set may never change. It is xxh3 of the name, then 0xFF,
    // name, 0xFE, value for every label, as a streaming hasher computes it.
    let streamed = |name: &str, labels: &[Label<'_>]| {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(name.as_bytes());
        for l in labels {
            h.update(&[0xFF]);
            h.update(l.name.as_bytes());
            h.update(&[0xFE]);
            h.update(l.value.as_bytes());
        }
        h.digest()
    };
    let long = "v".repeat(5000);
    let cases: Vec<(&str, Vec<Label<'_>>)> = vec![
        ("up", vec![]),
        (
            "x",
            vec![Label::new("job", "a"), Label::new("instance", "")],
        ),
        (
            "node_cpu_seconds_total",
            vec![Label::new("cpu", "0"), Label::new("mode", &long)],
        ),
    ];
    for (name, labels) in &cases {
        assert_eq!(
            prepare::fingerprint(name, labels),
            streamed(name, labels),
            "{name}"
        );
    }
    assert_ne!(
        prepare::fingerprint("x", &[Label::new("a", "b")]),
        prepare::fingerprint("x", &[Label::new("ab", "")]),
    );
}

#[test]
fn grouping_labels_are_forced_and_labels_sorted_whatever_the_body_order() {
    let k = key(&[("job", "j"), ("zone", "z")]);
    let names = |labels: &[Label<'_>]| {
        labels
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect::<Vec<_>>()
            .join(",")
    };
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "instance=,job=j,zone=z"),
        (&[("a", "1"), ("m", "2")], "a=1,instance=,job=j,m=2,zone=z"),
        (&[("m", "2"), ("a", "1")], "a=1,instance=,job=j,m=2,zone=z"),
        (
            &[("instance", "i"), ("job", "body")],
            "instance=i,job=j,zone=z",
        ),
        (
            &[("zz", "1"), ("job", "body"), ("instance", "i")],
            "instance=i,job=j,zone=z,zz=1",
        ),
    ];
    for (body, want) in cases {
        let mut labels: Vec<Label<'_>> = body.iter().map(|(n, v)| Label::new(*n, *v)).collect();
        prepare::sanitize_labels(&k, &mut labels);
        assert_eq!(names(&labels), *want, "{body:?}");
    }
    let with_instance = key(&[("instance", "x"), ("job", "j")]);
    let mut labels = vec![Label::new("b", "1")];
    prepare::sanitize_labels(&with_instance, &mut labels);
    assert_eq!(names(&labels), "b=1,instance=x,job=j");
}

use proptest::strategy::Strategy as _;

/// One step of [`kept_bytes_follow_every_change`]: a push (the group, the
/// body, a POST rather than a PUT, with a time to live), a delete, a
/// refused push's failure mark, or a read.
#[derive(Debug, Clone)]
enum Step {
    Push(u16, usize, bool, bool),
    Delete(u16),
    Fail(u16),
    Read(bool),
}

/// The bodies steps push: families come and go, one has a UTF-8 name
/// (its text depends on the scraper's escaping, so its runs serve one),
/// and one gives its families a HELP (a scrape takes the first group's).
const STEP_BODIES: [&str; 5] = [
    "a 1\nb 2\n",
    "a 3\n",
    "a 4\nb 5\nc 6\n",
    "{\"my.metric\"} 7\na 8\n",
    "# HELP a The a.\na 9\n# HELP b The b.\nb 10\n",
];

/// Applies a change (every step but a read) at a time that grows with `n`.
fn apply_step(store: &Store, n: usize, step: &Step) {
    let k = |i: u16| key(&[("job", "j"), ("instance", &format!("i-{i}"))]);
    let at = UNIX_EPOCH + Duration::from_secs(1_000_000 + n as u64);
    match step {
        Step::Push(i, body, merge, ttl) => {
            let mode = if *merge { Mode::Merge } else { Mode::Replace };
            let utf8 = crate::exposition::validate::ParseLimits {
                utf8_names: true,
                ..crate::exposition::validate::ParseLimits::NONE
            };
            let families = text::parse_with(STEP_BODIES[*body], &utf8).unwrap();
            if let Ok(mut p) = prepare(k(*i), families, at) {
                p.ttl = ttl.then_some(Duration::from_secs(600));
                let _ = store.push(p, mode, at);
            }
        }
        Step::Delete(i) => {
            let _ = store.delete(&k(*i));
        }
        Step::Fail(i) => store.record_failure(&k(*i), at),
        Step::Read(_) => {}
    }
}

/// The text and protobuf scrapes (under `utf8`: names unescaped), and the
/// JSON API's full and brief answers at `n`.
fn read_all(store: &Store, n: usize, utf8: bool) -> (String, Vec<u8>, String, String) {
    let escaping = if utf8 {
        Escaping::AllowUtf8
    } else {
        Escaping::Underscores
    };
    let mut text = Vec::new();
    store.write_exposition(&mut text, &[], escaping);
    let mut proto = Vec::new();
    store.write_protobuf(&mut proto, &[], escaping);
    let mut json = Vec::new();
    let now = UNIX_EPOCH + Duration::from_secs(1_000_000 + n as u64);
    crate::server::http::api::write_metrics_json(&mut json, store, now);
    let mut brief = super::Pieces::new(Vec::new());
    crate::server::http::api::groups_json(&mut brief, store, now);
    (
        String::from_utf8(text).unwrap(),
        proto,
        String::from_utf8(json).unwrap(),
        String::from_utf8(brief.concat()).unwrap(),
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Scrapes copy the runs of text and protobuf earlier scrapes kept, and the JSON API
    /// (full and brief) the runs and objects earlier answers kept: after any pushes, merges, deletes
    /// and failure marks between reads (enough groups to cut runs several
    /// times), both are what a store that never kept anything answers.
    #[test]
    fn kept_bytes_follow_every_change(steps in proptest::collection::vec(
        proptest::prop_oneof![
            // Only the last groups get a time to live: a run of groups that
            // holds one is written each time, so the others' runs are kept.
            6 => (0u16..400, 0usize..STEP_BODIES.len(), proptest::bool::ANY, proptest::bool::weighted(0.3))
                .prop_map(|(i, b, m, t)| Step::Push(i, b, m, t && i >= 350)),
            2 => (0u16..400).prop_map(Step::Delete),
            1 => (0u16..400).prop_map(Step::Fail),
            1 => proptest::bool::ANY.prop_map(Step::Read),
        ],
        1..500,
    )) {
        let store = Store::new(OWN_TYPES);
        for (n, step) in steps.iter().enumerate() {
            apply_step(&store, n, step);
            let Step::Read(utf8) = step else { continue };
            let fresh = Store::new(OWN_TYPES);
            for (m, earlier) in steps[..n].iter().enumerate() {
                apply_step(&fresh, m, earlier);
            }
            let (text, proto, json, brief) = read_all(&store, n, *utf8);
            let (want_text, want_proto, want_json, want_brief) = read_all(&fresh, n, *utf8);
            proptest::prop_assert_eq!(text, want_text);
            proptest::prop_assert!(proto == want_proto, "the protobuf scrapes differ");
            proptest::prop_assert_eq!(json, want_json);
            proptest::prop_assert_eq!(brief, want_brief);
            let inner = store.inner.read();
            for index in inner.families.values() {
                index.check_runs();
            }
            inner.runs.check(&inner.groups);
        }
    }
}

/// A family of one of the kinds whose protobuf is made from the text
/// later (see `prepare::text_is_exact`): any name (UTF-8 too), labels whose
/// values hold escapes, quotes and UTF-8, any number but NaN, timestamps.
fn exact_family() -> impl proptest::strategy::Strategy<Value = Family<'static>> {
    use crate::exposition::{Metric, Value};
    use proptest::prelude::*;
    let kind = prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::Gauge),
        Just(MetricType::Untyped),
    ];
    let value = any::<u64>()
        .prop_map(f64::from_bits)
        .prop_filter("NaN keeps its protobuf", |v| !v.is_nan());
    let labels = proptest::collection::btree_map(
        "[a-z][a-z0-9_]{0,6}|[a-z][a-z.]{1,5}",
        "[ -~]{0,6}|[\\n\\\\\"éπ]{1,3}",
        0..4,
    );
    let metric = (labels, value, proptest::option::of(any::<i64>())).prop_map(
        |(labels, value, timestamp_ms)| Metric {
            labels: labels.into_iter().map(|(n, v)| Label::new(n, v)).collect(),
            value: Value::Single(value),
            timestamp_ms,
            extras: None,
        },
    );
    (
        "[a-z_][a-z0-9_]{0,8}|[a-z]{1,3}\\.[a-z]{1,3}",
        kind,
        proptest::collection::vec(metric, 1..6),
    )
        .prop_map(|(name, kind, mut metrics)| {
            // Series of one family have distinct label sets.
            metrics.sort_by(|a, b| a.labels.cmp(&b.labels));
            metrics.dedup_by(|a, b| a.labels == b.labels);
            let mut family = Family::new(name, kind);
            family.metrics = metrics;
            family
        })
}

proptest::proptest! {
    /// A family whose protobuf waits for its first reader makes, from its
    /// text, the very bytes an encoding at push time gives.
    #[test]
    fn protobuf_made_from_the_text_is_the_pushed_protobuf(family in exact_family()) {
        proptest::prop_assert!(prepare::text_is_exact(&family));
        let stored = render_family(&family, UNIX_EPOCH, Protobuf::WhenRead);
        proptest::prop_assert!(stored.proto_if_written().is_none());
        let mut want = Vec::new();
        for metric in &family.metrics {
            crate::exposition::proto::encode_series(&mut want, family.kind, metric);
        }
        proptest::prop_assert!(stored.proto() == &want[..], "{}", String::from_utf8_lossy(&stored.text));
        proptest::prop_assert_eq!(stored.decode().metrics, family.metrics);
    }
}

proptest::proptest! {
    /// The families of a push rendered into one block each read back the
    /// very text they get rendered alone.
    #[test]
    fn a_push_in_one_block_reads_back_each_family_as_rendered_alone(
        families in proptest::collection::vec(exact_family(), 0..8)
    ) {
        let times = std::iter::repeat(UNIX_EPOCH);
        let shared = prepare::render_push(&families, times, Protobuf::WhenRead);
        proptest::prop_assert_eq!(shared.len(), families.len());
        for (family, stored) in families.iter().zip(&shared) {
            let alone = render_family(family, UNIX_EPOCH, Protobuf::WhenRead);
            proptest::prop_assert_eq!(&stored.text[..], &alone.text[..]);
            proptest::prop_assert_eq!(stored.fingerprints(), alone.fingerprints());
            proptest::prop_assert!(stored.text.same_block(&shared[0].text));
        }
    }
}

#[test]
fn a_put_keeps_its_texts_in_one_block_and_a_post_in_one_per_family() {
    let body = "# TYPE a counter\na 1\nb{x=\"y\"} 2\nc 3\n";
    for (texts, shared) in [(Texts::OneBlock, true), (Texts::BlockPerFamily, false)] {
        let families = text::parse(body).unwrap();
        let p = prepare_with(
            key(&[("job", "j")]),
            families,
            UNIX_EPOCH,
            Protobuf::WhenRead,
            texts,
        )
        .unwrap();
        let [a, b, c] = p.families() else {
            panic!("three families, got {:?}", p.families());
        };
        assert_eq!(&a.text[..], b"a{instance=\"\",job=\"j\"} 1\n");
        assert_eq!(&b.text[..], b"b{instance=\"\",job=\"j\",x=\"y\"} 2\n");
        assert_eq!(&c.text[..], b"c{instance=\"\",job=\"j\"} 3\n");
        assert_eq!(a.text.same_block(&b.text), shared, "{texts:?}");
        assert_eq!(b.text.same_block(&c.text), shared, "{texts:?}");
    }
}

#[test]
fn a_range_past_32_bits_gets_no_shared_handle() {
    use crate::server::store::prepare::Lines;
    let block: Arc<[u8]> = Arc::from(&b"abc"[..]);
    assert_eq!(&*Lines::part(&block, 1, 3).unwrap(), b"bc");
    let big = u32::MAX as usize;
    assert!(Lines::part(&block, big + 1, big + 2).is_none(), "start");
    assert!(Lines::part(&block, 0, big + 1).is_none(), "length");
    assert!(Lines::part(&block, big - 1, big + 1).is_none(), "end");
}

#[test]
fn families_the_text_cannot_carry_keep_their_protobuf_from_the_push() {
    let histogram =
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
    for (body, written) in [
        ("# TYPE c counter\nc 1\n", false),
        ("u{a=\"b\"} 2\n", false),
        ("g NaN\n", true),
        (
            "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
            true,
        ),
        (histogram, true),
    ] {
        let families = text::parse(body).unwrap();
        let p = prepare(key(&[("job", "j")]), families.clone(), UNIX_EPOCH).unwrap();
        let f = &p.families()[0];
        assert_eq!(f.proto_if_written().is_some(), written, "{body}");
        let p = prepare_with(
            key(&[("job", "j")]),
            families,
            UNIX_EPOCH,
            Protobuf::AtPush,
            Texts::OneBlock,
        );
        let p = p.unwrap();
        let f = &p.families()[0];
        assert!(f.proto_if_written().is_some(), "{body} encoded at push");
    }
}

#[test]
fn pushes_are_encoded_at_push_time_once_the_store_is_scraped_in_protobuf() {
    let store = Store::new(OWN_TYPES);
    assert_eq!(store.protobuf(), Protobuf::WhenRead);
    store.write_exposition(&mut Vec::new(), &[], Escaping::AllowUtf8);
    assert_eq!(store.protobuf(), Protobuf::WhenRead, "a text scrape");
    store.write_protobuf(&mut Vec::new(), &[], Escaping::AllowUtf8);
    assert_eq!(store.protobuf(), Protobuf::AtPush);
}

#[test]
fn names_and_help_texts_are_shared_between_pushes_and_long_ones_are_not_kept() {
    use crate::server::store::prepare::shared_str;
    let push = |instance: &str| {
        let body = "# HELP up Whether it is up.\n# TYPE up gauge\nup 1\n";
        let p = prepare(
            key(&[("job", "a"), ("instance", instance)]),
            text::parse(body).unwrap(),
            SystemTime::now(),
        )
        .unwrap();
        p.families()[0].clone()
    };
    let (a, b) = (push("x"), push("y"));
    assert!(Arc::ptr_eq(&a.name, &b.name), "one allocation for the name");
    assert!(Arc::ptr_eq(
        a.help.as_ref().unwrap(),
        b.help.as_ref().unwrap()
    ));
    let long = "h".repeat(300);
    assert!(
        !Arc::ptr_eq(&shared_str(&long), &shared_str(&long)),
        "a long text is not kept"
    );
    // Full, it is emptied and fills again: still right, and still shared.
    for i in 0..20_000 {
        shared_str(&format!("name_{i}"));
    }
    let (c, d) = (shared_str("after_many"), shared_str("after_many"));
    assert_eq!(&*c, "after_many");
    assert!(Arc::ptr_eq(&c, &d));
}

#[test]
fn a_name_pushed_with_another_help_gets_that_help() {
    use crate::server::store::prepare::shared_name_and_help;
    let (a, a_help) = shared_name_and_help("up", Some("Whether it is up."));
    let (b, b_help) = shared_name_and_help("up", Some("Up or not."));
    let (c, c_help) = shared_name_and_help("up", None);
    let (d, d_help) = shared_name_and_help("up", Some("Up or not."));
    assert!(Arc::ptr_eq(&a, &b) && Arc::ptr_eq(&b, &c) && Arc::ptr_eq(&c, &d));
    assert_eq!(a_help.as_deref(), Some("Whether it is up."));
    assert_eq!(b_help.as_deref(), Some("Up or not."));
    assert_eq!(c_help, None);
    assert!(Arc::ptr_eq(
        b_help.as_ref().unwrap(),
        d_help.as_ref().unwrap()
    ));
    let long = "h".repeat(300);
    let (e, _) = shared_name_and_help(&long, None);
    let (f, _) = shared_name_and_help(&long, None);
    assert!(!Arc::ptr_eq(&e, &f), "a long name is not kept");
    assert_eq!(*e, *long);
}

/// A family and its two shared counts fill two cache lines, the size class
/// a push writes once per family (see `StoredFamily::pushed_at`).
#[cfg(target_pointer_width = "64")]
#[test]
fn a_shared_family_fills_two_cache_lines() {
    assert!(
        std::mem::size_of::<StoredFamily>() + 16 <= 128,
        "StoredFamily is {} bytes",
        std::mem::size_of::<StoredFamily>()
    );
}

/// A snapshot's cut shares each group's map of families: pushes made
/// after the cut, PUT or POST, leave what it lists as it was.
#[test]
fn a_cut_lists_the_families_as_they_were_when_it_was_taken() {
    let store = Store::new(OWN_TYPES);
    let k = key(&[("job", "a")]);
    push(&store, &k, "b 1\na 2\n", Mode::Replace).unwrap();
    let taken = {
        let inner = store.inner.read();
        let group = inner.groups.values().next().expect("one group");
        group.view()
    };
    push(&store, &k, "c 3\n", Mode::Merge).unwrap();
    push(&store, &k, "d 4\n", Mode::Replace).unwrap();
    let names = |v: &GroupView| {
        v.families
            .iter()
            .map(|f| f.name.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&taken.sorted()), ["a", "b"]);
    assert_eq!(names(&store.groups()[0]), ["d"]);
}

proptest::proptest! {
    /// A push is refused for a duplicate series exactly when the full check
    /// of its sanitised families refuses it (the store finds duplicates
    /// among its fingerprints instead), and the error names the first
    /// series that repeats an earlier one.
    #[test]
    fn duplicates_are_found_as_the_full_check_finds_them(
        series in proptest::collection::vec((0u8..2, 0u8..3, 0u8..3, proptest::bool::ANY), 1..7),
        put in proptest::bool::ANY,
    ) {
        // Two families; `job` and `instance` are overridden or added by the
        // grouping key, so series that differ only there are duplicates.
        let mut body = String::new();
        for (family, a, job, reversed) in &series {
            let name = ["x", "y"][usize::from(*family)];
            if *reversed {
                body.push_str(&format!("{name}{{job=\"{job}\",a=\"{a}\"}} 1\n"));
            } else {
                body.push_str(&format!("{name}{{a=\"{a}\",job=\"{job}\"}} 1\n"));
            }
        }
        let k = key(&[("job", "j")]);
        let texts = if put { Texts::OneBlock } else { Texts::BlockPerFamily };
        let got = prepare_with(
            k.clone(),
            text::parse(&body).unwrap(),
            UNIX_EPOCH,
            Protobuf::WhenRead,
            texts,
        );
        let mut families = text::parse(&body).unwrap();
        for family in &mut families {
            for metric in &mut family.metrics {
                prepare::sanitize_labels(&k, &mut metric.labels);
            }
        }
        let full = crate::exposition::validate::check_families(&families);
        let first = families.iter().find_map(|f| {
            f.metrics.iter().enumerate().find_map(|(i, m)| {
                f.metrics[..i]
                    .iter()
                    .any(|earlier| earlier.labels == m.labels)
                    .then(|| crate::exposition::validate::duplicate_series(&f.name, &m.labels))
            })
        });
        proptest::prop_assert_eq!(full.is_err(), first.is_some(), "{}", body);
        proptest::prop_assert_eq!(got.err().map(|r| r.0), first, "{}", body);
    }
}
