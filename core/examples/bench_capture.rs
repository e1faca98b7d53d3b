//! Capture timings on an X display: full 1920×1080 captures (MIT-SHM and plain GetImage), the
//! cost of asking an unchanged screen, and a small damaged area.
//!
//! `cargo run --release -p lifeline-core --example bench_capture` starts its own
//! `Xvfb -screen 0 1920x1080x24`; set `LIFELINE_BENCH_DISPLAY=:N` to use a running display.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeline_core::host::Capturer;
use lifeline_core::host::x11::X11Capturer;

const ROUNDS: usize = 60;

fn start_xvfb() -> (Child, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-noreset",
            "-screen",
            "0",
            "1920x1080x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is installed (scripts/setup installs it)");
    let mut out = child.stdout.take().expect("piped stdout");
    let mut number = String::new();
    let mut byte = [0u8; 1];
    while std::io::Read::read(&mut out, &mut byte)
        .map(|n| n == 1)
        .unwrap_or(false)
    {
        if byte[0] == b'\n' {
            break;
        }
        number.push(byte[0] as char);
    }
    (child, format!(":{}", number.trim()))
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} median {:7.3} ms   p95 {:7.3} ms   min {:7.3} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100]),
        ms(times[0])
    );
}

fn main() {
    let (mut xvfb, display) = match std::env::var("LIFELINE_BENCH_DISPLAY") {
        Ok(d) => (None, d),
        Err(_) => {
            let (child, d) = start_xvfb();
            (Some(child), d)
        }
    };
    let mut capturer = X11Capturer::connect(Some(&display)).expect("connect");
    let m = capturer.monitor().clone();
    println!(
        "display {display}, monitor {}×{} at ({}, {}), MIT-SHM: {}",
        m.width,
        m.height,
        m.x,
        m.y,
        capturer.uses_shm()
    );

    let mut full = Vec::new();
    for _ in 0..ROUNDS {
        capturer.refresh();
        let t = Instant::now();
        let c = capturer.capture().expect("capture").expect("full frame");
        assert!(c.full);
        full.push(t.elapsed());
    }
    report("full capture (refresh)", full);

    let mut idle = Vec::new();
    for _ in 0..ROUNDS * 10 {
        let t = Instant::now();
        let c = capturer.capture().expect("capture");
        idle.push(t.elapsed());
        assert!(c.is_none(), "nothing changed");
    }
    report("unchanged screen: capture() → None", idle);

    // A small change drawn by another client: xsetroot would repaint everything, so draw
    // with a second x11rb connection through the capturer's own display.
    drop(capturer);
    let mut capturer = X11Capturer::connect(Some(&display)).expect("connect");
    capturer.capture().expect("first").expect("full");
    let mut small = Vec::new();
    for i in 0..ROUNDS {
        let status = Command::new("xdotool")
            .env("DISPLAY", &display)
            .args(["mousemove", &(100 + i).to_string(), "100"])
            .status();
        let _ = status;
        // Cursor moves do not damage the framebuffer under Xvfb; repaint a root strip instead.
        let _ = Command::new("xsetroot")
            .env("DISPLAY", &display)
            .args(["-solid", if i % 2 == 0 { "red" } else { "blue" }])
            .status();
        while !capturer.has_changed().expect("poll") {
            std::thread::sleep(Duration::from_micros(200));
        }
        let t = Instant::now();
        let c = capturer.capture().expect("capture");
        small.push(t.elapsed());
        let _ = c;
    }
    report("full-screen repaint, damage-driven capture", small);

    if let Some(x) = xvfb.as_mut() {
        let _ = x.kill();
        let _ = x.wait();
    }
}
