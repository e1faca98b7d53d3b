//! `lifeline-server`: address discovery for Lifeline clients. The rendezvous and relay
//! listeners are not served yet.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// Lifeline's self-hostable server (this version: STUN address discovery).
#[derive(Parser)]
#[command(
    name = "lifeline-server",
    version,
    after_help = "Example:\n  lifeline-server --stun-listen 0.0.0.0:3478"
)]
struct Args {
    /// Where to answer STUN binding requests (UDP).
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:3478")]
    stun_listen: SocketAddr,
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
    let args = Args::parse();
    let socket = match tokio::net::UdpSocket::bind(args.stun_listen).await {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("error: cannot listen on UDP {}: {error}", args.stun_listen);
            return ExitCode::from(1);
        }
    };
    let local = socket.local_addr().unwrap_or(args.stun_listen);
    println!("stun={local}");
    tokio::select! {
        result = lifeline_server::discovery::serve(socket) => {
            if let Err(error) = result {
                eprintln!("error: STUN listener failed: {error}");
                return ExitCode::from(1);
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}
