//! The pure half of the etcd client: the JSON bodies of etcd 3.4's
//! gRPC-gateway API, the parsing of its answers, the mapping of its error
//! messages to `Error` kinds, and the framing of the watch stream. No I/O,
//! so all of it is tested without a network.
//!
//! The gateway's conventions (checked against etcd 3.4.23): byte fields are
//! standard base64; int64 fields come back as JSON strings; fields at their
//! default value are omitted (a PUT event has no "type", `succeeded: false`
//! and `more: false` are absent, revision 0 is absent); enums are names.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{
    Compare, Error, Event, KeyValue, Op, OpResponse, RangeRequest, RangeResponse, Txn, TxnResponse,
    WatchBatch, WatchRequest,
};

pub(super) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// An int64 field: a string in 3.4's answers, a number elsewhere; absent is 0.
fn int(v: &Value, field: &str) -> Result<i64, Error> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| Error::Other(format!("etcd answered {field} {s:?}, not an integer"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| Error::Other(format!("etcd answered {field} {n}, not an int64"))),
        Some(other) => Err(Error::Other(format!(
            "etcd answered {field} {other}, not an integer"
        ))),
    }
}

fn boolean(v: &Value, field: &str) -> bool {
    v.get(field).and_then(Value::as_bool).unwrap_or(false)
}

/// A bytes field, base64; absent is empty.
fn bytes(v: &Value, field: &str) -> Result<Vec<u8>, Error> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => STANDARD
            .decode(s)
            .map_err(|e| Error::Other(format!("etcd answered {field} that is not base64: {e}"))),
        Some(other) => Err(Error::Other(format!(
            "etcd answered {field} {other}, not a base64 string"
        ))),
    }
}

fn header_revision(v: &Value) -> Result<i64, Error> {
    match v.get("header") {
        Some(h) => int(h, "revision"),
        None => Ok(0),
    }
}

fn list<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(super) fn range_body(req: &RangeRequest) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), b64(&req.key).into());
    if !req.range_end.is_empty() {
        m.insert("range_end".into(), b64(&req.range_end).into());
    }
    if req.revision != 0 {
        m.insert("revision".into(), req.revision.to_string().into());
    }
    if req.limit != 0 {
        m.insert("limit".into(), req.limit.to_string().into());
    }
    for (name, on) in [
        ("keys_only", req.keys_only),
        ("count_only", req.count_only),
        ("serializable", req.serializable),
    ] {
        if on {
            m.insert(name.into(), true.into());
        }
    }
    Value::Object(m)
}

fn compare_body(c: &Compare) -> Value {
    match c {
        Compare::ModRevision { key, revision } => json!({
            "target": "MOD", "result": "EQUAL", "key": b64(key),
            "mod_revision": revision.to_string(),
        }),
        Compare::CreateRevision { key, revision } => json!({
            "target": "CREATE", "result": "EQUAL", "key": b64(key),
            "create_revision": revision.to_string(),
        }),
        Compare::Value { key, value } => json!({
            "target": "VALUE", "result": "EQUAL", "key": b64(key), "value": b64(value),
        }),
    }
}

fn op_body(op: &Op) -> Value {
    match op {
        Op::Put { key, value } => json!({"request_put": {"key": b64(key), "value": b64(value)}}),
        Op::Delete { key, range_end } => {
            let mut m = Map::new();
            m.insert("key".into(), b64(key).into());
            if !range_end.is_empty() {
                m.insert("range_end".into(), b64(range_end).into());
            }
            json!({ "request_delete_range": m })
        }
        Op::Range(r) => json!({ "request_range": range_body(r) }),
    }
}

pub(super) fn txn_body(txn: &Txn) -> Value {
    json!({
        "compare": txn.compare.iter().map(compare_body).collect::<Vec<_>>(),
        "success": txn.success.iter().map(op_body).collect::<Vec<_>>(),
        "failure": txn.failure.iter().map(op_body).collect::<Vec<_>>(),
    })
}

pub(super) fn compact_body(revision: i64) -> Value {
    json!({ "revision": revision.to_string() })
}

pub(super) fn watch_body(req: &WatchRequest) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), b64(&req.key).into());
    if !req.range_end.is_empty() {
        m.insert("range_end".into(), b64(&req.range_end).into());
    }
    if req.start_revision != 0 {
        m.insert(
            "start_revision".into(),
            req.start_revision.to_string().into(),
        );
    }
    m.insert("progress_notify".into(), true.into());
    json!({ "create_request": m })
}

