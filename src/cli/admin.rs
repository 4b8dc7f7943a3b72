use std::io::{BufRead, IsTerminal};

use super::AdminCommand;
use crate::{
    domain::audit::By,
    domain::{admins, orgs},
    state::AppState,
};

/// The password comes from stdin: hidden at a terminal, the first line of a pipe otherwise.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        anyhow::ensure!(first == second, "the passwords differ");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn run(state: AppState, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateUser { email, org, role } => {
            let org = orgs::resolve(&state.db, &org)
                .await
                .map_err(|_| anyhow::anyhow!("no organisation {org:?}"))?;
            let role = role.parse()?;
            let password = read_password()?;
            let user =
                admins::create_user(&state, &By::cli(org.id), &email, &password, role).await?;
            println!(
                "Created {} user {} in organisation {:?}.",
                user.role.as_str(),
                user.email,
                org.name
            );
            Ok(())
        }
    }
}
