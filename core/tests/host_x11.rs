//! core::host on a real X server: Xvfb started by each test, windows drawn with x11rb, a real
//! xterm, and xdotool standing for the novice's own keyboard.

#![cfg(all(feature = "host", target_os = "linux"))]

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::xvfb::Xvfb;
use lifeline_core::host::x11::{X11Capturer, X11EscWatcher, X11Injector};
use lifeline_core::host::{Capturer, EscPress, InjectedEscapes, Injector, Monitor};
use lifeline_core::media::Rect;
use lifeline_core::proto::{InputEvent, MouseButton};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::randr::{ConnectionExt as _, MonitorInfo};
use x11rb::protocol::xproto::{
    self, AtomEnum, ChangeGCAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask,
    InputFocus, Rectangle, WindowClass,
};
use x11rb::rust_connection::RustConnection;

const WAIT: Duration = Duration::from_secs(10);

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A window of the test's own, drawn with x11rb, that records the input it receives.
struct Window {
    conn: RustConnection,
    id: xproto::Window,
    gc: xproto::Gcontext,
    root: xproto::Window,
}

impl Window {
    /// An override-redirect window at `(x, y)` (no window manager needed), black, mapped.
    fn open(display: &str, x: i16, y: i16, width: u16, height: u16) -> Self {
        let (conn, screen_num) = x11rb::connect(Some(display)).unwrap();
        let screen = &conn.setup().roots[screen_num];
        let root = screen.root;
        let id = conn.generate_id().unwrap();
        let aux = CreateWindowAux::new()
            .background_pixel(screen.black_pixel)
            .override_redirect(1)
            .event_mask(
                EventMask::KEY_PRESS
                    | EventMask::KEY_RELEASE
                    | EventMask::BUTTON_PRESS
                    | EventMask::BUTTON_RELEASE
                    | EventMask::EXPOSURE,
            );
        conn.create_window(
            screen.root_depth,
            id,
            root,
            x,
            y,
            width,
            height,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &aux,
        )
        .unwrap();
        conn.map_window(id).unwrap();
        let gc = conn.generate_id().unwrap();
        conn.create_gc(gc, id, &CreateGCAux::new()).unwrap();
        let window = Self { conn, id, gc, root };
        window.sync();
        window
    }

    /// Fills a rectangle (window coordinates) with `0xRRGGBB` and waits until it is drawn.
    fn fill(&self, x: i16, y: i16, width: u16, height: u16, rgb: u32) {
        self.conn
            .change_gc(self.gc, &ChangeGCAux::new().foreground(rgb))
            .unwrap();
        self.conn
            .poly_fill_rectangle(
                self.id,
                self.gc,
                &[Rectangle {
                    x,
                    y,
                    width,
                    height,
                }],
            )
            .unwrap();
        self.sync();
    }

    fn focus(&self) {
        self.conn
            .set_input_focus(InputFocus::POINTER_ROOT, self.id, x11rb::CURRENT_TIME)
            .unwrap();
        self.sync();
    }

    /// A round trip: everything sent before is done.
    fn sync(&self) {
        self.conn.get_input_focus().unwrap().reply().unwrap();
    }

    /// The keysyms (first level) of the keys pressed, and the buttons pressed, until `until`
    /// keysym arrives or the time runs out.
    fn read_input(&self, until: Option<u32>, within: Duration) -> (Vec<u32>, Vec<u8>) {
        let mapping = self
            .conn
            .get_keyboard_mapping(
                self.conn.setup().min_keycode,
                self.conn.setup().max_keycode - self.conn.setup().min_keycode + 1,
            )
            .unwrap()
            .reply()
            .unwrap();
        let mut mapping = mapping;
        let (mut keys, mut buttons) = (Vec::new(), Vec::new());
        let start = Instant::now();
        while start.elapsed() < within {
            let Some(event) = self.conn.poll_for_event().unwrap() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            match event {
                Event::MappingNotify(_) => {
                    let min = self.conn.setup().min_keycode;
                    let count = self.conn.setup().max_keycode - min + 1;
                    mapping = self
                        .conn
                        .get_keyboard_mapping(min, count)
                        .unwrap()
                        .reply()
                        .unwrap();
                }
                Event::KeyPress(e) => {
                    let per = usize::from(mapping.keysyms_per_keycode);
                    let index = usize::from(e.detail - self.conn.setup().min_keycode) * per;
                    let shifted = u16::from(e.state) & 1 != 0;
                    let keysym = mapping.keysyms[index + usize::from(shifted)];
                    let keysym = if keysym == 0 {
                        mapping.keysyms[index]
                    } else {
                        keysym
                    };
                    keys.push(keysym);
                    if Some(keysym) == until {
                        break;
                    }
                }
                Event::ButtonPress(e) => buttons.push(e.detail),
                _ => {}
            }
        }
        (keys, buttons)
    }

