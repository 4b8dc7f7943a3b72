use crate::{app::Application, config::Config};

pub async fn run(config: Config) -> anyhow::Result<()> {
    let public_url = config.public_url.clone();
    let app = Application::build(config).await?;
    if let Some((org, domain)) = &app.bootstrapped {
        println!(
            "Created the default organisation {:?} (id {}) with domain {}.\n\
             Next steps:\n  \
             create the first admin:  meetplane admin create-user --org {:?} --email you@example.org --role owner\n  \
             and sign in at:          {}\n  \
             create an API client:    meetplane client create --org {:?} --name my-integration\n  \
             then get a token:        curl -u API_KEY:API_KEY_SECRET -d grant_type=client_credentials {}v1/auth/token",
            org.name, org.id, domain.name, org.name, public_url, org.name, public_url
        );
    }
    if !crate::api::dashboard::is_built() {
        tracing::warn!(
            "this binary carries no dashboard (npm was missing when it was built); {public_url} says how to add it"
        );
    }
    tracing::info!(
        port = app.port(),
        public_url = %public_url,
        "meetplane listening; dashboard at {public_url}, API docs at {public_url}docs"
    );
    app.run_until(shutdown_signal()).await?;
    tracing::info!("meetplane stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
