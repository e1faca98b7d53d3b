//! `bench-screen`: Lifeline's screen sharing beside x11vnc, on one scripted workload.
//!
//! An Xvfb desktop runs a workload (typing, scrolling a long text, a small animation) that
//! stamps each update with a numbered marker. The novice's side (`lifeline invite`, or
//! x11vnc) runs in one network namespace, the viewer (Lifeline's helper, or a VNC viewer
//! using ZRLE) in another, joined by a veth link whose byte counters are read. For each
//! update the time until the viewer has a picture showing it is the update latency.
//!
//! ```sh
//! cargo build --release -p lifeline-cli -p lifeline-lab
//! target/release/bench-screen            # as root; 1920×1080 and 1280×720
//! ```

#[path = "../../../../core/tests/common/xvfb.rs"]
#[allow(dead_code)]
mod xvfb;

mod rfb;
mod workload;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use lifeline_core::auth::{HardeningParams, Password, harden};
use lifeline_core::connect::{Report, SessionIo, UserCommand, run_helper};
use lifeline_core::log::{Role, SessionLog};
use lifeline_core::session::SessionConfig;
use lifeline_core::ticket::Invitation;
use lifeline_lab::{Netns, Scripted, Wire, WireConfig};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use workload::{MARKER_CENTRE, Phase, Update, Workload, marker_number, read_marker};

/// Command line of `bench-screen`.
#[derive(Parser)]
struct Args {
    /// Seconds each phase of the workload runs.
    #[arg(long, default_value_t = 5)]
    phase_seconds: u64,
    /// Only this size, e.g. 1920x1080 [default: 1920x1080 and 1280x720].
    #[arg(long)]
    size: Option<String>,
    /// The `lifeline` program [default: next to this one].
    #[arg(long)]
    lifeline: Option<PathBuf>,
    /// Instead: Lifeline alone over a 56 kbit/s link with 200 ms RTT at the `dialup`
    /// setting: time to the first full screen, then typing latency.
    #[arg(long)]
    dialup: bool,
}

type Result<T> = std::result::Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// When the viewer had a picture showing which marker, and the bytes of that update.
type Seen = Arc<Mutex<Vec<(u32, Instant)>>>;

fn main() {
    let args = Args::parse();
    if let Err(error) = bench(&args) {
        eprintln!("bench-screen: {error}");
        std::process::exit(1);
    }
}

fn bench(args: &Args) -> Result<()> {
    let me = std::env::current_exe().map_err(err)?;
    let lifeline = args
        .lifeline
        .clone()
        .unwrap_or_else(|| me.with_file_name("lifeline"));
    let sizes = match &args.size {
        Some(size) => vec![parse_size(size)?],
        None => vec![(1920, 1080), (1280, 720)],
    };
    let phase = Duration::from_secs(args.phase_seconds);
    println!(
        "{:<10} {:<9} {:<10} {:>10} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8}",
        "size", "system", "phase", "bytes", "med_ms", "p95_ms", "fps", "updates", "cpu_s", "seen"
    );
    if args.dialup {
        for (width, height) in sizes {
            let x = xvfb::Xvfb::start(width, height).ok_or("Xvfb is not installed")?;
            run_dialup(&lifeline, &x.display, phase, (width, height))?;
        }
        return Ok(());
    }
    for (width, height) in sizes {
        let x = xvfb::Xvfb::start(width, height).ok_or("Xvfb is not installed")?;
        let link = Link::new()?;
        run_lifeline(&lifeline, &x.display, &link, phase, (width, height))?;
        run_x11vnc(&x.display, &link, phase, (width, height))?;
    }
    Ok(())
}

fn parse_size(text: &str) -> Result<(u32, u32)> {
    let (w, h) = text.split_once('x').ok_or("size is WIDTHxHEIGHT")?;
    Ok((w.parse().map_err(err)?, h.parse().map_err(err)?))
}

/// Two namespaces joined by a veth pair: the novice's side at 10.77.0.1, the viewer's at
/// 10.77.0.2.
struct Link {
    novice: Netns,
    viewer: Netns,
}

const NOVICE_ADDR: &str = "10.77.0.1";

impl Link {
    fn new() -> Result<Self> {
        let novice = Netns::new("n").map_err(err)?;
        let viewer = Netns::new("v").map_err(err)?;
        let status = Command::new("ip")
            .args([
                "link",
                "add",
                "llbench0",
                "netns",
                novice.name(),
                "type",
                "veth",
            ])
            .args(["peer", "name", "llbench1", "netns", viewer.name()])
            .status()
            .map_err(err)?;
        if !status.success() {
            return Err("cannot create the veth pair".into());
        }
        for (ns, dev, addr) in [
            (&novice, "llbench0", "10.77.0.1/24"),
            (&viewer, "llbench1", "10.77.0.2/24"),
        ] {
            ns.run(&["ip", "addr", "add", addr, "dev", dev])
                .map_err(err)?;
            ns.run(&["ip", "link", "set", dev, "up"]).map_err(err)?;
        }
        Ok(Self { novice, viewer })
    }

