//! A real local web site that embeds the chat widget: its users-info URL (`/users`, Basic auth
//! root/abc with the login compared case-insensitively, as the seed's PHP does) and pages that
//! load the widget for one of its users.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use futures_util::StreamExt;
use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::{StatusCode, header},
    listener::{Acceptor, Listener, TcpListener},
    web::{Data, Path},
};
use serde_json::{Value, json};

pub const LOGIN: &str = "root";
/// Distinctive, so a test asserting that answers never contain it cannot trip over a UUID
/// or random key that happens to (the former "abc" matched an org id now and then).
pub const PASSWORD: &str = "site-api-pa55word";

/// How `/users` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Users,
    NotJson,
    WithoutName,
    /// A JSON array that never ends, chunked, with no Content-Length.
    Endless,
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, Value>,
    mode: Mutex<Option<Mode>>,
    queries: Mutex<Vec<String>>,
    pages: Mutex<HashMap<String, String>>,
}

pub struct Site {
    pub origin: String,
    inner: Arc<Inner>,
}

fn authorised(req: &Request) -> bool {
    let Some(basic) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let decoded = STANDARD
        .decode(basic)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((login, password)) => login.to_lowercase() == LOGIN && password == PASSWORD,
        None => false,
    }
}

#[handler]
fn users_info(req: &Request, Data(inner): Data<&Arc<Inner>>) -> Response {
    let query = req.uri().query().unwrap_or_default().to_string();
    inner.queries.lock().unwrap().push(query.clone());
    if !authorised(req) {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("WWW-Authenticate", "Basic realm=\"Backend\"")
            .body(json!({"code": 401, "error": "Authenticate required!"}).to_string());
    }
    let ids = query
        .strip_prefix("user_ids=")
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect::<Vec<_>>();
    let mode = inner.mode.lock().unwrap().unwrap_or(Mode::Users);
    if mode == Mode::Endless {
        let padding = Bytes::from(vec![b' '; 64 * 1024]);
        let chunks = futures_util::stream::once(async { Bytes::from_static(b"[") })
            .chain(futures_util::stream::repeat(padding))
            .map(Ok::<_, std::io::Error>);
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_bytes_stream(chunks));
    }
    let body = match mode {
        Mode::Endless => unreachable!("answered above"),
        Mode::NotJson => "<html>Fatal error</html>".to_string(),
        Mode::Users | Mode::WithoutName => {
            let list: Vec<Value> = ids
                .iter()
                .filter_map(|id| inner.users.get(id).cloned())
                .map(|mut u| {
                    if mode == Mode::WithoutName {
                        u.as_object_mut().unwrap().remove("name");
                    }
                    u
                })
                .collect();
            Value::Array(list).to_string()
        }
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
}

#[handler]
fn page(Path(name): Path<String>, Data(inner): Data<&Arc<Inner>>) -> Response {
    match inner.pages.lock().unwrap().get(&name) {
        Some(html) => Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(html.clone()),
        None => Response::builder().status(StatusCode::NOT_FOUND).finish(),
    }
}

impl Site {
    /// A site knowing these users (`{"user_id", "name", …}` each).
    pub async fn start(users: Vec<Value>) -> Self {
        let inner = Arc::new(Inner {
            users: users
                .into_iter()
                .map(|u| (u["user_id"].to_string().trim_matches('"').to_string(), u))
                .collect(),
            ..Default::default()
        });
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let app = Route::new()
            .at("/users", users_info)
            .at("/pages/:name", page)
            .data(inner.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self {
            origin: format!("http://127.0.0.1:{port}"),
            inner,
        }
    }

    pub fn users_url(&self) -> String {
        format!("{}/users", self.origin)
    }

    pub fn answer(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap() = Some(mode);
    }

    /// Query strings `/users` was called with.
    pub fn queries(&self) -> Vec<String> {
        self.inner.queries.lock().unwrap().clone()
    }

    /// Serve `html` at `/pages/{name}`; returns its URL.
    pub fn page(&self, name: &str, html: String) -> String {
        self.inner
            .pages
            .lock()
            .unwrap()
            .insert(name.to_string(), html);
        format!("{}/pages/{name}", self.origin)
    }
}
