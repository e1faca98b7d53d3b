//! `bench-server`: load figures of lifeline-server on this machine.
//!
//! Starts the server (this same program with `--serve`, so the figures are the server's
//! alone) on loopback, opens `--invitations` waiting novice rendezvous connections, checks
//! that a sample of them gets a helper's candidates, then runs `--sessions` relayed
//! sessions in which each peer sends `--kbit` kbit/s of 1200-byte datagrams to the other,
//! for `--seconds`. Prints the server's memory (VmRSS) and CPU use (from /proc/PID/stat)
//! at each stage and the relayed throughput and loss.
//!
//! `cargo run --release -p lifeline-server --bin bench-server`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use lifeline_core::Role;
use lifeline_core::net::relay::{Relay, RelayToken};
use lifeline_core::net::rendezvous::Rendezvous;
use lifeline_core::ticket::{Candidate, CandidateKind, InvitationId, ServerUrl};

/// The datagram size the relay is measured with (a typical QUIC packet).
const DATAGRAM: usize = 1200;

/// Load benchmark of lifeline-server.
#[derive(Parser)]
struct Args {
    /// Waiting novices (rendezvous connections held open).
    #[arg(long, default_value_t = 1000)]
    invitations: usize,
    /// Relayed sessions (pairs of peers).
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Each peer's sending rate, in kbit/s.
    #[arg(long, default_value_t = 1000)]
    kbit: u64,
    /// How long the relay phase runs.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Internal: serve with this config file (the benchmark starts itself this way).
    #[arg(long, hide = true)]
    serve: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(config) = args.serve {
        return serve(config).await;
    }
    match bench(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(path: PathBuf) -> ExitCode {
    let config = match lifeline_server::config::Config::load(&path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match lifeline_server::serve::Server::bind(&config).await {
        Ok(server) => {
            println!("url={}", server.url());
            if let Err(error) = server.run().await {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The server process and how to read its use of memory and CPU.
struct Measured {
    child: Child,
    ticks_per_second: f64,
}

impl Measured {
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// User plus system CPU seconds so far.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is the 12th.
        let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (ticks(11) + ticks(12)) as f64 / self.ticks_per_second
    }

    fn report(&self, stage: &str, since: (Instant, f64)) {
        let wall = since.0.elapsed().as_secs_f64();
        let cpu = self.cpu_seconds() - since.1;
        println!(
            "{stage:<44} server RSS {:>7.1} MiB   CPU {:>5.1} % of one core ({cpu:.2} s in {wall:.1} s)",
            self.rss_kib() as f64 / 1024.0,
            100.0 * cpu / wall.max(1e-9),
        );
    }

    fn mark(&self) -> (Instant, f64) {
        (Instant::now(), self.cpu_seconds())
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

async fn bench(args: Args) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("bench-server-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nstun_listen = \"127.0.0.1:0\"\n[limits]\n\
             # Every client of the benchmark comes from 127.0.0.1.\n\
             requests_per_second = 1000000.0\nrequest_burst = 1000000.0\n\
             max_relay_sessions = {}\nmax_connections = {}\nmax_connections_per_ip = {}\n",
            args.sessions * 2 + 10,
            args.invitations + args.sessions * 2 + 100,
            args.invitations + args.sessions * 2 + 100
        ),
    )
    .map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--serve")
        .arg(&config)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Measured {
        child,
        ticks_per_second: clock_ticks(),
    };
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first)
        .map_err(|e| e.to_string())?;
    let url: ServerUrl = first
        .trim()
        .strip_prefix("url=")
        .ok_or("the server's first line is not url=")?
        .parse()
        .map_err(|e: lifeline_core::ticket::TicketError| e.to_string())?;
    println!("server {url} (pid {pid})");
    let start = server.mark();
    server.report("idle", start);

    // 1. Waiting invitations.
    let mark = server.mark();
    let mut novices = Vec::with_capacity(args.invitations);
    let opened = Instant::now();
    let mut ids = Vec::with_capacity(args.invitations);
    for chunk in 0..args.invitations.div_ceil(100) {
        let mut batch = Vec::new();
        for _ in chunk * 100..((chunk + 1) * 100).min(args.invitations) {
            let id = InvitationId::random();
            ids.push(id);
            let url = url.clone();
            batch.push(tokio::spawn(async move {
                Rendezvous::open(&url, id, Role::Novice, None).await
            }));
        }
        for task in batch {
            novices.push(
                task.await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?,
            );
        }
    }
    println!(
        "opened {} waiting novice connections in {:.2} s",
        novices.len(),
        opened.elapsed().as_secs_f64()
    );
    server.report(&format!("{} waiting invitations", novices.len()), mark);

    // A sample of helpers reach their waiting novice.
    let sample = novices.len().min(50);
    let candidates = vec![Candidate {
        kind: CandidateKind::Reflexive,
        addr: SocketAddr::from(([198, 18, 0, 7], 40_000)),
    }];
    let began = Instant::now();
    let mut latencies = Vec::new();
    for (novice, id) in novices.iter_mut().zip(&ids).take(sample) {
        let sent = Instant::now();
        let mut helper = Rendezvous::open(&url, *id, Role::Helper, None)
            .await
            .map_err(|e| e.to_string())?;
        helper.send(&candidates).await.map_err(|e| e.to_string())?;
        let got = tokio::time::timeout(Duration::from_secs(5), novice.recv())
            .await
            .map_err(|_| "a novice did not get its helper's candidates")?
            .map_err(|e| e.to_string())?;
        if got != candidates {
            return Err("a novice got other candidates than were sent".into());
        }
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "{sample} helpers reached their waiting novice (connect + deliver): median {:.1} ms, max {:.1} ms, in {:.2} s",
        latencies.get(sample / 2).copied().unwrap_or(0.0),
        latencies.last().copied().unwrap_or(0.0),
        began.elapsed().as_secs_f64()
    );

    // 2. Relayed sessions, with the invitations still waiting.
    let mut pairs = Vec::with_capacity(args.sessions);
    for _ in 0..args.sessions {
        let token = RelayToken::for_invitation(InvitationId::random());
        let novice = Relay::connect(&url, token, Role::Novice, None)
            .await
            .map_err(|e| e.to_string())?;
        let helper = Relay::connect(&url, token, Role::Helper, None)
            .await
            .map_err(|e| e.to_string())?;
        pairs.push((novice, helper));
    }
    for (novice, helper) in &mut pairs {
        novice.paired().await.map_err(|e| e.to_string())?;
        helper.paired().await.map_err(|e| e.to_string())?;
    }
    server.report(
        &format!("+ {} relay sessions paired, idle", pairs.len()),
        mark,
    );
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let duration = Duration::from_secs(args.seconds);
    let interval = Duration::from_secs_f64(DATAGRAM as f64 * 8.0 / (args.kbit as f64 * 1000.0));
    let mark = server.mark();
    let began = Instant::now();
    let mut peers = Vec::new();
    for (novice, helper) in pairs {
        for relay in [novice, helper] {
            peers.push(tokio::spawn(peer(
                relay,
                interval,
                began + duration,
                sent.clone(),
                received.clone(),
            )));
        }
    }
    for task in peers {
        let _ = task.await;
    }
    let elapsed = began.elapsed().as_secs_f64();
    server.report(
        &format!(
            "relaying {} sessions at {} kbit/s each way",
            args.sessions, args.kbit
        ),
        mark,
    );
    let (sent, received) = (
        sent.load(Ordering::Relaxed),
        received.load(Ordering::Relaxed),
    );
    println!(
        "relayed {received} of {sent} datagrams of {DATAGRAM} bytes in {elapsed:.1} s: \
         {:.1} Mbit/s delivered in total ({:.3} Mbit/s per peer), loss {:.3} %",
        received as f64 * DATAGRAM as f64 * 8.0 / elapsed / 1e6,
        received as f64 * DATAGRAM as f64 * 8.0 / elapsed / 1e6 / (2 * args.sessions) as f64,
        100.0 * (sent.saturating_sub(received)) as f64 / sent.max(1) as f64
    );
    drop(novices);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Sends a datagram every `interval` until `until`, counting what it sent and received;
/// then keeps receiving for a moment so datagrams in flight are counted.
async fn peer(
    mut relay: Relay,
    interval: Duration,
    until: Instant,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
) {
    let mut tick = tokio::time::interval(interval);
    let datagram = vec![0x5a; DATAGRAM];
    let drain = tokio::time::Instant::from_std(until + Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < until => {
                if relay.send(&datagram).await.is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            got = relay.recv() => match got {
                Ok(_) => { received.fetch_add(1, Ordering::Relaxed); }
                Err(_) => return,
            },
            () = tokio::time::sleep_until(drain) => return,
        }
    }
}
