//! The bridge's stream to the XMPP server, sent on and read by the session's task alone.
//!
//! tokio-xmpp's `Client` would do this through a worker task that reads the stream from behind
//! a mutex its senders hold while queueing. When the worker polls while a send holds it, it
//! answers "pending" without asking to be woken (tokio-xmpp 6.0, `StanzaReceiver::poll_next`),
//! and hears nothing more: the MUC's reflections and the server's pongs stop, the ping times
//! out, and what was in flight is sent again on a new connection. So the session owns the
//! `StanzaStream` itself, and IQ answers are matched here by id.
use std::{
    collections::HashMap,
    io,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use tokio_xmpp::{
    Stanza,
    connect::ServerConnector,
    jid::Jid,
    minidom::Element,
    stanzastream::{Event, StanzaStage, StanzaState, StanzaStream, StanzaToken, StreamEvent},
    xmlstream::Timeouts,
};
use xmpp_parsers::{iq::Iq, message::Message, presence::Presence};

/// What an IQ of the bridge asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Asked {
    Ping,
    /// The instant-room form for this MUC.
    Configure(String),
}

/// What the session hears.
#[derive(Debug)]
pub(super) enum Heard {
    /// Signed in (again); `resumed` when the server kept the stream's state.
    Online {
        bound_jid: Option<Jid>,
        resumed: bool,
    },
    Message(Message),
    Presence(Presence),
    /// The answer to one of our IQs: `Err` with the error the server gave.
    Answer(Asked, Result<(), String>),
}

/// One client stream (tokio-xmpp reconnects it by itself) and the IQs awaiting an answer.
#[derive(Debug)]
pub(super) struct Link {
    stream: StanzaStream,
    /// The JID the stream was last bound to (a resumption keeps it).
    bound: Option<Jid>,
    next_iq: u64,
    waiting: HashMap<String, (Asked, Instant)>,
}

impl Link {
    /// Queue depth of the stream in each direction, as tokio-xmpp's `Client` has it.
    const QUEUE: usize = 16;

    pub(super) fn new<C: ServerConnector>(
        jid: Jid,
        password: String,
        connector: C,
        timeouts: Timeouts,
    ) -> Self {
        Self {
            stream: StanzaStream::new_c2s(connector, jid, password, timeouts, Self::QUEUE),
            bound: None,
            next_iq: 0,
            waiting: HashMap::new(),
        }
    }

    /// The next thing heard; `None` when the stream has ended. Cancel-safe: nothing is awaited
    /// after an event was taken.
    pub(super) async fn next(&mut self) -> Option<Heard> {
        loop {
            let heard = match self.stream.next().await? {
                Event::Stream(StreamEvent::Reset { bound_jid, .. }) => {
                    self.bound = Some(bound_jid.clone());
                    Heard::Online {
                        bound_jid: Some(bound_jid),
                        resumed: false,
                    }
                }
                Event::Stream(StreamEvent::Resumed) => Heard::Online {
                    bound_jid: self.bound.clone(),
                    resumed: true,
                },
                // The dialer reports the lost connection (see `connector`).
                Event::Stream(StreamEvent::Suspended) => continue,
                Event::Stanza(Stanza::Message(m)) => Heard::Message(m),
                Event::Stanza(Stanza::Presence(p)) => Heard::Presence(p),
                Event::Stanza(Stanza::Iq(iq)) => match self.answer(iq) {
                    Some(heard) => heard,
                    None => continue,
                },
            };
            return Some(heard);
        }
    }

    /// An answer to one of our IQs; requests from the server are not served.
    fn answer(&mut self, iq: Iq) -> Option<Heard> {
        let (id, result) = match iq {
            Iq::Result { id, .. } => (id, Ok(())),
            Iq::Error { id, error, .. } => (id, Err(format!("{error:?}"))),
            Iq::Get { .. } | Iq::Set { .. } => return None,
        };
        let (asked, _) = self.waiting.remove(&id)?;
        Some(Heard::Answer(asked, result))
    }

