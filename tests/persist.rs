//! Durability of `pgw serve --persistence.file`, tested on real processes:
//! pushes answered 200 survive SIGKILL at a random moment under load, as do
//! deletes, wipes and push times; SIGTERM flushes; and each kind of damaged
//! file is refused with a message that says how to recover, then recovered
//! with `--persistence.recover`; a segment left with a zero tail by kill -9
//! is read to its last record and cut there at the next start; files deleted while the server runs are
//! written again from memory; a second server on the same files is refused.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::util::*;

fn file_arg(file: &Path) -> String {
    format!("--persistence.file={}", file.display())
}

/// The value of metric `name` in every pushed group, by job.
fn values(g: &Pgw, name: &str) -> BTreeMap<String, f64> {
    scrape_pushed(&format!("{}/metrics", g.url()))
        .into_iter()
        .filter(|(n, _, _)| n == name)
        .map(|(_, labels, v)| {
            let job = labels.iter().find(|(n, _)| n == "job").unwrap().1.clone();
            (job, v.parse().unwrap())
        })
        .collect()
}

fn push_ok(g: &Pgw, method: &str, path: &str, body: &str) {
    let r = request(method, &format!("{}{path}", g.url()), &[], body.as_bytes());
    assert!(
        r.status == 200 || r.status == 202,
        "{method} {path}: {} {}",
        r.status,
        r.text()
    );
}

/// SIGKILL: nothing is flushed, nothing is drained.
fn kill_9(mut g: Pgw) {
    g.proc.child.kill().unwrap();
    g.proc.child.wait().unwrap();
}

/// A number that differs from run to run, for the moment of the kill.
fn random(below: usize) -> usize {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    (nanos / 1000) % below
}

fn segments(file: &Path) -> Vec<PathBuf> {
    let name = format!("{}.wal.", file.file_name().unwrap().to_str().unwrap());
    let mut v: Vec<PathBuf> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&name))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

fn damaged_copies(file: &Path) -> Vec<PathBuf> {
    fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains(".damaged-"))
        .collect()
}

/// Offsets of the records of a log segment (8-byte magic, then frames with a
/// 24-byte header whose bytes 4..8 are the payload length), and where they
/// end: the segment may go on with zeros that the writer extended it with.
fn record_offsets(bytes: &[u8]) -> (Vec<usize>, usize) {
    let mut at = 8;
    let mut offsets = Vec::new();
    while at + 24 <= bytes.len() && bytes[at..].iter().any(|&b| b != 0) {
        offsets.push(at);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 24 + len;
    }
    (offsets, at)
}

/// Appends to `path` until the file system it is on is full.
fn fill_up(path: &Path) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let chunk = vec![1u8; 1 << 20];
    while f.write_all(&chunk).is_ok() {}
    // What did not fit in a whole chunk, byte by byte at the end.
    while f.write_all(&chunk[..4096]).is_ok() {}
    while f.write_all(&chunk[..1]).is_ok() {}
    let _ = f.sync_all();
}

