//! The HTTP server loop: hyper's HTTP/1.1 connection with a header read timeout, serving the
//! poem routes. poem's own `Server` leaves hyper without a timer, so a connection that never
//! finishes its headers stays open for good (a thousand of them hold a thousand sockets);
//! here each connection has `header_read_timeout` to send a request's headers, and between
//! requests to start the next one. Answers hyper writes by itself get the problem shape
//! ([`problem_answers`]).
use std::{convert::Infallible, future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::{
    Endpoint, Request,
    endpoint::BoxEndpoint,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::problem_answers::ProblemAnswers;

type Body = http_body_util::combinators::BoxBody<bytes::Bytes, io::Error>;

/// Serve `routes` on `listener` until `shutdown` completes; then let requests in flight
/// finish, for `grace` at most.
pub async fn serve(
    listener: TcpListener,
    routes: BoxEndpoint<'static>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let local = LocalAddr(listener.local_addr()?.into());
    let routes = Arc::new(routes);
    let stopping = CancellationToken::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    tracing::error!(error = %e, "a connection's task panicked");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    connections.spawn(connection(
                        stream,
                        local.clone(),
                        remote,
                        routes.clone(),
                        header_read_timeout,
                        stopping.clone(),
                    ));
                }
                Err(e) => {
                    // Out of file descriptors and the like: give other tasks a moment to
                    // close some rather than spin on the error.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    stopping.cancel();
    let finished = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    });
    if finished.await.is_err() {
        tracing::warn!(
            left = connections.len(),
            "connections still busy after the grace period are closed"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn connection(
    stream: tokio::net::TcpStream,
    local: LocalAddr,
    remote: SocketAddr,
    routes: Arc<BoxEndpoint<'static>>,
    header_read_timeout: Duration,
    stopping: CancellationToken,
) {
    let remote = RemoteAddr(remote.into());
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let routes = routes.clone();
        let request = Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
        async move {
            let response = routes.get_response(request).await;
            Ok::<_, Infallible>(hyper::Response::<Body>::from(response))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let io = TokioIo::new(ProblemAnswers::new(stream));
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        // A timed-out or malformed request ends the connection with an error; nothing to do.
        _ = conn.as_mut() => return,
        _ = stopping.cancelled() => {}
    }
    // Shutting down: finish the request in progress, take no new one.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
