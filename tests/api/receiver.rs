//! A real local HTTP server standing in for a webhook receiver: it records every request and
//! answers as the test tells it to.
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use meetplane::auth::xroom_hmac;
use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub json: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer one request.
#[derive(Clone)]
pub enum Reply {
    Status(u16),
    StatusWithHeader(u16, &'static str, String),
    /// Answer the validation handshake correctly under this key (200 otherwise).
    Validate(String),
    Body(u16, String),
    Slow(Duration),
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    queued: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    arrived: Notify,
}

pub struct Receiver {
    pub url: String,
    pub port: u16,
    inner: Arc<Inner>,
    stop: Option<oneshot::Sender<()>>,
}

#[handler]
async fn receive(req: &Request, body: String, Data(inner): Data<&Arc<Inner>>) -> Response {
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    let received = Received {
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body,
        json: json.clone(),
    };
    let reply = {
        let queued = inner.queued.lock().unwrap().pop_front();
        queued
            .or_else(|| inner.default.lock().unwrap().clone())
            .unwrap_or(Reply::Status(200))
    };
    // Recorded before any delay: a client that gives up (or dies) still counts as sent.
    inner.received.lock().unwrap().push(received);
    inner.arrived.notify_waiters();
    if let Reply::Slow(delay) = &reply {
        tokio::time::sleep(*delay).await;
    }
    match reply {
        Reply::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Reply::StatusWithHeader(s, name, value) => Response::builder()
            .status(StatusCode::from_u16(s).unwrap())
            .header(name, value)
            .finish(),
        Reply::Body(s, text) => Response::builder()
            .status(StatusCode::from_u16(s).unwrap())
            .body(text),
        Reply::Validate(key) => match json["signThis"].as_str() {
            Some(sign_this) => xroom_hmac::sign(&key, sign_this).into_response(),
            None => StatusCode::OK.into_response(),
        },
        Reply::Slow(_) => StatusCode::OK.into_response(),
    }
}

fn app(inner: Arc<Inner>) -> impl Endpoint {
    Route::new().at("/*path", receive).data(inner)
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Listen on a given port (0: any), e.g. to bring a receiver back where it was.
    pub async fn start_on(port: u16) -> Self {
        let acceptor = TcpListener::bind(format!("127.0.0.1:{port}"))
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let inner = Arc::new(Inner::default());
        let (tx, rx) = oneshot::channel::<()>();
        let ep = app(inner.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    ep,
                    async {
                        let _ = rx.await;
                    },
                    Some(Duration::from_millis(100)),
                )
                .await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inner,
            stop: Some(tx),
        }
    }

    pub fn answer(&self, reply: Reply) {
        *self.inner.default.lock().unwrap() = Some(reply);
    }

    pub fn answer_next(&self, reply: Reply) {
        self.inner.queued.lock().unwrap().push_back(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Wait until `n` requests arrived; returns them all. Gives up after 20 s in which none
    /// arrived, so a long stream on a busy machine is waited for while it makes progress.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let quiet = Duration::from_secs(20);
        let mut deadline = tokio::time::Instant::now() + quiet;
        let mut seen = 0;
        loop {
            let notified = self.inner.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if got.len() > seen {
                seen = got.len();
                deadline = tokio::time::Instant::now() + quiet;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "expected {n} requests, got {}: {:?}",
                    got.len(),
                    got.iter().map(|r| &r.json).collect::<Vec<_>>()
                );
            }
        }
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}
