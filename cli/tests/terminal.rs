//! The interactive flow, typed into real terminals: `invite` and `join` run in tmux panes
//! and the test reads the screens back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A private tmux server, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Self {
        let socket = format!("lifeline-test-{}", std::process::id());
        Self { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux (scripts/setup installs it)");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `command` (a shell line) in a new 200×60 terminal named `name`.
    fn start(&self, name: &str, dir: &Path, command: &str) {
        let dir = dir.to_str().expect("utf-8 path");
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "200",
            "-y",
            "60",
            "-c",
            dir,
            command,
        ]);
        self.tmux(&["set-option", "-t", name, "remain-on-exit", "on"]);
    }

    /// Types `text` and Enter into terminal `name`.
    fn type_line(&self, name: &str, text: &str) {
        self.tmux(&["send-keys", "-t", name, "-l", text]);
        self.tmux(&["send-keys", "-t", name, "Enter"]);
    }

    /// What terminal `name` shows, with its scrollback, wrapped lines joined.
    fn screen(&self, name: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-500", "-t", name])
    }

    /// Waits until terminal `name` shows `needle` (at least `count` times); returns the
    /// screen.
    fn wait_for_nth(&self, name: &str, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(name);
            if screen.matches(needle).count() >= count {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never showed {needle:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, name: &str, needle: &str) -> String {
        self.wait_for_nth(name, needle, 1)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The text after `label` up to the end of its line, e.g. the safety code.
fn after<'a>(screen: &'a str, label: &str) -> &'a str {
    let start = screen.find(label).expect("label") + label.len();
    let rest = &screen[start..];
    rest[..rest.find(['\n', '.']).unwrap_or(rest.len())].trim()
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

#[test]
fn a_whole_session_typed_into_two_terminals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let received: PathBuf = dir.join("received");
    std::fs::create_dir(&received).expect("mkdir");
    std::fs::write(dir.join("password"), "maple river candle tiger\n").expect("password");
    let photo = dir.join("photo.jpg");
    let content: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&photo, &content).expect("photo");
    let lifeline = env!("CARGO_BIN_EXE_lifeline");
    let tmux = Tmux::new();

    // The novice runs in the folder where files are saved.
    tmux.start(
        "novice",
        &received,
        &format!(
            "{lifeline} invite --name Grandma --listen 127.0.0.1:0 --password-file {} \
             --log-dir {} --out {}",
            quoted(&dir.join("password")),
            quoted(&dir.join("logs-novice")),
            quoted(&dir.join("grandma.lifeline")),
        ),
    );
    tmux.wait_for("novice", "Waiting for your helper");
    tmux.start(
        "helper",
        dir,
        &format!(
            "{lifeline} join grandma.lifeline --name Helen --log-dir {}",
            quoted(&dir.join("logs-helper"))
        ),
    );
    tmux.wait_for("helper", "Type the password that Grandma read to you");
    tmux.type_line("helper", "Maple river  candle TIGER");

    let novice = tmux.wait_for("novice", "Allow Helen to see your screen? (yes/no)");
    assert!(novice.contains("Continue only if you asked Helen for help"));
    let helper = tmux.wait_for("helper", "Safety code: ");
    assert_eq!(
        after(&novice, "Safety code: "),
        after(&helper, "Safety code: "),
        "the two sides show different safety codes"
    );
    tmux.type_line("novice", "yes");
    tmux.wait_for("novice", "Helen can see your screen");
    tmux.wait_for("helper", "You can see Grandma's screen");

    tmux.type_line("helper", "chat Hello Grandma, I am here");
    tmux.wait_for("novice", "Helen: Hello Grandma, I am here");
    tmux.type_line("novice", "chat Thank you");
    tmux.wait_for("helper", "Grandma: Thank you");

    tmux.type_line("helper", &format!("send {}", photo.display()));
    let novice = tmux.wait_for("novice", "Helen wants to send you \"photo.jpg\" (3.0 MiB)");
    assert!(novice.contains(&format!("Save it in {}?", received.display())));
    tmux.type_line("novice", "yes");
    let novice = tmux.wait_for("novice", "Saved \"photo.jpg\"");
    assert!(
        novice.contains("photo.jpg [##############################] 100 %  3.0 MiB of 3.0 MiB"),
        "no finished progress bar:\n{novice}"
    );
    assert_eq!(
        std::fs::read(received.join("photo.jpg")).expect("saved"),
        content
    );
    tmux.wait_for("helper", "Sent \"photo.jpg\"");

    tmux.type_line("helper", "request");
    tmux.wait_for("novice", "Allow Helen to control your computer? (yes/no)");
    tmux.type_line("novice", "yes");
    tmux.wait_for("helper", "You now control the mouse and keyboard");
    tmux.type_line("novice", "esc");
    tmux.wait_for("helper", "Control ended (novice escape)");
    tmux.wait_for("novice", "Control ended (novice escape)");

    // A yes with nothing asked is refused; an unknown word explains the commands.
    tmux.type_line("novice", "yes");
    tmux.wait_for("novice", "Error: there is no question to answer");
    tmux.type_line("novice", "dance");
    tmux.wait_for("novice", "Error: unknown command \"dance\"; commands:");

    tmux.type_line("novice", "quit");
    tmux.wait_for("novice", "The session ended");
    tmux.wait_for("helper", "The session ended: the novice disconnected");
    tmux.wait_for("novice", "Session log: ");
    tmux.wait_for("helper", "Session log: ");
}
