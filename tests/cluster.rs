//! `pgw serve --store.etcd.endpoints`: replicas of one store on a real etcd
//! cluster (Debian's `etcd-server`, members on loopback ports, data on
//! tmpfs). What one replica accepts every other one serves; conflicting
//! pushes on two replicas never both win; deletes, clean-ups, wipes and
//! expiry are cluster-wide; a replica that restarts catches up; with etcd
//! down writes get 503 while scrapes go on, and everything recovers by
//! itself; and a chaos soak loses no acknowledged write.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use crate::util::{
    get, own_metric, poll, put, refused_start_with, request, try_request, EtcdCluster, Pgw, TempDir,
};

const WAIT: Duration = Duration::from_secs(20);

/// `pgw serve` flags for a replica of the store under `prefix`.
fn replica_args(etcd: &EtcdCluster, prefix: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        format!("--store.etcd.endpoints={}", etcd.endpoints()),
        format!("--store.etcd.prefix={prefix}"),
        "--store.etcd.timeout=2s".to_string(),
        "--store.etcd.max-staleness=3s".to_string(),
        "--web.enable-admin-api".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn start_replica(args: &[String]) -> Pgw {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Pgw::start(&refs)
}

/// The pushed part of a replica's scrape: every line but the server's own
/// families, which differ from replica to replica.
fn pushed_lines(url: &str) -> Option<String> {
    let resp = try_request("GET", &format!("{url}/metrics"), &[], b"")?;
    if resp.status != 200 {
        return None;
    }
    let own = ["pgw_", "process_", "pushgateway_", "go_"];
    let mut keep = String::new();
    for line in resp.text().lines() {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .unwrap_or(line);
        if own.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        keep.push_str(line);
        keep.push('\n');
    }
    Some(keep)
}

/// Waits until every replica serves the same pushed scrape; returns it.
fn wait_identical(urls: &[String]) -> String {
    let mut last = Vec::new();
    let same = poll(WAIT, || {
        last = urls.iter().map(|u| pushed_lines(u)).collect::<Vec<_>>();
        let first = last.first()?.clone()?;
        last.iter()
            .all(|s| s.as_deref() == Some(first.as_str()))
            .then_some(first)
    });
    same.unwrap_or_else(|| panic!("replicas still differ:\n{last:#?}"))
}

#[test]
fn a_push_to_one_replica_is_served_by_every_other_and_deletes_are_cluster_wide() {
    let etcd = EtcdCluster::start(3);
    let args = replica_args(&etcd, "/visible/", &[]);
    let a = start_replica(&args);
    let b = start_replica(&args);
    let r = put(
        &format!("{}/metrics/job/backup/instance/db1", a.url()),
        "# TYPE bytes_total counter\nbytes_total 12\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    b.wait_groups(&[&[("job", "backup"), ("instance", "db1")]]);
    let scrape = wait_identical(&[a.url(), b.url()]);
    assert!(
        scrape.contains("bytes_total{instance=\"db1\",job=\"backup\"} 12"),
        "{scrape}"
    );
    // A POST to the other replica merges into the same group.
    let r = request(
        "POST",
        &format!("{}/metrics/job/backup/instance/db1", b.url()),
        &[],
        b"# TYPE files gauge\nfiles 3\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let scrape = wait_identical(&[a.url(), b.url()]);
    assert!(scrape.contains("bytes_total{instance=\"db1\",job=\"backup\"} 12"));
    assert!(scrape.contains("files{instance=\"db1\",job=\"backup\"} 3"));
    // Deleted on B, gone on A.
    let r = request(
        "DELETE",
        &format!("{}/metrics/job/backup/instance/db1", b.url()),
        &[],
        b"",
    );
    assert_eq!(r.status, 202);
    a.wait_groups(&[]);
    // The JSON API of both says the same.
    assert_eq!(a.groups(), b.groups());
}

#[test]
fn conflicting_pushes_on_two_replicas_never_both_win() {
    let etcd = EtcdCluster::start(3);
    let args = replica_args(&etcd, "/conflict/", &[]);
    let a = start_replica(&args);
    let b = start_replica(&args);
    let rounds = 40;
    let (mut a_won, mut b_won) = (0, 0);
    for i in 0..rounds {
        // The same family with two types in two groups: the store can only
        // hold one of them.
        let barrier = Arc::new(Barrier::new(2));
        let pushes =
            [(a.url(), "a", "counter"), (b.url(), "b", "gauge")].map(|(url, job, kind)| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let body = format!("# TYPE clash_{i} {kind}\nclash_{i} 1\n");
                    barrier.wait();
                    request(
                        "PUT",
                        &format!("{url}/metrics/job/{job}{i}"),
                        &[],
                        body.as_bytes(),
                    )
                })
            });
        let [ra, rb] = pushes.map(|t| t.join().unwrap());
        let statuses = (ra.status, rb.status);
        match statuses {
            (200, 400) => a_won += 1,
            (400, 200) => b_won += 1,
            _ => panic!(
                "round {i}: exactly one push must win: {statuses:?}\nA: {}\nB: {}",
                ra.text(),
                rb.text()
            ),
        }
        let loser = if statuses.0 == 400 { &ra } else { &rb };
        assert!(
            loser.text().contains(&format!("clash_{i}")),
            "the refusal names the family: {}",
            loser.text()
        );
    }
    eprintln!("conflicts: {rounds} rounds, replica A won {a_won}, replica B won {b_won}");
    let scrape = wait_identical(&[a.url(), b.url()]);
    for i in 0..rounds {
        let types = scrape
            .lines()
            .filter(|l| l.starts_with(&format!("# TYPE clash_{i} ")))
            .count();
        assert_eq!(types, 1, "clash_{i} has one type in the store:\n{scrape}");
    }
}