fn key_value(v: &Value) -> Result<KeyValue, Error> {
    Ok(KeyValue {
        key: bytes(v, "key")?,
        value: bytes(v, "value")?,
        create_revision: int(v, "create_revision")?,
        mod_revision: int(v, "mod_revision")?,
        version: int(v, "version")?,
    })
}

pub(super) fn parse_range(v: &Value) -> Result<RangeResponse, Error> {
    Ok(RangeResponse {
        revision: header_revision(v)?,
        kvs: list(v, "kvs")
            .iter()
            .map(key_value)
            .collect::<Result<_, _>>()?,
        more: boolean(v, "more"),
        count: int(v, "count")?,
    })
}

pub(super) fn parse_txn(v: &Value) -> Result<TxnResponse, Error> {
    let mut responses = Vec::new();
    for r in list(v, "responses") {
        let one = if r.get("response_put").is_some() {
            OpResponse::Put
        } else if let Some(d) = r.get("response_delete_range") {
            OpResponse::Delete {
                deleted: int(d, "deleted")?,
            }
        } else if let Some(g) = r.get("response_range") {
            OpResponse::Range(parse_range(g)?)
        } else {
            return Err(Error::Other(format!(
                "etcd answered a txn response of an unknown kind: {r}"
            )));
        };
        responses.push(one);
    }
    Ok(TxnResponse {
        revision: header_revision(v)?,
        succeeded: boolean(v, "succeeded"),
        responses,
    })
}

pub(super) fn parse_token(v: &Value) -> Result<String, Error> {
    match v.get("token").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        // Auth is not enabled: etcd answers without a token, and requests
        // without one are accepted.
        _ => Ok(String::new()),
    }
}

/// One message of the watch stream, classified.
#[derive(Debug)]
pub(super) enum WatchMessage {
    Created,
    Batch(WatchBatch),
    Canceled(Error),
}

/// A watch stream message: `{"result": {...}}`, or `{"error": {...}}` when
/// the gateway's stream to etcd broke.
pub(super) fn parse_watch_message(v: &Value) -> Result<WatchMessage, Error> {
    if let Some(e) = v.get("error") {
        let message = e
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| e.to_string(), str::to_string);
        let status = e.get("http_code").and_then(Value::as_u64).unwrap_or(0);
        return Ok(WatchMessage::Canceled(
            match map_message(status as u16, &message) {
                Error::Other(m) => Error::Unavailable(format!("the watch stream broke: {m}")),
                other => other,
            },
        ));
    }
    let Some(r) = v.get("result") else {
        return Err(Error::Other(format!(
            "etcd sent a watch message without a result: {v}"
        )));
    };
    let revision = header_revision(r)?;
    if boolean(r, "canceled") {
        let compact_revision = int(r, "compact_revision")?;
        if compact_revision != 0 {
            return Ok(WatchMessage::Canceled(Error::Compacted {
                revision: 0,
                compact_revision,
            }));
        }
        let reason = r
            .get("cancel_reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Ok(WatchMessage::Canceled(match map_message(0, reason) {
            Error::Other(m) => Error::Unavailable(format!("etcd canceled the watch: {m}")),
            other => other,
        }));
    }
    if boolean(r, "created") {
        return Ok(WatchMessage::Created);
    }
    let mut events = Vec::new();
    for e in list(r, "events") {
        let kv = e.get("kv").unwrap_or(&Value::Null);
        let kv = key_value(kv)?;
        events.push(match e.get("type").and_then(Value::as_str) {
            None | Some("PUT") => Event::Put(kv),
            Some("DELETE") => Event::Delete {
                key: kv.key,
                mod_revision: kv.mod_revision,
            },
            Some(other) => {
                return Err(Error::Other(format!(
                    "etcd sent a watch event of unknown type {other:?}"
                )))
            }
        });
    }
    Ok(WatchMessage::Batch(WatchBatch { revision, events }))
}

/// What an error answer means. `BadToken` is the one etcd rejects unrun
/// because the auth token is unknown or expired: authenticate again and
/// resend.
#[derive(Debug, PartialEq)]
pub(super) enum Failure {
    BadToken(String),
    Etcd(Error),
}