    fn pointer(&self) -> (i16, i16) {
        let reply = self.conn.query_pointer(self.root).unwrap().reply().unwrap();
        (reply.root_x, reply.root_y)
    }
}

/// Splits the screen of `display` into two RandR monitors side by side (as `xrandr
/// --setmonitor` does), each `width` wide.
fn two_monitors(display: &str, width: u16, height: u16) {
    let (conn, screen_num) = x11rb::connect(Some(display)).unwrap();
    let root = conn.setup().roots[screen_num].root;
    conn.randr_query_version(1, 5).unwrap().reply().unwrap();
    let outputs = conn
        .randr_get_screen_resources(root)
        .unwrap()
        .reply()
        .unwrap()
        .outputs;
    for (i, name) in ["LEFT", "RIGHT"].into_iter().enumerate() {
        let atom = conn
            .intern_atom(false, name.as_bytes())
            .unwrap()
            .reply()
            .unwrap();
        conn.randr_set_monitor(
            root,
            MonitorInfo {
                name: atom.atom,
                primary: i == 0,
                automatic: false,
                x: (i as u16 * width) as i16,
                y: 0,
                width,
                height,
                width_in_millimeters: 508,
                height_in_millimeters: 286,
                outputs: if i == 0 { outputs.clone() } else { vec![] },
            },
        )
        .unwrap()
        .check()
        .unwrap();
    }
    let _ = AtomEnum::NONE;
}

fn bgra(rgb: u32) -> [u8; 4] {
    [rgb as u8, (rgb >> 8) as u8, (rgb >> 16) as u8, 255]
}

// The session driver may run each of them on a thread of its own (checked when compiling).
const _: fn() = || {
    fn send<T: Send>() {}
    send::<X11Capturer>();
    send::<X11Injector>();
    send::<X11EscWatcher>();
    send::<InjectedEscapes>();
};