#[test]
fn a_restarted_replica_catches_up_before_it_answers() {
    let etcd = EtcdCluster::start(3);
    let args = replica_args(&etcd, "/restart/", &[]);
    let a = start_replica(&args);
    let mut b = start_replica(&args);
    for i in 0..20 {
        let r = put(
            &format!("{}/metrics/job/j{i}", a.url()),
            &format!("# TYPE v gauge\nv {i}\n"),
        );
        assert_eq!(r.status, 200);
    }
    wait_identical(&[a.url(), b.url()]);
    b.proc.signal("KILL");
    b.proc.wait_exit(WAIT).expect("killed");
    // Changes it misses: new groups, changed ones, deleted ones.
    for i in 0..10 {
        let r = put(
            &format!("{}/metrics/job/j{i}", a.url()),
            &format!("# TYPE v gauge\nv {}\n", i + 100),
        );
        assert_eq!(r.status, 200);
    }
    for i in 10..15 {
        let r = request("DELETE", &format!("{}/metrics/job/j{i}", a.url()), &[], b"");
        assert_eq!(r.status, 202);
    }
    let r = put(
        &format!("{}/metrics/job/late", a.url()),
        "# TYPE v gauge\nv 7\n",
    );
    assert_eq!(r.status, 200);
    let want = pushed_lines(&a.url()).unwrap();
    let b2 = start_replica(&args);
    // Its first answer is the caught-up store, byte for byte.
    assert_eq!(pushed_lines(&b2.url()).unwrap(), want);
    assert_eq!(get(&format!("{}/-/ready", b2.url())).status, 200);
}

#[test]
fn with_etcd_down_writes_get_503_scrapes_go_on_and_all_recovers() {
    let mut etcd = EtcdCluster::start(3);
    let args = replica_args(&etcd, "/outage/", &[]);
    let a = start_replica(&args);
    let b = start_replica(&args);
    let push = |url: &str, v: u32| {
        request(
            "PUT",
            &format!("{url}/metrics/job/outage"),
            &[],
            format!("# TYPE v gauge\nv {v}\n").as_bytes(),
        )
    };
    assert_eq!(push(&a.url(), 1).status, 200);
    wait_identical(&[a.url(), b.url()]);
    etcd.stop_all();
    let r = push(&a.url(), 2);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
    assert!(r.text().contains("etcd"), "{}", r.text());
    let r = request(
        "DELETE",
        &format!("{}/metrics/job/outage", b.url()),
        &[],
        b"",
    );
    assert_eq!(r.status, 503, "{}", r.text());
    // Scrapes serve the last view; ready fails, saying how old it is.
    let scrape = pushed_lines(&b.url()).unwrap();
    assert!(
        scrape.contains("v{instance=\"\",job=\"outage\"} 1"),
        "{scrape}"
    );
    let unready = poll(WAIT, || {
        let r = get(&format!("{}/-/ready", a.url()));
        (r.status == 503).then_some(r.text())
    })
    .expect("ready fails while etcd is down");
    assert!(unready.contains("etcd"), "{unready}");
    let age = own_metric(&a, "pgw_etcd_view_age_seconds ").expect("the view's age is a metric");
    assert!(age >= 1.0, "view age {age}");
    etcd.restart_all();
    // Without restarting pgw: writes go through again, on both replicas.
    let back = poll(Duration::from_secs(40), || {
        (push(&b.url(), 3).status == 200).then_some(())
    });
    assert!(back.is_some(), "pushes work again once etcd is back");
    let scrape = wait_identical(&[a.url(), b.url()]);
    assert!(
        scrape.contains("v{instance=\"\",job=\"outage\"} 3"),
        "{scrape}"
    );
    for g in [&a, &b] {
        let ready = poll(WAIT, || {
            (get(&format!("{}/-/ready", g.url())).status == 200).then_some(())
        });
        assert!(ready.is_some(), "ready again: {}", g.proc.log());
    }
}

