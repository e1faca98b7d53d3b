//! `bench-transfer`: file-transfer throughput of Lifeline beside a plain TCP copy of the
//! same file over the same link, in the same run.
//!
//! Links: two namespaces joined by a wire shaped to 100 Mbit/s with 10 ms one-way delay
//! (the RTT actually obtained is measured and printed), and unshaped loopback.
//!
//! ```sh
//! cargo build --release -p lifeline-cli -p lifeline-lab
//! target/release/bench-transfer --size-mib 64
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use lifeline_lab::{Netns, Scripted, Wire, WireConfig};
use serde_json::json;

/// Command line of `bench-transfer`.
#[derive(Parser)]
struct Args {
    /// Size of the file sent, in MiB.
    #[arg(long, default_value_t = 64)]
    size_mib: u64,
    /// The `lifeline` program [default: next to this one].
    #[arg(long)]
    lifeline: Option<PathBuf>,
    /// Measure only this link (both by default).
    #[arg(long, value_enum)]
    only: Option<Link>,
    #[command(subcommand)]
    role: Option<Role>,
}

/// The links measured.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Link {
    /// Two namespaces joined by a shaped wire.
    Wire,
    /// Unshaped loopback.
    Loopback,
}

/// The halves of the plain TCP copy, run inside a namespace.
#[derive(Subcommand)]
enum Role {
    /// Receive one file on `listen` into `out`; print the seconds from accept to EOF.
    TcpRecv { listen: String, out: PathBuf },
    /// Send `file` to `to`.
    TcpSend { to: String, file: PathBuf },
}

type Result<T> = std::result::Result<T, String>;

fn main() {
    let args = Args::parse();
    let result = match &args.role {
        Some(Role::TcpRecv { listen, out }) => tcp_recv(listen, out),
        Some(Role::TcpSend { to, file }) => tcp_send(to, file),
        None => bench(&args),
    };
    if let Err(error) = result {
        eprintln!("bench-transfer: {error}");
        std::process::exit(1);
    }
}