/// An HTTP error answer: `{"error": "...", "message": "...", "code": N}`.
pub(super) fn map_error_answer(status: u16, body: &[u8]) -> Failure {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
        })
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("HTTP status {status}")
            } else {
                format!(
                    "HTTP status {status}: {}",
                    text.chars().take(200).collect::<String>()
                )
            }
        });
    if message.contains("invalid auth token") || message.contains("auth token is expired") {
        return Failure::BadToken(message);
    }
    Failure::Etcd(map_message(status, &message))
}

/// The `Error` kind of one of etcd's messages (the HTTP status, 0 if none,
/// decides when the message does not).
pub(super) fn map_message(status: u16, message: &str) -> Error {
    let m = message.to_string();
    let has = |s: &str| message.contains(s);
    if has("request is too large") || has("too many operations in txn request") {
        Error::TooLarge(m)
    } else if has("required revision has been compacted") {
        Error::Compacted {
            revision: 0,
            compact_revision: 0,
        }
    } else if has("no leader")
        || has("request timed out")
        || has("leader changed")
        || has("timed out")
        || has("not capable")
        || has("too many requests")
        || has("server is stopped")
        || has("unhealthy cluster")
        || status == 502
        || status == 503
        || status == 504
    {
        Error::Unavailable(m)
    } else if has("authentication failed")
        || has("permission denied")
        || has("user name is empty")
        || has("invalid auth token")
        || has("auth token is expired")
        || has("user name not found")
        || status == 401
        || status == 403
    {
        Error::Auth(m)
    } else {
        Error::Other(m)
    }
}

/// Splits the watch stream's body into JSON values: etcd writes one object
/// per message, but one chunk may hold several, or part of one.
#[derive(Debug, Default)]
pub(super) struct Framer {
    buf: Vec<u8>,
}

/// A message bigger than this without ending is not a watch message.
const MAX_MESSAGE: usize = 256 << 20;

