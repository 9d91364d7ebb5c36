//! Damaged persistence files, one row of a table each: files written by a
//! real `pgw serve --persistence.file` (kill -9 for the log, SIGTERM for the
//! snapshot), damaged by a file edit, then started on. Each row expects one
//! outcome: a refusal that names the file, the offset and the fault and
//! leaves every file as it was, then a `--persistence.recover` start that
//! reports exactly what it lost and serves every record before the damage;
//! or a plain start (a torn last write, files that hold nothing).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

const SECTOR: usize = 512;
const JOBS: usize = 6;

fn file_arg(file: &Path) -> String {
    format!("--persistence.file={}", file.display())
}

fn jobs(range: impl IntoIterator<Item = usize>) -> Vec<String> {
    range.into_iter().map(|i| format!("j{i}")).collect()
}

/// Where the records were written.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// kill -9: the log segment, with its zero tail.
    Log,
    /// SIGTERM: the snapshot.
    Snapshot,
}

/// `j0` small, `j1`..`j5` of 100 series each, so that their records span
/// several sectors. With `--persistence.interval=1h`, nothing is compacted
/// before the kill.
fn write_store(file: &Path, source: Source) {
    let mut g = Pgw::start(&[&file_arg(file), "--persistence.interval=1h"]);
    for i in 0..JOBS {
        let body: String = if i == 0 {
            "x 1\n".into()
        } else {
            (0..100)
                .map(|n| format!("big{{n=\"{n}\"}} {i}\n"))
                .collect()
        };
        let r = put(&format!("{}/metrics/job/j{i}", g.url()), &body);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    match source {
        Source::Log => {
            g.proc.child.kill().unwrap();
            g.proc.child.wait().unwrap();
        }
        Source::Snapshot => g.terminate(),
    }
}

fn segments(file: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}.wal.", file.file_name().unwrap().to_str().unwrap());
    let mut v: Vec<PathBuf> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.strip_prefix(&prefix)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

/// Offsets of the frames after the 8-byte magic (24-byte headers whose
/// bytes 4..8 are the payload length), and where they end.
fn frames(bytes: &[u8]) -> (Vec<usize>, usize) {
    let mut at = 8;
    let mut offsets = Vec::new();
    while at + 24 <= bytes.len() && &bytes[at..at + 4] == b"PGWR" {
        offsets.push(at);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 24 + len;
    }
    (offsets, at)
}

/// Every file of the store but the lock (which holds the last starter's
/// process id), with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_str().unwrap().ends_with(".lock"))
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, fs::read(&p).unwrap())
        })
        .collect()
}

/// What a row expects.
enum Outcome {
    /// Refused naming the file, `at offset N` (when given) and the fault;
    /// then recovered with this report of what was lost, serving `kept`.
    Refuse {
        offset: Option<usize>,
        fault: &'static str,
        lost: &'static str,
        kept: Vec<String>,
    },
    /// Started at once, with this in the log, serving `kept`; the damaged
    /// file is gone when `removed`.
    Start {
        log: &'static str,
        kept: Vec<String>,
        removed: bool,
    },
}

struct Row {
    name: &'static str,
    source: Source,
    /// Damages the files; returns the damaged file and what the row expects.
    damage: fn(&Path) -> (PathBuf, Outcome),
}

/// Reads `path`, edits its bytes (given with its frame offsets and where
/// they end) and writes them back.
fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>, &[usize], usize)) {
    let mut bytes = fs::read(path).unwrap();
    let (offsets, end) = frames(&bytes);
    f(&mut bytes, &offsets, end);
    fs::write(path, bytes).unwrap();
}

fn last_segment(file: &Path) -> PathBuf {
    segments(file).pop().expect("a log segment")
}