fn bench(args: &Args) -> Result<()> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let lifeline = args
        .lifeline
        .clone()
        .unwrap_or_else(|| me.with_file_name("lifeline"));
    if !lifeline.is_file() {
        return Err(format!(
            "{} not found; build it with cargo build --release -p lifeline-cli",
            lifeline.display()
        ));
    }
    let work = std::env::temp_dir().join(format!("ll-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let file = work.join("payload.bin");
    write_payload(&file, args.size_mib * 1024 * 1024)?;
    let bytes = args.size_mib * 1024 * 1024;
    println!("file: {} MiB", args.size_mib);
    println!(
        "{:<28} {:>8} {:>10} {:>14} {:>9} {:>10}",
        "link", "rtt_ms", "tcp_Mbit/s", "lifeline_Mbit/s", "vs_tcp", "vs_link"
    );

    if args.only != Some(Link::Loopback) {
        shaped(&me, &lifeline, &file, &work, bytes)?;
    }
    if args.only != Some(Link::Wire) {
        let rtt = measure_rtt(None, "127.0.0.1")?;
        let tcp = tcp_copy(&me, None, "127.0.0.1", &file, &work)?;
        let ours = lifeline_copy(&lifeline, None, "127.0.0.1", &file, &work)?;
        report("loopback, unshaped", rtt, bytes, tcp, ours, None);
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Both copies between two namespaces joined by a wire shaped to 100 Mbit/s, 20 ms RTT.
fn shaped(me: &Path, lifeline: &Path, file: &Path, work: &Path, bytes: u64) -> Result<()> {
    let (a, b) = (
        Netns::new("a").map_err(|e| e.to_string())?,
        Netns::new("b").map_err(|e| e.to_string())?,
    );
    let config = WireConfig {
        one_way_delay: Duration::from_millis(10),
        loss: 0.0,
        rate_bps: Some(100_000_000),
    };
    let wire = Wire::start(&a, &b, &config).map_err(|e| e.to_string())?;
    let rtt = measure_rtt(Some(&a), Wire::B)?;
    let tcp = tcp_copy(me, Some((&a, &b)), Wire::B, file, work)?;
    let ours = lifeline_copy(lifeline, Some((&a, &b)), Wire::B, file, work)?;
    report(
        "100 Mbit/s, 20 ms RTT (wire)",
        rtt,
        bytes,
        tcp,
        ours,
        Some(100.0),
    );
    drop(wire);
    Ok(())
}

fn report(link: &str, rtt: f64, bytes: u64, tcp: Duration, ours: Duration, cap: Option<f64>) {
    let mbit = |d: Duration| bytes as f64 * 8.0 / d.as_secs_f64() / 1e6;
    let (tcp, ours) = (mbit(tcp), mbit(ours));
    let vs_link = cap.map_or("-".to_owned(), |c| format!("{:.0} %", ours / c * 100.0));
    println!(
        "{link:<28} {rtt:>8.2} {tcp:>10.1} {ours:>14.1} {:>8.0} % {vs_link:>10}",
        ours / tcp * 100.0
    );
}

/// Random-looking, incompressible content (QUIC does not compress, but be fair anyway).
fn write_payload(path: &Path, size: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut block = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n]).map_err(|e| e.to_string())?;
        left -= n as u64;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Average ping RTT in milliseconds from `from` (or this namespace) to `to`.
fn measure_rtt(from: Option<&Netns>, to: &str) -> Result<f64> {
    let mut command = match from {
        Some(ns) => ns.command("ping"),
        None => Command::new("ping"),
    };
    let output = command
        .args(["-n", "-q", "-c", "10", "-i", "0.05", to])
        .output()
        .map_err(|e| format!("ping: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("rtt min/avg/max/mdev = "))
        .and_then(|v| v.split('/').nth(1)?.parse().ok())
        .ok_or_else(|| "ping gave no RTT".to_owned())
}

fn in_ns(ns: Option<&Netns>, program: &Path) -> Command {
    match ns {
        Some(ns) => ns.command(&program.to_string_lossy()),
        None => Command::new(program),
    }
}

/// Plain TCP copy: receiver in B, sender in A; the receiver's time from accept to EOF.
fn tcp_copy(
    me: &Path,
    nets: Option<(&Netns, &Netns)>,
    addr: &str,
    file: &Path,
    work: &Path,
) -> Result<Duration> {
    let target = format!("{addr}:5001");
    let out = work.join("tcp-received.bin");
    let mut receiver = in_ns(nets.map(|n| n.1), me)
        .args(["tcp-recv", &target])
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(receiver.stdout.take().ok_or("no stdout")?).lines();
    let ready = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    if ready != "listening" {
        return Err(format!("tcp-recv said {ready:?}"));
    }
    let status = in_ns(nets.map(|n| n.0), me)
        .args(["tcp-send", &target])
        .arg(file)
        .status()
        .map_err(|e| e.to_string())?;
    let seconds: f64 = lines
        .next()
        .and_then(|l| l.ok())
        .and_then(|l| l.parse().ok())
        .ok_or("tcp-recv gave no time")?;
    let _ = receiver.wait();
    if !status.success() {
        return Err("tcp-send failed".into());
    }
    let _ = std::fs::remove_file(out);
    Ok(Duration::from_secs_f64(seconds))
}

fn tcp_recv(listen: &str, out: &Path) -> Result<()> {
    let listener = TcpListener::bind(listen).map_err(|e| format!("bind {listen}: {e}"))?;
    println!("listening");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut file = std::fs::File::create(out).map_err(|e| e.to_string())?;
    std::io::copy(&mut stream, &mut file).map_err(|e| e.to_string())?;
    println!("{}", start.elapsed().as_secs_f64());
    Ok(())
}

fn tcp_send(to: &str, file: &Path) -> Result<()> {
    let mut stream = TcpStream::connect(to).map_err(|e| format!("connect {to}: {e}"))?;
    let mut input = std::fs::File::open(file).map_err(|e| e.to_string())?;
    std::io::copy(&mut input, &mut stream).map_err(|e| e.to_string())?;
    stream
        .shutdown(std::net::Shutdown::Write)
        .map_err(|e| e.to_string())?;
    // Wait for the receiver to close, so the copy is complete when this returns.
    let _ = stream.read(&mut [0u8; 1]);
    Ok(())
}

/// A Lifeline session, novice in B, helper in A; the helper sends the file and the time is
/// from the novice's acceptance to its `file_done`.
fn lifeline_copy(
    lifeline: &Path,
    nets: Option<(&Netns, &Netns)>,
    addr: &str,
    file: &Path,
    work: &Path,
) -> Result<Duration> {
    let password = work.join("password");
    std::fs::write(&password, "bench-transfer-pass-word").map_err(|e| e.to_string())?;
    let received = work.join("received");
    let _ = std::fs::remove_dir_all(&received);
    std::fs::create_dir_all(&received).map_err(|e| e.to_string())?;
    let mut novice = in_ns(nets.map(|n| n.1), lifeline);
    novice
        .args([
            "invite",
            "--name",
            "Bench",
            "--listen",
            &format!("{addr}:0"),
        ])
        .arg("--password-file")
        .arg(&password)
        .arg("--log-dir")
        .arg(work.join("logs-novice"))
        .arg("--out")
        .arg(work.join("bench.lifeline"));
    let mut novice = Scripted::start(novice).map_err(|e| e.to_string())?;
    let link = novice.wait("invitation")?["link"]
        .as_str()
        .ok_or("no link")?
        .to_owned();
    let mut helper = in_ns(nets.map(|n| n.0), lifeline);
    helper
        .args(["join", &link, "--name", "Helper"])
        .arg("--password-file")
        .arg(&password)
        .arg("--log-dir")
        .arg(work.join("logs-helper"));
    let mut helper = Scripted::start(helper).map_err(|e| e.to_string())?;
    novice.wait("connect_request")?;
    novice.send(json!({"cmd": "approve"}))?;
    helper.wait_state("screen_sharing")?;
    helper.send(json!({"cmd": "send_file", "path": file}))?;
    let offer = novice.wait("file_offer")?;
    let start = Instant::now();
    novice.send(json!({"cmd": "accept_file", "id": offer["id"], "dir": received}))?;
    novice.wait("file_done")?;
    let elapsed = start.elapsed();
    let _ = helper.send(json!({"cmd": "disconnect"}));
    Ok(elapsed)
}
