//! `pgw serve --persistence.file` on a disk that fills up, a small disk and
//! a read-only one, on real tmpfs file systems mounted for each test (the
//! tests run as root, as CI does): a push the log cannot take is answered
//! 507 and changes nothing, the server keeps serving and says it is not
//! ready, a restart after kill -9 on the full disk serves every
//! acknowledged push, and pushes work again once there is room, without a
//! restart.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

/// A node_exporter scrape: the real one the benchmarks use, or one of
/// similar size and shape where it is missing.
fn node_exporter_body() -> String {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/node_exporter.prom");
    if let Ok(body) = std::fs::read_to_string(real) {
        return body;
    }
    let mut body = String::new();
    for family in 0..100 {
        body.push_str(&format!(
            "# HELP node_generated_{family} A generated node_exporter-like family.\n\
             # TYPE node_generated_{family} gauge\n"
        ));
        for cpu in 0..10 {
            body.push_str(&format!(
                "node_generated_{family}{{cpu=\"{cpu}\",mode=\"idle\"}} {}.25\n",
                family * cpu
            ));
        }
    }
    body
}

fn start(file: &Path) -> Pgw {
    // No compaction during the test: the disk fills with the log alone.
    Pgw::start(&[
        &format!("--persistence.file={}", file.display()),
        "--persistence.interval=1h",
    ])
}

fn push(g: &Pgw, job: &str, body: &str) -> Resp {
    request(
        "PUT",
        &format!("{}/metrics/job/{job}", g.url()),
        &[],
        body.as_bytes(),
    )
}

fn jobs_of(g: &Pgw) -> BTreeSet<String> {
    g.jobs().into_iter().collect()
}

/// The jobs a scrape shows.
fn scraped_jobs(g: &Pgw) -> BTreeSet<String> {
    scrape_pushed(&format!("{}/metrics", g.url()))
        .into_iter()
        .filter_map(|(_, labels, _)| labels.into_iter().find(|(n, _)| n == "job").map(|l| l.1))
        .collect()
}

fn healthy(g: &Pgw) -> Option<f64> {
    let body = get(&format!("{}/metrics", g.url())).text();
    assert!(
        body.contains("# HELP pgw_persistence_healthy "),
        "no HELP for the health metric"
    );
    body.lines()
        .find_map(|l| l.strip_prefix("pgw_persistence_healthy "))
        .map(|v| v.trim().parse().unwrap())
}

/// The names of the files in `dir`.
fn store_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn kill_9(mut g: Pgw) {
    g.proc.child.kill().unwrap();
    g.proc.child.wait().unwrap();
}

/// Pushes node_exporter-sized groups `job-N` until one is refused; returns
/// the acknowledged jobs and the refusal. Bounded in count and time.
fn fill(g: &Pgw, body: &str) -> (BTreeSet<String>, Resp, String) {
    let started = Instant::now();
    let mut acked = BTreeSet::new();
    for n in 0..2000 {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the disk did not fill within 180 s ({} pushes acknowledged)",
            acked.len()
        );
        let job = format!("job-{n}");
        let r = push(g, &job, body);
        match r.status {
            200 => {
                acked.insert(job);
            }
            507 => {
                eprintln!(
                    "disk full after {} acknowledged pushes in {:?}",
                    acked.len(),
                    started.elapsed()
                );
                return (acked, r, job);
            }
            other => panic!("push {job}: {other} {}\n{}", r.text(), g.proc.log()),
        }
    }
    panic!("2000 pushes fitted on the disk");
}

