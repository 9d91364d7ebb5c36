//! The safety of clean-ups, run as the real binary against `pgw serve` and
//! the official Pushgateway: selector typos are bad input and send nothing,
//! a selector label that no group has is named, `--fail-if-none` makes a
//! clean-up that matched nothing fail, a `pgw delete` of every group asks on
//! a terminal and needs `--yes` elsewhere, and `pgw wipe` says that the
//! admin API is off before it asks. Questions are answered through a real
//! pseudo-terminal (`script` from util-linux).
//!
//! The official server applies a DELETE after answering it, so a check that
//! something was deleted there polls the listing.

use crate::util::*;

/// Runs `pgw ARGS` on a pseudo-terminal, typing `answer`.
fn on_terminal(args: &[&str], answer: &str) -> (i32, String) {
    on_pty(&pgw_line(args), Some(answer))
}

/// The three groups every test starts from.
const GROUPS: [&[(&str, &str)]; 3] = [
    &[("job", "node"), ("instance", "vm")],
    &[("job", "node"), ("instance", "db")],
    &[("job", "backup")],
];

/// Pushes [`GROUPS`] to `url` and waits until the listing shows them.
fn push_groups(url: &str) {
    for path in [
        "/metrics/job/node/instance/vm",
        "/metrics/job/node/instance/db",
        "/metrics/job/backup",
    ] {
        let r = put(&format!("{url}{path}"), "a 1\n");
        assert!(r.status / 100 == 2, "PUT {path}: {} {}", r.status, r.text());
    }
    wait_groups(url, &GROUPS);
}

#[test]
fn selector_typos_are_bad_input_and_delete_nothing() {
    let typos = [
        (
            "job==node",
            "at column 4: `==` is not an operator: use `=` or `=~`",
        ),
        (
            "job=node instance=vm",
            "at column 10: a value with spaces must be quoted (job=\"node instance=vm\"); \
             separate matchers with `,` (job=node,instance=vm)",
        ),
    ];
    for (name, _guard, url) in both(&[]) {
        push_groups(&url);
        for (typo, why) in typos {
            for command in ["delete", "list"] {
                let run = expect(3, &[command, "-g", &url, "-s", typo]);
                assert!(
                    run.stderr.starts_with(&format!(
                        "pgw: error: -s/--selector: bad selector {typo:?} {why}"
                    )),
                    "{name}: {command} -s {typo:?}: {run:#?}"
                );
                assert_eq!(run.stdout, "", "{name}: {run:#?}");
            }
        }
        assert_eq!(groups_at(&url).len(), 3, "{name}: nothing was deleted");
    }
    // Refused before any request: a gateway nobody listens on would be
    // exit 4 if pgw had tried it.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    for (typo, _) in typos {
        expect(3, &["delete", "-g", &nobody, "-s", typo, "--retries", "0"]);
    }
}