#[test]
fn cleanups_wipes_and_expiry_are_cluster_wide() {
    let etcd = EtcdCluster::start(1);
    let args = replica_args(&etcd, "/cleanup/", &[]);
    let a = start_replica(&args);
    let b = start_replica(&args);
    for job in ["keep", "tmp1", "tmp2"] {
        let r = put(
            &format!("{}/metrics/job/{job}", a.url()),
            "# TYPE v gauge\nv 1\n",
        );
        assert_eq!(r.status, 200);
    }
    b.wait_groups(&[&[("job", "keep")], &[("job", "tmp1")], &[("job", "tmp2")]]);
    let r = request(
        "DELETE",
        &format!("{}/api/v1/groups?match={{job=~\"tmp.*\"}}", b.url()),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["groups"].as_array().unwrap().len(), 2);
    a.wait_groups(&[&[("job", "keep")]]);
    // A group with a time to live expires once, on whichever replica sees
    // it first, and is gone from both.
    let r = request(
        "PUT",
        &format!("{}/metrics/job/short", a.url()),
        &[("Pgw-Expire-After", "1s")],
        b"# TYPE v gauge\nv 1\n",
    );
    assert_eq!(r.status, 200);
    b.wait_groups(&[&[("job", "keep")], &[("job", "short")]]);
    a.wait_groups(&[&[("job", "keep")]]);
    b.wait_groups(&[&[("job", "keep")]]);
    let expired: f64 = [&a, &b]
        .iter()
        .map(|g| own_metric(g, "pgw_expired_groups_total ").unwrap_or(0.0))
        .sum();
    assert_eq!(expired, 1.0, "the group expired once in the cluster");
    let r = request("PUT", &format!("{}/api/v1/admin/wipe", b.url()), &[], b"");
    assert_eq!(r.status, 202, "{}", r.text());
    a.wait_groups(&[]);
}

#[test]
fn a_group_larger_than_one_etcd_request_is_refused_naming_the_limit() {
    let etcd = EtcdCluster::start(1);
    let args = replica_args(&etcd, "/large/", &["--store.etcd.max-request-bytes=65536"]);
    let a = start_replica(&args);
    // Label values that do not compress, so the record stays large.
    let mut body = String::from("# TYPE big gauge\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.push_str(&format!("big{{id=\"{i}\",h=\"{x:016x}\"}} {i}\n"));
    }
    let r = put(&format!("{}/metrics/job/big", a.url()), &body);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.text().contains("--store.etcd.max-request-bytes=65536"),
        "{}",
        r.text()
    );
    assert!(a.groups().is_empty(), "nothing stored");
    // A small one still goes through.
    let r = put(
        &format!("{}/metrics/job/small", a.url()),
        "# TYPE v gauge\nv 1\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn an_empty_prefix_is_filled_once_from_a_local_store() {
    let dir = TempDir::new("etcd-import");
    let file = dir.path().join("store");
    let file_flag = format!("--persistence.file={}", file.display());
    let mut local = Pgw::start(&[&file_flag]);
    for job in ["a", "b"] {
        let r = put(
            &format!("{}/metrics/job/{job}", local.url()),
            "# TYPE v counter\nv 5\n",
        );
        assert_eq!(r.status, 200);
    }
    local.terminate();
    let etcd = EtcdCluster::start(1);
    let import = format!("--store.etcd.import={}", file.display());
    let args = replica_args(&etcd, "/import/", &[&import]);
    let mut a = start_replica(&args);
    a.wait_groups(&[&[("job", "a")], &[("job", "b")]]);
    // Another replica, without the flag, has them too; a later start with
    // the flag on a prefix that holds a store imports nothing.
    let b = start_replica(&replica_args(&etcd, "/import/", &[]));
    b.wait_groups(&[&[("job", "a")], &[("job", "b")]]);
    let r = request("DELETE", &format!("{}/metrics/job/a", b.url()), &[], b"");
    assert_eq!(r.status, 202);
    a.wait_groups(&[&[("job", "b")]]);
    a.terminate();
    let again = start_replica(&args);
    again.wait_groups(&[&[("job", "b")]]);
    assert!(
        again.proc.log().contains("not importing"),
        "{}",
        again.proc.log()
    );
}