impl Framer {
    /// Takes one chunk; returns every value it completed.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, Error> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut stream = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
        let consumed = loop {
            let before = stream.byte_offset();
            match stream.next() {
                None => break stream.byte_offset(),
                Some(Ok(v)) => out.push(v),
                Some(Err(e)) if e.is_eof() => break before,
                Some(Err(e)) => {
                    return Err(Error::Unavailable(format!(
                        "etcd's watch stream is not JSON: {e}"
                    )))
                }
            }
        };
        self.buf.drain(..consumed);
        if self.buf.len() > MAX_MESSAGE {
            return Err(Error::Unavailable(
                "etcd's watch stream sent a message over 256 MiB".into(),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_body_omits_defaults_and_encodes_bytes() {
        let body = range_body(&RangeRequest {
            key: b"a".to_vec(),
            ..Default::default()
        });
        assert_eq!(body, json!({"key": "YQ=="}));
        let body = range_body(&RangeRequest {
            key: b"a".to_vec(),
            range_end: b"b".to_vec(),
            revision: 7,
            limit: 2,
            keys_only: true,
            count_only: true,
            serializable: true,
        });
        assert_eq!(
            body,
            json!({"key": "YQ==", "range_end": "Yg==", "revision": "7", "limit": "2",
                   "keys_only": true, "count_only": true, "serializable": true})
        );
    }

    #[test]
    fn txn_body_names_targets_and_ops() {
        let txn = Txn {
            compare: vec![
                Compare::ModRevision {
                    key: b"a".to_vec(),
                    revision: 3,
                },
                Compare::CreateRevision {
                    key: b"b".to_vec(),
                    revision: 0,
                },
                Compare::Value {
                    key: b"c".to_vec(),
                    value: b"v".to_vec(),
                },
            ],
            success: vec![
                Op::Put {
                    key: b"a".to_vec(),
                    value: b"1".to_vec(),
                },
                Op::Delete {
                    key: b"p".to_vec(),
                    range_end: b"q".to_vec(),
                },
            ],
            failure: vec![Op::Range(RangeRequest {
                key: b"a".to_vec(),
                ..Default::default()
            })],
        };
        assert_eq!(
            txn_body(&txn),
            json!({
                "compare": [
                    {"target": "MOD", "result": "EQUAL", "key": "YQ==", "mod_revision": "3"},
                    {"target": "CREATE", "result": "EQUAL", "key": "Yg==", "create_revision": "0"},
                    {"target": "VALUE", "result": "EQUAL", "key": "Yw==", "value": "dg=="},
                ],
                "success": [
                    {"request_put": {"key": "YQ==", "value": "MQ=="}},
                    {"request_delete_range": {"key": "cA==", "range_end": "cQ=="}},
                ],
                "failure": [{"request_range": {"key": "YQ=="}}],
            })
        );
    }

    #[test]
    fn watch_body_asks_for_progress() {
        let body = watch_body(&WatchRequest {
            key: b"a".to_vec(),
            range_end: b"b".to_vec(),
            start_revision: 5,
        });
        assert_eq!(
            body,
            json!({"create_request": {"key": "YQ==", "range_end": "Yg==",
                   "start_revision": "5", "progress_notify": true}})
        );
    }

    #[test]
    fn answers_parse_with_strings_numbers_and_omitted_defaults() {
        // As etcd 3.4 answers: int64 as strings, `more` absent when false.
        let v: Value = serde_json::from_str(
            r#"{"header":{"cluster_id":"1","revision":"9"},
                "kvs":[{"key":"YQ==","create_revision":"2","mod_revision":"4","version":"3","value":"MQ=="},
                       {"key":"Yg==","create_revision":5,"mod_revision":5,"version":1}],
                "count":"2"}"#,
        )
        .unwrap();
        let r = parse_range(&v).unwrap();
        assert_eq!(r.revision, 9);
        assert_eq!(r.count, 2);
        assert!(!r.more);
        assert_eq!(
            r.kvs,
            vec![
                KeyValue {
                    key: b"a".to_vec(),
                    value: b"1".to_vec(),
                    create_revision: 2,
                    mod_revision: 4,
                    version: 3
                },
                KeyValue {
                    key: b"b".to_vec(),
                    value: vec![],
                    create_revision: 5,
                    mod_revision: 5,
                    version: 1
                },
            ]
        );
        let empty = parse_range(&json!({"header": {"revision": "1"}})).unwrap();
        assert!(empty.kvs.is_empty() && empty.count == 0);
        assert!(parse_range(&json!({"count": "x"})).is_err());
        assert!(parse_range(&json!({"kvs": [{"key": "!!"}]})).is_err());
    }

    #[test]
    fn txn_answers_parse() {
        let v: Value = serde_json::from_str(
            r#"{"header":{"revision":"3"},"succeeded":true,"responses":[
                {"response_put":{"header":{"revision":"3"}}},
                {"response_delete_range":{"header":{"revision":"3"},"deleted":"1"}},
                {"response_range":{"header":{"revision":"3"},"kvs":[{"key":"YQ=="}],"count":"1","more":true}}]}"#,
        )
        .unwrap();
        let t = parse_txn(&v).unwrap();
        assert_eq!(t.revision, 3);
        assert!(t.succeeded);
        assert!(matches!(t.responses[0], OpResponse::Put));
        assert!(matches!(t.responses[1], OpResponse::Delete { deleted: 1 }));
        match &t.responses[2] {
            OpResponse::Range(r) => assert!(r.more && r.count == 1 && r.kvs[0].key == b"a"),
            other => panic!("{other:?}"),
        }
        // A failed compare: `succeeded` absent.
        let t = parse_txn(&json!({"header": {"revision": "4"}, "responses": [
            {"response_delete_range": {"header": {"revision": "4"}}}]}))
        .unwrap();
        assert!(!t.succeeded);
        assert!(matches!(t.responses[0], OpResponse::Delete { deleted: 0 }));
    }

