//! A private Prosody (XMPP server) for one test: its own config, data folder and loopback
//! port, a MUC component at `conference.localhost`, users registered with prosodyctl. CI
//! installs Prosody with apt; elsewhere a missing Prosody skips the test, saying so.
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use futures_util::StreamExt;
use tokio_xmpp::{
    Client, Event, Stanza, connect::DnsConfig, parsers::jid::BareJid, xmlstream::Timeouts,
};
use xmpp_parsers::{
    jid::Jid,
    message::{Lang, Message, MessageType},
    muc::Muc,
    presence::Presence,
};

const PROSODY: &str = "/usr/bin/prosody";
const PROSODYCTL: &str = "/usr/bin/prosodyctl";

pub struct Prosody {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// Prosody, or `None` (outside CI only) when it is not installed.
pub fn available() -> bool {
    let found = std::path::Path::new(PROSODY).exists();
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "XMPP bridge tests need Prosody: apt-get install -y prosody"
        );
        eprintln!("skipped: XMPP bridge tests need Prosody (apt-get install -y prosody)");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prosody {
    pub async fn start(users: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let config = format!(
            r#"
run_as_root = true
daemonize = false
pidfile = "{dir}/prosody.pid"
data_path = "{data}"
log = {{ debug = "{dir}/prosody.log" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
modules_enabled = {{ "saslauth", "tls", "disco", "ping", "register", "roster", "smacks" }}
modules_disabled = {{ "s2s", "http", "posix" }}
VirtualHost "localhost"
Component "conference.localhost" "muc"
    restrict_room_creation = false
    muc_room_locking = false
"#,
            dir = dir.path().display(),
            data = data.display(),
        );
        std::fs::write(config_path(&dir), config).unwrap();
        for (user, password) in users {
            let out = Command::new(PROSODYCTL)
                .arg("--config")
                .arg(config_path(&dir))
                .args(["register", user, "localhost", password])
                .output()
                .unwrap();
            assert!(out.status.success(), "prosodyctl register: {out:?}");
        }
        let mut p = Prosody {
            port,
            dir,
            child: None,
        };
        p.launch().await;
        p
    }

    async fn launch(&mut self) {
        let child = Command::new(PROSODY)
            .arg("--config")
            .arg(config_path(&self.dir))
            .arg("-F")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        // Ready when the c2s port accepts connections.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "Prosody did not start: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prosody.log")).unwrap_or_default()
    }
}

fn config_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("prosody.cfg.lua")
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A plain XMPP client in a MUC, as a person with a chat app would be.
pub struct Person {
    client: Client,
    pub nick: String,
}

/// What a person sees in the MUC.
#[derive(Debug, Clone)]
pub enum Seen {
    Message {
        nick: String,
        body: String,
        delayed: bool,
    },
    Presence {
        nick: String,
        available: bool,
    },
}

impl Person {
    pub async fn join(prosody: &Prosody, user: &str, password: &str, room: &str) -> Self {
        let jid = BareJid::new(&format!("{user}@localhost")).unwrap();
        let mut client = Client::new_plaintext(
            jid,
            password.to_string(),
            DnsConfig::addr(&prosody.address()),
            Timeouts::tight(),
        );
        tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(event) = client.next().await {
                if let Event::Online { .. } = event {
                    break;
                }
            }
        })
        .await
        .expect("the test client logs in");
        let occupant = BareJid::new(room).unwrap().with_resource_str(user).unwrap();
        let presence = Presence::available()
            .with_to(occupant)
            .with_payload(Muc::default());
        client.send_stanza(presence.into()).await.unwrap();
        let mut person = Person {
            client,
            nick: user.to_string(),
        };
        let me = user.to_string();
        person
            .wait_for(|s| matches!(s, Seen::Presence { nick, available: true } if *nick == me))
            .await;
        person
    }

    pub async fn say(&mut self, room: &str, text: &str) {
        let mut m = Message::new_with_type(MessageType::Groupchat, Some(Jid::new(room).unwrap()));
        m.bodies.insert(Lang::default(), text.to_string());
        self.client.send_stanza(m.into()).await.unwrap();
    }

    /// Everything seen (at most 30 s) up to and including the first thing matching `last`.
    pub async fn seen_until(&mut self, last: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        let mut all = Vec::new();
        let done = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(event) = self.client.next().await {
                if let Some(seen) = seen(event) {
                    let end = last(&seen);
                    all.push(seen);
                    if end {
                        return true;
                    }
                }
            }
            false
        })
        .await;
        assert!(
            matches!(done, Ok(true)),
            "{} did not see the end; saw {all:?}",
            self.nick
        );
        all
    }

    /// Wait (at most 30 s) for something matching; returns it.
    pub async fn wait_for(&mut self, wanted: impl Fn(&Seen) -> bool) -> Seen {
        let mut other = Vec::new();
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(event) = self.client.next().await {
                match seen(event) {
                    Some(seen) if wanted(&seen) => return Some(seen),
                    Some(seen) => other.push(format!("{seen:?}")),
                    None => {}
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(seen)) => seen,
            _ => panic!("{} did not see what was expected; saw {other:?}", self.nick),
        }
    }
}

fn seen(event: Event) -> Option<Seen> {
    match event {
        Event::Stanza(Stanza::Message(m)) if m.type_ == MessageType::Groupchat => {
            let nick = m.from.as_ref()?.resource()?.to_string();
            let delayed = m
                .payloads
                .iter()
                .any(|p| p.is("delay", xmpp_parsers::ns::DELAY));
            let body = m.get_best_body_cloned(vec![])?.1;
            Some(Seen::Message {
                nick,
                body,
                delayed,
            })
        }
        Event::Stanza(Stanza::Presence(p)) => Some(Seen::Presence {
            nick: p.from.as_ref()?.resource()?.to_string(),
            available: p.type_ != xmpp_parsers::presence::Type::Unavailable,
        }),
        _ => None,
    }
}
