//! `pgw list` as people see it: on a real terminal (a tmux pane 80 and 120
//! columns wide, its screen read back with `capture-pane`) and into a pipe,
//! against a real `pgw serve` holding groups with long label values; the
//! natural, failed-first order; a partial key listing the groups it
//! selects; and a job wrapped by `pgw push --` that exited non-zero showing
//! as failed.
//!
//! Each tmux run has its own server socket, killed by a guard even when the
//! test fails; the command's end is known from a marker it prints, which the
//! test polls for.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::util::*;

/// Label values long enough to break a table that does not fit them.
const BRANCH: &str = "feature/very-long-branch-name-for-testing";
const INSTANCE: &str = "build-agent-eu-west-1.example.internal:9100";
/// Wider than any labels column at 80 columns: it must be cut with `…`.
const PATH: &str = "/var/lib/postgresql/backups/nightly/full/and/a/really/long/tail/to/go";

fn pgw_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pgw")
}

/// A pushed group with one metric, through `pgw push` (which encodes the
/// awkward values in the URL).
fn push(url: &str, job: &str, labels: &[(&str, &str)]) {
    let mut args = vec![
        "push".to_string(),
        "-g".into(),
        url.into(),
        "-j".into(),
        job.into(),
    ];
    for (n, v) in labels {
        args.push("-l".into());
        args.push(format!("{n}={v}"));
    }
    args.push("up=1".into());
    let out = pgw(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&out), 0, "push {args:?}: {out:?}");
}

/// A gateway with the long-labelled groups every terminal test lists.
fn gateway() -> Pgw {
    let g = Pgw::start(&[]);
    let url = g.url();
    push(&url, "ci", &[("branch", BRANCH), ("instance", INSTANCE)]);
    push(&url, "ci", &[("branch", "main"), ("instance", "web-2")]);
    push(&url, "backup", &[("instance", "db1"), ("path", PATH)]);
    push(&url, "web", &[("instance", "web-10")]);
    g
}

/// The labels of [`gateway`] as `name=value`, as the table writes them.
fn labels() -> Vec<String> {
    [
        ("branch", BRANCH),
        ("instance", INSTANCE),
        ("branch", "main"),
        ("instance", "web-2"),
        ("instance", "db1"),
        ("path", PATH),
        ("instance", "web-10"),
    ]
    .iter()
    .map(|(n, v)| format!("{n}={v}"))
    .collect()
}

/// A tmux server of its own, killed when the guard goes (its socket in a
/// private directory that goes with it).
struct Tmux {
    /// Removed after `drop` has killed the server.
    _dir: TempDir,
    socket: String,
    /// Runs so far, for a new session name each.
    runs: std::cell::Cell<usize>,
}