fn next_segment(file: &Path) -> PathBuf {
    let last = last_segment(file);
    let name = last.file_name().unwrap().to_str().unwrap();
    let (stem, number) = name.rsplit_once('.').unwrap();
    let next: u64 = number.parse::<u64>().unwrap() + 1;
    last.with_file_name(format!("{stem}.{next:010}"))
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "a bit flipped in the last record of the log",
            source: Source::Log,
            damage: |file| {
                let seg = last_segment(file);
                let mut offset = 0;
                edit(&seg, |b, o, end| {
                    assert_eq!(o.len(), JOBS);
                    assert!(end < b.len(), "the segment keeps its zero tail");
                    offset = o[JOBS - 1];
                    b[offset + 200] ^= 0x10;
                });
                let outcome = Outcome::Refuse {
                    offset: Some(offset),
                    fault: "checksum mismatch",
                    lost: "1 record lost from the log",
                    kept: jobs(0..JOBS - 1),
                };
                (seg, outcome)
            },
        },
        Row {
            name: "a bit flipped in a middle record of the log",
            source: Source::Log,
            damage: |file| {
                let seg = last_segment(file);
                let mut offset = 0;
                edit(&seg, |b, o, _| {
                    offset = o[2];
                    b[offset + 200] ^= 0x10;
                });
                let outcome = Outcome::Refuse {
                    offset: Some(offset),
                    fault: "checksum mismatch), followed by valid records",
                    lost: "1 record lost from the log",
                    kept: jobs([0, 1, 3, 4, 5]),
                };
                (seg, outcome)
            },
        },
        Row {
            name: "a pre-extended log segment truncated to a few hundred bytes",
            source: Source::Log,
            damage: |file| {
                let seg = last_segment(file);
                let mut offset = 0;
                edit(&seg, |b, o, _| {
                    offset = o[1];
                    b.truncate(o[1] + 300);
                });
                let outcome = Outcome::Refuse {
                    offset: Some(offset),
                    fault: "truncated",
                    lost: "an unknown number of records lost",
                    kept: jobs(0..1),
                };
                (seg, outcome)
            },
        },
        Row {
            name: "the last write of the log cut short, zeros after it (a torn write)",
            source: Source::Log,
            damage: |file| {
                let seg = last_segment(file);
                edit(&seg, |b, o, end| {
                    let cut = o[JOBS - 1].div_ceil(SECTOR) * SECTOR + SECTOR;
                    assert!(cut < end);
                    b[cut..end].fill(0);
                });
                let outcome = Outcome::Start {
                    log: "dropped the last write of the log: it was cut short (a crash during \
                          it); it was never acknowledged",
                    kept: jobs(0..JOBS - 1),
                    removed: false,
                };
                (seg, outcome)
            },
        },
        Row {
            name: "an empty log segment after the last one",
            source: Source::Log,
            damage: |file| {
                let seg = next_segment(file);
                fs::write(&seg, b"").unwrap();
                let outcome = Outcome::Start {
                    log: "removed a log segment that holds nothing",
                    kept: jobs(0..JOBS),
                    removed: true,
                };
                (seg, outcome)
            },
        },
        Row {
            name: "a log segment of zeros after the last one",
            source: Source::Log,
            damage: |file| {
                let seg = next_segment(file);
                fs::write(&seg, [0u8; 4096]).unwrap();
                let outcome = Outcome::Start {
                    log: "removed a log segment that holds nothing",
                    kept: jobs(0..JOBS),
                    removed: true,
                };
                (seg, outcome)
            },
        },
        Row {
            name: "a half-written spare segment",
            source: Source::Log,
            damage: |file| {
                let spare = file.with_file_name("store.wal.spare");
                let mut bytes = b"PGWLOG01".to_vec();
                bytes.resize(3000, 0);
                fs::write(&spare, bytes).unwrap();
                let outcome = Outcome::Start {
                    log: "removed the spare log segment of an earlier run",
                    kept: jobs(0..JOBS),
                    removed: false,
                };
                (spare, outcome)
            },
        },
        Row {
            name: "a bit flipped in the last group of the snapshot",
            source: Source::Snapshot,
            damage: |file| {
                let mut offset = 0;
                edit(file, |b, o, end| {
                    // The header, a group each, the end record.
                    assert_eq!(o.len(), JOBS + 2);
                    assert_eq!(end, b.len());
                    offset = o[JOBS];
                    b[offset + 40] ^= 0x10;
                });
                let outcome = Outcome::Refuse {
                    offset: Some(offset),
                    fault: "checksum mismatch",
                    lost: "1 group lost from the snapshot",
                    kept: jobs(0..JOBS - 1),
                };
                (file.to_path_buf(), outcome)
            },
        },
        Row {
            name: "a snapshot truncated to a few hundred bytes",
            source: Source::Snapshot,
            damage: |file| {
                let mut offset = 0;
                edit(file, |b, o, _| {
                    offset = o[2];
                    b.truncate(o[2] + 40);
                    assert!(b.len() < 1000, "{}", b.len());
                });
                let outcome = Outcome::Refuse {
                    offset: Some(offset),
                    fault: "truncated",
                    lost: "5 groups lost from the snapshot",
                    kept: jobs(0..1),
                };
                (file.to_path_buf(), outcome)
            },
        },
        Row {
            name: "an empty snapshot",
            source: Source::Snapshot,
            damage: |file| {
                fs::write(file, b"").unwrap();
                let outcome = Outcome::Refuse {
                    offset: None,
                    fault: "the file is empty",
                    lost: "an unknown number of records lost",
                    kept: vec![],
                };
                (file.to_path_buf(), outcome)
            },
        },
        Row {
            name: "a snapshot of zeros",
            source: Source::Snapshot,
            damage: |file| {
                fs::write(file, [0u8; 4096]).unwrap();
                let outcome = Outcome::Refuse {
                    offset: None,
                    fault: "not a file pgw wrote",
                    lost: "an unknown number of records lost",
                    kept: vec![],
                };
                (file.to_path_buf(), outcome)
            },
        },
    ]
}