    /// Queue a stanza and wait until it has been written (as `Client::send_stanza`).
    pub(super) async fn send(&mut self, stanza: Stanza) -> io::Result<StanzaToken> {
        let mut token = self.stream.send(Box::new(stanza)).await;
        match token.wait_for(StanzaStage::Sent).await {
            Some(StanzaState::Sent { .. }) | Some(StanzaState::Acked { .. }) => Ok(token),
            Some(StanzaState::Failed { error }) => Err(error.into_io_error()),
            None | Some(StanzaState::Dropped) | Some(StanzaState::Queued) => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "stream disconnected fatally before stanza could be sent",
            )),
        }
    }

    /// Send an IQ `get` (else `set`) of `payload`; its answer is heard as `Heard::Answer`,
    /// unless `overdue` gives it up first after `wait`.
    pub(super) async fn ask(
        &mut self,
        to: Option<Jid>,
        get: bool,
        payload: Element,
        asked: Asked,
        wait: Duration,
    ) -> io::Result<()> {
        self.next_iq += 1;
        let id = format!("mp-iq-{}", self.next_iq);
        let iq = if get {
            Iq::Get {
                from: None,
                to,
                id: id.clone(),
                payload,
            }
        } else {
            Iq::Set {
                from: None,
                to,
                id: id.clone(),
                payload,
            }
        };
        self.waiting
            .insert(id.clone(), (asked, Instant::now() + wait));
        let sent = self.send(iq.into()).await;
        if sent.is_err() {
            self.waiting.remove(&id);
        }
        sent.map(|_| ())
    }

    /// The IQs whose answer is overdue at `now`, given up on.
    pub(super) fn overdue(&mut self, now: Instant) -> Vec<Asked> {
        let late: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, (_, until))| now >= *until)
            .map(|(id, _)| id.clone())
            .collect();
        late.into_iter()
            .filter_map(|id| self.waiting.remove(&id).map(|(asked, _)| asked))
            .collect()
    }

    /// Whether a ping is awaiting its answer.
    pub(super) fn pinging(&self) -> bool {
        self.waiting
            .values()
            .any(|(asked, _)| *asked == Asked::Ping)
    }

    /// End the stream cleanly.
    pub(super) async fn close(self) {
        self.stream.close().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use sasl::common::ChannelBinding;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, BufStream, DuplexStream};
    use tokio_xmpp::{
        Error,
        xmlstream::{PendingFeaturesRecv, StreamHeader, initiate_stream},
    };
    use xmpp_parsers::message::Lang;

    use super::*;

    /// Hands out one end of an in-memory pipe, once.
    #[derive(Debug, Clone)]
    struct Pipe(Arc<Mutex<Option<DuplexStream>>>);

    impl ServerConnector for Pipe {
        type Stream = BufStream<DuplexStream>;

        async fn connect(
            &self,
            jid: &Jid,
            ns: &'static str,
            timeouts: Timeouts,
        ) -> Result<(PendingFeaturesRecv<Self::Stream>, ChannelBinding), Error> {
            let Some(io) = self.0.lock().unwrap().take() else {
                return std::future::pending().await;
            };
            let header = StreamHeader {
                to: Some(jid.domain().as_str().to_owned().into()),
                from: None,
                id: None,
            };
            let stream = initiate_stream(BufStream::new(io), ns, header, timeouts).await?;
            Ok((stream, ChannelBinding::None))
        }
    }

    /// Read from the client until `done` says what was read is complete (and return it).
    async fn until(io: &mut DuplexStream, done: impl Fn(&str) -> bool) -> String {
        let mut got = String::new();
        let mut buf = [0u8; 1024];
        while !done(&got) {
            let n = io.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client hung up after {got}");
            got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        got
    }

    /// A stream header has been read.
    fn header(got: &str) -> bool {
        got.split_once("<stream:stream")
            .is_some_and(|(_, rest)| rest.contains('>'))
    }

    const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' id='s' from='localhost' version='1.0'>";

    /// A server just able to sign a client in (SASL PLAIN, resource binding).
    async fn sign_in(io: &mut DuplexStream) {
        until(io, header).await;
        let features = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
            <mechanism>PLAIN</mechanism></mechanisms></stream:features>";
        io.write_all(format!("{HEADER}{features}").as_bytes())
            .await
            .unwrap();
        until(io, |got| got.contains("</auth>")).await;
        io.write_all(b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            .await
            .unwrap();
        until(io, header).await;
        let features = "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
            </stream:features>";
        io.write_all(format!("{HEADER}{features}").as_bytes())
            .await
            .unwrap();
        let bind = until(io, |got| got.contains("</iq>")).await;
        let id = bind
            .split_once("id=")
            .and_then(|(_, rest)| rest.get(1..))
            .and_then(|rest| rest.split(['\'', '"']).next())
            .unwrap()
            .to_owned();
        let result = format!(
            "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <jid>bridge@localhost/r</jid></bind></iq>"
        );
        io.write_all(result.as_bytes()).await.unwrap();
    }

    /// tokio-xmpp's `Client` loses what arrives while one of its sends waits for room in the
    /// queue (its reading worker is never woken again): what the server says then must still
    /// be heard once the send went.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_arrives_while_a_send_waits_is_heard() {
        let (client_end, mut server) = tokio::io::duplex(64);
        let pipe = Pipe(Arc::new(Mutex::new(Some(client_end))));
        let jid = Jid::new("bridge@localhost").unwrap();
        let mut link = Link::new(jid, "pw".into(), pipe, Timeouts::tight());
        let (flooding, flood) = tokio::sync::oneshot::channel::<()>();
        let server_task = tokio::spawn(async move {
            sign_in(&mut server).await;
            // Stop reading: the client's sends back up until one waits for room.
            flood.await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let said = "<message type='groupchat' from='talk@muc.localhost/alice' \
                to='bridge@localhost/r' id='said'><body>hello</body></message>";
            server.write_all(said.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut sink = [0u8; 4096];
            while server.read(&mut sink).await.is_ok_and(|n| n > 0) {}
        });
        let online = tokio::time::timeout(Duration::from_secs(5), link.next())
            .await
            .expect("signed in");
        assert!(matches!(online, Some(Heard::Online { resumed: false, .. })));
        flooding.send(()).unwrap();
        // Queued without waiting for each to be written, so that the queue fills.
        for i in 0..1024 {
            let mut m = Message::groupchat(Some(Jid::new("talk@muc.localhost").unwrap()));
            m.bodies.insert(Lang::default(), format!("filler {i}"));
            let _token = link.stream.send(Box::new(m.into())).await;
        }
        let heard = tokio::time::timeout(Duration::from_secs(3), link.next())
            .await
            .expect("the message that arrived while sending is heard");
        assert!(
            matches!(&heard, Some(Heard::Message(m)) if m.id.as_ref().is_some_and(|id| id.0 == "said")),
            "{heard:?}"
        );
        server_task.abort();
    }
}
