//! Screen sharing and control between two `lifeline` processes, on a real X server (Xvfb)
//! running a real X client (xterm): what the helper decodes matches the screen, the helper
//! types into the xterm only with control, the novice's Esc ends control but the helper's
//! does not, pause stops the pictures, and `dialup` keeps within 56 kbit/s.

#[path = "../../core/tests/common/xvfb.rs"]
mod xvfb;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use lifeline_core::host::Capturer;
use lifeline_core::host::x11::X11Capturer;
use lifeline_core::media::{Frame, psnr};
use lifeline_lab::Scripted;
use serde_json::{Value, json};
use xvfb::Xvfb;

fn lifeline(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lifeline"));
    command.args(args).env_remove("DISPLAY");
    command
}

/// The whole screen of `display`, as X11 has it now.
fn screen(display: &str) -> Frame {
    let mut capturer = X11Capturer::connect(Some(display)).expect("capture");
    let captured = capturer.capture().expect("capture").expect("first capture");
    captured.frame.clone()
}

fn read_png(path: &Path) -> Frame {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("snapshot"),
    ));
    let mut reader = decoder.read_info().expect("png");
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let mut bgra = Vec::with_capacity(rgb.len() / 3 * 4);
    for p in rgb[..info.buffer_size()].chunks_exact(3) {
        bgra.extend_from_slice(&[p[2], p[1], p[0], 255]);
    }
    Frame::new(info.width, info.height, info.width as usize * 4, bgra).expect("frame")
}

/// Where the X pointer is on `display`.
fn pointer(x: &Xvfb) -> (i32, i32) {
    let out = x
        .command("xdotool")
        .args(["getmouselocation", "--shell"])
        .output()
        .expect("xdotool (scripts/setup installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .expect("pointer position")
    };
    (field("X="), field("Y="))
}

/// Waits until `path` holds `want` (the xterm's `cat` writes what was typed).
fn wait_for_file(path: &Path, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = std::fs::read_to_string(path).unwrap_or_default();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} holds {got:?}, not {want:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn frames(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "frame").collect()
}

