//! One watch: the streaming response of `POST /v3/watch`, held on a
//! connection of its own, read message by message.

use std::collections::VecDeque;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use serde_json::Value;

use super::json::{self, Failure, Framer, WatchMessage};
use super::{Attempt, Client, Error, WatchBatch};

impl Client {
    pub(super) async fn open_watch(
        &self,
        ep: usize,
        body: Bytes,
        token: Option<String>,
    ) -> Result<Watch, Attempt> {
        // A watch holds its connection for as long as it lives: a fresh one,
        // never returned to the idle pool.
        let mut conn = self.connect(ep).await.map_err(Attempt::NotSent)?;
        let req = self.request(ep, "/v3/watch", body, token);
        let url = &self.inner.endpoints[ep].url;
        let resp = match conn.try_send_request(req).await {
            Ok(resp) => resp,
            Err(e) if e.message().is_some() => {
                return Err(Attempt::NotSent(format!("{url}: {}", e.error())))
            }
            Err(e) => return Err(Attempt::Lost(format!("{url}: {}", e.error()))),
        };
        let status = resp.status().as_u16();
        let body = resp.into_body();
        if status != 200 {
            let bytes = body
                .collect()
                .await
                .map_err(|e| Attempt::Lost(format!("{url}: {e}")))?
                .to_bytes();
            return Err(Attempt::Answer(json::map_error_answer(status, &bytes)));
        }
        let mut watch = Watch {
            body: Some(body),
            framer: Framer::default(),
            pending: VecDeque::new(),
            _conn: conn,
            url: url.clone(),
        };
        // etcd confirms with a first message `created: true`; one canceled
        // at once (a rejected token) carries why. A compacted start revision
        // is reported after the creation, by `next`.
        match watch.message().await {
            Ok(WatchMessage::Created) => Ok(watch),
            Ok(WatchMessage::Canceled(Error::Auth(m))) if m.contains("invalid auth token") => {
                Err(Attempt::Answer(Failure::BadToken(m)))
            }
            Ok(WatchMessage::Canceled(Error::Auth(m))) if m.contains("auth token is expired") => {
                Err(Attempt::Answer(Failure::BadToken(m)))
            }
            Ok(WatchMessage::Canceled(e)) => Err(Attempt::Answer(Failure::Etcd(e))),
            Ok(WatchMessage::Batch(_)) => Err(Attempt::Answer(Failure::Etcd(Error::Other(
                format!("{url}: the watch sent events before it was created"),
            )))),
            Err(Error::Unavailable(m)) => Err(Attempt::Lost(m)),
            Err(e) => Err(Attempt::Answer(Failure::Etcd(e))),
        }
    }
}

/// One watch: an HTTP streaming response of JSON messages.
pub struct Watch {
    body: Option<Incoming>,
    framer: Framer,
    pending: VecDeque<Value>,
    /// Keeps the connection open while the watch lives.
    _conn: SendRequest<Full<Bytes>>,
    url: String,
}

impl Watch {
    /// The next message with events (progress notifications come back with
    /// no events and advance `revision`). Err(Unavailable) when the stream
    /// ends or breaks; Err(Compacted) when etcd cancels the watch because
    /// start_revision was compacted.
    pub async fn next(&mut self) -> Result<WatchBatch, Error> {
        loop {
            match self.message().await? {
                WatchMessage::Batch(b) => return Ok(b),
                // A second "created" is not ours (one watch per stream): skip.
                WatchMessage::Created => continue,
                WatchMessage::Canceled(e) => {
                    self.body = None;
                    return Err(e);
                }
            }
        }
    }

    async fn message(&mut self) -> Result<WatchMessage, Error> {
        loop {
            if let Some(v) = self.pending.pop_front() {
                return json::parse_watch_message(&v);
            }
            let Some(body) = self.body.as_mut() else {
                return Err(Error::Unavailable(format!(
                    "{}: the watch stream has ended",
                    self.url
                )));
            };
            match body.frame().await {
                None => {
                    self.body = None;
                    return Err(Error::Unavailable(format!(
                        "{}: the watch stream ended",
                        self.url
                    )));
                }
                Some(Err(e)) => {
                    self.body = None;
                    return Err(Error::Unavailable(format!(
                        "{}: the watch stream broke: {e}",
                        self.url
                    )));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let values = self.framer.push(&data).inspect_err(|_| {
                            self.body = None;
                        })?;
                        self.pending.extend(values);
                    }
                }
            }
        }
    }
}