#[test]
fn etcd_flags_are_checked_before_anything_starts() {
    let err = refused_start_with(
        2,
        &[
            "--store.etcd.endpoints=http://127.0.0.1:1",
            "--persistence.file=/tmp/x",
        ],
    );
    assert!(err.contains("--store.etcd.import"), "{err}");
    let err = refused_start_with(2, &["--store.etcd.import=/tmp/x"]);
    assert!(err.contains("needs --store.etcd.endpoints"), "{err}");
    let err = refused_start_with(2, &["--store.etcd.endpoints=127.0.0.1:2379"]);
    assert!(err.contains("http://"), "{err}");
    let err = refused_start_with(
        2,
        &[
            "--store.etcd.endpoints=http://127.0.0.1:1",
            "--store.etcd.cert-file=/tmp/c",
        ],
    );
    assert!(err.contains("--store.etcd.key-file"), "{err}");
}

#[test]
fn a_prefix_in_another_layout_stops_the_start() {
    let etcd = EtcdCluster::start(1);
    let b64 = |s: &str| base64_encode(s.as_bytes());
    let r = request(
        "POST",
        &format!("{}/v3/kv/put", etcd.endpoint(0)),
        &[],
        format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            b64("/future/version"),
            b64("9")
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let err = refused_start_with(
        1,
        &[
            &format!("--store.etcd.endpoints={}", etcd.endpoints()),
            "--store.etcd.prefix=/future/",
        ],
    );
    assert!(err.contains("layout version"), "{err}");
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What the soak knows of one group: written by one thread only, so its
/// values grow; an attempt whose answer was lost may still have landed.
#[derive(Debug, Default, Clone)]
struct Ledger {
    /// The last value acknowledged (200), and the last one attempted.
    acked: Option<u64>,
    attempted: u64,
    /// An acknowledged delete after which nothing was attempted.
    deleted: bool,
    /// A delete whose answer was lost since the last acknowledged push.
    maybe_gone: bool,
}

#[test]
fn chaos_soak_loses_no_acknowledged_write() {
    const REPLICAS: usize = 3;
    const WRITERS: usize = 4;
    const GROUPS_PER_WRITER: u64 = 6;
    const RUN: Duration = Duration::from_secs(25);
    let mut etcd = EtcdCluster::start(3);
    let args = replica_args(&etcd, "/soak/", &[]);
    let replicas: Vec<Pgw> = (0..REPLICAS).map(|_| start_replica(&args)).collect();
    let ports: Arc<Vec<Mutex<u16>>> =
        Arc::new(replicas.iter().map(|p| Mutex::new(p.port)).collect());
    let replicas = Arc::new(Mutex::new(
        replicas.into_iter().map(Some).collect::<Vec<_>>(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let acked_writes = Arc::new(AtomicU64::new(0));
    let failed_writes = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (ports, stop, acked_writes, failed_writes) = (
            ports.clone(),
            stop.clone(),
            acked_writes.clone(),
            failed_writes.clone(),
        );
        writers.push(std::thread::spawn(move || {
            let mut ledger: BTreeMap<u64, Ledger> = BTreeMap::new();
            let mut seq = 0u64;
            let mut rng = 0x2545_F491_4F6C_DD1Du64 ^ (w as u64 + 1);
            let mut next = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            while !stop.load(Ordering::Relaxed) {
                let g = next() % GROUPS_PER_WRITER;
                let port = *ports[(next() % REPLICAS as u64) as usize].lock().unwrap();
                let url = format!("http://127.0.0.1:{port}/metrics/job/soak{w}/instance/g{g}");
                let entry = ledger.entry(g).or_default();
                let action = next() % 10;
                if action == 0 {
                    // A delete: of the group alone, or through the clean-up API.
                    let resp = if next() % 2 == 0 {
                        try_request("DELETE", &url, &[], b"")
                    } else {
                        let q = format!(
                            "http://127.0.0.1:{port}/api/v1/groups?match={{job=\"soak{w}\",instance=\"g{g}\"}}"
                        );
                        try_request("DELETE", &q, &[], b"")
                    };
                    match resp {
                        Some(r) if r.status == 202 || r.status == 200 => {
                            entry.deleted = true;
                            entry.acked = None;
                            acked_writes.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            // May or may not have landed: the group may
                            // be gone, until a push is acknowledged.
                            entry.deleted = false;
                            entry.maybe_gone = true;
                            failed_writes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                } else {
                    seq += 1;
                    entry.attempted = seq;
                    entry.deleted = false;
                    let body = format!("# TYPE soak_value gauge\nsoak_value {seq}\n");
                    match try_request("PUT", &url, &[], body.as_bytes()) {
                        Some(r) if r.status == 200 => {
                            entry.acked = Some(seq);
                            entry.maybe_gone = false;
                            acked_writes.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(r) if r.status == 400 => panic!("a soak push was refused: {}", r.text()),
                        _ => {
                            failed_writes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            ledger
        }));
    }
    // The chaos: a replica SIGKILLed and restarted now and then, and one
    // etcd member stopped and restarted half-way.
    let started = Instant::now();
    let mut kills = 0;
    let mut rng = 0x9E37_79B9u64;
    let mut member_stopped = false;
    let mut member_restarted = false;
    while started.elapsed() < RUN {
        std::thread::sleep(Duration::from_millis(1500));
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let i = ((rng >> 33) % REPLICAS as u64) as usize;
        {
            let mut all = replicas.lock().unwrap();
            if let Some(mut p) = all[i].take() {
                p.proc.signal("KILL");
                p.proc.wait_exit(WAIT).expect("killed");
                kills += 1;
            }
            let p = start_replica(&args);
            *ports[i].lock().unwrap() = p.port;
            all[i] = Some(p);
        }
        if !member_stopped && started.elapsed() > RUN / 3 {
            etcd.stop(1);
            member_stopped = true;
        } else if member_stopped && !member_restarted && started.elapsed() > RUN * 2 / 3 {
            etcd.restart(1);
            member_restarted = true;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let ledgers: Vec<BTreeMap<u64, Ledger>> =
        writers.into_iter().map(|t| t.join().unwrap()).collect();
    if !member_restarted {
        etcd.restart(1);
    }
    let urls: Vec<String> = replicas
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.as_ref().unwrap().url())
        .collect();
    let final_scrape = wait_identical(&urls);
    // Every group's value as the replicas serve it.
    let mut served: BTreeMap<(usize, u64), u64> = BTreeMap::new();
    for line in final_scrape
        .lines()
        .filter(|l| l.starts_with("soak_value{"))
    {
        let (labels, value) = line.rsplit_once(' ').unwrap();
        let get_label = |name: &str| {
            let start = labels.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            labels[start..].split('"').next().unwrap().to_string()
        };
        let w: usize = get_label("job").trim_start_matches("soak").parse().unwrap();
        let g: u64 = get_label("instance")
            .trim_start_matches('g')
            .parse()
            .unwrap();
        served.insert((w, g), value.parse().unwrap());
    }
    let mut lost = Vec::new();
    let mut resurrected = Vec::new();
    for (w, ledger) in ledgers.iter().enumerate() {
        for (g, l) in ledger {
            let now = served.get(&(w, *g)).copied();
            if l.deleted {
                if now.is_some() {
                    resurrected.push((w, *g, now));
                }
                continue;
            }
            if let Some(acked) = l.acked {
                // The value served is the last acknowledged one or a later
                // attempt whose answer was lost, never an older one.
                match now {
                    Some(v) if v >= acked && v <= l.attempted => {}
                    None if l.maybe_gone => {}
                    _ => lost.push((w, *g, acked, now)),
                }
            }
        }
    }
    let acked = acked_writes.load(Ordering::Relaxed);
    eprintln!(
        "chaos soak: {:?}, {kills} replica kills, 1 etcd member stopped and restarted, \
         {acked} acknowledged writes, {} unacknowledged (503 or connection lost), \
         {} lost, {} deleted groups back",
        RUN,
        failed_writes.load(Ordering::Relaxed),
        lost.len(),
        resurrected.len()
    );
    assert!(kills >= 5, "the soak killed replicas");
    assert!(acked > 100, "the soak wrote: {acked}");
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(
        resurrected.is_empty(),
        "deleted groups came back: {resurrected:?}"
    );
    let groups: BTreeSet<(usize, u64)> = served.keys().copied().collect();
    assert!(!groups.is_empty());
}