#[test]
fn the_clean_up_api_names_the_selector_problem() {
    let g = Pgw::start(&[]);
    let url = g.url();
    push_groups(&url);
    for (query, words) in [
        (
            "match=job%3D%3Dnode",
            "match: bad selector \"job==node\" at column 4: `==` is not an operator",
        ),
        (
            "match=job%3Dnode%20instance%3Dvm",
            "match: bad selector \"job=node instance=vm\" at column 10: \
             a value with spaces must be quoted",
        ),
    ] {
        let r = delete(&format!("{url}/api/v1/groups?{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.text());
        let doc = r.json();
        assert_eq!(doc["status"], "error", "{doc}");
        let msg = doc["error"].as_str().unwrap();
        assert!(msg.starts_with(words), "{query}: {msg}");
    }
    assert_eq!(groups_at(&url).len(), 3, "nothing was deleted");
}

#[test]
fn a_label_no_group_has_is_named_and_fail_if_none_exits_8() {
    let warning = "pgw: warning: no group has a label \"jobb\"; the selector matches nothing\n";
    for (name, _guard, url) in both(&[]) {
        push_groups(&url);
        let run = expect(0, &["list", "-g", &url, "-s", "jobb=node"]);
        assert!(run.stderr.starts_with(warning), "{name}: {run:#?}");

        let run = expect(0, &["delete", "-g", &url, "-s", "jobb=node"]);
        assert!(run.stderr.starts_with(warning), "{name}: {run:#?}");
        assert!(
            run.stderr
                .contains("matches -s 'jobb=\"node\"'; nothing deleted"),
            "{name}: {run:#?}"
        );

        // The cron form: the typo fails the job.
        let run = expect(
            8,
            &["delete", "-g", &url, "-s", "jobb=node", "--fail-if-none"],
        );
        assert_eq!(
            run.stderr,
            format!(
                "{warning}pgw: error: no group at {url} matches -s 'jobb=\"node\"'; nothing deleted\n"
            ),
            "{name}"
        );

        // A matcher that holds without the label draws no warning.
        let run = expect(
            0,
            &["delete", "-g", &url, "-s", "job=backup,env=\"\"", "-n"],
        );
        assert!(!run.stderr.contains("warning"), "{name}: {run:#?}");
        assert!(
            run.stdout.starts_with("would delete {job=\"backup\"}"),
            "{name}: {run:#?}"
        );
        assert_eq!(groups_at(&url).len(), 3, "{name}: nothing was deleted");
    }
}

#[test]
fn a_delete_of_every_group_needs_yes_off_a_terminal() {
    for (name, _guard, url) in both(&[]) {
        push_groups(&url);
        for selection in [
            vec!["-s", "job=~.*"],
            vec!["-s", "job!=none"],
            // Every group is older than a millisecond by the time pgw runs.
            vec!["--stale", "1ms"],
        ] {
            let mut args = vec!["delete", "-g", &url];
            args.extend(&selection);
            let run = expect(2, &args);
            assert!(
                run.stderr.starts_with("pgw: error: ")
                    && run.stderr.contains(&format!(
                        "matches every group at {url} (3 groups): refusing to delete them all \
                         without confirmation: stdin is not a terminal, so pass --yes"
                    )),
                "{name}: {selection:?}: {run:#?}"
            );
            assert_eq!(run.stdout, "", "{name}: {run:#?}");
            assert_eq!(groups_at(&url).len(), 3, "{name}: nothing was deleted");
        }

        // A dry run does not ask, and says what it saw.
        let run = expect(0, &["delete", "-g", &url, "-s", "job=~.*", "--dry-run"]);
        assert_eq!(run.stdout.lines().count(), 3, "{name}: {run:#?}");
        assert!(
            run.stderr.contains("3 groups would be deleted at")
                && run.stderr.contains("every group there"),
            "{name}: {run:#?}"
        );

        // Some of the groups: no question, as before.
        let run = expect(0, &["delete", "-g", &url, "-s", "job=backup"]);
        assert!(
            run.stdout.starts_with("deleted {job=\"backup\"}"),
            "{name}: {run:#?}"
        );
        wait_groups(&url, &GROUPS[..2]);

        // Now the node groups are every group: --yes deletes them all.
        expect(2, &["delete", "-g", &url, "-s", "job=node"]);
        let run = expect(0, &["delete", "-g", &url, "-s", "job=node", "--yes"]);
        assert_eq!(
            run.stdout.matches("deleted {").count(),
            2,
            "{name}: {run:#?}"
        );
        assert!(
            run.stderr.contains(&format!("deleted 2 groups at {url}")),
            "{name}: {run:#?}"
        );
        wait_groups(&url, &[]);
    }
}

#[test]
fn a_delete_of_every_group_asks_on_a_terminal() {
    for (name, _guard, url) in both(&[]) {
        push_groups(&url);
        let args = ["delete", "-g", &url, "-s", "job=~.*"];
        let question =
            format!("-s 'job=~\".*\"' matches every group. Delete all 3 groups at {url}? [y/N]");
        let (code, screen) = on_terminal(&args, "n\n");
        assert_eq!(code, 1, "{name}: {screen}");
        assert!(screen.contains(&question), "{name}: {screen}");
        assert!(
            screen.contains("pgw: error: not confirmed; nothing was deleted"),
            "{name}: {screen}"
        );
        assert!(!screen.contains("deleted {"), "{name}: {screen}");
        assert_eq!(groups_at(&url).len(), 3, "{name}: nothing was deleted");

        let (code, screen) = on_terminal(&args, "y\n");
        assert_eq!(code, 0, "{name}: {screen}");
        assert!(screen.contains(&question), "{name}: {screen}");
        assert_eq!(screen.matches("deleted {").count(), 3, "{name}: {screen}");
        wait_groups(&url, &[]);
    }
}

#[test]
fn wipe_says_the_admin_api_is_off_before_asking() {
    for (name, _guard, url) in both(&[]) {
        push_groups(&url);
        let off = format!(
            "pgw: the admin API is off at {url} (its /api/v1/status has \
             web.enable-admin-api=false); the groups can go one by one instead (--per-group)"
        );
        let question = format!("Delete all 3 groups at {url} one by one? [y/N]");
        let (code, screen) = on_terminal(&["wipe", "-g", &url], "n\n");
        assert_eq!(code, 1, "{name}: {screen}");
        let (said, asked) = (screen.find(&off), screen.find(&question));
        assert!(
            said.is_some() && asked.is_some() && said < asked,
            "{name}: the admin API must be named before the question:\n{screen}"
        );
        assert!(screen.contains("nothing was deleted"), "{name}: {screen}");
        assert_eq!(groups_at(&url).len(), 3, "{name}: nothing was deleted");

        let (code, screen) = on_terminal(&["wipe", "-g", &url], "y\n");
        assert_eq!(code, 0, "{name}: {screen}");
        assert!(
            screen.contains(&format!("deleted 3 groups at {url}, one by one")),
            "{name}: {screen}"
        );
        wait_groups(&url, &[]);
    }
    // With the admin API on, the question is the plain one.
    for (name, _guard, url) in both(&["--web.enable-admin-api"]) {
        push_groups(&url);
        let (code, screen) = on_terminal(&["wipe", "-g", &url], "n\n");
        assert_eq!(code, 1, "{name}: {screen}");
        assert!(
            screen.contains(&format!("Delete all 3 groups at {url}? [y/N]"))
                && !screen.contains("admin API is off"),
            "{name}: {screen}"
        );
        assert_eq!(groups_at(&url).len(), 3, "{name}: nothing was deleted");
    }
}
