//! The web page in a real headless Chromium (tests/browser/ui_check.py, with
//! Selenium and the Debian chromedriver): load it, filter, open a group,
//! delete one, read the status view; then check the store through the API.
//! Screenshots are saved under the target directory and their paths printed.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;

use crate::util::*;

fn require_browser() {
    require("chromium");
    require("chromedriver");
    let ok = Command::new("python3")
        .args(["-c", "import selenium"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 cannot import selenium: run .ci/install-deps.sh"
    );
}

fn screenshot_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_browser(args: &[&str]) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/ui_check.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "ui_check.py {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ui_check.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn is_png(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 1000)
}

#[test]
fn operator_filters_opens_and_deletes_groups_in_a_real_browser() {
    require_browser();
    let g = Pgw::start(&["--web.enable-admin-api", "--web.route-prefix=/gw"]);
    let base = format!("{}/gw", g.url());
    let push = |path: &str, body: &str, headers: &[(&str, &str)]| {
        let r = request(
            "PUT",
            &format!("{base}/metrics{path}"),
            headers,
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    };
    push(
        "/job/web/instance/web-1",
        "# TYPE requests_total counter\nrequests_total 1\n",
        &[("Pgw-Expire-After", "1h")],
    );
    push(
        "/job/web/instance/web-2",
        "# HELP requests_total Requests.\n# TYPE requests_total counter\nrequests_total{code=\"200\"} 7\n",
        &[],
    );
    push("/job/db/instance/db-1", "queries_total 3\n", &[]);
    // A label value with markup must show as text, not be interpreted.
    let markup = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("<i>x</i>");
    push(&format!("/job/odd/note@base64/{markup}"), "x 1\n", &[]);
    // A refused push marks web-1 as failed.
    let r = put(
        &format!("{base}/metrics/job/web/instance/web-1"),
        "a 1\na 1\n",
    );
    assert_eq!(r.status, 400);

    let shots = screenshot_dir("ui-operator");
    let seen = run_browser(&["interact", &base, shots.to_str().unwrap()]);
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        strings(&seen["initial"]),
        [
            "job=\"db\" instance=\"db-1\"",
            "job=\"odd\" note=\"<i>x</i>\"",
            "job=\"web\" instance=\"web-1\"",
            "job=\"web\" instance=\"web-2\"",
        ],
        "{seen}"
    );
    assert_eq!(strings(&seen["failed"]), ["job=\"web\" instance=\"web-1\""]);
    assert!(seen["odd_label_text"]
        .as_str()
        .unwrap()
        .contains("<i>x</i>"));
    assert_eq!(seen["odd_has_markup"], false);
    let expires = &seen["expires"];
    // Only a group that can expire says when.
    assert_eq!(expires["job=\"db\" instance=\"db-1\""], "");
    let web1 = expires["job=\"web\" instance=\"web-1\""].as_str().unwrap();
    assert!(web1.starts_with("59m") || web1 == "1h 0m", "{web1}");
    assert_eq!(
        strings(&seen["selector_filter"]),
        [
            "job=\"web\" instance=\"web-1\"",
            "job=\"web\" instance=\"web-2\""
        ]
    );
    assert_eq!(
        strings(&seen["text_filter"]),
        ["job=\"db\" instance=\"db-1\""]
    );
    let opened = seen["opened_metrics"].as_str().unwrap();
    assert!(
        opened.contains("# TYPE requests_total counter")
            && opened.contains("requests_total{code=\"200\",instance=\"web-2\",job=\"web\"} 7"),
        "{opened}"
    );
    assert!(seen["confirm_text"].as_str().unwrap().contains("db-1"));
    assert_eq!(seen["delete_all_visible"], true);
    assert!(
        seen["status_pgw"].as_str().unwrap().contains("Groups 3"),
        "{seen}"
    );
    assert!(seen["status_flags"]
        .as_str()
        .unwrap()
        .contains("web.route-prefix /gw"));
    assert!(seen["status_build"].as_str().unwrap().contains("version"));
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");

    // The deletion really happened, and only that one.
    let api = get(&format!("{base}/api/v1/metrics")).json();
    let mut instances: Vec<String> = group_labels(&api)
        .into_iter()
        .map(|l| l.get("instance").cloned().unwrap_or_default())
        .collect();
    instances.sort();
    assert_eq!(instances, ["", "web-1", "web-2"]);

    for name in ["groups.png", "status.png"] {
        let path = shots.join(name);
        assert!(is_png(&path), "{} is not a screenshot", path.display());
        println!("screenshot: {}", path.display());
    }
}

