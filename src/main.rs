use clap::Parser;
use meetplane::cli::{Cli, run};

#[tokio::main]
async fn main() {
    meetplane::install_crypto_provider();
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("meetplane: {err:#}");
        std::process::exit(1);
    }
}
