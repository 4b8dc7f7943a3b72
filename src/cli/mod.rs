//! The command line: `serve` (default), `migrate`, `openapi`, administration commands, and
//! `janus config`.
mod admin;
mod janus;
mod link;
mod serve;

use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::{
    app,
    clock::SystemClock,
    config::{Config, Settings},
    domain::audit::By,
    domain::{clients, orgs},
    state::AppState,
    store::connect,
};

#[derive(Parser, Debug)]
#[command(
    name = "meetplane",
    version,
    about = "Self-hosted conferencing control plane"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (JSON) to stdout.
    Openapi,
    /// Manage organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage API clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Print a session link signed with an API client's secret.
    Link(link::LinkArgs),
    /// Manage dashboard admin users.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The Janus SFU: write its configuration.
    Janus {
        #[command(subcommand)]
        command: janus::JanusCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organisation with its first domain.
    Create {
        #[arg(long)]
        name: String,
        /// The org's default domain, e.g. chat.example.org.
        #[arg(long)]
        domain: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Create an API client and print its key and secret (the secret is shown only once).
    Create {
        /// Organisation id or name.
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// Print exactly {"orgId", "apiKey", "apiKeySecret"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API client: its secret and tokens stop working at once.
    Revoke {
        /// The client's api key.
        api_key: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a dashboard user; the password is read from stdin.
    CreateUser {
        #[arg(long)]
        email: String,
        /// Organisation id or name.
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "admin", value_parser = ["owner", "admin", "viewer"])]
        role: String,
    },
}

/// Run the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_settings(&cli.settings, std::env::vars())?;
    let command = cli.command.unwrap_or(Command::Serve);
    let default_filter = match command {
        Command::Serve => "info,sqlx=warn,sea_orm=warn",
        _ => "warn",
    };
    crate::telemetry::init(config.log_format, default_filter);
    match command {
        Command::Serve => serve::run(config).await,
        Command::Openapi => {
            // Written, not printed: `meetplane openapi | head` must end quietly, not panic.
            use std::io::Write;
            let document = crate::api::openapi_json();
            match std::io::stdout().lock().write_all(document.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
        Command::Migrate => {
            let db = connect::connect(&config.database_url, 1, config.log_sql).await?;
            connect::migrate(&db).await?;
            let status = connect::migration_status(&db).await?;
            println!(
                "database {} is up to date ({} unknown newer migrations)",
                config.database_url,
                status.unknown.len()
            );
            Ok(())
        }
        Command::Org { command } => org(config, command).await,
        Command::Client { command } => client(config, command).await,
        Command::Admin { command } => admin::run(state(config).await?, command).await,
        Command::Link(args) => link::run(state(config).await?, args).await,
        Command::Janus { command } => janus::run(&config, command),
    }
}

async fn state(config: Config) -> anyhow::Result<AppState> {
    app::open_state(config, Arc::new(SystemClock)).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgJson {
    org_id: String,
    name: String,
    domain: String,
}

async fn org(config: Config, command: OrgCommand) -> anyhow::Result<()> {
    let state = state(config).await?;
    match command {
        OrgCommand::Create { name, domain, json } => {
            let (org, domain) = orgs::create(&state, &name, &domain).await?;
            if json {
                let out = OrgJson {
                    org_id: org.id.to_string(),
                    name: org.name,
                    domain: domain.name,
                };
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!(
                    "Created organisation {:?} (id {}) with domain {}.",
                    org.name, org.id, domain.name
                );
                println!(
                    "Next: meetplane client create --org {} --name my-integration",
                    org.id
                );
            }
            Ok(())
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientJson {
    org_id: String,
    api_key: String,
    api_key_secret: String,
}

async fn client(config: Config, command: ClientCommand) -> anyhow::Result<()> {
    let state = state(config).await?;
    match command {
        ClientCommand::Create { org, name, json } => {
            let org = orgs::resolve(&state.db, &org).await.map_err(|_| {
                anyhow::anyhow!(
                    "no organisation {org:?}; on a fresh database start `meetplane serve` once \
                     (it creates \"Default\") or run `meetplane org create`"
                )
            })?;
            let created = clients::create(&state, &By::cli(org.id), &name).await?;
            if json {
                let out = ClientJson {
                    org_id: org.id.to_string(),
                    api_key: created.client.api_key,
                    api_key_secret: created.secret,
                };
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!(
                    "Created API client {:?} in organisation {:?} ({}).",
                    created.client.name, org.name, org.id
                );
                println!("api key:        {}", created.client.api_key);
                println!("api key secret: {}", created.secret);
                println!("The secret is shown only now; store it in your secret manager.");
            }
            Ok(())
        }
        ClientCommand::Revoke { api_key } => {
            let client = clients::find_by_api_key(&state.db, &api_key)
                .await
                .map_err(|_| anyhow::anyhow!("no API client with api key {api_key:?}"))?;
            let view = clients::revoke(&state, &By::cli(client.org_id), &client).await?;
            println!(
                "Revoked API client {:?} ({}); its secret and tokens no longer work.",
                view.name, view.api_key
            );
            Ok(())
        }
    }
}
