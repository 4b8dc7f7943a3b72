//! The Janus configuration matching meetplane's settings (`meetplane janus config`): the
//! VideoRoom plugin only, the WebSocket API and the HTTP Admin API on the addresses meetplane
//! dials, stored-token auth, and the sample event handler posting back to this node.
use url::Url;

use crate::config::JanusConfig;

/// What the operator chooses beyond meetplane's own settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where Janus's event handler posts (meetplane's `/internal/janus/events`).
    pub events_url: Url,
    /// `nat.ice_enforce_list`: the only interfaces Janus gathers candidates on.
    pub ice_enforce_list: Option<String>,
}

/// The plugins, transports, event handlers and loggers of Debian's janus 1.1.2 that meetplane
/// does not use; Janus loads every library in its folders unless told not to.
const UNUSED_PLUGINS: &str = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,\
libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,\
libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so";
const UNUSED_TRANSPORTS: &str =
    "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so";
const UNUSED_HANDLERS: &str = "libjanus_gelfevh.so,libjanus_mqttevh.so,libjanus_nanomsgevh.so,\
libjanus_rabbitmqevh.so,libjanus_wsevh.so";

/// A quoted libconfig string. Secrets are checked to need no escaping (`config::janus`);
/// anything else is escaped all the same.
fn q(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The files to write, by name.
pub fn render(janus: &JanusConfig, options: &Options) -> Vec<(&'static str, String)> {
    vec![
        ("janus.jcfg", core(janus, options)),
        (
            "janus.plugin.videoroom.jcfg",
            format!(
                "general: {{\n\tadmin_key = {}\n\tstring_ids = true\n}}\n",
                q(janus.admin_key.expose())
            ),
        ),
        ("janus.transport.websockets.jcfg", websockets(&janus.ws_url)),
        ("janus.transport.http.jcfg", http(&janus.admin_url)),
        (
            "janus.eventhandler.sampleevh.jcfg",
            format!(
                "general: {{\n\tenabled = true\n\tevents = \"sessions,handles,plugins,webrtc\"\n\
                 \tgrouping = true\n\tjson = \"compact\"\n\tbackend = {}\n\
                 \tbackend_user = \"janus\"\n\tbackend_pwd = {}\n}}\n",
                q(options.events_url.as_str()),
                q(janus.events_secret.expose())
            ),
        ),
    ]
}

fn core(janus: &JanusConfig, options: &Options) -> String {
    let enforce = options
        .ice_enforce_list
        .as_deref()
        .map(|i| format!("\tice_enforce_list = {}\n", q(i)))
        .unwrap_or_default();
    format!(
        "# Written by `meetplane janus config`; only meetplane knows these secrets.\n\
         general: {{\n\tapi_secret = {api}\n\tadmin_secret = {admin}\n\
         \t# Stored tokens (Admin add_token), one per peer, minted by meetplane.\n\
         \ttoken_auth = true\n}}\n\
         nat: {{\n{enforce}\tignore_mdns = true\n}}\n\
         plugins: {{\n\tdisable = \"{UNUSED_PLUGINS}\"\n}}\n\
         transports: {{\n\tdisable = \"{UNUSED_TRANSPORTS}\"\n}}\n\
         loggers: {{\n\tdisable = \"libjanus_jsonlog.so\"\n}}\n\
         events: {{\n\tbroadcast = true\n\tstats_period = 0\n\
         \tdisable = \"{UNUSED_HANDLERS}\"\n}}\n",
        api = q(janus.api_secret.expose()),
        admin = q(janus.admin_secret.expose()),
    )
}

/// The `key = ip` line binding a server to a URL's host: its IP, loopback for `localhost`;
/// none for another name (a container's name on a private network: Janus then listens on
/// all of its host's interfaces, which that network must keep private).
fn bind_line(key: &str, url: &Url) -> String {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(url::Host::Domain("localhost")) => "127.0.0.1".to_string(),
        _ => return String::new(),
    };
    format!("\t{key} = {}\n", q(&ip))
}

fn websockets(ws: &Url) -> String {
    format!(
        "general: {{\n\tjson = \"compact\"\n\tws = true\n\tws_port = {port}\n{ip}\
         \twss = false\n}}\nadmin: {{\n\tadmin_ws = false\n\tadmin_wss = false\n}}\n",
        port = ws.port_or_known_default().unwrap_or(8188),
        ip = bind_line("ws_ip", ws),
    )
}

fn http(admin: &Url) -> String {
    let path = admin.path().trim_end_matches('/');
    let path = if path.is_empty() { "/admin" } else { path };
    format!(
        "general: {{\n\tjson = \"compact\"\n\thttp = false\n\thttps = false\n}}\n\
         admin: {{\n\tadmin_http = true\n\tadmin_port = {port}\n{ip}\
         \tadmin_base_path = {path}\n\tadmin_https = false\n}}\n",
        port = admin.port_or_known_default().unwrap_or(7088),
        ip = bind_line("admin_ip", admin),
        path = q(path),
    )
}
