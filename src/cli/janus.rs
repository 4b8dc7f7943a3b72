//! `meetplane janus config --out DIR`: write a Janus configuration matching this node's
//! Janus settings, for `janus -F DIR`.
use std::{io::Write, path::PathBuf};

use url::Url;

use crate::{
    config::Config,
    media::janus::config_files::{self, Options},
};

#[derive(clap::Subcommand, Debug)]
pub enum JanusCommand {
    /// Write Janus's configuration files into a folder (run Janus with `janus -F DIR`).
    Config(ConfigArgs),
}

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// The folder to write into (created if missing; existing files of these names are
    /// replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Where Janus posts its events [default: http://127.0.0.1:PORT/internal/janus/events,
    /// PORT being this node's listening port].
    #[arg(long)]
    pub events_url: Option<String>,
    /// The only network interfaces Janus gathers ICE candidates on (`nat.ice_enforce_list`).
    #[arg(long)]
    pub ice_enforce_list: Option<String>,
}

pub fn run(config: &Config, command: JanusCommand) -> anyhow::Result<()> {
    let JanusCommand::Config(args) = command;
    let janus = config.janus.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "Janus is not configured: set MEETPLANE_JANUS_WS_URL, MEETPLANE_JANUS_ADMIN_URL and \
             the four MEETPLANE_JANUS_* secrets first"
        )
    })?;
    let events_url = match &args.events_url {
        Some(v) => Url::parse(v)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| anyhow::anyhow!("--events-url {v:?} is not an http(s) URL"))?,
        None => Url::parse(&format!(
            "http://127.0.0.1:{}/internal/janus/events",
            config.listen.port()
        ))?,
    };
    let options = Options {
        events_url,
        ice_enforce_list: args.ice_enforce_list.clone(),
    };
    std::fs::create_dir_all(&args.out)?;
    for (name, text) in config_files::render(janus, &options) {
        let path = args.out.join(name);
        write_private(&path, &text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    println!(
        "Wrote Janus's configuration to {}; run `janus -F {}`.",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}

/// The files hold secrets: readable by their owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // A file that existed keeps its mode through `open`.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())
}
