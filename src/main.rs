use clap::Parser;
use order_chat::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => order_chat::run::serve(*args).await,
            Command::Demo(args) => order_chat::run::demo(args).await,
            Command::Backup(args) => order_chat::store::backup(&args.database_url, &args.file)
                .await
                .map(|()| println!("backup written to {}", args.file.display()))
                .map_err(order_chat::app::StartError::from),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