#[test]
fn capture_matches_the_drawn_window_and_only_changes_cost_a_copy() {
    let Some(xvfb) = Xvfb::start(640, 480) else {
        return;
    };
    let window = Window::open(&xvfb.display, 40, 30, 300, 200);
    window.fill(0, 0, 100, 100, 0xff0000);
    window.fill(100, 0, 100, 100, 0x00ff00);
    window.fill(200, 0, 100, 100, 0x0000ff);
    window.fill(0, 100, 300, 100, 0x336699);

    let mut capturer = X11Capturer::connect(Some(&xvfb.display)).unwrap();
    assert!(capturer.uses_shm(), "a local Xvfb offers MIT-SHM");
    let monitor = capturer.monitor().clone();
    assert_eq!((monitor.width, monitor.height), (640, 480));
    {
        let captured = capturer
            .capture()
            .unwrap()
            .expect("the first capture is full");
        assert!(captured.full);
        let frame = captured.frame;
        assert_eq!((frame.width(), frame.height()), (640, 480));
        assert!(frame.stride() >= 640 * 4);
        for (x, y, rgb) in [
            (40 + 50, 30 + 50, 0xff0000),
            (40 + 150, 30 + 10, 0x00ff00),
            (40 + 299, 30 + 99, 0x0000ff),
            (40, 30 + 100, 0x336699),
            (40 + 299, 30 + 199, 0x336699),
        ] {
            assert_eq!(frame.pixel(x, y), bgra(rgb), "pixel ({x}, {y})");
        }
        // Every pixel of the window, not just samples.
        for y in 30..230 {
            for x in 40..340 {
                let expected = match (x - 40, y - 30) {
                    (wx, wy) if wy < 100 && wx < 100 => 0xff0000,
                    (wx, wy) if wy < 100 && wx < 200 => 0x00ff00,
                    (_, wy) if wy < 100 => 0x0000ff,
                    _ => 0x336699,
                };
                assert_eq!(frame.pixel(x, y), bgra(expected), "pixel ({x}, {y})");
            }
        }
    }

    // Nothing changed: no damage, no copy.
    window.sync();
    assert!(!capturer.has_changed().unwrap());
    assert!(capturer.capture().unwrap().is_none());

    // A change is reported with damage covering it, and the frame shows it.
    window.fill(10, 120, 30, 20, 0xffff00);
    wait_until("damage after drawing", || capturer.has_changed().unwrap());
    let captured = capturer.capture().unwrap().expect("damage after drawing");
    assert!(!captured.full);
    let drawn = Rect {
        x: 50,
        y: 150,
        width: 30,
        height: 20,
    };
    for y in drawn.y..drawn.y + drawn.height {
        for x in drawn.x..drawn.x + drawn.width {
            assert!(
                captured.damage.iter().any(|r| r.contains(x, y)),
                "damage {:?} misses ({x}, {y})",
                captured.damage
            );
            assert_eq!(captured.frame.pixel(x, y), bgra(0xffff00));
        }
    }
    let area: u64 = captured.damage.iter().map(Rect::area).sum();
    assert!(
        area < 640 * 480 / 4,
        "damage {:?} is small",
        captured.damage
    );
    assert_eq!(
        captured.frame.pixel(45, 35),
        bgra(0xff0000),
        "the rest kept"
    );
    window.sync();
    assert!(capturer.capture().unwrap().is_none(), "damage was consumed");

    // A refresh makes the next capture full again (for a keyframe).
    capturer.refresh();
    assert!(capturer.capture().unwrap().expect("refresh").full);
}

#[test]
fn without_mit_shm_capture_falls_back_to_get_image() {
    let Some(xvfb) = Xvfb::start_with(320, 240, &["-extension", "MIT-SHM"]) else {
        return;
    };
    let window = Window::open(&xvfb.display, 10, 20, 100, 50);
    window.fill(0, 0, 50, 50, 0xff8000);
    window.fill(50, 0, 50, 50, 0x0080ff);
    let mut capturer = X11Capturer::connect(Some(&xvfb.display)).unwrap();
    assert!(!capturer.uses_shm());
    let frame = capturer.capture().unwrap().expect("full").frame.clone();
    assert_eq!(frame.pixel(10, 20), bgra(0xff8000));
    assert_eq!(frame.pixel(109, 69), bgra(0x0080ff));
    window.sync();
    assert!(capturer.capture().unwrap().is_none());
    window.fill(0, 0, 10, 10, 0x00ff00);
    wait_until("damage after drawing", || capturer.has_changed().unwrap());
    let captured = capturer.capture().unwrap().expect("damage");
    assert!(captured.damage.iter().any(|r| r.contains(15, 25)));
    assert_eq!(captured.frame.pixel(15, 25), bgra(0x00ff00));
}

