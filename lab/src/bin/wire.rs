//! `lifeline-wire`: joins two network namespaces with a TUN device in each and copies IP
//! packets between them with a fixed one-way delay and random loss; `tc tbf` on both
//! devices limits the rate. Prints `ready` once both ends are up, then runs until killed.

use std::io::{Read, Write};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;

/// Command line of `lifeline-wire`.
#[derive(Parser)]
struct Args {
    /// Namespace of side A.
    #[arg(long)]
    a: String,
    /// Namespace of side B.
    #[arg(long)]
    b: String,
    /// Address of side A.
    #[arg(long)]
    a_addr: String,
    /// Address of side B.
    #[arg(long)]
    b_addr: String,
    /// One-way delay in microseconds.
    #[arg(long, default_value_t = 0)]
    delay_us: u64,
    /// Share of packets dropped in each direction.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Rate limit in bits per second in each direction.
    #[arg(long)]
    rate_bps: Option<u64>,
}

fn main() {
    let args = Args::parse();
    if let Err(error) = run(&args) {
        eprintln!("lifeline-wire: {error}");
        println!("error");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let tag = std::process::id();
    let (name_a, name_b) = (format!("llw{tag}a"), format!("llw{tag}b"));
    let dev_a = open(&name_a, &args.a, &args.a_addr, &args.b_addr, args.rate_bps)?;
    let dev_b = open(&name_b, &args.b, &args.b_addr, &args.a_addr, args.rate_bps)?;
    let delay = Duration::from_micros(args.delay_us);
    let (read_a, write_a) = dev_a.split();
    let (read_b, write_b) = dev_b.split();
    let seed = u64::from(tag);
    let forward_ab = std::thread::spawn({
        let loss = args.loss;
        move || forward(read_a, write_b, delay, loss, seed)
    });
    let forward_ba = std::thread::spawn({
        let loss = args.loss;
        move || forward(read_b, write_a, delay, loss, seed ^ 0x9e37_79b9_7f4a_7c15)
    });
    println!("ready");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let _ = forward_ab.join();
    let _ = forward_ba.join();
    Ok(())
}

/// Creates a TUN device, moves it into `netns` and gives it `local` with `peer` as the
/// other end of the point-to-point link.
fn open(
    name: &str,
    netns: &str,
    local: &str,
    peer: &str,
    rate_bps: Option<u64>,
) -> Result<tun::Device, String> {
    let mut config = tun::Configuration::default();
    config.tun_name(name);
    let device = tun::create(&config).map_err(|e| format!("cannot create {name}: {e}"))?;
    ip(&["link", "set", name, "netns", netns])?;
    ip(&["-n", netns, "addr", "add", local, "peer", peer, "dev", name])?;
    ip(&["-n", netns, "link", "set", name, "mtu", "1500", "up"])?;
    if let Some(rate) = rate_bps {
        // A burst of at least 10 ms of traffic (the timer tick allows no less), a queue of
        // 50 ms: a typical access-link bottleneck.
        let burst = (rate / 8 / 100).max(16 * 1024);
        let limit = (rate / 8 / 20).max(64 * 1024);
        let status = Command::new("ip")
            .args([
                "netns", "exec", netns, "tc", "qdisc", "add", "dev", name, "root", "tbf",
            ])
            .args(["rate", &format!("{rate}bit")])
            .args(["burst", &burst.to_string(), "limit", &limit.to_string()])
            .status()
            .map_err(|e| format!("cannot run tc: {e}"))?;
        if !status.success() {
            return Err(format!("tc tbf on {name} failed"));
        }
    }
    Ok(device)
}

fn ip(args: &[&str]) -> Result<(), String> {
    let status = Command::new("ip")
        .args(args)
        .status()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("ip {} failed", args.join(" ")))
    }
}

/// Copies packets from `from` to `to`, each held for `delay`, a share `loss` dropped.
fn forward(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    delay: Duration,
    loss: f64,
    seed: u64,
) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        for (due, packet) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&packet).is_err() {
                return;
            }
        }
    });
    let mut rng = seed | 1;
    let mut buf = vec![0; 65536];
    while let Ok(n) = from.read(&mut buf) {
        // xorshift64: reproducible loss without a dependency.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if (rng >> 11) as f64 / (1u64 << 53) as f64 >= loss
            && tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
        {
            break;
        }
    }
    drop(tx);
    let _ = writer.join();
}