impl Tmux {
    fn new() -> Tmux {
        require("tmux");
        let dir = TempDir::new("tmux");
        Tmux {
            socket: dir.path().join("socket").display().to_string(),
            _dir: dir,
            runs: std::cell::Cell::new(0),
        }
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-S", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    /// What `pgw ARGS` leaves on a fresh pane `cols` wide, its lines as the
    /// terminal shows them (a line the terminal wrapped is joined again, so
    /// an over-long one shows), and its exit code.
    fn run(&self, cols: u16, args: &[&str]) -> (String, i32) {
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        // `cat` keeps the pane open for capture-pane once pgw is done; no
        // COLUMNS, so pgw asks the terminal its size.
        let command = format!(
            "env -u COLUMNS -u NO_COLOR {} {}; echo \"__DONE__ $?\"; exec cat",
            pgw_bin(),
            quoted.join(" ")
        );
        self.runs.set(self.runs.get() + 1);
        let session = format!("run-{}", self.runs.get());
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            &cols.to_string(),
            "-y",
            "60",
            &command,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        let screen = poll(Duration::from_secs(20), || {
            let out = self.tmux(&["capture-pane", "-p", "-J", "-t", &session]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.contains("__DONE__ ").then_some(text)
        })
        .unwrap_or_else(|| panic!("pgw {args:?} did not finish in tmux"));
        let (shown, rest) = screen.split_once("__DONE__ ").unwrap();
        let code: i32 = rest.split_whitespace().next().unwrap().parse().unwrap();
        let lines: Vec<&str> = shown.lines().map(str::trim_end).collect();
        (lines.join("\n").trim_end().to_string() + "\n", code)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Every line of `text` is at most `cols` characters.
fn assert_fits(text: &str, cols: usize, what: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= cols,
            "{what}: a line wider than {cols} columns:\n{line}\n\n{text}"
        );
    }
}

/// Every label is shown whole on one line, or cut with `…`, never broken
/// over lines; returns the labels that were cut.
fn assert_labels_whole(text: &str, labels: &[String], what: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut cut = Vec::new();
    for label in labels {
        let whole = words.iter().any(|w| w == label);
        let shortened = words
            .iter()
            .find(|w| w.ends_with('…') && label.starts_with(w.trim_end_matches('…')));
        assert!(
            whole || shortened.is_some(),
            "{what}: {label} is neither whole nor cut with …:\n{text}"
        );
        // The start of a value split over lines would be a word that is a
        // shorter prefix of the label, without the `…`.
        let (name, _) = label.split_once('=').unwrap();
        let broken = words.iter().find(|w| {
            w.len() < label.len()
                && w.len() > name.len() + 1
                && label.starts_with(**w)
                && !w.ends_with('…')
        });
        assert!(broken.is_none(), "{what}: {label} is broken:\n{text}");
        if !whole {
            cut.push(label.clone());
        }
    }
    cut
}

#[test]
fn list_fits_80_and_120_column_terminals_without_breaking_label_values() {
    let g = gateway();
    let url = g.url();
    let tmux = Tmux::new();
    for cols in [80u16, 120] {
        for wide in [false, true] {
            let mut args = vec!["list", "-g", &url];
            if wide {
                args.extend(["-o", "wide"]);
            }
            let what = format!("{cols} columns, {args:?}");
            let (screen, code) = tmux.run(cols, &args);
            assert_eq!(code, 0, "{what}:\n{screen}");
            assert_fits(&screen, cols.into(), &what);
            assert!(screen.starts_with("JOB "), "{what}:\n{screen}");
            for job in ["backup", "ci", "web"] {
                assert!(
                    screen.lines().any(|l| l.starts_with(&format!("{job} "))),
                    "{what}: no row for {job}:\n{screen}"
                );
            }
            let cut = assert_labels_whole(&screen, &labels(), &what);
            if cols == 80 {
                // Alone wider than the labels column at 80: cut, and the rest
                // of the value is nowhere on the screen.
                assert!(cut.contains(&format!("path={PATH}")), "{what}:\n{screen}");
                assert!(!screen.contains("tail/to/go"), "{what}:\n{screen}");
            }
            assert!(
                !screen.contains("ago\n ago") && screen.contains(" ago"),
                "{what}: ages are whole:\n{screen}"
            );
        }
    }
}

#[test]
fn list_of_one_group_fits_80_columns_and_shows_times_readably() {
    let g = Pgw::start(&[]);
    let url = g.url();
    let out = pgw(&["push", "-g", &url, "-j", "nightly", "--", "true"]);
    assert_eq!(code(&out), 0, "{out:?}");
    let tmux = Tmux::new();
    let (screen, code) = tmux.run(80, &["list", "-g", &url, "-j", "nightly", "-o", "wide"]);
    assert_eq!(code, 0, "{screen}");
    assert_fits(&screen, 80, "one group at 80 columns");
    for name in [
        "pgw_job_duration_seconds",
        "pgw_job_exit_code",
        "pgw_job_last_success_time_seconds",
        "pgw_job_start_time_seconds",
    ] {
        assert!(
            screen.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} is whole on its line:\n{screen}"
        );
    }
    let success = screen
        .lines()
        .find(|l| l.starts_with("pgw_job_last_success_time_seconds "))
        .unwrap();
    assert!(
        success.contains("Z (") && success.trim_end().ends_with(" ago)"),
        "a time and an age:\n{screen}"
    );
    assert!(!screen.contains("e+09"), "no raw floats:\n{screen}");
    // The raw value stays in JSON.
    let out = expect(0, &["list", "-g", &url, "-j", "nightly", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let family = doc["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "pgw_job_last_success_time_seconds")
        .unwrap();
    let raw: f64 = family["series"][0]["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(raw > 1.7e9, "{family}");
}

#[test]
fn list_into_a_pipe_has_one_line_per_group_and_no_trailing_spaces() {
    let g = gateway();
    let url = g.url();
    for args in [
        vec!["list", "-g", &url],
        vec!["list", "-g", &url, "-o", "wide"],
    ] {
        let mut cmd = Command::new(pgw_bin());
        // COLUMNS says nothing to a pipe.
        cmd.args(&args).env("COLUMNS", "80").env_remove("NO_COLOR");
        let out = cmd.output().unwrap();
        assert_eq!(code(&out), 0, "{out:?}");
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            1 + 4,
            "a header and one line per group:\n{text}"
        );
        assert!(text.ends_with('\n') && !text.contains('\x1b'), "{text:?}");
        for line in &lines {
            assert!(!line.ends_with(' '), "trailing blanks: {line:?}");
        }
        assert!(
            assert_labels_whole(&text, &labels(), "pipe").is_empty(),
            "{text}"
        );
        // Columns are aligned: every STATUS starts under its header.
        let at = lines[0].find("STATUS").unwrap();
        for line in &lines[1..] {
            assert!(line[at..].starts_with("ok"), "STATUS at {at}:\n{text}");
        }
    }
}

#[test]
fn list_sorts_failed_first_then_in_natural_order() {
    let g = Pgw::start(&[]);
    let url = g.url();
    for n in ["10", "2", "1", "9"] {
        push(&url, "web", &[("instance", &format!("web-{n}"))]);
    }
    push(&url, "app", &[]);
    let out = pgw(&[
        "push", "-g", &url, "-j", "zz-batch", "--", "sh", "-c", "exit 3",
    ]);
    assert_eq!(code(&out), 3, "{out:?}");
    let rows = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["list", "-g", &url];
        all.extend(args);
        let text = stdout(&expect(0, &all));
        text.lines()
            .skip(1)
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        rows(&[]),
        [
            "zz-batch -",
            "app -",
            "web instance=web-1",
            "web instance=web-2",
            "web instance=web-9",
            "web instance=web-10"
        ]
    );
    assert_eq!(
        rows(&["--sort", "labels"]),
        [
            "app -",
            "web instance=web-1",
            "web instance=web-2",
            "web instance=web-9",
            "web instance=web-10",
            "zz-batch -"
        ]
    );
    assert_eq!(rows(&["-r"])[0], "web instance=web-10");
}

#[test]
fn list_by_partial_key_lists_the_groups_it_selects_or_exits_8() {
    let g = Pgw::start(&[]);
    let url = g.url();
    push(&url, "backup", &[("instance", "db1"), ("path", "/var/a")]);
    push(&url, "backup", &[("instance", "db1"), ("path", "/var/b")]);
    push(&url, "backup", &[("instance", "db2")]);
    push(&url, "other", &[("instance", "db1")]);

    // No group is exactly {job=backup,instance=db1}: the two it selects.
    let out = expect(
        0,
        &["list", "-g", &url, "-j", "backup", "-l", "instance=db1"],
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].contains("instance=db1 path=/var/a"), "{text}");
    assert!(lines[2].contains("instance=db1 path=/var/b"), "{text}");
    assert!(
        stderr(&out).contains("no group is exactly {instance=\"db1\",job=\"backup\"}; 2 groups"),
        "{out:?}"
    );
    let out = expect(
        0,
        &["list", "-g", &url, "job=backup,instance=db1", "-o", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["groups"].as_array().unwrap().len(), 2, "{doc}");

    // A key that is one group exactly shows that group's metrics.
    let text = stdout(&expect(
        0,
        &["list", "-g", &url, "-j", "backup", "-l", "instance=db2"],
    ));
    assert!(
        text.starts_with("{instance=\"db2\",job=\"backup\"}  1 metric"),
        "{text}"
    );
    // --metrics wants one group.
    let out = expect(
        3,
        &[
            "list",
            "-g",
            &url,
            "--metrics",
            "-j",
            "backup",
            "-l",
            "instance=db1",
        ],
    );
    assert!(stderr(&out).contains("2 match"), "{out:?}");
    let text = stdout(&expect(
        0,
        &[
            "list",
            "-g",
            &url,
            "--metrics",
            "-j",
            "backup",
            "-l",
            "path=/var/b",
        ],
    ));
    assert!(
        text.contains("path=\"/var/b\"") && text.contains("up"),
        "{text}"
    );

    // Nothing selected: exit 8, and the message says what was looked for.
    let out = expect(
        8,
        &["list", "-g", &url, "-j", "backup", "-l", "instance=db3"],
    );
    assert!(
        stderr(&out).contains("no group at") && stderr(&out).contains("instance=\"db3\""),
        "{out:?}"
    );
    expect(8, &["list", "-g", &url, "-j", "nope"]);
}

#[test]
fn a_wrapped_job_that_exits_2_shows_as_failed_and_is_selected_by_failed() {
    let g = Pgw::start(&[]);
    let url = g.url();
    let out = pgw(&["push", "-g", &url, "-j", "x", "--", "sh", "-c", "exit 2"]);
    assert_eq!(code(&out), 2, "the job's exit code: {out:?}");
    let out = pgw(&["push", "-g", &url, "-j", "y", "--", "true"]);
    assert_eq!(code(&out), 0, "{out:?}");

    let text = stdout(&expect(0, &["list", "-g", &url]));
    let row = |job: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{job} ")))
            .unwrap_or_else(|| panic!("no {job}:\n{text}"))
            .to_string()
    };
    assert!(row("x").ends_with("exit 2"), "{text}");
    assert!(row("y").ends_with("ok"), "{text}");
    assert!(
        text.lines().nth(1).unwrap().starts_with("x "),
        "failed first:\n{text}"
    );

    let out = expect(0, &["list", "-g", &url, "--failed", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{doc}");
    assert_eq!(groups[0]["labels"]["job"], "x");
    assert_eq!(groups[0]["status"], "exit 2");
    assert_eq!(groups[0]["job_exit_code"], 2);
    assert_eq!(
        groups[0]["last_push_ok"], true,
        "the push itself went through"
    );
    assert_eq!(groups[0]["job_last_success_unix"], serde_json::Value::Null);

    // The wide view says when each last succeeded.
    let wide = stdout(&expect(0, &["list", "-g", &url, "-o", "wide"]));
    let header = wide.lines().next().unwrap();
    let at = header
        .find("LAST SUCCESS")
        .unwrap_or_else(|| panic!("{wide}"));
    let success = |job: &str| {
        let line = wide
            .lines()
            .find(|l| l.starts_with(&format!("{job} ")))
            .unwrap();
        line[at..].split("  ").next().unwrap().to_string()
    };
    assert_eq!(success("x"), "never", "{wide}");
    assert!(success("y").ends_with(" ago"), "{wide}");
}