#[test]
fn a_full_disk_refuses_pushes_keeps_serving_restarts_and_recovers() {
    let disk = Tmpfs::mount("diskfull", "12m");
    let file = disk.dir.join("store");
    let body = node_exporter_body();
    let g = start(&file);
    assert_eq!(healthy(&g), Some(1.0));
    let (acked, refused, refused_job) = fill(&g, &body);
    assert!(acked.len() >= 10, "only {} pushes fitted", acked.len());
    let text = refused.text();
    assert!(
        text.contains("not made") && text.contains("store.wal."),
        "the 507 names the file and the cause: {text}"
    );
    // More refusals, of new groups and a change to an existing one: none
    // of them is visible. (A small change may still fit into the room
    // left, and is then taken.)
    let existing = acked.iter().next().unwrap().clone();
    let before = get(&format!("{}/api/v1/metrics", g.url())).text();
    for attempt in 0..3 {
        assert_eq!(push(&g, &format!("late-{attempt}"), &body).status, 507);
    }
    let changed = format!("{body}pgw_test_changed 1\n");
    assert_eq!(push(&g, &existing, &changed).status, 507);
    assert_eq!(
        jobs_of(&g),
        acked,
        "the API shows exactly the acknowledged pushes"
    );
    assert_eq!(scraped_jobs(&g), acked, "the scrape shows exactly them");
    assert!(!scraped_jobs(&g).contains(&refused_job));
    assert_eq!(
        get(&format!("{}/api/v1/metrics", g.url())).text(),
        before,
        "refused changes left the store as it was"
    );
    let ready = get(&format!("{}/-/ready", g.url()));
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(ready.text().contains("store.wal"), "{}", ready.text());
    assert_eq!(get(&format!("{}/-/healthy", g.url())).status, 200);
    assert_eq!(get(&format!("{}/", g.url())).status, 200, "the page");
    assert_eq!(healthy(&g), Some(0.0));
    let log = g.proc.log();
    assert!(log.contains("cannot take changes"), "a log line: {log}");

    // kill -9 and a restart on the still-full disk, which creates no file.
    kill_9(g);
    let files = store_files(&disk.dir);
    let g = start(&file);
    assert_eq!(
        jobs_of(&g),
        acked,
        "every acknowledged push after the restart"
    );
    assert_eq!(get(&format!("{}/-/ready", g.url())).status, 503);
    assert_eq!(healthy(&g), Some(0.0));
    assert_eq!(push(&g, "after-restart", &body).status, 507);
    let spare = "store.wal.spare".to_string();
    assert_eq!(
        store_files(&disk.dir),
        files.into_iter().filter(|f| *f != spare).collect(),
        "the start on a full disk left its files as they were (but the old spare)"
    );
    // And a second start still works.
    kill_9(g);
    let g = start(&file);
    assert_eq!(jobs_of(&g), acked, "a second start on the full disk");

    // Room again: pushes work without a restart.
    disk.remount("size=64m");
    let started = Instant::now();
    let mut polls = 0;
    let ready = poll(Duration::from_secs(30), || {
        polls += 1;
        (get(&format!("{}/-/ready", g.url())).status == 200).then_some(())
    });
    eprintln!(
        "ready {:?} after the file system grew ({polls} polls)",
        started.elapsed()
    );
    assert!(
        ready.is_some(),
        "not ready 30 s after the disk grew\n{}",
        g.proc.log()
    );
    assert_eq!(healthy(&g), Some(1.0));
    let r = push(&g, "after-growth", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(g.proc.log().contains("takes changes again"));
    let mut want = acked.clone();
    want.insert("after-growth".into());
    assert_eq!(jobs_of(&g), want);
    kill_9(g);
    let g = start(&file);
    assert_eq!(jobs_of(&g), want, "after another kill -9");
    assert_eq!(get(&format!("{}/-/ready", g.url())).status, 200);
}

#[test]
fn a_small_disk_takes_pushes_and_the_spare_leaves_room() {
    let disk = Tmpfs::mount("smalldisk", "2m");
    let file = disk.dir.join("store");
    let body = node_exporter_body();
    let mut g = start(&file);
    let r = push(&g, "first", &body);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), g.proc.log());
    assert_eq!(get(&format!("{}/-/ready", g.url())).status, 200);
    // No half-written spare stays behind: whatever spare exists is whole
    // (its magic, then zeros), and the disk is not full.
    let spare = disk.dir.join("store.wal.spare");
    if let Ok(bytes) = std::fs::read(&spare) {
        assert!(bytes.starts_with(b"PGWLOG01"), "a half-written spare");
    }
    let (acked, _, _) = fill(&g, &body);
    eprintln!("{} pushes fitted on 2 MiB", acked.len() + 1);
    g.terminate();
    let g = start(&file);
    let mut want = acked;
    want.insert("first".into());
    assert_eq!(jobs_of(&g), want);
}

#[test]
fn a_read_only_store_directory_is_served_like_a_full_disk() {
    let disk = Tmpfs::mount("rodisk", "12m");
    let file = disk.dir.join("store");
    let g = start(&file);
    assert_eq!(push(&g, "before", "v 1\n").status, 200);
    kill_9(g);
    disk.remount("ro");
    let g = start(&file);
    assert_eq!(jobs_of(&g), BTreeSet::from(["before".to_string()]));
    let r = push(&g, "while-ro", "v 2\n");
    assert_eq!(r.status, 507, "{}", r.text());
    let ready = get(&format!("{}/-/ready", g.url()));
    assert_eq!(ready.status, 503);
    assert!(
        ready.text().to_lowercase().contains("read-only"),
        "{}",
        ready.text()
    );
    assert_eq!(healthy(&g), Some(0.0));
    assert_eq!(jobs_of(&g), BTreeSet::from(["before".to_string()]));
    disk.remount("rw");
    let ready = poll(Duration::from_secs(30), || {
        (get(&format!("{}/-/ready", g.url())).status == 200).then_some(())
    });
    assert!(ready.is_some(), "not ready after rw\n{}", g.proc.log());
    assert_eq!(push(&g, "after-rw", "v 3\n").status, 200);
    kill_9(g);
    let g = start(&file);
    assert_eq!(
        jobs_of(&g),
        BTreeSet::from(["after-rw".to_string(), "before".to_string()])
    );
}

#[test]
fn a_push_larger_than_a_segment_is_taken_on_a_roomy_disk() {
    let disk = Tmpfs::mount("bigpush", "64m");
    let file = disk.dir.join("store");
    let g = start(&file);
    // About 12 MB rendered: more than the 8 MiB a segment is made with.
    let pad = "p".repeat(100);
    let body: String = (0..90_000)
        .map(|i| format!("big{{i=\"{i}\",pad=\"{pad}\"}} {i}\n"))
        .collect();
    let r = push(&g, "big", &body);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), g.proc.log());
    assert_eq!(push(&g, "small", "v 1\n").status, 200);
    kill_9(g);
    let g = start(&file);
    assert_eq!(
        jobs_of(&g),
        BTreeSet::from(["big".to_string(), "small".to_string()])
    );
    assert_eq!(get(&format!("{}/-/ready", g.url())).status, 200);
}