/// Four rounds of pushes from four clients, each ended by kill -9 at a
/// random moment, on a tmpfs of its own. In the third round the disk is
/// full for a while (a ballast file takes what is left): pushes are then
/// refused with 507, and taken again, without a restart, once the ballast
/// is gone. Every push answered 200 must be there after every restart.
#[test]
fn every_acknowledged_push_survives_kill_9_under_load() {
    const WORKERS: usize = 4;
    const FULL_ROUND: usize = 2;
    let disk = Tmpfs::mount("kill9", "64m");
    let file = disk.dir.join("store");
    let ballast = disk.dir.join("ballast");
    let arg = file_arg(&file);
    // Filler series make each push a few KB, so writes batch for real.
    let filler: String = (0..200)
        .map(|i| format!("filler{{i=\"{i}\"}} {i}\n"))
        .collect();
    let mut acked = [0u64; WORKERS];
    for round in 0..4 {
        // Compactions every 100 ms run concurrently with the pushes, so the
        // kill also lands during compactions.
        let g = Pgw::start(&[&arg, "--persistence.interval=100ms"]);
        let got = values(&g, "v");
        for (w, last) in acked.iter_mut().enumerate() {
            let have = got.get(&format!("w{w}")).copied().unwrap_or(0.0);
            assert!(
                have >= *last as f64,
                "round {round}: worker {w} had {last} acknowledged, the restarted server has {have}"
            );
            // A push that was written but not answered may be there too:
            // values keep increasing from what the server has.
            *last = have as u64;
        }
        let url = g.url();
        let total = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        // The server frees space as it compacts, so the ballast takes it
        // again until pushes are refused.
        let filling = Arc::new(AtomicBool::new(round == FULL_ROUND));
        let filler_thread = {
            let (filling, ballast) = (filling.clone(), ballast.clone());
            std::thread::spawn(move || {
                while filling.load(Ordering::Relaxed) {
                    fill_up(&ballast);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let threads: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (url, total, refused, stop, filler) = (
                    url.clone(),
                    total.clone(),
                    refused.clone(),
                    stop.clone(),
                    filler.clone(),
                );
                let mut value = acked[w];
                std::thread::spawn(move || {
                    let mut last_ok = value;
                    while !stop.load(Ordering::Relaxed) {
                        value += 1;
                        let body = format!("v {value}\n{filler}");
                        let path = format!("{url}/metrics/job/w{w}");
                        match try_request("PUT", &path, &[], body.as_bytes()) {
                            Some(r) if r.status == 200 => {
                                last_ok = value;
                                total.fetch_add(1, Ordering::Relaxed);
                            }
                            // The disk is full: refused, so not acknowledged.
                            Some(r) if r.status == 507 => {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            Some(r) => panic!("push answered {}: {}", r.status, r.text()),
                            None => break,
                        }
                    }
                    last_ok
                })
            })
            .collect();
        if round == FULL_ROUND {
            poll(Duration::from_secs(60), || {
                (refused.load(Ordering::Relaxed) >= 20).then_some(())
            })
            .expect("pushes to the full disk were not refused");
            filling.store(false, Ordering::Relaxed);
            filler_thread.join().unwrap();
            let before = total.load(Ordering::Relaxed);
            std::fs::remove_file(&ballast).unwrap();
            // Taken again without a restart.
            poll(Duration::from_secs(60), || {
                (total.load(Ordering::Relaxed) >= before + 20).then_some(())
            })
            .expect("pushes were not taken again once the disk had room");
            println!(
                "round {round}: {} pushes refused while the disk was full, {} taken in all",
                refused.load(Ordering::Relaxed),
                total.load(Ordering::Relaxed)
            );
        }
        let target = total.load(Ordering::Relaxed) + 20 + random(300);
        // The first round also waits for a compaction: only a compaction
        // while the server runs can have written the snapshot before kill -9.
        poll(Duration::from_secs(60), || {
            (total.load(Ordering::Relaxed) >= target && (round > 0 || file.exists())).then_some(())
        })
        .expect("the pushes did not make progress");
        kill_9(g);
        stop.store(true, Ordering::Relaxed);
        for (w, t) in threads.into_iter().enumerate() {
            acked[w] = t.join().unwrap();
        }
    }
    let g = Pgw::start(&[&arg]);
    let got = values(&g, "v");
    println!("acknowledged pushes per worker at the end: {acked:?}");
    for (w, &last) in acked.iter().enumerate() {
        assert!(
            got[&format!("w{w}")] >= last as f64,
            "worker {w}: {got:?} {acked:?}"
        );
    }
}

#[test]
fn deletes_and_wipes_acknowledged_before_kill_9_stay_done() {
    let dir = TempDir::new("kill9-delete");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    let g = Pgw::start(&[&arg, "--web.enable-admin-api"]);
    for job in ["a", "b", "c"] {
        push_ok(&g, "PUT", &format!("/metrics/job/{job}"), "x 1\n");
    }
    push_ok(&g, "DELETE", "/metrics/job/a", "");
    kill_9(g);
    let g = Pgw::start(&[&arg, "--web.enable-admin-api"]);
    assert_eq!(g.jobs(), ["b", "c"]);
    push_ok(&g, "PUT", "/api/v1/admin/wipe", "");
    push_ok(&g, "POST", "/metrics/job/d", "x 2\n");
    kill_9(g);
    let g = Pgw::start(&[&arg]);
    assert_eq!(g.jobs(), ["d"]);
}

#[test]
fn clean_ups_expiries_and_times_to_live_survive_kill_9() {
    let dir = TempDir::new("kill9-expiry");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    let g = Pgw::start(&[&arg]);
    for job in ["ci-1", "ci-2", "keep"] {
        push_ok(&g, "PUT", &format!("/metrics/job/{job}"), "x 1\n");
    }
    let r = request(
        "PUT",
        &format!("{}/metrics/job/short", g.url()),
        &[("Pgw-Expire-After", "1s")],
        b"x 1\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(
        "PUT",
        &format!("{}/metrics/job/long", g.url()),
        &[("Pgw-Expire-After", "1h")],
        b"x 1\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = request(
        "DELETE",
        &format!("{}/api/v1/groups?match=job%3D~%22ci-.*%22", g.url()),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The expiry deletes `short` within a second or two of its push.
    poll(Duration::from_secs(10), || {
        (!g.jobs().contains(&"short".to_string())).then_some(())
    })
    .expect("the group did not expire");
    // An expiry answers nobody; the next acknowledged change is synced with
    // every change before it, the expiry included.
    push_ok(&g, "PUT", "/metrics/job/keep", "x 2\n");
    kill_9(g);
    let g = Pgw::start(&[&arg]);
    assert_eq!(g.jobs(), ["keep", "long"]);
    let api = get(&format!("{}/api/v1/metrics", g.url())).json();
    let long = api["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["labels"]["job"] == "long")
        .unwrap()
        .clone();
    assert_eq!(long["expire_after_seconds"], 3600.0, "{long}");
}

#[test]
fn push_times_survive_kill_9_and_sigterm_flushes() {
    let dir = TempDir::new("times");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    let g = Pgw::start(&[&arg]);
    push_ok(
        &g,
        "PUT",
        "/metrics/job/a/instance/i",
        "# HELP x An x.\n# TYPE x gauge\nx 1\n",
    );
    push_ok(&g, "PUT", "/metrics/job/b", "y 1\n");
    push_ok(&g, "POST", "/metrics/job/b", "z 2\n");
    // A refused push sets the group's failure time.
    let r = request(
        "PUT",
        &format!("{}/metrics/job/b", g.url()),
        &[],
        b"x 1 123\n",
    );
    assert_eq!(r.status, 400);
    let before = sorted_groups(g.api());
    let scraped = values(&g, "push_failure_time_seconds");
    assert!(scraped["b"] > 0.0, "{scraped:?}");
    kill_9(g);

    let mut g = Pgw::start(&[&arg]);
    assert_eq!(
        sorted_groups(g.api()),
        before,
        "kill -9 and replay of the log"
    );
    push_ok(&g, "PUT", "/metrics/job/c", "w 3\n");
    let before = sorted_groups(g.api());
    g.terminate();
    // The shutdown compacted everything into the snapshot.
    for segment in segments(&file) {
        assert_eq!(fs::metadata(&segment).unwrap().len(), 8, "{segment:?}");
    }
    let g = Pgw::start(&[&arg]);
    assert_eq!(sorted_groups(g.api()), before, "SIGTERM and restart");
}

#[test]
fn a_large_store_stops_without_a_snapshot_and_restarts_whole() {
    let dir = TempDir::new("large-stop");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    let mut g = Pgw::start(&[&arg]);
    // Over 8 MB of records, above what a shutdown compacts; the label
    // values are pseudo-random so that compression keeps their size.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let body: String = (0..2_000)
        .map(|i| {
            let filler = format!("{:016x}{:016x}{:016x}", next(), next(), next());
            format!("big_metric{{series=\"{i}\",filler=\"{filler}\"}} {i}\n")
        })
        .collect();
    for i in 0..40 {
        push_ok(&g, "PUT", &format!("/metrics/job/big/instance/{i}"), &body);
    }
    let before = sorted_groups(g.api());
    g.terminate();
    assert!(!file.exists(), "no snapshot written at the stop");
    let logged: u64 = segments(&file)
        .iter()
        .map(|s| fs::metadata(s).unwrap().len())
        .sum();
    assert!(logged > 8 << 20, "the log holds the store: {logged} bytes");
    let g = Pgw::start(&[&arg]);
    assert_eq!(sorted_groups(g.api()), before, "SIGTERM and replay");
}

/// Three groups, written to the snapshot by a clean shutdown.
fn snapshot_with_three_groups(file: &Path) {
    let mut g = Pgw::start(&[&file_arg(file)]);
    for job in ["a", "b", "c"] {
        let body: String = (0..50).map(|i| format!("m{{i=\"{i}\"}} {i}\n")).collect();
        push_ok(&g, "PUT", &format!("/metrics/job/{job}"), &body);
    }
    g.terminate();
}

#[test]
fn a_truncated_snapshot_is_refused_then_recovered() {
    let dir = TempDir::new("truncated");
    let file = dir.path().join("store");
    snapshot_with_three_groups(&file);
    let bytes = fs::read(&file).unwrap();
    let cut = &bytes[..bytes.len() * 2 / 3];
    fs::write(&file, cut).unwrap();
    let stderr = refused_start(&[&file_arg(&file)]);
    assert!(
        stderr.contains(&file.display().to_string())
            && stderr.contains("truncated")
            && stderr.contains("--persistence.recover"),
        "{stderr}"
    );
    assert_eq!(fs::read(&file).unwrap(), cut, "the file was changed");

    let g = Pgw::start(&[&file_arg(&file), "--persistence.recover"]);
    let log = g.proc.log();
    assert!(
        log.contains("kept 2 groups, 1 group lost from the snapshot"),
        "{log}"
    );
    assert_eq!(g.jobs(), ["a", "b"]);
    let aside = damaged_copies(&file);
    assert_eq!(aside.len(), 1);
    assert_eq!(fs::read(&aside[0]).unwrap(), cut);
    kill_9(g);
    // What was recovered is on disk again: a plain start works.
    let g = Pgw::start(&[&file_arg(&file)]);
    assert_eq!(g.jobs(), ["a", "b"]);
}

#[test]
fn a_corrupt_log_record_in_the_middle_is_refused_then_recovered() {
    let dir = TempDir::new("corrupt-log");
    let file = dir.path().join("store");
    let g = Pgw::start(&[&file_arg(&file)]);
    for job in ["a", "b", "c"] {
        push_ok(&g, "PUT", &format!("/metrics/job/{job}"), "x 1\n");
    }
    kill_9(g);
    let segment = segments(&file).pop().unwrap();
    let mut bytes = fs::read(&segment).unwrap();
    let (offsets, _) = record_offsets(&bytes);
    assert_eq!(offsets.len(), 3);
    bytes[offsets[1] + 30] ^= 0x55;
    fs::write(&segment, &bytes).unwrap();

    let stderr = refused_start(&[&file_arg(&file)]);
    assert!(
        stderr.contains(&segment.display().to_string())
            && stderr.contains(&format!("at offset {}", offsets[1]))
            && stderr.contains("followed by valid records")
            && stderr.contains("--persistence.recover"),
        "{stderr}"
    );
    assert_eq!(fs::read(&segment).unwrap(), bytes, "the file was changed");

    let g = Pgw::start(&[&file_arg(&file), "--persistence.recover"]);
    let log = g.proc.log();
    assert!(log.contains("1 record lost from the log"), "{log}");
    assert_eq!(g.jobs(), ["a", "c"]);
    assert_eq!(damaged_copies(&file).len(), 1);
    kill_9(g);
    let g = Pgw::start(&[&file_arg(&file)]);
    assert_eq!(g.jobs(), ["a", "c"]);
}

#[test]
fn a_torn_last_record_is_dropped_with_a_warning() {
    let dir = TempDir::new("torn");
    let file = dir.path().join("store");
    let g = Pgw::start(&[&file_arg(&file)]);
    push_ok(&g, "PUT", "/metrics/job/a", "x 1\n");
    let big: String = (0..100)
        .map(|i| format!("big{{i=\"{i}\"}} {i}\n"))
        .collect();
    push_ok(&g, "PUT", "/metrics/job/b", &big);
    kill_9(g);
    // The last record cut at a sector boundary inside it, as a crash in the
    // middle of its write leaves it: the zeros the segment was extended
    // with where the rest of it was to go.
    let segment = segments(&file).pop().unwrap();
    let mut bytes = fs::read(&segment).unwrap();
    let (offsets, end) = record_offsets(&bytes);
    assert_eq!(offsets.len(), 2);
    let cut = offsets[1].div_ceil(512) * 512 + 512;
    assert!(cut < end);
    bytes[cut..end].fill(0);
    fs::write(&segment, &bytes).unwrap();
    let g = Pgw::start(&[&file_arg(&file)]);
    assert!(
        g.proc
            .log()
            .contains("it was cut short (a crash during it)"),
        "{}",
        g.proc.log()
    );
    assert_eq!(g.jobs(), ["a"]);
}

#[test]
fn files_of_another_format_are_refused_then_moved_aside() {
    // The official Pushgateway's own file, written by it at shutdown.
    let dir = TempDir::new("other-format");
    let file = dir.path().join("store");
    let mut official = Official::start(&[&file_arg(&file)]);
    let r = put(&format!("{}/metrics/job/o", official.url()), "x 1\n");
    assert_eq!(r.status, 200);
    official.proc.terminate();
    let gob = fs::read(&file).expect("the official server wrote its file");
    // The official file is not damage: it is refused even with
    // --persistence.recover, which would move it aside and start empty.
    for recover in [&[][..], &["--persistence.recover"][..]] {
        let mut args = vec![file_arg(&file)];
        args.extend(recover.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = refused_start(&args);
        assert!(
            stderr.contains("is the official Pushgateway's persistence file")
                && stderr.contains(&format!("--persistence.import={}", file.display()))
                && !stderr.contains("damaged"),
            "{stderr}"
        );
        assert_eq!(fs::read(&file).unwrap(), gob);
        assert!(damaged_copies(&file).is_empty());
    }
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    {
        let contents = random;
        fs::write(&file, &contents).unwrap();
        let stderr = refused_start(&[&file_arg(&file)]);
        assert!(
            stderr.contains("not a file pgw wrote") && stderr.contains("--persistence.recover"),
            "{stderr}"
        );
        assert_eq!(fs::read(&file).unwrap(), contents);
        let g = Pgw::start(&[&file_arg(&file), "--persistence.recover"]);
        assert!(
            g.proc.log().contains("an unknown number of records lost")
                && g.proc.log().contains("is not a snapshot pgw wrote"),
            "{}",
            g.proc.log()
        );
        assert!(g.jobs().is_empty());
        kill_9(g);
        for aside in damaged_copies(&file) {
            assert_eq!(fs::read(&aside).unwrap(), contents);
            fs::remove_file(aside).unwrap();
        }
    }
}

#[test]
fn an_empty_file_is_refused_then_moved_aside() {
    let dir = TempDir::new("empty");
    let file = dir.path().join("store");
    fs::write(&file, b"").unwrap();
    let stderr = refused_start(&[&file_arg(&file)]);
    assert!(stderr.contains("the file is empty"), "{stderr}");
    let g = Pgw::start(&[&file_arg(&file), "--persistence.recover"]);
    assert!(g.jobs().is_empty());
    assert_eq!(damaged_copies(&file).len(), 1);
}

#[test]
fn kill_9_leaves_a_zero_tail_that_a_restart_accepts() {
    let dir = TempDir::new("zero-tail");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    // No compaction while the test runs: the segment stays as kill -9 left it.
    let interval = "--persistence.interval=1h";
    let g = Pgw::start(&[&arg, interval]);
    let jobs_pushed: Vec<String> = (0..20).map(|i| format!("j{i:02}")).collect();
    for (i, job) in jobs_pushed.iter().enumerate() {
        push_ok(
            &g,
            "PUT",
            &format!("/metrics/job/{job}"),
            &format!("x {i}\n"),
        );
    }
    kill_9(g);
    let segment = segments(&file).pop().unwrap();
    let bytes = fs::read(&segment).unwrap();
    let (offsets, end) = record_offsets(&bytes);
    assert_eq!(offsets.len(), 20);
    assert!(
        end < bytes.len() && bytes[end..].iter().all(|&b| b == 0),
        "{segment:?}: {} bytes of records in {} bytes",
        end,
        bytes.len()
    );

    let mut g = Pgw::start(&[&arg, interval]);
    let log = g.proc.log();
    assert!(!log.contains("cut short"), "{log}");
    assert_eq!(g.jobs(), jobs_pushed);
    // The start gave the zeros' room back: the segment ends at its records.
    assert_eq!(fs::read(&segment).unwrap(), bytes[..end], "{segment:?}");
    let got = values(&g, "x");
    for (i, job) in jobs_pushed.iter().enumerate() {
        assert_eq!(got[job], i as f64, "{got:?}");
    }
    // The new segment goes on after the old one's zeros; SIGTERM compacts
    // both and leaves no zeros at rest.
    push_ok(&g, "PUT", "/metrics/job/j00", "x 100\n");
    g.terminate();
    for segment in segments(&file) {
        assert_eq!(fs::metadata(&segment).unwrap().len(), 8, "{segment:?}");
    }
    let g = Pgw::start(&[&arg]);
    assert_eq!(g.jobs(), jobs_pushed);
    assert_eq!(values(&g, "x")["j00"], 100.0);
}

/// Waits until the server has written its files again after some were
/// deleted, for the `times`-th time in its life: ready, with a snapshot and
/// a segment on disk, and the log saying so. The server logs that just
/// after it takes pushes again, so readiness alone can come first.
fn wait_rewritten(g: &Pgw, file: &Path, times: usize) {
    let ready = poll(Duration::from_secs(20), || {
        let ready = get(&format!("{}/-/ready", g.url())).status == 200;
        let said = g.proc.log().matches("hold the whole store again").count() >= times;
        (ready && said && file.exists() && !segments(file).is_empty()).then_some(())
    });
    assert!(ready.is_some(), "not rewritten: {}", g.proc.log());
}

#[test]
fn files_deleted_while_running_are_written_again_from_memory() {
    let dir = TempDir::new("deleted");
    let store_dir = dir.path().join("state");
    fs::create_dir(&store_dir).unwrap();
    let file = store_dir.join("store");
    let arg = file_arg(&file);
    // Compactions only when the deletion calls for one.
    let interval = "--persistence.interval=1h";
    let g = Pgw::start(&[&arg, interval]);
    push_ok(&g, "PUT", "/metrics/job/a", "x 1\n");
    push_ok(&g, "PUT", "/metrics/job/b", "x 2\n");

    // Every file of the store, as a clean-up script would delete them (a
    // file the server removes meanwhile, such as a spare it renames, is gone
    // already).
    for entry in fs::read_dir(&store_dir).unwrap() {
        match fs::remove_file(entry.unwrap().path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("{e}"),
            _ => {}
        }
    }
    push_ok(&g, "PUT", "/metrics/job/c", "x 3\n");
    wait_rewritten(&g, &file, 1);
    let log = g.proc.log();
    assert!(log.contains("was deleted while pgw serve ran"), "{log}");
    assert!(log.contains("hold the whole store again"), "{log}");
    kill_9(g);
    let g = Pgw::start(&[&arg, interval]);
    assert_eq!(g.jobs(), ["a", "b", "c"]);

    // The whole directory, lock file included. The server may make its
    // next spare segment while the directory is being emptied (as it may
    // under an `rm -rf`), so the removal is tried until it goes through.
    let removed = poll(Duration::from_secs(10), || {
        fs::remove_dir_all(&store_dir).ok()
    });
    assert!(removed.is_some(), "{store_dir:?} could not be removed");
    push_ok(&g, "PUT", "/metrics/job/d", "x 4\n");
    wait_rewritten(&g, &file, 1);
    // The lock was taken again, on the new lock file.
    let second = refused_start(&[&arg]);
    assert!(
        second.contains("is in use by another pgw serve"),
        "{second}"
    );
    push_ok(&g, "DELETE", "/metrics/job/a", "");
    kill_9(g);
    let g = Pgw::start(&[&arg, interval]);
    assert_eq!(g.jobs(), ["b", "c", "d"]);
    assert_eq!(values(&g, "x")["d"], 4.0);
}

#[test]
fn a_second_server_on_the_same_file_is_refused_and_the_first_goes_on() {
    let dir = TempDir::new("locked");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    let mut first = Pgw::start(&[&arg]);
    push_ok(&first, "PUT", "/metrics/job/a", "x 1\n");

    let stderr = refused_start(&[&arg]);
    let pid = first.proc.child.id().to_string();
    assert!(
        stderr.contains(&format!("{} is in use", file.display()))
            && stderr.contains(&format!("process {pid}"))
            && stderr.contains("store.lock"),
        "{stderr}"
    );
    // The refused server touched nothing: the first one still logs and
    // answers, and its files replay in full.
    push_ok(&first, "PUT", "/metrics/job/b", "x 2\n");
    assert_eq!(first.jobs(), ["a", "b"]);
    first.terminate();

    // The lock goes with its process.
    let g = Pgw::start(&[&arg]);
    assert_eq!(g.jobs(), ["a", "b"]);
}

/// `/api/v1/metrics` with groups in a fixed order and each family's
/// `time_stamp` as the instant it names (the official server trims trailing
/// zeros of the nanoseconds).
fn api_by_instant(base: &str) -> serde_json::Value {
    let mut api = sorted_groups(api_at(base, None));
    for group in api["data"].as_array_mut().unwrap() {
        for (name, family) in group.as_object_mut().unwrap() {
            if let Some(ts) = family.get("time_stamp").and_then(|t| t.as_str()) {
                let at = humantime::parse_rfc3339(ts)
                    .unwrap_or_else(|e| panic!("{name}: time_stamp {ts:?}: {e}"));
                let nanos = at.duration_since(UNIX_EPOCH).unwrap().as_nanos();
                family["time_stamp"] = serde_json::json!(nanos.to_string());
            }
        }
    }
    api
}

#[test]
fn the_official_pushgateways_file_is_imported_once() {
    let dir = TempDir::new("import");
    let official_file = dir.path().join("pushgateway.data");
    let import_arg = format!("--persistence.import={}", official_file.display());
    let mut official =
        Official::start(&[&format!("--persistence.file={}", official_file.display())]);
    let url = official.url();
    let kinds = "# HELP runs_total Runs.\n# TYPE runs_total counter\nruns_total{code=\"200\"} 7\n\
        # HELP temp_celsius Temperature.\n# TYPE temp_celsius gauge\ntemp_celsius -3.5\n\
        # HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n\
        latency_seconds_bucket{le=\"0.5\"} 1\nlatency_seconds_bucket{le=\"+Inf\"} 4\n\
        latency_seconds_sum 2.5\nlatency_seconds_count 4\n\
        # TYPE rpc_seconds summary\nrpc_seconds{quantile=\"0.9\"} 0.7\nrpc_seconds_sum 12.5\n\
        rpc_seconds_count 40\nplain{a=\"x\"} 1e+300\n";
    for (method, path, body) in [
        ("PUT", "/metrics/job/batch/instance/host-1", kinds),
        (
            "PUT",
            "/metrics/job/backup/path@base64/L3Zhci9kYXRh",
            "bytes 123\n",
        ),
        (
            "POST",
            "/metrics/job/backup/path@base64/L3Zhci9kYXRh",
            "files 4\n",
        ),
        ("PUT", "/metrics/job/empty-instance/instance/", "x 1\n"),
    ] {
        let r = request(method, &format!("{url}{path}"), &[], body.as_bytes());
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    // A refused push: the group keeps a failure time.
    let r = put(
        &format!("{url}/metrics/job/empty-instance/instance/"),
        "x 1 5\n",
    );
    assert_eq!(r.status, 400);
    let want_series = scrape_pushed(&format!("{url}/metrics"));
    let want_api = api_by_instant(&url);
    assert_eq!(want_api["data"].as_array().unwrap().len(), 3);
    official.proc.terminate();
    let original = fs::read(&official_file).expect("the official server wrote its file");

    // Every group, series, help text, push and failure time and family
    // time stamp comes over as it was; an empty store that pgw started and
    // stopped with no push is no reason to skip the import.
    let store = dir.path().join("store");
    Pgw::start(&[&file_arg(&store)]).terminate();
    assert!(store.exists(), "an empty snapshot at shutdown");
    let g = Pgw::start(&[&file_arg(&store), &import_arg]);
    assert_eq!(scrape_pushed(&format!("{}/metrics", g.url())), want_series);
    assert_eq!(api_by_instant(&g.url()), want_api);
    let log = g.proc.log();
    assert!(
        log.contains("imported the official Pushgateway's store") && log.contains("groups=3"),
        "{log}"
    );
    assert_eq!(
        fs::read(&official_file).unwrap(),
        original,
        "the import only reads"
    );

    // The imported groups are pgw's from then on: what is deleted stays
    // deleted, and the flag, left in place, does nothing.
    let r = delete(&format!(
        "{}/metrics/job/backup/path@base64/L3Zhci9kYXRh",
        g.url()
    ));
    assert_eq!(r.status, 202);
    kill_9(g);
    let admin = "--web.enable-admin-api";
    let g = Pgw::start(&[&file_arg(&store), &import_arg, admin]);
    assert_eq!(g.jobs(), ["batch", "empty-instance"]);
    assert!(g.proc.log().contains("not importing"), "{}", g.proc.log());
    // Nor once every group is deleted.
    let r = request("PUT", &format!("{}/api/v1/admin/wipe", g.url()), &[], b"");
    assert_eq!(r.status, 202, "{}", r.text());
    kill_9(g);
    let g = Pgw::start(&[&file_arg(&store), &import_arg]);
    assert!(g.jobs().is_empty());
    assert!(g.proc.log().contains("not importing"), "{}", g.proc.log());
    drop(g);

    // Any flipped bit of a real file: the groups or an error, never a panic.
    for i in 0..500usize {
        let mut bytes = original.clone();
        let at = i.wrapping_mul(2_654_435_761) % bytes.len();
        bytes[at] ^= 1 << (i % 8);
        let _ = pgw::server::persist::official::parse(&bytes);
    }

    // A damaged file imports nothing, and pgw writes nothing.
    let cut = dir.path().join("cut.data");
    fs::write(&cut, &original[..original.len() - 40]).unwrap();
    let fresh = dir.path().join("fresh");
    let stderr = refused_start(&[
        &file_arg(&fresh),
        &format!("--persistence.import={}", cut.display()),
    ]);
    assert!(
        stderr.contains(&format!("cannot import {}", cut.display()))
            && stderr.contains("at byte")
            && stderr.contains("nothing was imported"),
        "{stderr}"
    );
    assert!(!fresh.exists() && segments(&fresh).is_empty());

    // The official file given as pgw's own: refused, with the way to import.
    let stderr = refused_start(&[&format!("--persistence.file={}", official_file.display())]);
    assert!(stderr.contains("--persistence.import"), "{stderr}");
    let stderr = refused_start(&[
        &format!("--persistence.file={}", official_file.display()),
        &import_arg,
    ]);
    assert!(stderr.contains("name the same file"), "{stderr}");
    assert_eq!(fs::read(&official_file).unwrap(), original);
}

#[test]
fn a_full_segment_moves_on_to_the_spare_and_replays() {
    let dir = TempDir::new("spare");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    let spare = dir.path().join("store.wal.spare");
    let g = Pgw::start(&[&arg]);
    // The spare is made ahead of need.
    poll(Duration::from_secs(20), || spare.exists().then_some(()))
        .expect("a spare segment beside the first one");
    // 24 pushes of about 1 MiB from 4 clients at once: three times the
    // 8 MiB of zeros a segment starts with, so the log moves on to a spare,
    // then to the next one, while other batches wait.
    let pad = "p".repeat(180);
    let body = |job: usize| -> String {
        let mut b: String = (0..5_000)
            .map(|i| format!("big{{n=\"{i:05}\",pad=\"{pad}\"}} {i}\n"))
            .collect();
        b.push_str(&format!("marker {job}\n"));
        b
    };
    assert!(body(0).len() > 1_000_000);
    std::thread::scope(|scope| {
        for client in 0..4 {
            let (g, body) = (&g, &body);
            scope.spawn(move || {
                for job in (client * 6)..(client * 6 + 6) {
                    push_ok(g, "PUT", &format!("/metrics/job/big-{job:02}"), &body(job));
                }
            });
        }
    });
    assert!(segments(&file).len() >= 3, "{:?}", segments(&file));
    poll(Duration::from_secs(20), || spare.exists().then_some(()))
        .expect("a new spare once the last was taken");
    // Every group's marker and the number of big series, before and after.
    let seen = |g: &Pgw| {
        let text = get(&format!("{}/metrics", g.url())).text();
        let big = text.lines().filter(|l| l.starts_with("big{")).count();
        (values(g, "marker"), big)
    };
    let before = seen(&g);
    assert_eq!(before.0.len(), 24);
    assert_eq!(before.1, 24 * 5_000);
    kill_9(g);

    let mut g = Pgw::start(&[&arg]);
    assert_eq!(seen(&g), before, "kill -9 across the segments");
    g.terminate();
    assert!(!spare.exists(), "a clean stop leaves no spare");
    let g = Pgw::start(&[&arg]);
    assert_eq!(seen(&g), before, "SIGTERM and restart");
}

#[test]
fn a_sigterm_as_soon_as_the_server_answers_still_flushes() {
    // The handlers are in place before the first connection: a service
    // manager stopping pgw right after it came up gets a clean stop.
    let dir = TempDir::new("early-sigterm");
    let file = dir.path().join("store");
    let arg = file_arg(&file);
    for round in 0..5 {
        let mut g = Pgw::start(&[&arg]);
        if round == 0 {
            push_ok(&g, "PUT", "/metrics/job/early", "x 1\n");
        }
        g.terminate();
        assert!(g.proc.log().contains("msg=\"stopped\""), "{}", g.proc.log());
    }
    for segment in segments(&file) {
        assert_eq!(fs::metadata(&segment).unwrap().len(), 8, "{segment:?}");
    }
    let g = Pgw::start(&[&arg]);
    assert_eq!(g.jobs(), ["early"]);
}
