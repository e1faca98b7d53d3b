//! `lifeline-server`: rendezvous, relay and address discovery for Lifeline clients.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lifeline_server::config::Config;
use lifeline_server::serve::Server;

/// Lifeline's self-hostable server: rendezvous and relay over WebSocket on TLS, STUN on UDP.
///
/// Prints `url=<server URL>` (give it to `lifeline invite --server`), then
/// `stun=<ADDR:PORT>` and `listen=<ADDR:PORT>`.
#[derive(Parser)]
#[command(
    name = "lifeline-server",
    version,
    after_help = "Example:\n  lifeline-server --listen 0.0.0.0:443 --stun-listen 0.0.0.0:3478 --config /etc/lifeline-server.toml"
)]
struct Args {
    /// Where to serve rendezvous and relay (TLS over TCP) [default: 0.0.0.0:443].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Where to answer STUN binding requests (UDP) [default: 0.0.0.0:3478].
    #[arg(long, value_name = "ADDR:PORT")]
    stun_listen: Option<SocketAddr>,
    /// The config file (TOML); flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIFELINE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) if error.use_stderr() => {
            let text = error.to_string();
            let line = text.lines().next().unwrap_or("bad arguments");
            eprintln!("{line} (see lifeline-server --help)");
            return ExitCode::from(2);
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
    };
    let mut config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(stun) = args.stun_listen {
        config.stun_listen = stun;
    }
    let server = match Server::bind(&config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    println!("url={}", server.url());
    if let Ok(stun) = server.stun_addr() {
        println!("stun={stun}");
    }
    if let Ok(listen) = server.local_addr() {
        println!("listen={listen}");
    }
    tokio::select! {
        result = server.run() => {
            if let Err(error) = result {
                eprintln!("error: {error}");
                return ExitCode::from(1);
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}
