//! How the bridge's client dials. tokio-xmpp reconnects by itself and tells its caller
//! nothing until it is online again (neither a lost connection nor failures, which only go to
//! its log), so the connector is wrapped: each dial is announced with the generation of the
//! client dialling (a client online that dials again has lost its connection), why an attempt
//! failed goes into the bridge's status, and when an attempt reached the server is noted, so a
//! sign-in that never completes can be reported too.
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use sasl::common::ChannelBinding;
use tokio::sync::mpsc;
use tokio::{io::BufStream, net::TcpStream};
use tokio_xmpp::{
    Error,
    connect::{DnsConfig, ServerConnector, StartTlsServerConnector},
    jid::Jid,
    xmlstream::{PendingFeaturesRecv, StreamHeader, Timeouts, initiate_stream},
};

use super::{StatusCell, link::Link};
use crate::{clock::Clock, config::XmppConfig};

/// Signing in takes a round trip or three once the server is reached; an attempt still not
/// online after this long has been refused (tokio-xmpp then waits and tries again).
pub(super) const SIGN_IN_GRACE: Duration = Duration::from_secs(10);

/// Makes the bridge's clients and remembers how their latest attempt went.
#[derive(Debug, Clone)]
pub(super) struct Dialer {
    status: StatusCell,
    clock: Arc<dyn Clock>,
    /// When an attempt first reached the server since the client was last online; cleared
    /// once online or reported.
    reached: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// Generations handed out so far.
    generations: Arc<AtomicU64>,
    /// Told the generation of each client that dials.
    dials: mpsc::UnboundedSender<u64>,
}

impl Dialer {
    /// A dialer, and where the generations of the clients that dial arrive.
    pub(super) fn new(
        status: StatusCell,
        clock: Arc<dyn Clock>,
    ) -> (Self, mpsc::UnboundedReceiver<u64>) {
        let (dials, dialled) = mpsc::unbounded_channel();
        let dialer = Self {
            status,
            clock,
            reached: Arc::default(),
            generations: Arc::default(),
            dials,
        };
        (dialer, dialled)
    }

    /// A new client and its generation; it connects (and reconnects) in the background.
    pub(super) fn client(&self, xmpp: &XmppConfig) -> (Link, u64) {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let jid = Jid::from(xmpp.jid.clone());
        let password = xmpp.password.expose().to_string();
        let client = match &xmpp.server {
            Some(addr) => Link::new(
                jid,
                password,
                Reporting::new(self, generation, NoDelayTcp(DnsConfig::addr(addr))),
                Timeouts::tight(),
            ),
            None => {
                let dns = DnsConfig::srv_default_client(xmpp.jid.domain().as_str());
                Link::new(
                    jid,
                    password,
                    Reporting::new(self, generation, StartTlsServerConnector::from(dns)),
                    Timeouts::default(),
                )
            }
        };
        (client, generation)
    }

    /// The client is online: the attempt that reached the server signed in.
    pub(super) fn online(&self) {
        if let Ok(mut reached) = self.reached.lock() {
            *reached = None;
        }
    }

    /// Whether an attempt reached the server more than `SIGN_IN_GRACE` ago without getting
    /// online; each such attempt is reported once.
    pub(super) fn sign_in_overdue(&self) -> bool {
        let Ok(mut reached) = self.reached.lock() else {
            return false;
        };
        let overdue = reached.is_some_and(|at| {
            self.clock.now() - at > chrono::Duration::from_std(SIGN_IN_GRACE).unwrap_or_default()
        });
        if overdue {
            *reached = None;
        }
        overdue
    }
}

/// A connector that reports each attempt's outcome to its `Dialer`.
#[derive(Debug, Clone)]
struct Reporting<C> {
    inner: C,
    dialer: Dialer,
    generation: u64,
}

impl<C> Reporting<C> {
    fn new(dialer: &Dialer, generation: u64, inner: C) -> Self {
        Self {
            inner,
            dialer: dialer.clone(),
            generation,
        }
    }
}

impl<C: ServerConnector + Sync> ServerConnector for Reporting<C> {
    type Stream = C::Stream;

    async fn connect(
        &self,
        jid: &Jid,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<(PendingFeaturesRecv<Self::Stream>, ChannelBinding), Error> {
        // Said before dialling: a dropped connection shows at once, not after a refusal.
        let _ = self.dialer.dials.send(self.generation);
        let result = self.inner.connect(jid, ns, timeouts).await;
        let now = self.dialer.clock.now();
        match &result {
            Ok(_) => {
                // The first attempt since online counts: later ones (tokio-xmpp retries
                // after a refusal) must not keep postponing the report.
                if let Ok(mut reached) = self.dialer.reached.lock() {
                    reached.get_or_insert(now);
                }
            }
            Err(e) => self
                .dialer
                .status
                .error(now, format!("cannot reach the XMPP server: {e}")),
        }
        result
    }
}

/// Plain TCP to a named address (a server beside meetplane), like tokio-xmpp's
/// `TcpServerConnector` but with Nagle's algorithm off: a chat message is one small write,
/// and waiting for the previous one's ACK (delayed up to 40 ms) put that into every relay.
/// (tokio-xmpp's STARTTLS connector opens its socket itself, so a remote server keeps Nagle.)
#[derive(Debug, Clone)]
struct NoDelayTcp(DnsConfig);

impl ServerConnector for NoDelayTcp {
    type Stream = BufStream<TcpStream>;

    async fn connect(
        &self,
        jid: &Jid,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<(PendingFeaturesRecv<Self::Stream>, ChannelBinding), Error> {
        let socket = self.0.resolve().await?;
        socket.set_nodelay(true)?;
        let header = StreamHeader {
            to: Some(jid.domain().as_str().to_owned().into()),
            from: None,
            id: None,
        };
        let stream = initiate_stream(BufStream::new(socket), ns, header, timeouts).await?;
        Ok((stream, ChannelBinding::None))
    }
}