    #[test]
    fn watch_messages_are_classified() {
        let created = parse_watch_message(
            &serde_json::from_str(r#"{"result":{"header":{"revision":"3"},"created":true}}"#)
                .unwrap(),
        )
        .unwrap();
        assert!(matches!(created, WatchMessage::Created));
        let batch = parse_watch_message(
            &serde_json::from_str(
                r#"{"result":{"header":{"revision":"4"},"events":[
                {"kv":{"key":"bjE=","create_revision":"4","mod_revision":"4","version":"1","value":"NQ=="}},
                {"type":"DELETE","kv":{"key":"bg==","mod_revision":"4"}}]}}"#,
            )
            .unwrap(),
        )
        .unwrap();
        let WatchMessage::Batch(b) = batch else {
            panic!("{batch:?}")
        };
        assert_eq!(b.revision, 4);
        assert_eq!(
            b.events,
            vec![
                Event::Put(KeyValue {
                    key: b"n1".to_vec(),
                    value: b"5".to_vec(),
                    create_revision: 4,
                    mod_revision: 4,
                    version: 1
                }),
                Event::Delete {
                    key: b"n".to_vec(),
                    mod_revision: 4
                },
            ]
        );
        let progress =
            parse_watch_message(&json!({"result": {"header": {"revision": "8"}}})).unwrap();
        assert!(
            matches!(progress, WatchMessage::Batch(b) if b.revision == 8 && b.events.is_empty())
        );
        let compacted = parse_watch_message(
            &json!({"result": {"header": {}, "canceled": true, "compact_revision": "3"}}),
        )
        .unwrap();
        assert!(matches!(
            compacted,
            WatchMessage::Canceled(Error::Compacted {
                compact_revision: 3,
                ..
            })
        ));
        let auth = parse_watch_message(&json!({"result": {"created": true, "canceled": true,
            "cancel_reason": "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"}}))
        .unwrap();
        assert!(matches!(auth, WatchMessage::Canceled(Error::Auth(_))));
        let broke = parse_watch_message(
            &json!({"error": {"grpc_code": 14, "http_code": 503, "message": "transport is closing"}}),
        )
        .unwrap();
        assert!(matches!(
            broke,
            WatchMessage::Canceled(Error::Unavailable(_))
        ));
        assert!(parse_watch_message(&json!({"x": 1})).is_err());
    }

    #[test]
    fn error_answers_map_to_kinds() {
        let answer = |status, msg: &str| {
            let body = json!({"error": msg, "message": msg, "code": 3}).to_string();
            map_error_answer(status, body.as_bytes())
        };
        assert!(matches!(
            answer(400, "etcdserver: request is too large"),
            Failure::Etcd(Error::TooLarge(_))
        ));
        assert!(matches!(
            answer(400, "etcdserver: too many operations in txn request"),
            Failure::Etcd(Error::TooLarge(_))
        ));
        assert!(matches!(
            answer(
                400,
                "etcdserver: mvcc: required revision has been compacted"
            ),
            Failure::Etcd(Error::Compacted { .. })
        ));
        for m in [
            "etcdserver: no leader",
            "etcdserver: request timed out",
            "etcdserver: leader changed",
        ] {
            assert!(
                matches!(answer(400, m), Failure::Etcd(Error::Unavailable(_))),
                "{m}"
            );
        }
        assert!(matches!(
            answer(503, "something"),
            Failure::Etcd(Error::Unavailable(_))
        ));
        assert!(matches!(
            answer(401, "etcdserver: invalid auth token"),
            Failure::BadToken(_)
        ));
        assert!(matches!(
            answer(401, "etcdserver: auth token is expired"),
            Failure::BadToken(_)
        ));
        for m in [
            "etcdserver: authentication failed, invalid user ID or password",
            "etcdserver: permission denied",
            "etcdserver: user name is empty",
        ] {
            assert!(
                matches!(answer(400, m), Failure::Etcd(Error::Auth(_))),
                "{m}"
            );
        }
        assert_eq!(
            answer(400, "etcdserver: duplicate key given in txn request"),
            Failure::Etcd(Error::Other(
                "etcdserver: duplicate key given in txn request".into()
            ))
        );
        assert!(matches!(
            map_error_answer(502, b"Bad Gateway"),
            Failure::Etcd(Error::Unavailable(m)) if m.contains("502")
        ));
    }

    #[test]
    fn the_framer_splits_and_joins_chunks() {
        let mut f = Framer::default();
        assert!(f.push(b"").unwrap().is_empty());
        assert!(f.push(b"{\"result\":{\"a\"").unwrap().is_empty());
        let got = f.push(b":1}}\n{\"result\":{}}{\"res").unwrap();
        assert_eq!(
            got,
            vec![json!({"result": {"a": 1}}), json!({"result": {}})]
        );
        let got = f.push(b"ult\":2}\r\n").unwrap();
        assert_eq!(got, vec![json!({"result": 2})]);
        assert!(f.push(b"  \n").unwrap().is_empty());
        // Byte by byte.
        let text = br#"{"result":{"events":[{"kv":{"key":"YQ=="}}]}}{"x":[1,2]}"#;
        let mut out = Vec::new();
        for b in text {
            out.extend(f.push(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(out.len(), 2);
        assert!(f.push(b"}garbage").is_err());
    }
}
