//! Expiry of stale groups, the atomic bulk clean-up (`DELETE /api/v1/groups`)
//! and the limits, against `pgw serve` on real sockets.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::*;

fn push_ttl(g: &Pgw, path: &str, body: &str, ttl: Option<&str>) -> Resp {
    let mut headers = vec![];
    if let Some(t) = ttl {
        headers.push(("Pgw-Expire-After", t));
    }
    request(
        "PUT",
        &format!("{}/metrics{path}", g.url()),
        &headers,
        body.as_bytes(),
    )
}

#[test]
fn groups_expire_by_flag_or_header_and_expiry_is_visible() {
    let g = Pgw::start(&["--expire-after=3s"]);
    assert_eq!(push_ttl(&g, "/job/default", "a 1\n", None).status, 200);
    assert_eq!(push_ttl(&g, "/job/short", "b 1\n", Some("1s")).status, 200);
    assert_eq!(push_ttl(&g, "/job/long", "c 1\n", Some("1h")).status, 200);
    let bad = push_ttl(&g, "/job/bad", "d 1\n", Some("soon"));
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("Pgw-Expire-After"), "{}", bad.text());

    // The JSON API shows the time to live and the time left.
    let doc = g.api();
    let long = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|grp| grp["labels"]["job"] == "long")
        .unwrap();
    assert_eq!(long["expire_after_seconds"], 3600.0);
    let left = long["expires_in_seconds"].as_f64().unwrap();
    assert!(left > 3500.0 && left <= 3600.0, "{left}");

    let gone = poll(Duration::from_secs(10), || {
        (g.jobs() == ["long"]).then_some(())
    });
    assert!(gone.is_some(), "left: {:?}", g.jobs());
    assert_eq!(own_metric(&g, "pgw_expired_groups_total "), Some(2.0));
    let log = g.proc.log();
    assert!(
        log.contains("msg=\"group expired\"") && log.contains("job=\\\"short\\\""),
        "{log}"
    );
    // Their series are gone from the scrape too.
    let scrape = get(&format!("{}/metrics", g.url())).text();
    assert!(
        !scrape.contains("\nb{") && scrape.contains("\nc{"),
        "{scrape}"
    );
}

#[test]
fn without_expiry_groups_stay_and_have_no_expiry_keys() {
    let g = Pgw::start(&[]);
    assert_eq!(push_ttl(&g, "/job/a", "a 1\n", None).status, 200);
    std::thread::sleep(Duration::from_millis(1500));
    let doc = g.api();
    let group = &doc["data"][0];
    assert_eq!(group["labels"]["job"], "a");
    assert!(group.get("expires_in_seconds").is_none(), "{group}");
    assert_eq!(own_metric(&g, "pgw_expired_groups_total "), Some(0.0));
}

fn cleanup(g: &Pgw, query: &str) -> Resp {
    request(
        "DELETE",
        &format!("{}/api/v1/groups?{query}", g.url()),
        &[],
        b"",
    )
}