#[test]
fn two_monitors_are_listed_and_the_selected_one_is_captured() {
    let Some(xvfb) = Xvfb::start(2 * 800, 600) else {
        return;
    };
    two_monitors(&xvfb.display, 800, 600);
    let right_window = Window::open(&xvfb.display, 800 + 100, 50, 200, 100);
    right_window.fill(0, 0, 200, 100, 0x00ffff);

    let mut capturer = X11Capturer::connect(Some(&xvfb.display)).unwrap();
    let monitors = capturer.monitors().unwrap();
    assert_eq!(
        monitors,
        vec![
            Monitor {
                name: "LEFT".into(),
                x: 0,
                y: 0,
                width: 800,
                height: 600,
                primary: true
            },
            Monitor {
                name: "RIGHT".into(),
                x: 800,
                y: 0,
                width: 800,
                height: 600,
                primary: false
            },
        ]
    );
    assert_eq!(
        capturer.monitor().name,
        "LEFT",
        "the primary is shared first"
    );
    let selected = capturer.select(1).unwrap();
    assert_eq!(selected, monitors[1]);
    let captured = capturer.capture().unwrap().expect("full after select");
    assert!(captured.full);
    assert_eq!(
        (captured.frame.width(), captured.frame.height()),
        (800, 600)
    );
    assert_eq!(captured.frame.pixel(100, 50), bgra(0x00ffff));
    assert_eq!(captured.frame.pixel(299, 149), bgra(0x00ffff));
    assert_ne!(captured.frame.pixel(300, 150), bgra(0x00ffff));

    // A change on the other monitor costs the shared one nothing.
    let left_window = Window::open(&xvfb.display, 10, 10, 50, 50);
    left_window.fill(0, 0, 50, 50, 0xffffff);
    assert!(capturer.capture().unwrap().is_none());

    assert!(capturer.select(2).is_err());
}

#[test]
fn injector_moves_the_pointer_within_the_shared_monitor_and_clicks() {
    let Some(xvfb) = Xvfb::start(2 * 800, 600) else {
        return;
    };
    two_monitors(&xvfb.display, 800, 600);
    let mut capturer = X11Capturer::connect(Some(&xvfb.display)).unwrap();
    let right = capturer.select(1).unwrap();
    let window = Window::open(&xvfb.display, 800, 0, 800, 600);
    let mut injector =
        X11Injector::connect(Some(&xvfb.display), right, InjectedEscapes::new()).unwrap();

    for ((x, y), expected) in [
        ((0.0, 0.0), (800, 0)),
        ((0.5, 0.5), (800 + 400, 300)),
        ((1.0, 1.0), (800 + 799, 599)),
        ((0.25, 0.75), (800 + 200, 449)),
    ] {
        injector.inject(&InputEvent::Pointer { x, y }).unwrap();
        assert_eq!(window.pointer(), expected, "pointer at ({x}, {y})");
    }
    assert!(injector.pointer(f32::NAN, 0.5).is_err());

    injector.pointer(0.5, 0.5).unwrap();
    for button in [MouseButton::Left, MouseButton::Middle, MouseButton::Right] {
        injector
            .inject(&InputEvent::Button { button, down: true })
            .unwrap();
        injector
            .inject(&InputEvent::Button {
                button,
                down: false,
            })
            .unwrap();
    }
    injector.inject(&InputEvent::Wheel { dy: 2 }).unwrap();
    injector.inject(&InputEvent::Wheel { dy: -1 }).unwrap();
    let (_, buttons) = window.read_input(None, Duration::from_millis(500));
    assert_eq!(buttons, vec![1, 2, 3, 4, 4, 5]);

    // Back to the left monitor: the same coordinates land there.
    injector.set_monitor(&capturer.select(0).unwrap());
    injector.pointer(0.5, 0.5).unwrap();
    assert_eq!(window.pointer(), (400, 300));
}

#[test]
fn injector_types_keys_and_text_into_a_window() {
    let Some(xvfb) = Xvfb::start(640, 480) else {
        return;
    };
    let window = Window::open(&xvfb.display, 0, 0, 640, 480);
    window.focus();
    let capturer = X11Capturer::connect(Some(&xvfb.display)).unwrap();
    let mut injector = X11Injector::connect(
        Some(&xvfb.display),
        capturer.monitor().clone(),
        InjectedEscapes::new(),
    )
    .unwrap();
    for (name, down) in [("a", true), ("a", false), ("Down", true), ("Down", false)] {
        injector
            .inject(&InputEvent::Key {
                keysym: name.into(),
                down,
            })
            .unwrap();
    }
    // "A" needs Shift; "€" and "é" are not on the default keyboard: they go on spare keycodes.
    injector.text("A!€é\n").unwrap();
    let (keys, _) = window.read_input(Some(0xff0d), Duration::from_secs(5));
    let keys: Vec<u32> = keys
        .into_iter()
        .filter(|&k| !(0xffe1..=0xffee).contains(&k)) // modifiers
        .collect();
    assert_eq!(keys, vec![0x61, 0xff54, 0x41, 0x21, 0x20ac, 0xe9, 0xff0d]);
    assert!(matches!(
        injector.key("NoSuchKey", true),
        Err(lifeline_core::host::HostError::UnknownKey(_))
    ));
}

