//! Capture timings on an X display at 1920×1080: full captures with MIT-SHM and with plain
//! GetImage, asking an unchanged screen, and capturing after a small change (a typed
//! character's worth) and after a full-screen repaint.
//!
//! `cargo run --release -p lifeline-core --example bench_capture` starts its own Xvfb servers
//! (one with MIT-SHM, one started with `-extension MIT-SHM`).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeline_core::host::Capturer;
use lifeline_core::host::x11::X11Capturer;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ChangeGCAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, Rectangle, WindowClass,
};

const ROUNDS: usize = 100;

struct Xvfb(Child, String);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_xvfb(extra: &[&str]) -> Xvfb {
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-noreset", "-nolisten", "tcp"])
        .args(["-screen", "0", "1920x1080x24"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is installed (scripts/setup installs it)");
    let mut out = child.stdout.take().expect("piped stdout");
    let (mut number, mut byte) = (String::new(), [0u8; 1]);
    while out.read(&mut byte).expect("display number") == 1 && byte[0] != b'\n' {
        number.push(char::from(byte[0]));
    }
    Xvfb(child, format!(":{}", number.trim()))
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<48} median {:7.3} ms   p95 {:7.3} ms   min {:7.3} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100]),
        ms(times[0])
    );
}

/// A full-screen window to draw on, from a client of its own.
struct Painter {
    conn: x11rb::rust_connection::RustConnection,
    window: u32,
    gc: u32,
}

impl Painter {
    fn new(display: &str) -> Self {
        let (conn, n) = x11rb::connect(Some(display)).expect("connect painter");
        let screen = &conn.setup().roots[n];
        let (window, gc) = (conn.generate_id().unwrap(), conn.generate_id().unwrap());
        let aux = CreateWindowAux::new()
            .background_pixel(screen.white_pixel)
            .override_redirect(1);
        conn.create_window(
            screen.root_depth,
            window,
            screen.root,
            0,
            0,
            1920,
            1080,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &aux,
        )
        .unwrap();
        conn.map_window(window).unwrap();
        conn.create_gc(gc, window, &CreateGCAux::new()).unwrap();
        conn.get_input_focus().unwrap().reply().unwrap();
        Self { conn, window, gc }
    }

    fn fill(&self, x: i16, y: i16, width: u16, height: u16, rgb: u32) {
        let c = &self.conn;
        c.change_gc(self.gc, &ChangeGCAux::new().foreground(rgb))
            .unwrap();
        let rect = Rectangle {
            x,
            y,
            width,
            height,
        };
        c.poly_fill_rectangle(self.window, self.gc, &[rect])
            .unwrap();
        c.get_input_focus().unwrap().reply().unwrap();
    }
}

fn wait_changed(capturer: &mut X11Capturer) {
    while !capturer.has_changed().expect("poll") {
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn bench(label: &str, extra: &[&str]) {
    let xvfb = start_xvfb(extra);
    let painter = Painter::new(&xvfb.1);
    let mut capturer = X11Capturer::connect(Some(&xvfb.1)).expect("connect capturer");
    let m = capturer.monitor().clone();
    println!(
        "-- {label}: monitor {}×{}, MIT-SHM in use: {}",
        m.width,
        m.height,
        capturer.uses_shm()
    );

    let mut full = Vec::new();
    for _ in 0..ROUNDS {
        capturer.refresh();
        let t = Instant::now();
        let c = capturer.capture().expect("capture").expect("full frame");
        full.push(t.elapsed());
        assert!(c.full);
    }
    report("full 1920×1080 capture", full);

    let mut idle = Vec::new();
    for _ in 0..ROUNDS * 10 {
        let t = Instant::now();
        let c = capturer.capture().expect("capture");
        idle.push(t.elapsed());
        assert!(c.is_none(), "nothing changed");
    }
    report("unchanged screen: capture() = None", idle);

    let mut small = Vec::new();
    for i in 0..ROUNDS {
        painter.fill(
            100 + 10 * (i as i16 % 100),
            500,
            10,
            18,
            0x202020 * (i as u32 % 7),
        );
        wait_changed(&mut capturer);
        let t = Instant::now();
        let c = capturer.capture().expect("capture").expect("damage");
        small.push(t.elapsed());
        assert!(c.damage.iter().map(|r| r.area()).sum::<u64>() <= 10 * 18 * 4);
    }
    report("one 10×18 character changed", small);

    let mut repaint = Vec::new();
    for i in 0..ROUNDS {
        painter.fill(0, 0, 1920, 1080, 0x0f0f0f * (i as u32 % 16));
        wait_changed(&mut capturer);
        let t = Instant::now();
        let c = capturer.capture().expect("capture").expect("damage");
        repaint.push(t.elapsed());
        assert!(!c.damage.is_empty());
    }
    report("whole screen repainted (damage-driven)", repaint);
}

fn main() {
    bench("Xvfb with MIT-SHM", &[]);
    bench(
        "Xvfb -extension MIT-SHM (plain GetImage)",
        &["-extension", "MIT-SHM"],
    );
}