fn deleted(resp: &Resp) -> Vec<String> {
    let doc = resp.json();
    assert_eq!(doc["status"], "success", "{doc}");
    let mut v: Vec<String> = doc["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|grp| {
            format!(
                "{}/{}",
                grp["labels"]["job"].as_str().unwrap(),
                grp["labels"]["instance"].as_str().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn bulk_cleanup_by_selector_and_staleness_with_dry_run() {
    let g = Pgw::start(&[]);
    for (path, body) in [
        ("/job/ci/instance/ci-1", "a 1\n"),
        ("/job/ci/instance/ci-2", "a 2\n"),
        ("/job/ci/instance/web-1", "a 3\n"),
        ("/job/node/instance/ci-9", "b 1\n"),
    ] {
        assert_eq!(put(&format!("{}/metrics{path}", g.url()), body).status, 200);
    }
    let sel = "match=job%3D%22ci%22%2Cinstance%3D~%22ci-.*%22";
    let dry = cleanup(&g, &format!("{sel}&dry_run=true"));
    assert_eq!(dry.status, 200, "{}", dry.text());
    assert_eq!(dry.json()["data"]["dry_run"], true);
    assert_eq!(deleted(&dry), ["ci/ci-1", "ci/ci-2"]);
    assert_eq!(group_labels(&g.api()).len(), 4, "a dry run deletes nothing");

    // Nothing is older than an hour.
    let none = cleanup(&g, &format!("{sel}&stale=1h"));
    assert!(deleted(&none).is_empty());

    // Two seconds of margin: a re-push stalled on a loaded machine must not
    // look stale.
    std::thread::sleep(Duration::from_millis(2200));
    // Re-pushed just now: survives a staleness clean-up of two seconds.
    assert_eq!(
        put(
            &format!("{}/metrics/job/ci/instance/ci-2", g.url()),
            "a 5\n"
        )
        .status,
        200
    );
    let stale = cleanup(&g, &format!("{sel}&stale=2s"));
    assert_eq!(deleted(&stale), ["ci/ci-1"]);
    // In grouping-key order, which sorts `instance` before `job`: ci-2, ci-9, web-1.
    assert_eq!(g.jobs(), ["ci", "node", "ci"]);
    // Unquoted selector, as typed in a shell.
    let unquoted = cleanup(&g, "match=job=node");
    assert_eq!(deleted(&unquoted), ["node/ci-9"]);
    assert_eq!(g.jobs(), ["ci", "ci"]);
}

#[test]
fn bulk_cleanup_refuses_bad_or_missing_criteria() {
    let g = Pgw::start(&[]);
    assert_eq!(
        put(&format!("{}/metrics/job/x", g.url()), "a 1\n").status,
        200
    );
    for (query, words) in [
        ("", "match=SELECTOR and/or stale=DURATION"),
        ("match=job%3D~%22(%22", "regular expression"),
        ("match=job", "operator"),
        ("stale=soon", "stale must be a duration"),
        ("match=job%3Dx&dry_run=maybe", "dry_run"),
        ("match=job%3Dx&force=1", "unknown query parameter \"force\""),
    ] {
        let r = cleanup(&g, query);
        assert_eq!(r.status, 400, "{query}: {}", r.text());
        let doc = r.json();
        assert_eq!(doc["status"], "error");
        let msg = doc["error"].as_str().unwrap();
        assert!(msg.contains(words), "{query}: {msg}");
    }
    assert_eq!(g.jobs(), ["x"], "nothing was deleted");
    let r = request("PATCH", &format!("{}/api/v1/groups", g.url()), &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("DELETE, GET, OPTIONS"));
}

#[test]
fn limits_answer_with_their_own_status_and_name_the_flag() {
    let g = Pgw::start(&[
        "--push.max-series=3",
        "--push.max-label-value-length=8",
        "--store.max-groups=2",
        "--push.max-body-size=2000",
    ]);
    let url = |p: &str| format!("{}/metrics{p}", g.url());
    assert_eq!(put(&url("/job/a"), "m 1\n").status, 200);
    let too_many = put(&url("/job/a"), "m 1\nn 2\no 3\np 4\n");
    assert_eq!(too_many.status, 413);
    assert!(
        too_many.text().contains("more than 3 series")
            && too_many.text().contains("--push.max-series"),
        "{}",
        too_many.text()
    );
    let long = put(&url("/job/a"), "m{path=\"/var/lib/x\"} 1\n");
    assert_eq!(long.status, 400);
    assert!(
        long.text().contains("label path of m")
            && long.text().contains("--push.max-label-value-length"),
        "{}",
        long.text()
    );
    let long_key = put(&url("/job/a/instance/very-long-host"), "m 1\n");
    assert_eq!(long_key.status, 400, "{}", long_key.text());
    assert_eq!(put(&url("/job/b"), "m 1\n").status, 200);
    let full = put(&url("/job/c"), "m 1\n");
    assert_eq!(full.status, 429);
    assert!(
        full.text().contains("--store.max-groups"),
        "{}",
        full.text()
    );
    // A gzip bomb is measured after decompression.
    let bomb = gzip(&vec![b'#'; 100_000]);
    let r = request(
        "PUT",
        &url("/job/a"),
        &[("Content-Encoding", "gzip")],
        &bomb,
    );
    assert_eq!(r.status, 413);
    assert!(r.text().contains("--push.max-body-size"), "{}", r.text());
    // Nothing changed, and every hit was counted under its limit.
    assert_eq!(g.jobs(), ["a", "b"]);
    let scrape = get(&format!("{}/metrics", g.url())).text();
    assert!(!scrape.contains("\nn{"), "{scrape}");
    for (limit, n) in [
        ("series_per_push", 1.0),
        ("label_value_length", 2.0),
        ("groups", 1.0),
        ("body_size", 1.0),
        ("series", 0.0),
    ] {
        assert_eq!(
            own_metric(&g, &format!("pgw_limit_hits_total{{limit=\"{limit}\"}} ")),
            Some(n),
            "{limit}"
        );
    }
}

#[test]
fn a_body_that_trickles_in_too_slowly_gets_408() {
    let g = Pgw::start(&["--web.read-timeout=1s"]);
    let mut s = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nm 1\n"
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--web.read-timeout"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(g.jobs().is_empty());
}

#[test]
fn status_shows_pgw_figures_and_the_persistence_state() {
    let dir = TempDir::new("status-persistence");
    let file = dir.path().join("store");
    let g = Pgw::start(&[
        &format!("--persistence.file={}", file.display()),
        "--expire-after=10m",
    ]);
    assert_eq!(
        put(&format!("{}/metrics/job/a", g.url()), "m 1\n").status,
        200
    );
    let v = get(&format!("{}/api/v1/status", g.url())).json();
    let pgw = &v["data"]["pgw"];
    assert_eq!(pgw["groups"], 1);
    assert_eq!(pgw["series"], 1);
    assert_eq!(pgw["pushes_total"], 1);
    assert_eq!(pgw["expiry"]["expire_after"], "10m");
    let p = &pgw["persistence"];
    assert_eq!(p["mode"], "file");
    assert_eq!(p["state"], "ok");
    assert_eq!(p["file"], file.display().to_string());
    assert!(p["synced_changes"].as_u64().unwrap() >= 1, "{p}");
    assert!(p["log_bytes"].as_u64().unwrap() > 0, "{p}");

    let memory = Pgw::start(&[]);
    let v = get(&format!("{}/api/v1/status", memory.url())).json();
    assert_eq!(v["data"]["pgw"]["persistence"]["mode"], "memory");
    assert_eq!(v["data"]["pgw"]["expiry"]["expire_after"], "");
}