/// `pgw push -g URL -j JOB -- sh -c SCRIPT`, a wrapped cron job.
fn wrapped_run(gateway: &str, job: &str, script: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args(["push", "-g", gateway, "-j", job, "--", "sh", "-c", script])
        .output()
        .expect("run pgw push");
    assert!(
        out.status.code().is_some(),
        "pgw push -- {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_page_sorts_failed_first_in_natural_order_and_keeps_its_view_in_the_url() {
    require_browser();
    let g = Pgw::start(&["--web.route-prefix=/gw"]);
    let base = format!("{}/gw", g.url());
    let push = |path: &str, body: &str, headers: &[(&str, &str)]| {
        let r = request(
            "PUT",
            &format!("{base}/metrics{path}"),
            headers,
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    };
    // Pushed out of order: the page sorts.
    for instance in ["web-10", "web-2", "web-1"] {
        push(&format!("/job/web/instance/{instance}"), "up 1\n", &[]);
    }
    push("/job/api", "up 1\n", &[("Pgw-Expire-After", "2h")]);
    push("/job/db/instance/db-1", "up 1\n", &[]);
    assert_eq!(
        put(
            &format!("{base}/metrics/job/db/instance/db-1"),
            "a 1\na 1\n"
        )
        .status,
        400
    );
    // A wrapped job that succeeded once and then exited 3, and one that
    // succeeded.
    wrapped_run(&base, "nightly", "true");
    wrapped_run(&base, "nightly", "exit 3");
    wrapped_run(&base, "backup", "true");

    let shots = screenshot_dir("ui-views");
    let seen = run_browser(&["views", &base, shots.to_str().unwrap()]);
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let db = "job=\"db\" instance=\"db-1\"";
    let nightly = "job=\"nightly\"";
    assert_eq!(
        strings(&seen["order"]),
        [
            db,
            nightly,
            "job=\"api\"",
            "job=\"backup\"",
            "job=\"web\" instance=\"web-1\"",
            "job=\"web\" instance=\"web-2\"",
            "job=\"web\" instance=\"web-10\"",
        ],
        "{seen}"
    );
    let status = &seen["status"];
    assert_eq!(status[db], "push failed", "{seen}");
    let night = status[nightly].as_str().unwrap();
    assert!(
        night.starts_with("exit 3") && night.contains("last success") && night.contains("s ago"),
        "{night}"
    );
    let backup = status["job=\"backup\""].as_str().unwrap();
    assert!(
        backup.starts_with("ok") && backup.contains("last success"),
        "{backup}"
    );
    assert_eq!(status["job=\"web\" instance=\"web-1\""], "ok");

    // Expiry only where it is set.
    assert_eq!(seen["expires_header_shown"], true);
    let api = seen["expires"]["job=\"api\""].as_str().unwrap();
    assert!(api.starts_with("1h 59m") || api == "2h 0m", "{api}");
    assert_eq!(seen["expires"][db], "");

    assert_eq!(
        strings(&seen["count_links"]),
        [
            "1 with a failed last push",
            "1 whose job last exited non-zero"
        ],
        "{seen}"
    );
    assert!(seen["failed_link_href"]
        .as_str()
        .unwrap()
        .ends_with("/gw/?failed=1"));

    assert_eq!(
        strings(&seen["url_filter_rows"]),
        [
            "job=\"web\" instance=\"web-1\"",
            "job=\"web\" instance=\"web-10\""
        ]
    );
    assert_eq!(seen["url_filter_box"], "instance=~\"web-1.*\"");

    assert!(seen["after_click_url"]
        .as_str()
        .unwrap()
        .ends_with("/gw/?failed=1"));
    assert_eq!(strings(&seen["after_click_rows"]), [db, nightly]);
    assert_eq!(seen["after_click_checkbox"], true);
    assert!(
        seen["after_reload_url"]
            .as_str()
            .unwrap()
            .ends_with("/gw/?q=nightly&failed=1"),
        "{seen}"
    );
    assert_eq!(strings(&seen["after_reload_rows"]), [nightly]);
    assert_eq!(seen["after_reload_checkbox"], true);

    // Limits in their units.
    let pgw = seen["status_pgw"].as_str().unwrap();
    assert!(pgw.contains("Limit max body size 64 MiB"), "{pgw}");
    assert!(!pgw.contains("67108864"), "{pgw}");
    let flags = seen["status_flags"].as_str().unwrap();
    assert!(
        flags.contains("push.max-body-size 67108864 (64 MiB)"),
        "{flags}"
    );
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");
    println!("screenshot: {}", shots.join("sorted.png").display());
}

#[test]
fn the_page_and_its_assets_are_embedded_and_follow_the_route_prefix() {
    let g = Pgw::start(&["--web.route-prefix=/gw"]);
    let page = get(&format!("{}/gw/", g.url()));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains(r#"content="/gw""#), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN: {html}"
    );
    for asset in ["app.js", "app.css"] {
        assert!(html.contains(&format!("/gw/static/{asset}?v=")));
        let r = get(&format!("{}/gw/static/{asset}", g.url()));
        assert_eq!(r.status, 200, "{asset}");
        assert!(r.body.len() > 500, "{asset}");
    }
    assert_eq!(get(&format!("{}/gw/static/nope.js", g.url())).status, 404);
    assert_eq!(get(&format!("{}/static/app.js", g.url())).status, 404);

    // The light API the page reads.
    put(
        &format!("{}/gw/metrics/job/a/path@base64/L3Zhci94", g.url()),
        "m 1\nn 2\n",
    );
    let groups = get(&format!("{}/gw/api/v1/groups", g.url())).json();
    let one = &groups["data"][0];
    assert_eq!(one["labels"]["path"], "/var/x");
    assert_eq!(one["path"], "/metrics/job/a/path@base64/L3Zhci94");
    assert_eq!(
        (one["metrics"].as_u64(), one["series"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(one["last_push_successful"], true);
    let text = get(&format!(
        "{}/gw/api/v1/group/job/a/path@base64/L3Zhci94",
        g.url()
    ));
    assert_eq!(text.status, 200);
    assert!(text
        .text()
        .contains("n{instance=\"\",job=\"a\",path=\"/var/x\"} 2"));
    let missing = get(&format!("{}/gw/api/v1/group/job/b", g.url()));
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("no group {job=\"b\"}"));
}