#[test]
fn the_helper_sees_and_controls_an_xterm_on_the_novice_screen() {
    let Some(x) = Xvfb::start(1280, 720) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let typed = dir.join("typed.txt");
    let _xterm = Kill(
        x.command("xterm")
            .args(["-geometry", "80x24+0+0", "-e", "sh", "-c"])
            .arg(format!("cat > '{}'", typed.display()))
            .spawn()
            .expect("xterm (scripts/setup installs it)"),
    );
    std::fs::write(dir.join("pw"), "xterm test words").expect("password");
    let pw = dir.join("pw");
    let pw = pw.to_str().expect("utf-8");
    let logs = dir.join("logs");
    let logs = logs.to_str().expect("utf-8");

    let mut novice = Scripted::start(lifeline(&[
        "invite",
        "--listen",
        "127.0.0.1:0",
        "--password-file",
        pw,
        "--log-dir",
        logs,
        "--display",
        &x.display,
        "--name",
        "Rose",
    ]))
    .expect("novice");
    let link = novice.wait("invitation").expect("invitation")["link"]
        .as_str()
        .expect("link")
        .to_owned();
    let snapshot = dir.join("screen.png");
    let record = dir.join("screen.h264");
    let mut helper = Scripted::start(lifeline(&[
        "join",
        &link,
        "--password-file",
        pw,
        "--log-dir",
        logs,
        "--name",
        "Helen",
        "--snapshot",
        snapshot.to_str().expect("utf-8"),
        "--record",
        record.to_str().expect("utf-8"),
    ]))
    .expect("helper");
    novice.wait("connect_request").expect("request");
    novice
        .send(json!({"cmd": "bandwidth", "preset": "best"}))
        .expect("send");
    novice.send(json!({"cmd": "approve"})).expect("send");

    // The helper sees the screen: the snapshot (the latest decoded picture) matches it.
    let first = helper.wait("frame").expect("a first frame");
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(1280), Some(720))
    );
    assert_eq!(first["keyframe"], true);
    let _ = helper.events_for(Duration::from_millis(1500));
    let quality = psnr(&read_png(&snapshot), &screen(&x.display));
    assert!(quality >= 35.0, "PSNR {quality:.1} dB");
    assert!(std::fs::metadata(&record).expect("recording").len() > 1000);

    // Input before control is dropped (and counted) and has no effect.
    let before = pointer(&x);
    helper
        .send(json!({"cmd": "pointer", "x": 0.9, "y": 0.9}))
        .expect("send");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pointer(&x), before);

    // With control, the helper clicks into the xterm and types.
    helper
        .send(json!({"cmd": "request_control"}))
        .expect("send");
    novice.wait("control_request").expect("control request");
    novice.send(json!({"cmd": "grant_control"})).expect("send");
    helper.wait_state("control_sharing").expect("control");
    helper
        .send(json!({"cmd": "pointer", "x": 0.1, "y": 0.1}))
        .expect("send");
    helper
        .send(json!({"cmd": "button", "button": "left", "down": true}))
        .expect("send");
    helper
        .send(json!({"cmd": "button", "button": "left", "down": false}))
        .expect("send");
    helper
        .send(json!({"cmd": "text", "text": "hello lifeline"}))
        .expect("send");
    helper
        .send(json!({"cmd": "key", "key": "Return", "down": true}))
        .expect("send");
    helper
        .send(json!({"cmd": "key", "key": "Return", "down": false}))
        .expect("send");
    wait_for_file(&typed, "hello lifeline\n");
    let at = pointer(&x);
    assert_eq!(at, (128, 72), "pointer at 10 % of 1280×720");

    // The typing shows up on the helper's side as a new (non-key) frame.
    let change = helper
        .wait_for("frame", |e| e["keyframe"] == false)
        .expect("a frame with the typed text");
    assert!(change["bytes"].as_u64() < first["bytes"].as_u64());

    // An Esc the helper sends is passed through and does not end control.
    helper
        .send(json!({"cmd": "key", "key": "Escape", "down": true}))
        .expect("send");
    helper
        .send(json!({"cmd": "key", "key": "Escape", "down": false}))
        .expect("send");
    let events = novice.events_for(Duration::from_secs(1));
    assert!(
        !events.iter().any(|e| e["event"] == "control_ended"),
        "the helper's Esc ended control: {events:?}"
    );

    // The novice's own Esc (xdotool stands for their keyboard) ends control at once.
    let status = x
        .command("xdotool")
        .args(["key", "Escape"])
        .status()
        .expect("xdotool");
    assert!(status.success());
    let ended = novice.wait("control_ended").expect("control ended");
    assert_eq!(ended["reason"], "novice_escape");
    helper.wait("control_ended").expect("helper told");

    // Paused: the view freezes even though the screen changes.
    novice.send(json!({"cmd": "pause"})).expect("send");
    helper.wait("paused").expect("paused");
    let _ = helper.events_for(Duration::from_millis(300));
    x.command("xdotool")
        .args(["mousemove", "100", "100"])
        .status()
        .expect("xdotool");
    let status = x
        .command("xdotool")
        .args(["type", "--delay", "50", "paused typing"])
        .status()
        .expect("xdotool");
    assert!(status.success());
    let events = helper.events_for(Duration::from_secs(1));
    assert!(
        frames(&events).is_empty(),
        "frames while paused: {events:?}"
    );
    novice.send(json!({"cmd": "resume"})).expect("send");
    let resumed = helper.wait("frame").expect("a frame after resume");
    assert_eq!(resumed["keyframe"], true);

    // Dial-up: the video keeps within 56 kbit/s while the screen keeps changing.
    novice
        .send(json!({"cmd": "bandwidth", "preset": "dialup"}))
        .expect("send");
    helper.wait("bandwidth").expect("bandwidth");
    let typist = Kill(
        x.command("xdotool")
            .args(["type", "--delay", "100"])
            .arg("the quick brown fox jumps over the lazy dog ".repeat(4))
            .spawn()
            .expect("xdotool"),
    );
    let start = Instant::now();
    let events = helper.events_for(Duration::from_secs(12));
    let elapsed = start.elapsed().as_secs_f64();
    drop(typist);
    let dialup = frames(&events);
    assert!(!dialup.is_empty(), "no frames at dialup");
    let bits: u64 = dialup
        .iter()
        .map(|f| f["bytes"].as_u64().unwrap_or(0) * 8)
        .sum();
    let rate = bits as f64 / elapsed;
    println!(
        "dialup: {rate:.0} bit/s over {elapsed:.1} s in {} frames",
        dialup.len()
    );
    assert!(rate <= 56_000.0, "{rate:.0} bit/s at dialup");
    assert!(
        dialup.iter().all(|f| f["width"] == 640),
        "half size: {dialup:?}"
    );

    helper.send(json!({"cmd": "disconnect"})).expect("send");
    novice.finish().expect("novice log");
    helper.finish().expect("helper log");
}