    /// Bytes both ways through the link so far.
    fn bytes(&self) -> Result<u64> {
        let read = |what: &str| -> Result<u64> {
            let out = self
                .novice
                .run(&[
                    "cat",
                    &format!("/sys/class/net/llbench0/statistics/{what}_bytes"),
                ])
                .map_err(err)?;
            out.trim().parse().map_err(err)
        };
        Ok(read("rx")? + read("tx")?)
    }
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs the workload and prints one line per phase.
fn measure(
    system: &str,
    size: (u32, u32),
    display: &str,
    link: &Link,
    pid: u32,
    seen: &Seen,
    phase_length: Duration,
) -> Result<()> {
    let mut workload = Workload::open(display)?;
    // Let the first full picture arrive before measuring.
    std::thread::sleep(Duration::from_secs(2));
    for phase in [Phase::Typing, Phase::Scrolling, Phase::Animation] {
        let (bytes, cpu) = (link.bytes()?, cpu_seconds(pid));
        let start = Instant::now();
        let updates = workload.run(phase, phase_length)?;
        std::thread::sleep(Duration::from_millis(500));
        let (bytes, cpu) = (link.bytes()? - bytes, cpu_seconds(pid) - cpu);
        let seen = seen.lock().map_err(err)?.clone();
        report(system, size, phase, &updates, &seen, start, bytes, cpu);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn report(
    system: &str,
    size: (u32, u32),
    phase: Phase,
    updates: &[Update],
    seen: &[(u32, Instant)],
    start: Instant,
    bytes: u64,
    cpu: f64,
) {
    let mut latencies: Vec<f64> = updates
        .iter()
        .filter_map(|u| {
            seen.iter()
                .find(|(n, at)| *n >= u.n && *at >= u.at)
                .map(|(_, at)| at.duration_since(u.at).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let end = updates.last().map_or(start, |u| u.at);
    let pictures = seen
        .iter()
        .filter(|(_, at)| *at >= start && *at <= end)
        .count();
    let fps = pictures as f64 / end.duration_since(start).as_secs_f64().max(0.001);
    let phase = match phase {
        Phase::Typing => "typing",
        Phase::Scrolling => "scrolling",
        Phase::Animation => "animation",
    };
    println!(
        "{:<10} {:<9} {:<10} {:>10} {:>8.1} {:>8.1} {:>9.1} {:>9} {:>9.2} {:>8}",
        format!("{}x{}", size.0, size.1),
        system,
        phase,
        bytes,
        pick(0.5),
        pick(0.95),
        fps,
        updates.len(),
        cpu,
        latencies.len()
    );
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_lifeline(
    lifeline: &Path,
    display: &str,
    link: &Link,
    phase: Duration,
    size: (u32, u32),
) -> Result<()> {
    let work = tempfile::tempdir().map_err(err)?;
    let pw = work.path().join("pw");
    std::fs::write(&pw, "bench screen words").map_err(err)?;
    let mut command = link.novice.command(&lifeline.display().to_string());
    command
        .args([
            "invite",
            "--listen",
            &format!("{NOVICE_ADDR}:0"),
            "--display",
            display,
        ])
        .arg("--password-file")
        .arg(&pw)
        .arg("--log-dir")
        .arg(work.path());
    let mut novice = Scripted::start(command)?;
    let link_text = novice.wait("invitation")?["link"]
        .as_str()
        .ok_or("no link")?
        .to_owned();
    let pid = novice.pid();
    let invitation =
        Invitation::parse(link_text.as_bytes(), OffsetDateTime::now_utc()).map_err(err)?;
    let seen: Seen = Arc::default();
    let (commands, done) = start_helper(link, invitation, &work.path().join("helper"), &seen)?;
    novice.wait("connect_request")?;
    novice.send(json!({"cmd": "approve"}))?;
    measure("lifeline", size, display, link, pid, &seen, phase)?;
    let _ = commands.send(UserCommand::Session(
        lifeline_core::session::Command::Disconnect,
    ));
    let _ = done.join();
    Ok(())
}

/// Runs the helper's side in the viewer's namespace, recording the marker of every decoded
/// picture.
fn start_helper(
    link: &Link,
    invitation: Invitation,
    log_dir: &Path,
    seen: &Seen,
) -> Result<(
    mpsc::UnboundedSender<UserCommand>,
    std::thread::JoinHandle<()>,
)> {
    std::fs::create_dir_all(log_dir).map_err(err)?;
    let hardened = harden(
        &Password::parse("bench screen words").map_err(err)?,
        &invitation.body().salt,
        &HardeningParams::default(),
    );
    let log = SessionLog::create(
        log_dir,
        Role::Helper,
        &invitation.body().id.to_string(),
        OffsetDateTime::now_utc(),
    )
    .map_err(err)?;
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (report_tx, mut reports) = mpsc::unbounded_channel();
    let io = SessionIo {
        name: "Bench".into(),
        commands: command_rx,
        reports: report_tx,
        log,
        config: SessionConfig::default(),
        desktop: None,
    };
    let viewer = link.viewer.name().to_owned();
    let seen = seen.clone();
    let done = std::thread::spawn(move || {
        if let Err(e) = enter(&viewer) {
            eprintln!("bench-screen: {e}");
            return;
        }
        let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            let collect = tokio::spawn(async move {
                while let Some(report) = reports.recv().await {
                    if let Report::Frame(frame) = report
                        && let Some(n) = read_marker(&frame.picture)
                        && let Ok(mut seen) = seen.lock()
                    {
                        seen.push((n, Instant::now()));
                    }
                }
            });
            if let Err(e) = run_helper(&invitation, &hardened, io).await {
                eprintln!("bench-screen: helper: {e}");
            }
            let _ = collect.await;
        });
    });
    Ok((commands, done))
}

/// Moves this thread (and the runtime it builds) into namespace `name`.
fn enter(name: &str) -> Result<()> {
    let file = std::fs::File::open(format!("/var/run/netns/{name}")).map_err(err)?;
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(err)
}

/// Lifeline over a wire shaped to 56 kbit/s each way with 100 ms of delay each way.
fn run_dialup(lifeline: &Path, display: &str, phase: Duration, size: (u32, u32)) -> Result<()> {
    let (novice_ns, viewer_ns) = (Netns::new("n").map_err(err)?, Netns::new("v").map_err(err)?);
    let config = WireConfig {
        one_way_delay: Duration::from_millis(100),
        loss: 0.0,
        rate_bps: Some(56_000),
    };
    let _wire = Wire::start(&viewer_ns, &novice_ns, &config).map_err(err)?;
    let link = Link {
        novice: novice_ns,
        viewer: viewer_ns,
    };
    let work = tempfile::tempdir().map_err(err)?;
    let pw = work.path().join("pw");
    std::fs::write(&pw, "bench screen words").map_err(err)?;
    let mut workload = Workload::open(display)?;
    let mut command = link.novice.command(&lifeline.display().to_string());
    command
        .args([
            "invite",
            "--listen",
            &format!("{}:0", Wire::B),
            "--display",
            display,
        ])
        .arg("--password-file")
        .arg(&pw)
        .arg("--log-dir")
        .arg(work.path());
    let mut novice = Scripted::start(command)?;
    let link_text = novice.wait("invitation")?["link"]
        .as_str()
        .ok_or("no link")?
        .to_owned();
    let invitation =
        Invitation::parse(link_text.as_bytes(), OffsetDateTime::now_utc()).map_err(err)?;
    let seen: Seen = Arc::default();
    let (commands, done) = start_helper(&link, invitation, &work.path().join("helper"), &seen)?;
    novice.wait("connect_request")?;
    novice.send(json!({"cmd": "approve"}))?;
    let approved = Instant::now();
    novice.send(json!({"cmd": "bandwidth", "preset": "dialup"}))?;
    let deadline = approved + Duration::from_secs(60);
    let first = loop {
        if let Some((_, at)) = seen.lock().map_err(err)?.first().copied() {
            break at.duration_since(approved).as_secs_f64();
        }
        if Instant::now() > deadline {
            return Err("no picture within 60 s at dialup".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let the first picture's bytes drain before typing.
    std::thread::sleep(Duration::from_secs(3));
    let start = Instant::now();
    let updates = workload.run(Phase::Typing, phase)?;
    std::thread::sleep(Duration::from_secs(2));
    let seen = seen.lock().map_err(err)?.clone();
    println!(
        "dialup {}x{}: first full screen after {first:.2} s",
        size.0, size.1
    );
    report(
        "lifeline",
        size,
        Phase::Typing,
        &updates,
        &seen,
        start,
        0,
        0.0,
    );
    let _ = commands.send(UserCommand::Session(
        lifeline_core::session::Command::Disconnect,
    ));
    let _ = done.join();
    Ok(())
}

fn run_x11vnc(display: &str, link: &Link, phase: Duration, size: (u32, u32)) -> Result<()> {
    let server = Kill(
        link.novice
            .command("x11vnc")
            .args([
                "-display",
                display,
                "-rfbport",
                "5900",
                "-listen",
                NOVICE_ADDR,
            ])
            .args(["-nopw", "-forever", "-shared", "-quiet", "-noipv6"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("x11vnc (apt-get install x11vnc): {e}"))?,
    );
    let pid = server.0.id();
    let seen: Seen = Arc::default();
    let viewer_ns = link.viewer.name().to_owned();
    let recorder = seen.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    let viewer = std::thread::spawn(move || -> Result<()> {
        enter(&viewer_ns)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut vnc = loop {
            match rfb::Viewer::connect(&format!("{NOVICE_ADDR}:5900")) {
                Ok(vnc) => break vnc,
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
            vnc.next_update()?;
            if let Some(n) = marker_number(vnc.pixel(MARKER_CENTRE, MARKER_CENTRE))
                && let Ok(mut seen) = recorder.lock()
            {
                seen.push((n, Instant::now()));
            }
        }
        Ok(())
    });
    let result = measure("x11vnc", size, display, link, pid, &seen, phase);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drop(server);
    let _ = viewer.join();
    result
}
