//! Gateway and exporter URLs as people type and paste them, and the input
//! that must never be dropped without a word: the scrape URL or a curl push
//! URL given as the gateway, `https://` to a plain server, Prometheus and
//! node_exporter where a gateway was meant, `--from host:port`, filters that
//! leave nothing, stdin next to metric arguments, several gateways for one
//! push or delete, and `PGW_GATEWAY` set but empty. Every case runs the real
//! binary against real servers: `pgw serve`, the official Pushgateway,
//! Prometheus and node_exporter.

use std::collections::BTreeMap;

use crate::util::*;

/// The pushed value of `name` in the group `key` at a gateway.
fn pushed(url: &str, name: &str, key: &[(&str, &str)]) -> Option<String> {
    let want: BTreeMap<String, String> = key
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    scrape_pushed(&format!("{url}/metrics"))
        .into_iter()
        .find_map(|(n, labels, value)| {
            let labels: BTreeMap<String, String> =
                labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            (n == name && labels == want).then_some(value)
        })
}

/// A port that nobody listens on: a gateway that is down.
fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

#[test]
fn the_scrape_url_as_gateway_is_its_base_with_a_note() {
    let g = Pgw::start(&[]);
    let url = g.url();
    let scrape = format!("{url}/metrics");
    let run = expect(0, &["push", "-g", &scrape, "-j", "x", "a=1"]);
    assert!(
        run.stderr.contains(&format!(
            "pgw: note: --gateway {scrape}: /metrics is where the gateway is scraped, not part \
             of its URL; pushing to {url}"
        )),
        "{run:#?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "said once: {run:#?}");
    assert_eq!(pushed(&url, "a", &[("job", "x")]).as_deref(), Some("1"));
    // The same for the commands that read a gateway.
    let run = expect(0, &["list", "-g", &format!("{scrape}/"), "-o", "json"]);
    assert!(run.stderr.contains("/metrics is where"), "{run:#?}");
}

#[test]
fn push_urls_from_curl_lines_name_the_group_losslessly() {
    let pgw = Pgw::start(&[]);
    let official = Official::start(&[]);
    for url in [pgw.url(), official.url()] {
        // As the first argument, the way curl takes its URL; `@base64`
        // values (`a/b`, and `=` for the empty value) as the gateway reads them.
        let push_url = format!("{url}/metrics/job/x/instance@base64/YS9i");
        expect(0, &["push", &push_url, "a=1"]);
        assert_eq!(
            pushed(&url, "a", &[("job", "x"), ("instance", "a/b")]).as_deref(),
            Some("1"),
            "{url}"
        );
        // As -g, with -j/-l that name the same group.
        let push_url = format!("{url}/metrics/job/y/dc/eu");
        expect(
            0,
            &["push", "-g", &push_url, "-j", "y", "-l", "dc=eu", "b=2"],
        );
        assert_eq!(
            pushed(&url, "b", &[("job", "y"), ("dc", "eu")]).as_deref(),
            Some("2")
        );
        // -j/-l that name another group: refused, nothing sent.
        let run = expect(2, &["push", "-g", &push_url, "-j", "y", "c=3"]);
        assert!(
            run.stderr.contains(
                "the push URL names the group {dc=\"eu\",job=\"y\"}, but -j/-l name {job=\"y\"}; \
                 name the group once"
            ),
            "{run:#?}"
        );
        assert_eq!(pushed(&url, "c", &[("job", "y")]), None);
        // A push path that names no group is bad input.
        let run = expect(
            3,
            &["push", &format!("{url}/metrics/job/x/instance"), "a=1"],
        );
        assert!(
            run.stderr
                .contains("the push URL's group: odd number of components"),
            "{run:#?}"
        );
    }
    // The commands that name groups with their own flags refuse one.
    let url = pgw.url();
    let with_url = format!("{url}/metrics/job/x");
    for args in [
        vec!["list", "-g", &with_url],
        vec!["delete", "-g", &with_url, "-j", "x"],
        vec!["wipe", "-g", &with_url, "--yes"],
    ] {
        let run = expect(2, &args);
        assert!(
            run.stderr.contains(&format!(
                "is the push URL of the group {{job=\"x\"}}; this command takes the gateway's \
                 URL, {url}"
            )),
            "{args:?}: {run:#?}"
        );
    }
}

#[test]
fn https_to_a_plain_gateway_says_use_http() {
    let g = Pgw::start(&[]);
    let https = g.url().replace("http://", "https://");
    for args in [
        vec!["push", "-g", &https, "-j", "x", "a=1"],
        vec!["list", "-g", &https],
    ] {
        let run = expect(4, &args);
        assert!(
            run.stderr.contains(&format!(
                "cannot reach the gateway at {https}: the server answered plain HTTP to a TLS \
                 handshake: use http://"
            )),
            "{run:#?}"
        );
        // Retrying cannot help, so there is no retry.
        assert!(!run.stderr.contains("gave up after"), "{run:#?}");
    }
    assert!(g.jobs().is_empty());
    let run = expect(2, &["push", "-g", ":9091", "-j", "x", "a=1"]);
    assert!(
        run.stderr.contains("--gateway \":9091\": no host"),
        "{run:#?}"
    );
}

#[test]
fn prometheus_is_not_taken_for_a_gateway() {
    let prometheus = Prometheus::start("", &[]);
    let url = format!("http://127.0.0.1:{}", prometheus.port);
    for (args, request) in [
        (
            vec!["push", "-g", &url, "-j", "x", "a=1"],
            "PUT /metrics/job/x",
        ),
        (vec!["list", "-g", &url], "GET /api/v1/metrics"),
        (vec!["delete", "-g", &url, "-j", "x"], "GET /api/v1/metrics"),
    ] {
        let run = expect(6, &args);
        assert!(
            run.stderr.contains(&format!(
                "{url} does not look like a Pushgateway: {request} was answered 404 Not Found \
                 (\"404 page not found\"); it is Prometheus "
            )),
            "{args:?}: {run:#?}"
        );
    }
}

#[test]
fn node_exporter_is_not_taken_for_a_gateway() {
    let exporter = NodeExporter::start();
    let url = format!("http://127.0.0.1:{}", exporter.port);
    // node_exporter answers its page, 200, to any request: a push used to
    // look like a success.
    for (args, request) in [
        (
            vec!["push", "-g", &url, "-j", "x", "a=1"],
            "PUT /metrics/job/x",
        ),
        (vec!["list", "-g", &url], "GET /api/v1/metrics"),
        (vec!["delete", "-g", &url, "-j", "x"], "GET /api/v1/metrics"),
    ] {
        let run = expect(6, &args);
        assert!(
            run.stderr.contains(&format!(
                "{url} does not look like a Pushgateway: {request} was answered 200 OK with an \
                 HTML page titled \"Node Exporter\""
            )),
            "{args:?}: {run:#?}"
        );
    }
}

#[test]
fn relay_from_host_and_port_scrapes_metrics_and_names_an_html_answer() {
    let exporter = NodeExporter::start();
    let g = Pgw::start(&[]);
    let url = g.url();
    let from = format!("127.0.0.1:{}", exporter.port);
    let run = expect(
        0,
        &[
            "relay",
            "--from",
            &from,
            "-j",
            "node",
            "--instance",
            "vm",
            "-g",
            &url,
        ],
    );
    assert!(run.stderr.is_empty(), "{run:#?}");
    let relayed = scrape_pushed(&format!("{url}/metrics"));
    assert!(
        relayed
            .iter()
            .any(|(n, labels, _)| n == "node_exporter_build_info"
                && labels.contains(&("job".to_string(), "node".to_string()))),
        "the exporter's metrics were relayed: {relayed:?}"
    );
    // A path that is not the metrics: the exporter's page, said as such.
    let page = format!("{from}/x");
    let run = expect(9, &["relay", "--from", &page, "-j", "node", "-g", &url]);
    assert!(
        run.stderr.contains(&format!(
            "the exporter at http://{page} answered an HTML page (\"Node Exporter\"), not \
             metrics: is the path right (/metrics)?"
        )),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("invalid metric name"), "{run:#?}");
}

#[test]
fn relay_warns_when_the_filters_leave_nothing() {
    let exporter = NodeExporter::start();
    let g = Pgw::start(&[]);
    let url = g.url();
    let from = format!("http://127.0.0.1:{}/metrics", exporter.port);
    let run = expect(
        0,
        &[
            "relay",
            "--from",
            &from,
            "-j",
            "node",
            "-g",
            &url,
            "--keep",
            "^node_load",
        ],
    );
    assert!(
        run.stderr.contains("level=warn")
            && run.stderr.contains("left none of the exporter's families")
            && run.stderr.contains("anchored, as in Prometheus")
            && run.stderr.contains(r#"filters="--keep \"^node_load\"""#),
        "{run:#?}"
    );
    // The prefix written as the anchoring wants it: no warning, families relayed.
    let run = expect(
        0,
        &[
            "relay",
            "--from",
            &from,
            "-j",
            "node",
            "-g",
            &url,
            "--keep",
            "node_load.*",
        ],
    );
    assert!(run.stderr.is_empty(), "{run:#?}");
    assert!(scrape_pushed(&format!("{url}/metrics"))
        .iter()
        .any(|(n, _, _)| n == "node_load1"));
}

#[test]
fn stdin_next_to_metric_arguments_is_refused_not_dropped() {
    let g = Pgw::start(&[]);
    let url = g.url();
    let args = ["push", "-g", &url, "-j", "mix", "a=1"];
    let run = run_pgw(&args, Input::Pipe("c 3\n"), &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains(
            "stdin has data, but the metrics come from arguments or -f, and then stdin is not \
             read: add -f - to push it too, or give it </dev/null"
        ),
        "{run:#?}"
    );
    assert!(g.jobs().is_empty(), "nothing was sent");
    // Stdin redirected from a file with data: the same.
    let dir = TempDir::new("urls-stdin");
    let file = dir.path().join("in.prom");
    std::fs::write(&file, "c 3\n").unwrap();
    let run = run_pgw(&args, Input::File(&file), &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(g.jobs().is_empty(), "nothing was sent");
    // With -f -, both go.
    let mut both = args.to_vec();
    both.extend(["-f", "-"]);
    let run = run_pgw(&both, Input::Pipe("c 3\n"), &[]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(pushed(&url, "a", &[("job", "mix")]).as_deref(), Some("1"));
    assert_eq!(pushed(&url, "c", &[("job", "mix")]).as_deref(), Some("3"));
    // Cron's empty stdin, an empty pipe and an empty file change nothing.
    expect(0, &args);
    assert_eq!(run_pgw(&args, Input::Pipe(""), &[]).code, 0);
    std::fs::write(&file, "").unwrap();
    assert_eq!(run_pgw(&args, Input::File(&file), &[]).code, 0);
}

#[test]
fn a_default_replace_says_on_a_terminal_which_families_it_removed() {
    require("script");
    let g = Pgw::start(&[]);
    let url = g.url();
    expect(0, &["push", "-g", &url, "-j", "r", "a=1", "b=2"]);
    let on_terminal = |args: &str| {
        let command = format!("{} push -g {url} -j r {args}", env!("CARGO_BIN_EXE_pgw"));
        let (code, screen) = on_pty(&command, None);
        assert_eq!(code, 0, "{screen}");
        screen
    };
    let screen = on_terminal("a=3");
    assert!(
        screen.contains(
            "pgw: note: the push replaced the group {job=\"r\"} (PUT), which no longer has b; \
             --add (POST) keeps a group's other families"
        ),
        "{screen}"
    );
    assert_eq!(pushed(&url, "b", &[("job", "r")]), None);
    // --replace says the user means it; --add keeps the others.
    expect(0, &["push", "-g", &url, "-j", "r", "a=1", "b=2"]);
    assert!(!on_terminal("--replace a=3").contains("note"));
    expect(0, &["push", "-g", &url, "-j", "r", "b=2"]);
    assert!(!on_terminal("--add a=4").contains("note"));
    assert_eq!(pushed(&url, "b", &[("job", "r")]).as_deref(), Some("2"));
}

#[test]
fn push_and_delete_reach_every_gateway() {
    let pgw = Pgw::start(&[]);
    let official = Official::start(&[]);
    let (a, b) = (pgw.url(), official.url());
    // -g repeated, and PGW_GATEWAY with a comma.
    expect(0, &["push", "-g", &a, "-g", &b, "-j", "ha", "x=1"]);
    let list = format!("{a},{b}");
    expect_env(0, &["push", "-j", "ha2", "y=2"], &[("PGW_GATEWAY", &list)]);
    expect_env(
        0,
        &["push", "-j", "ha3", "--", "true"],
        &[("PGW_GATEWAY", &list)],
    );
    for url in [&a, &b] {
        assert_eq!(pushed(url, "x", &[("job", "ha")]).as_deref(), Some("1"));
        assert_eq!(pushed(url, "y", &[("job", "ha2")]).as_deref(), Some("2"));
        assert_eq!(
            pushed(url, "pgw_job_exit_code", &[("job", "ha3")]).as_deref(),
            Some("0")
        );
    }
    let run = expect_env(0, &["delete", "-j", "ha"], &[("PGW_GATEWAY", &list)]);
    assert!(
        run.stderr.contains(&format!("deleted 1 group at {a}"))
            && run.stderr.contains(&format!("deleted 1 group at {b}")),
        "{run:#?}"
    );
    for url in [&a, &b] {
        assert_eq!(pushed(url, "x", &[("job", "ha")]), None);
    }
    // list and wipe read one gateway.
    let run = expect_env(2, &["list"], &[("PGW_GATEWAY", &list)]);
    assert!(run.stderr.contains("2 gateways are given"), "{run:#?}");
}

#[test]
fn a_failed_gateway_is_named_and_the_worst_failure_is_the_exit_code() {
    let g = Pgw::start(&[]);
    let good = g.url();
    let down = closed_port_url();
    let run = expect(
        4,
        &[
            "push",
            "-g",
            &down,
            "-g",
            &good,
            "-j",
            "one",
            "--retries",
            "0",
            "x=1",
        ],
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!("pgw: {down}: error: cannot push to group {{job=\"one\"}}: cannot reach the gateway at {down}")),
        "{run:#?}"
    );
    assert_eq!(lines[1], format!("pgw: {good}: ok"), "{run:#?}");
    assert_eq!(
        lines[2],
        format!("pgw: error: 1 of 2 gateways failed: {down}"),
        "{run:#?}"
    );
    // The gateway that is up got the push all the same.
    assert_eq!(pushed(&good, "x", &[("job", "one")]).as_deref(), Some("1"));
    // A refusal (6) outranks an unreachable gateway (4), whatever the order.
    let prometheus = Prometheus::start("", &[]);
    let refusing = format!("http://127.0.0.1:{}", prometheus.port);
    for gateways in [[&down, &refusing], [&refusing, &down]] {
        let run = expect(
            6,
            &[
                "push",
                "-g",
                gateways[0],
                "-g",
                gateways[1],
                "-j",
                "one",
                "--retries",
                "0",
                "x=1",
            ],
        );
        assert!(run.stderr.contains("2 of 2 gateways failed"), "{run:#?}");
    }
    // delete the same way: the live gateway's group is gone, exit 4.
    let run = expect(
        4,
        &[
            "delete",
            "-g",
            &good,
            "-g",
            &down,
            "--retries",
            "0",
            "-j",
            "one",
        ],
    );
    assert!(
        run.stderr.contains(&format!("pgw: {good}: ok"))
            && run.stderr.contains(&format!("pgw: {down}: error: "))
            && run
                .stderr
                .contains(&format!("1 of 2 gateways failed: {down}")),
        "{run:#?}"
    );
    assert_eq!(pushed(&good, "x", &[("job", "one")]), None);
}

#[test]
fn an_empty_pgw_gateway_is_unset() {
    let env = [("PGW_GATEWAY", "")];
    // The default gateway, not "no host": the dry run shows the body.
    let run = expect_env(0, &["push", "--dry-run", "-j", "x", "a=1"], &env);
    assert_eq!(run.stdout, "# TYPE a untyped\na 1\n");
    // -g "" typed on the command line stays a mistake.
    let run = expect(2, &["push", "-g", "", "-j", "x", "a=1"]);
    assert!(run.stderr.contains("no host"), "{run:#?}");
}

#[test]
fn usage_does_not_show_the_gateway_as_required_and_help_says_put() {
    let run = expect_env(0, &["push", "--help"], &[("PGW_GATEWAY", "http://gw:9091")]);
    let usage = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap();
    assert_eq!(
        usage,
        "Usage: pgw push [OPTIONS] [METRIC]... [-- <COMMAND>...]"
    );
    assert!(
        run.stdout
            .starts_with("Push metrics to a gateway; replaces the group (PUT) unless --add (POST"),
        "{}",
        run.stdout
    );
    for cmd in ["list", "delete", "wipe", "relay"] {
        let run = expect_env(0, &[cmd, "--help"], &[("PGW_GATEWAY", "http://gw:9091")]);
        let usage = run
            .stdout
            .lines()
            .find(|l| l.starts_with("Usage:"))
            .unwrap();
        assert!(!usage.contains("--gateway"), "{cmd}: {usage}");
    }
    // The hidden generate is in no completion file.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("generate"), "{}", path.display());
    }
}
