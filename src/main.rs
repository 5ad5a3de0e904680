use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = ghiseul_connector::cli::Cli::parse();
    match ghiseul_connector::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
