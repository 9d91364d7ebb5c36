//! The etcd client (`pgw::server::etcd::client`) against real etcd 3.4:
//! reads, fenced txns, watches and compaction on one member; failover and
//! the loss of quorum on three; etcd's limits, auth and TLS.

use std::time::Duration;

use pgw::server::etcd::client::{
    prefix_end, Client, Compare, Config, Error, Event, KeyValue, Op, OpResponse, RangeRequest, Txn,
    TxnResponse, Watch, WatchBatch, WatchRequest,
};

use crate::util::{post, EtcdCluster, TempDir};

fn config(endpoints: &str) -> Config {
    Config {
        endpoints: endpoints.split(',').map(str::to_string).collect(),
        ca_file: None,
        cert_file: None,
        key_file: None,
        username: None,
        password: None,
        timeout: Duration::from_secs(3),
    }
}

fn client(endpoints: &str) -> Client {
    Client::new(config(endpoints)).expect("valid client config")
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The next watch message, failing the test instead of hanging it.
async fn next(watch: &mut Watch) -> Result<WatchBatch, Error> {
    tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .expect("a watch message within 30 s")
}

fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
    }
}

fn one(key: &str) -> RangeRequest {
    RangeRequest {
        key: key.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn prefix(p: &str) -> RangeRequest {
    RangeRequest {
        key: p.as_bytes().to_vec(),
        range_end: prefix_end(p.as_bytes()),
        ..Default::default()
    }
}

async fn puts(c: &Client, ops: &[(&str, &str)]) -> TxnResponse {
    let txn = Txn {
        success: ops.iter().map(|(k, v)| put(k, v)).collect(),
        ..Default::default()
    };
    let r = c.txn(&txn).await.expect("txn of puts");
    assert!(r.succeeded, "a txn without compares succeeds");
    r
}

fn keys(kvs: &[KeyValue]) -> Vec<String> {
    kvs.iter()
        .map(|kv| String::from_utf8(kv.key.clone()).unwrap())
        .collect()
}

#[test]
fn kv_round_trip() {
    let etcd = EtcdCluster::start(1);
    let c = client(&etcd.endpoints());
    block_on(async {
        let first = puts(&c, &[("g/a", "1"), ("g/b", "2"), ("g/c", "3"), ("h", "x")]).await;
        let rev1 = first.revision;
        assert!(matches!(first.responses[..], [OpResponse::Put, ..]));

        let r = c.range(&one("g/a")).await.unwrap();
        assert_eq!(r.revision, rev1);
        assert_eq!(r.count, 1);
        assert_eq!(
            r.kvs,
            vec![KeyValue {
                key: b"g/a".to_vec(),
                value: b"1".to_vec(),
                create_revision: rev1,
                mod_revision: rev1,
                version: 1,
            }]
        );
        assert!(c.range(&one("absent")).await.unwrap().kvs.is_empty());

        // The prefix, and nothing past it ("h").
        let r = c.range(&prefix("g/")).await.unwrap();
        assert_eq!(keys(&r.kvs), ["g/a", "g/b", "g/c"]);
        assert!(!r.more);
        let r = c
            .range(&RangeRequest {
                limit: 2,
                ..prefix("g/")
            })
            .await
            .unwrap();
        assert_eq!(keys(&r.kvs), ["g/a", "g/b"]);
        assert!(r.more);
        assert_eq!(r.count, 3);
        let r = c
            .range(&RangeRequest {
                keys_only: true,
                ..prefix("g/")
            })
            .await
            .unwrap();
        assert_eq!(keys(&r.kvs), ["g/a", "g/b", "g/c"]);
        assert!(r.kvs.iter().all(|kv| kv.value.is_empty()));
        let r = c
            .range(&RangeRequest {
                serializable: true,
                ..prefix("g/")
            })
            .await
            .unwrap();
        assert_eq!(r.kvs[2].value, b"3");
        let r = c
            .range(&RangeRequest {
                count_only: true,
                ..prefix("g/")
            })
            .await
            .unwrap();
        assert!(r.kvs.is_empty());
        assert_eq!(r.count, 3);

        // Fenced on the mod revision: succeeds once, then fails.
        let fenced = |rev| Txn {
            compare: vec![Compare::ModRevision {
                key: b"g/a".to_vec(),
                revision: rev,
            }],
            success: vec![put("g/a", "10")],
            failure: vec![Op::Range(one("g/a"))],
        };
        let ok = c.txn(&fenced(rev1)).await.unwrap();
        assert!(ok.succeeded);
        let rev2 = ok.revision;
        assert_eq!(rev2, rev1 + 1);
        let failed = c.txn(&fenced(rev1)).await.unwrap();
        assert!(!failed.succeeded);
        assert_eq!(failed.revision, rev2);
        match &failed.responses[..] {
            [OpResponse::Range(r)] => {
                assert_eq!(r.kvs[0].value, b"10");
                assert_eq!(r.kvs[0].mod_revision, rev2);
                assert_eq!(r.kvs[0].version, 2);
            }
            other => panic!("failure ops answered {other:?}"),
        }

        // CreateRevision 0: only while the key is absent.
        let create = Txn {
            compare: vec![Compare::CreateRevision {
                key: b"g/new".to_vec(),
                revision: 0,
            }],
            success: vec![put("g/new", "n")],
            failure: vec![],
        };
        assert!(c.txn(&create).await.unwrap().succeeded);
        assert!(!c.txn(&create).await.unwrap().succeeded);
        let by_value = Txn {
            compare: vec![Compare::Value {
                key: b"g/new".to_vec(),
                value: b"n".to_vec(),
            }],
            success: vec![put("g/new", "m")],
            failure: vec![],
        };
        assert!(c.txn(&by_value).await.unwrap().succeeded);
        assert!(!c.txn(&by_value).await.unwrap().succeeded);

        // An old revision reads the old value.
        let old = c
            .range(&RangeRequest {
                revision: rev1,
                ..one("g/a")
            })
            .await
            .unwrap();
        assert_eq!(old.kvs[0].value, b"1");
        assert_eq!(c.range(&one("g/a")).await.unwrap().kvs[0].value, b"10");

        let del = c
            .txn(&Txn {
                success: vec![Op::Delete {
                    key: b"g/".to_vec(),
                    range_end: prefix_end(b"g/"),
                }],
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(matches!(
            del.responses[..],
            [OpResponse::Delete { deleted: 4 }]
        ));
        assert_eq!(c.range(&prefix("g/")).await.unwrap().count, 0);
        assert_eq!(c.range(&one("h")).await.unwrap().count, 1);

        // etcd refuses a txn touching one key twice; that is no outage.
        let twice = Txn {
            success: vec![put("k", "1"), put("k", "2")],
            ..Default::default()
        };
        assert!(matches!(c.txn(&twice).await, Err(Error::Other(m)) if m.contains("duplicate key")),);
    });
}

#[test]
fn concurrent_calls_share_one_client() {
    let etcd = EtcdCluster::start(1);
    let c = client(&etcd.endpoints());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move {
                    let key = format!("c/{i:02}");
                    puts(&c, &[(&key, "v")]).await;
                    c.range(&one(&key)).await.unwrap().count
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(c.range(&prefix("c/")).await.unwrap().count, 64);
    });
}

#[test]
fn watch_sees_changes_in_order_and_compaction() {
    let etcd = EtcdCluster::start(1);
    let c = client(&etcd.endpoints());
    block_on(async {
        let start = puts(&c, &[("w/a", "1")]).await.revision;
        puts(&c, &[("outside", "x")]).await;
        let r2 = puts(&c, &[("w/b", "2"), ("w/a", "3")]).await.revision;
        let r3 = c
            .txn(&Txn {
                success: vec![Op::Delete {
                    key: b"w/a".to_vec(),
                    range_end: vec![],
                }],
                ..Default::default()
            })
            .await
            .unwrap()
            .revision;

        let mut watch = c
            .watch(&WatchRequest {
                key: b"w/".to_vec(),
                range_end: prefix_end(b"w/"),
                start_revision: start,
            })
            .await
            .unwrap();
        // Past events may come several revisions to a message; in order.
        let mut events = Vec::new();
        while events.len() < 4 {
            let b = next(&mut watch).await.unwrap();
            events.extend(b.events);
        }
        match &events[..] {
            [Event::Put(a1), Event::Put(b), Event::Put(a3), Event::Delete { key, mod_revision }] => {
                assert_eq!((a1.key.as_slice(), a1.mod_revision), (&b"w/a"[..], start));
                // The puts of one txn, in the txn's order.
                assert_eq!(
                    (b.key.as_slice(), b.value.as_slice()),
                    (&b"w/b"[..], &b"2"[..])
                );
                assert_eq!(
                    (a3.key.as_slice(), a3.value.as_slice()),
                    (&b"w/a"[..], &b"3"[..])
                );
                assert_eq!((a3.mod_revision, b.mod_revision), (r2, r2));
                assert_eq!(a3.version, 2);
                assert_eq!((key.as_slice(), *mod_revision), (&b"w/a"[..], r3));
            }
            other => panic!("past events: {other:?}"),
        }

        // Live: the events of one txn come in one batch.
        let r4 = puts(&c, &[("w/c", "4"), ("w/d", "5"), ("w/e", "6")])
            .await
            .revision;
        let live = loop {
            let b = next(&mut watch).await.unwrap();
            if !b.events.is_empty() {
                break b;
            }
        };
        assert_eq!(live.revision, r4);
        match &live.events[..] {
            [Event::Put(x), Event::Put(y), Event::Put(z)] => {
                assert_eq!(
                    keys(&[x.clone(), y.clone(), z.clone()]),
                    ["w/c", "w/d", "w/e"]
                );
                assert!([x, y, z].iter().all(|kv| kv.mod_revision == r4));
            }
            other => panic!("live batch: {other:?}"),
        }
        drop(watch);

        c.compact(r3).await.unwrap();
        // Compacting again, or below, is no error.
        c.compact(r3).await.unwrap();
        c.compact(start).await.unwrap();
        let mut old = c
            .watch(&WatchRequest {
                key: b"w/".to_vec(),
                range_end: prefix_end(b"w/"),
                start_revision: start,
            })
            .await
            .unwrap();
        let err = next(&mut old).await.unwrap_err();
        assert!(
            matches!(err, Error::Compacted { compact_revision, .. } if compact_revision == r3),
            "{err:?}"
        );
        let err = c
            .range(&RangeRequest {
                revision: start,
                ..one("w/a")
            })
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::Compacted {
                revision: start,
                compact_revision: r3
            }
        );
    });
}

#[test]
fn failover_and_loss_of_quorum() {
    let mut etcd = EtcdCluster::start(3);
    let c = client(&etcd.endpoints());
    block_on(async {
        puts(&c, &[("f", "1")]).await;
    });
    etcd.kill(0);
    // A fresh client whose first endpoint is the dead member.
    let c = client(&etcd.endpoints());
    block_on(async {
        assert_eq!(c.range(&one("f")).await.unwrap().kvs[0].value, b"1");
        assert_ne!(c.endpoint(), etcd.endpoint(0));
        let fresh = client(&etcd.endpoints());
        puts(&fresh, &[("f", "2")]).await;
        assert_eq!(c.range(&one("f")).await.unwrap().kvs[0].value, b"2");
    });
    etcd.stop(1);
    let c = client(&etcd.endpoints());
    block_on(async {
        let err = c
            .txn(&Txn {
                success: vec![put("f", "3")],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    });
    etcd.restart(1);
    block_on(async {
        let value = c.range(&one("f")).await.unwrap().kvs[0].value.clone();
        // The txn's outcome was unknown: either value is right.
        assert!(value == b"2" || value == b"3", "{value:?}");
    });
}

#[test]
fn a_hung_member_is_skipped_by_reads_and_fails_a_txn_unsent_elsewhere() {
    let etcd = EtcdCluster::start(3);
    let short = || {
        let mut cfg = config(&etcd.endpoints());
        cfg.timeout = Duration::from_secs(1);
        Client::new(cfg).unwrap()
    };
    block_on(async {
        puts(&short(), &[("h", "1")]).await;
    });
    etcd.pause(0);
    block_on(async {
        // Member 0 may have been the leader: wait until the other two have
        // one, so that what follows only meets the hung member.
        let others = client(&format!("{},{}", etcd.endpoint(1), etcd.endpoint(2)));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while let Err(e) = others.range(&one("h")).await {
            assert!(
                std::time::Instant::now() < deadline,
                "no leader without member 0: {e}"
            );
        }
        // A read is idempotent: after the timeout, the next member answers.
        let c = short();
        assert_eq!(c.range(&one("h")).await.unwrap().kvs[0].value, b"1");
        assert_eq!(c.endpoint(), etcd.endpoint(1));
        // A txn sent to the hung member is not resent elsewhere.
        let err = short()
            .txn(&Txn {
                success: vec![put("h", "2")],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("no answer")),
            "{err:?}"
        );
        // A watch is opened on the next member.
        let mut watch = short()
            .watch(&WatchRequest {
                key: b"h".to_vec(),
                range_end: vec![],
                start_revision: 1,
            })
            .await
            .unwrap();
        let b = next(&mut watch).await.unwrap();
        assert!(matches!(&b.events[..], [Event::Put(kv)] if kv.value == b"1"));
    });
    etcd.resume(0);
    etcd.wait_healthy();
}

#[test]
fn progress_notifications_advance_the_revision() {
    let etcd = EtcdCluster::start_with(1, &["--experimental-watch-progress-notify-interval=100ms"]);
    let c = client(&etcd.endpoints());
    block_on(async {
        let rev = puts(&c, &[("other", "1")]).await.revision;
        let mut watch = c
            .watch(&WatchRequest {
                key: b"p/".to_vec(),
                range_end: prefix_end(b"p/"),
                start_revision: rev + 1,
            })
            .await
            .unwrap();
        let b = next(&mut watch).await.unwrap();
        assert!(b.events.is_empty(), "{b:?}");
        assert_eq!(b.revision, rev);
    });
}

#[test]
fn a_stopped_cluster_breaks_the_watch_and_keeps_the_data() {
    let mut etcd = EtcdCluster::start(1);
    let c = client(&etcd.endpoints());
    // One runtime throughout: the watch's connection lives on it.
    block_on(async {
        puts(&c, &[("d", "1")]).await;
        let mut watch = c
            .watch(&WatchRequest {
                key: b"d".to_vec(),
                range_end: vec![],
                start_revision: 0,
            })
            .await
            .unwrap();
        // Live before the stop.
        puts(&c, &[("d", "2")]).await;
        let b = next(&mut watch).await.unwrap();
        assert!(matches!(&b.events[..], [Event::Put(kv)] if kv.value == b"2"));
        etcd.stop_all();
        let err = next(&mut watch).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        // Ended stays ended.
        let err = next(&mut watch).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        let err = c.range(&one("d")).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    });
    etcd.restart_all();
    block_on(async {
        assert_eq!(c.range(&one("d")).await.unwrap().kvs[0].value, b"2");
    });
}

#[test]
fn nothing_listening_is_unavailable() {
    // A port that was free a moment ago: nothing accepts there.
    let port = crate::util::free_port();
    let c = client(&format!("http://127.0.0.1:{port}"));
    block_on(async {
        let err = c.range(&one("a")).await.unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("connect")),
            "{err:?}"
        );
        let err = c.txn(&Txn::default()).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        let err = c.watch(&WatchRequest::default()).await.err().unwrap();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    });
}

#[test]
fn requests_over_the_limits_are_too_large() {
    let etcd = EtcdCluster::start_with(1, &["--max-request-bytes=65536", "--max-txn-ops=4"]);
    let c = client(&etcd.endpoints());
    block_on(async {
        let big = "x".repeat(70_000);
        let err = c
            .txn(&Txn {
                success: vec![put("big", &big)],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
        let ops: Vec<(String, String)> = (0..5).map(|i| (format!("k{i}"), "v".into())).collect();
        let err = c
            .txn(&Txn {
                success: ops.iter().map(|(k, v)| put(k, v)).collect(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
        // Below the limits, the same member takes it.
        puts(&c, &[("small", "v")]).await;
    });
}

#[test]
fn auth_takes_the_right_password_only() {
    let mut etcd = EtcdCluster::start(1);
    let e = etcd.endpoint(0);
    for (path, body) in [
        (
            "/v3/auth/user/add",
            r#"{"name":"root","password":"secret"}"#,
        ),
        ("/v3/auth/role/add", r#"{"name":"root"}"#),
        ("/v3/auth/user/grant", r#"{"user":"root","role":"root"}"#),
        ("/v3/auth/enable", "{}"),
    ] {
        let r = post(&format!("{e}{path}"), body);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let with = |user: Option<&str>, password: &str| {
        let mut cfg = config(&etcd.endpoints());
        cfg.username = user.map(str::to_string);
        cfg.password = user.map(|_| password.to_string());
        Client::new(cfg).unwrap()
    };
    let root = block_on(async {
        let err = with(Some("root"), "wrong")
            .range(&one("a"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Auth(_)), "{err:?}");
        let err = with(None, "").range(&one("a")).await.unwrap_err();
        assert!(matches!(err, Error::Auth(_)), "{err:?}");
        let root = with(Some("root"), "secret");
        puts(&root, &[("a", "1")]).await;
        assert_eq!(root.range(&one("a")).await.unwrap().kvs[0].value, b"1");
        let mut watch = root
            .watch(&WatchRequest {
                key: b"a".to_vec(),
                range_end: vec![],
                start_revision: 1,
            })
            .await
            .unwrap();
        let b = next(&mut watch).await.unwrap();
        assert!(matches!(&b.events[..], [Event::Put(kv)] if kv.value == b"1"));
        drop(watch);
        root
    });
    // etcd's simple tokens live in memory: after a restart, the client's
    // token is invalid, and it authenticates again and resends.
    etcd.stop(0);
    etcd.restart(0);
    block_on(async {
        // The watch is the first to meet the stale token.
        let mut watch = root
            .watch(&WatchRequest {
                key: b"a".to_vec(),
                range_end: vec![],
                start_revision: 1,
            })
            .await
            .unwrap();
        let b = next(&mut watch).await.unwrap();
        assert!(matches!(&b.events[..], [Event::Put(kv)] if kv.value == b"1"));
        puts(&root, &[("a", "2")]).await;
        assert_eq!(root.range(&one("a")).await.unwrap().kvs[0].value, b"2");
    });
}

#[test]
fn mutual_tls() {
    let dir = TempDir::new("etcd-tls");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let ca_pem = ca.pem();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let issue = |names: Vec<String>, name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &issuer).unwrap();
        let cert_path = dir.path().join(format!("{name}.pem"));
        let key_path = dir.path().join(format!("{name}-key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    };
    let (server_cert, server_key) = issue(vec!["127.0.0.1".into(), "localhost".into()], "server");
    let (client_cert, client_key) = issue(vec!["pgw".into()], "client");
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca_pem).unwrap();
    let flags = [
        format!("--cert-file={}", server_cert.display()),
        format!("--key-file={}", server_key.display()),
        format!("--trusted-ca-file={}", ca_path.display()),
        "--client-cert-auth".to_string(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let etcd = EtcdCluster::start_with(1, &flags);
    assert!(etcd.endpoint(0).starts_with("https://"));

    let mut cfg = config(&etcd.endpoints());
    cfg.ca_file = Some(ca_path.clone());
    cfg.cert_file = Some(client_cert);
    cfg.key_file = Some(client_key);
    let c = Client::new(cfg).unwrap();
    // Without a client certificate, the handshake fails: no endpoint works.
    let mut anonymous = config(&etcd.endpoints());
    anonymous.ca_file = Some(ca_path);
    let anonymous = Client::new(anonymous).unwrap();
    // The server certificate signed by another CA (the webpki roots).
    let untrusted = client(&etcd.endpoints());
    block_on(async {
        puts(&c, &[("t", "1")]).await;
        assert_eq!(c.range(&one("t")).await.unwrap().kvs[0].value, b"1");
        let err = anonymous.range(&one("t")).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        let err = untrusted.range(&one("t")).await.unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("TLS")),
            "{err:?}"
        );
    });
}
