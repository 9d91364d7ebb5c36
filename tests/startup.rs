//! What `pgw serve` says when it starts and stops around its persistence
//! file: the official Pushgateway's file is named as such with the way to
//! import it, a missing directory is named, a file another program put at
//! the snapshot path is never overwritten, and every start says where the
//! store lives and whether groups expire.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::util::*;

fn file_arg(file: &Path) -> String {
    format!("--persistence.file={}", file.display())
}

/// A persistence file written by the official Pushgateway at its shutdown,
/// holding one group.
fn official_file(file: &Path) -> Vec<u8> {
    let mut official = Official::start(&[&file_arg(file)]);
    let r = put(&format!("{}/metrics/job/o", official.url()), "x 1\n");
    assert_eq!(r.status, 200, "{}", r.text());
    official.proc.terminate();
    fs::read(file).expect("the official server wrote its file")
}

#[test]
fn the_official_pushgateways_file_is_named_with_the_way_to_import_it() {
    let dir = TempDir::new("startup-official");
    let file = dir.path().join("pushgateway.data");
    let original = official_file(&file);
    for extra in [None, Some("--persistence.recover")] {
        let mut args = vec![file_arg(&file)];
        args.extend(extra.map(str::to_string));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = refused_start(&args);
        assert!(
            stderr.contains(&format!(
                "{} is the official Pushgateway's persistence file",
                file.display()
            )) && stderr.contains(&format!(
                "import it with --persistence.import={}",
                file.display()
            )) && stderr.contains("a new --persistence.file"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("damaged") && !stderr.contains("refusing to start"),
            "{args:?}: {stderr}"
        );
        assert_eq!(fs::read(&file).unwrap(), original, "{args:?}");
        let moved: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".damaged-"))
            .collect();
        assert!(moved.is_empty(), "{args:?}: {moved:?}");
    }
}

#[test]
fn a_missing_store_directory_is_named() {
    let dir = TempDir::new("startup-nodir");
    let missing = dir.path().join("no").join("such");
    let file = missing.join("store");
    let stderr = refused_start(&[&file_arg(&file)]);
    assert!(
        stderr.contains(&format!("{}, does not exist", missing.display()))
            && stderr.contains(&file.display().to_string()),
        "{stderr}"
    );
    assert!(!stderr.contains("lock file"), "{stderr}");
    assert!(!missing.exists(), "pgw must not create the directory");

    // A plain file where the directory should be.
    let plain = dir.path().join("plain");
    fs::write(&plain, b"x").unwrap();
    let stderr = refused_start(&[&file_arg(&plain.join("store"))]);
    assert!(
        stderr.contains(&format!("{}, is not a directory", plain.display())),
        "{stderr}"
    );
}

#[test]
fn a_file_another_program_puts_at_the_snapshot_path_survives_shutdown() {
    let dir = TempDir::new("startup-foreign");
    let file = dir.path().join("store");
    let aside = dir.path().join("store.pgw-snapshot");
    let mut g = Pgw::start(&[&file_arg(&file)]);
    let r = put(&format!("{}/metrics/job/kept", g.url()), "kept_total 7\n");
    assert_eq!(r.status, 200, "{}", r.text());
    // Another program takes the path while pgw runs.
    let foreign = b"written by another program\n".to_vec();
    fs::write(&file, &foreign).unwrap();
    g.proc.signal("TERM");
    let exit = g.proc.wait_exit(Duration::from_secs(20));
    let log = g.proc.log();
    assert!(
        exit.is_some_and(|s| !s.success()),
        "a store that could not be saved at its path is a failed stop: {exit:?}\n{log}"
    );
    assert_eq!(fs::read(&file).unwrap(), foreign, "{log}");
    assert!(
        log.contains(&format!("{} is no longer pgw's snapshot", file.display()))
            && log.contains(&format!(
                "wrote the snapshot to {} instead",
                aside.display()
            )),
        "{log}"
    );
    assert!(fs::read(&aside).unwrap().starts_with(b"PGWSNAP2"));
    drop(g);

    // The next start is refused, and points at the saved snapshot rather
    // than at --persistence.recover.
    let stderr = refused_start(&[&file_arg(&file)]);
    assert!(
        stderr.contains(&format!("pgw's last snapshot is in {}", aside.display()))
            && !stderr.contains("refusing to start"),
        "{stderr}"
    );
    assert_eq!(fs::read(&file).unwrap(), foreign);

    // Following the advice brings the store back whole.
    fs::rename(&file, dir.path().join("foreign")).unwrap();
    fs::rename(&aside, &file).unwrap();
    let g = Pgw::start(&[&file_arg(&file)]);
    assert_eq!(g.jobs(), ["kept"]);
    assert_eq!(
        fs::read(dir.path().join("foreign")).unwrap(),
        foreign,
        "the other program's file is untouched"
    );
}

#[test]
fn every_start_says_where_the_store_lives_and_whether_groups_expire() {
    let dir = TempDir::new("startup-log");
    let file = dir.path().join("store");
    let mut g = Pgw::start(&[&file_arg(&file), "--expire-after=90m"]);
    let log = g.proc.log();
    assert!(
        log.contains(&format!("msg=persistence file={}", file.display()))
            || log.contains(&format!("msg=\"persistence\" file={}", file.display())),
        "{log}"
    );
    assert!(
        log.contains("expire_after=1h 30m") || log.contains("expire_after=\"1h 30m\""),
        "{log}"
    );
    assert!(
        !log.contains("persistence off") && !log.contains("never expire"),
        "{log}"
    );
    g.terminate();

    let g = Pgw::start(&[]);
    let log = g.proc.log();
    assert!(
        log.contains("persistence off: the store lives in memory"),
        "{log}"
    );
    assert!(log.contains("groups never expire"), "{log}");
}