#[test]
fn injector_types_into_a_real_xterm() {
    let Some(xvfb) = Xvfb::start(800, 600) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("typed");
    let ready = dir.path().join("ready");
    let mut xterm = xvfb
        .command("xterm")
        .env("LC_ALL", "C.UTF-8")
        .args(["-u8", "-geometry", "80x24+0+0", "-e", "sh", "-c"])
        .arg(format!(
            "touch '{}'; cat > '{}'",
            ready.display(),
            out.display()
        ))
        .spawn()
        .expect("xterm is installed (scripts/setup installs it)");
    wait_until("xterm to start its shell", || ready.exists());

    let capturer = X11Capturer::connect(Some(&xvfb.display)).unwrap();
    let mut injector = X11Injector::connect(
        Some(&xvfb.display),
        capturer.monitor().clone(),
        InjectedEscapes::new(),
    )
    .unwrap();
    // The focus follows the pointer (no window manager): put it over the xterm and click.
    injector.pointer(0.2, 0.2).unwrap();
    injector.button(MouseButton::Left, true).unwrap();
    injector.button(MouseButton::Left, false).unwrap();
    injector.text("hello, Wörld €1").unwrap();
    injector.key("Return", true).unwrap();
    injector.key("Return", false).unwrap();
    wait_until("the typed line in the file", || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.ends_with('\n'))
    });
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello, Wörld €1\n");
    let _ = xterm.kill();
    let _ = xterm.wait();
}

#[test]
fn esc_watcher_reports_the_novices_esc_but_not_the_helpers() {
    let Some(xvfb) = Xvfb::start(640, 480) else {
        return;
    };
    let window = Window::open(&xvfb.display, 0, 0, 640, 480);
    window.focus();
    let escapes = InjectedEscapes::new();
    let (tx, rx) = mpsc::channel::<EscPress>();
    let watcher = X11EscWatcher::start(Some(&xvfb.display), escapes.clone(), move |press| {
        let _ = tx.send(press);
    })
    .unwrap();
    let capturer = X11Capturer::connect(Some(&xvfb.display)).unwrap();
    let mut injector =
        X11Injector::connect(Some(&xvfb.display), capturer.monitor().clone(), escapes).unwrap();
    let xdotool_esc = || {
        let status = xvfb.command("xdotool").args(["key", "Escape"]).status();
        assert!(
            status
                .expect("xdotool is installed (scripts/setup installs it)")
                .success(),
            "xdotool key Escape"
        );
    };

    // The novice presses Esc (xdotool stands for their keyboard): reported, and the focused
    // program still gets it (observed, not grabbed).
    xdotool_esc();
    rx.recv_timeout(WAIT).expect("the novice's Esc is reported");
    let (keys, _) = window.read_input(Some(0xff1b), Duration::from_secs(5));
    assert_eq!(keys, vec![0xff1b], "the window still receives Esc");

    // The helper's Esc goes through to the program but is not reported.
    injector.key("Escape", true).unwrap();
    injector.key("Escape", false).unwrap();
    let (keys, _) = window.read_input(Some(0xff1b), Duration::from_secs(5));
    assert_eq!(keys, vec![0xff1b], "the helper's Esc reaches the window");
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "the helper's Esc is not reported"
    );
    // Also when typed as text.
    injector.text("\u{1b}").unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());

    // Right after the helper's Esc, the novice's counts again: one report for two Escs.
    injector.key("Escape", true).unwrap();
    injector.key("Escape", false).unwrap();
    xdotool_esc();
    rx.recv_timeout(WAIT)
        .expect("the novice's Esc after the helper's");
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());

    drop(watcher);
    xdotool_esc();
    let (keys, _) = window.read_input(Some(0xff1b), Duration::from_secs(5));
    assert!(keys.contains(&0xff1b));
}
