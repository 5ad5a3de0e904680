use clap::Parser;

/// mimalloc instead of glibc's malloc: the answer path allocates and frees many small
/// strings on two threads, and glibc's consolidation of freed chunks showed in the
/// profile (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = ghiseul_connector::cli::Cli::parse();
    match ghiseul_connector::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", ghiseul_connector::cli::ErrorChain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
