//! chat-bench: load for order-chat, or any server speaking its Socket.IO contract (such as the
//! Node.js reference in bench/node-reference), over real WebSockets on loopback.
//!
//! `run`: orders × participants connections chatting, measuring stored messages/s, deliveries/s,
//! end-to-end latency, errors, and join-with-history latency. `idle`: many authenticated, joined,
//! idle connections, measuring the server's memory per connection. Both print a table and one
//! `RESULT {json}` line, stop by themselves, and exit non-zero only when the setup failed.

// serde_json's json! of the run's RESULT line nests deeper than the default limit.
#![recursion_limit = "256"]

mod conn;
mod idle;
mod mix;
mod ops;
mod proto;
mod report;
mod run;
mod setup;
mod stats;
mod upload;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "chat-bench",
    version,
    about = "Load generator for order-chat's Socket.IO contract (loopback only)"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Orders × participants connections send messages; measures throughput and latency.
    Run(run::RunArgs),
    /// Many idle, authenticated, joined connections; measures the server's memory per connection.
    Idle(idle::IdleArgs),
}

/// Options of both modes.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Base URL of the server (loopback only).
    #[arg(
        long,
        global = true,
        env = "BENCH_URL",
        default_value = "http://127.0.0.1:8090"
    )]
    pub url: String,
    /// Label of the server under test, repeated in the report.
    #[arg(long, global = true, default_value = "server")]
    pub target: String,
    /// HS256 secret of access tokens (the server's JWT_ACCESS_SECRET).
    #[arg(
        long,
        global = true,
        env = "JWT_ACCESS_SECRET",
        hide_env_values = true,
        default_value = "bench-secret"
    )]
    pub secret: String,
    /// Bearer key of the internal API (the server's INTERNAL_API_KEY).
    #[arg(
        long,
        global = true,
        env = "INTERNAL_API_KEY",
        hide_env_values = true,
        default_value = "bench-internal-key"
    )]
    pub internal_key: String,
    /// Create the orders through the internal API first (false: they exist, from a run with the
    /// same --prefix).
    #[arg(long, global = true, default_value_t = true, action = ArgAction::Set)]
    pub setup_orders: bool,
    /// Prefix of the order and user ids (default: a fresh one per run).
    #[arg(long, global = true)]
    pub prefix: Option<String>,
    /// Number of source addresses 127.0.0.1 … 127.0.0.K the connections are spread over (each
    /// has its own ~28k ephemeral ports).
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=250))]
    pub sources: u16,
    /// Connections being set up at once (TCP + WebSocket + Socket.IO connect + first join).
    #[arg(long, global = true, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds one connection's setup may take before it counts as failed.
    #[arg(long, global = true, default_value_t = 15.0)]
    pub connect_timeout: f64,
    /// Seconds to wait for an ack before counting ACK_TIMEOUT.
    #[arg(long, global = true, default_value_t = 10.0)]
    pub ack_timeout: f64,
    /// PID of the server process: its CPU time and resident memory go into the report.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Exit 1 unless the run was clean: every connection set up, no error, every delivery
    /// arrived (a smoke test). Without it only a failed setup exits non-zero.
    #[arg(long, global = true)]
    pub check: bool,
}

/// What both modes resolved before starting.
pub struct Env {
    pub common: Common,
    pub addr: SocketAddr,
    pub host: String,
    pub naming: setup::Naming,
    pub nofile: u64,
}

impl Env {
    pub fn target(&self) -> conn::Target {
        conn::Target {
            addr: self.addr,
            host_header: self.host.clone(),
            timeout: Duration::from_secs_f64(self.common.connect_timeout),
        }
    }
    pub fn ack_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.common.ack_timeout)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    stats::now_ns();
    let nofile = stats::raise_nofile();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let (addr, host) = match setup::resolve(&cli.common.url).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("chat-bench: {e}");
                return ExitCode::from(2);
            }
        };
        let check = cli.common.check;
        let env = Env {
            naming: setup::Naming::new(cli.common.prefix.clone()),
            common: cli.common,
            addr,
            host,
            nofile,
        };
        let r = match cli.mode {
            Mode::Run(a) => run::run(&env, a).await,
            Mode::Idle(a) => idle::idle(&env, a).await,
        };
        match r {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) if !check => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!("chat-bench: --check: the run was not clean (see above)");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("chat-bench: setup failed: {e}");
                ExitCode::from(2)
            }
        }
    })
}
