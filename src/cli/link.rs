//! `meetplane link`: print a session link signed with a client's secret, like the Coviu demo.
use std::time::Duration;

use serde_json::json;

use crate::{
    auth::session_link,
    domain::{admins::normalise_email, clients},
    state::AppState,
};

#[derive(clap::Args, Debug)]
pub struct LinkArgs {
    /// The API client's api key (the link's `iss`).
    #[arg(long)]
    pub client: String,
    /// Session id: links with the same sid meet in one session.
    #[arg(long)]
    pub sid: String,
    #[arg(long, value_parser = ["owner", "guest"])]
    pub role: String,
    /// The screen name (`un`).
    #[arg(long)]
    pub name: String,
    /// The subscription ref (the owner's, also for guests).
    #[arg(long = "ref")]
    pub reference: String,
    /// The owner's email (required for owners).
    #[arg(long)]
    pub email: Option<String>,
    /// How long the link is valid, e.g. 30m, 1h, 2d.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// Where to go after the call (`rtn`).
    #[arg(long)]
    pub rtn: Option<String>,
}

pub async fn run(state: AppState, args: LinkArgs) -> anyhow::Result<()> {
    let client = clients::find_by_api_key(&state.db, &args.client)
        .await
        .map_err(|_| anyhow::anyhow!("no API client with api key {:?}", args.client))?;
    anyhow::ensure!(
        client.revoked_at.is_none(),
        "the API client {:?} is revoked",
        args.client
    );
    let email = match (&args.role[..], &args.email) {
        ("owner", None) => anyhow::bail!("an owner's link needs --email"),
        (_, Some(e)) => Some(normalise_email("email", e)?),
        (_, None) => None,
    };
    let now = state.now().timestamp();
    let mut claims = json!({
        "iss": client.api_key,
        "un": args.name,
        "ref": args.reference,
        "sid": args.sid,
        "rle": args.role,
        "nbf": now,
        "iat": now,
        "exp": now + args.ttl.as_secs() as i64,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(email) = email {
        claims["email"] = email.into();
    }
    if let Some(rtn) = args.rtn {
        claims["rtn"] = rtn.into();
    }
    let secret = clients::secret_of(&state.sealer, &client)?;
    let token = session_link::sign(&claims, &secret);
    println!("{}v1/session/{token}", state.config.public_url);
    Ok(())
}