#[test]
fn each_damaged_file_is_refused_or_recovered_as_its_row_says() {
    for row in rows() {
        let dir = TempDir::new("damage");
        let file = dir.path().join("store");
        write_store(&file, row.source);
        let (damaged, outcome) = (row.damage)(&file);
        let name = row.name;
        match outcome {
            Outcome::Refuse {
                offset,
                fault,
                lost,
                kept,
            } => {
                let before = contents(dir.path());
                let bytes = fs::read(&damaged).unwrap();
                let stderr = refused_start(&[&file_arg(&file)]);
                let at = offset.map(|o| format!("at offset {o} of {}", damaged.display()));
                assert!(
                    stderr.contains(&damaged.display().to_string())
                        && at.is_none_or(|at| stderr.contains(&at))
                        && stderr.contains(fault)
                        && stderr.contains("refusing to start")
                        && stderr.contains("--persistence.recover keeps every valid record"),
                    "{name}: {stderr}"
                );
                assert!(!stderr.contains("cut short"), "{name}: {stderr}");
                assert_eq!(contents(dir.path()), before, "{name}: a file was changed");

                let g = Pgw::start(&[&file_arg(&file), "--persistence.recover"]);
                let log = g.proc.log();
                assert!(
                    log.contains(&format!("kept {} groups, {lost}", kept.len())),
                    "{name}: {log}"
                );
                assert_eq!(g.jobs(), kept, "{name}");
                let aside: Vec<PathBuf> = fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.to_str().unwrap().contains(".damaged-"))
                    .collect();
                assert_eq!(aside.len(), 1, "{name}: {aside:?}");
                assert_eq!(fs::read(&aside[0]).unwrap(), bytes, "{name}");
                drop(g);
                // What was kept is on disk again: a plain start works.
                let g = Pgw::start(&[&file_arg(&file)]);
                assert_eq!(g.jobs(), kept, "{name}: after the recovery");
            }
            Outcome::Start { log, kept, removed } => {
                let g = Pgw::start(&[&file_arg(&file)]);
                let got = g.proc.log();
                assert!(got.contains(log), "{name}: {got}");
                assert!(!got.contains("damaged"), "{name}: {got}");
                assert_eq!(g.jobs(), kept, "{name}");
                if removed {
                    assert!(!damaged.exists(), "{name}: {damaged:?} is still there");
                }
            }
        }
    }
}