/// The part of `frame` at `x, y` of `width × height`.
fn crop(frame: &Frame, x: u32, y: u32, width: u32, height: u32) -> Frame {
    let mut data = Vec::with_capacity((width * height * 4) as usize);
    for row in y..y + height {
        let start = (x * 4) as usize;
        data.extend_from_slice(&frame.row(row)[start..start + (width * 4) as usize]);
    }
    Frame::new(width, height, width as usize * 4, data).expect("crop")
}

#[test]
fn the_helper_window_shows_the_screen_and_forwards_input_with_control() {
    let (Some(novice_x), Some(helper_x)) = (Xvfb::start(1280, 720), Xvfb::start(1600, 900)) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let typed = dir.join("typed.txt");
    let _xterm = Kill(
        novice_x
            .command("xterm")
            .args(["-geometry", "80x24+0+0", "-e", "sh", "-c"])
            .arg(format!("cat > '{}'", typed.display()))
            .spawn()
            .expect("xterm"),
    );
    std::fs::write(dir.join("pw"), "window test words").expect("password");
    let pw = dir.join("pw");
    let pw = pw.to_str().expect("utf-8");
    let logs = dir.join("logs");
    let logs = logs.to_str().expect("utf-8");
    let mut novice = Scripted::start(lifeline(&[
        "invite",
        "--listen",
        "127.0.0.1:0",
        "--password-file",
        pw,
        "--log-dir",
        logs,
        "--display",
        &novice_x.display,
    ]))
    .expect("novice");
    let link = novice.wait("invitation").expect("invitation")["link"]
        .as_str()
        .expect("link")
        .to_owned();
    let mut join = lifeline(&["join", &link, "--password-file", pw, "--log-dir", logs]);
    join.env("DISPLAY", &helper_x.display);
    let mut helper = Scripted::start(join).expect("helper");
    novice.wait("connect_request").expect("request");
    novice
        .send(json!({"cmd": "bandwidth", "preset": "best"}))
        .expect("send");
    novice.send(json!({"cmd": "approve"})).expect("send");
    helper.wait("frame").expect("a frame");
    let _ = helper.events_for(Duration::from_millis(1500));

    // The window (1280×800 at the top left) shows the 1280×720 screen fitted: centred, 1:1.
    let shown = crop(&screen(&helper_x.display), 0, 40, 1280, 720);
    let quality = psnr(&shown, &screen(&novice_x.display));
    assert!(quality >= 35.0, "window PSNR {quality:.1} dB");

    // Without control, moving over the window does nothing on the novice's screen.
    let before = pointer(&novice_x);
    helper_x
        .command("xdotool")
        .args(["mousemove", "640", "400"])
        .status()
        .expect("xdotool");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pointer(&novice_x), before);

    // With control, the helper's mouse and keyboard over the window work the xterm.
    helper
        .send(json!({"cmd": "request_control"}))
        .expect("send");
    novice.wait("control_request").expect("control request");
    novice.send(json!({"cmd": "grant_control"})).expect("send");
    helper.wait_state("control_sharing").expect("control");
    for args in [
        &["mousemove", "128", "112"][..],
        &["click", "1"],
        &["type", "--delay", "30", "via window"],
        &["key", "Return"],
    ] {
        let status = helper_x
            .command("xdotool")
            .args(args)
            .status()
            .expect("xdotool");
        assert!(status.success());
    }
    wait_for_file(&typed, "via window\n");
    assert_eq!(pointer(&novice_x), (128, 72));

    helper.send(json!({"cmd": "disconnect"})).expect("send");
    novice.finish().expect("novice log");
    helper.finish().expect("helper log");
}
