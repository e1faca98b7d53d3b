//! Standing invitations survive a restart of the novice's side: kept in a real
//! gnome-keyring on a private session bus, resumed with `invite --resume`, listed and
//! revoked with `lifeline invitations`, wrong passwords still counted across the restart.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use lifeline_lab::Scripted;
use serde_json::json;

/// A session bus with an unlocked gnome-keyring and a temporary HOME, stopped on drop.
struct Keyring {
    bus: Child,
    address: String,
    home: tempfile::TempDir,
}

impl Keyring {
    fn start() -> Self {
        let home = tempfile::tempdir().unwrap();
        let runtime = home.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon) must be installed");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let keyring = Self {
            bus,
            address: address.trim().to_owned(),
            home,
        };
        let mut daemon = keyring
            .env(&mut Command::new("gnome-keyring-daemon"))
            .args(["--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring) must be installed");
        daemon.stdin.take().unwrap().write_all(b"testpw").unwrap();
        assert!(daemon.wait().unwrap().success());
        keyring
    }

    /// `command` with this session's bus and home.
    fn env<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        let home = self.home.path();
        command
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
    }

    fn lifeline(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeline"));
        self.env(&mut command).args(args);
        command
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        // gnome-keyring-daemon leaves when its bus goes.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn password_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join(format!("pw-{}", text.len()));
    std::fs::write(&path, text).unwrap();
    path
}

fn join(keyring: &Keyring, link: &str, password: &Path, logs: &Path) -> Scripted {
    let mut command = keyring.lifeline(&["join", link, "--name", "Sam"]);
    command
        .arg("--password-file")
        .arg(password)
        .arg("--log-dir")
        .arg(logs);
    Scripted::start(command).unwrap()
}

#[test]
fn a_standing_invitation_survives_a_restart_and_can_be_revoked() {
    let keyring = Keyring::start();
    let work = tempfile::tempdir().unwrap();
    let logs = work.path().join("logs");
    let right = password_file(work.path(), "apple banana cherry dog");
    let wrong = password_file(work.path(), "wrong");

    // The novice makes a 3-day invitation; a helper types a wrong password once.
    let mut first = keyring.lifeline(&["invite", "--name", "Rose", "--expires", "3days"]);
    first
        .args(["--listen", "127.0.0.1:0", "--password-file"])
        .arg(&right)
        .arg("--log-dir")
        .arg(&logs)
        .arg("--out")
        .arg(work.path().join("invitation.lifeline"));
    let novice = Scripted::start(first).unwrap();
    let invitation = novice.wait("invitation").unwrap();
    let id = invitation["id"].as_str().unwrap().to_owned();
    let link = invitation["link"].as_str().unwrap().to_owned();
    let helper = join(&keyring, &link, &wrong, &logs);
    let ended = helper.wait_for("state", |e| e["state"] == "ended").unwrap();
    assert!(
        ended["reason"]
            .as_str()
            .unwrap()
            .contains("4 attempts left")
    );
    drop(helper);
    drop(novice); // The novice's computer restarts.

    // The keyring still has it, with the wrong password counted.
    let listed = keyring
        .lifeline(&["invitations", "--json"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let entry: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&listed.stdout).trim()).unwrap();
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["attempts_left"], 4);

    // Resumed, the same invitation (same link, same pinned certificate) works with the
    // password given before.
    let mut resumed = keyring.lifeline(&["invite", "--resume", &id, "--log-dir"]);
    resumed.arg(&logs);
    let mut novice = Scripted::start(resumed).unwrap();
    let again = novice.wait("invitation").unwrap();
    assert_eq!(again["link"], link.as_str());
    assert_eq!(again["resumed"], true);
    let mut helper = join(&keyring, &link, &right, &logs);
    let request = novice.wait("connect_request").unwrap();
    assert_eq!(request["helper"], "Sam");
    novice.send(json!({"cmd": "approve"})).unwrap();
    helper.wait_state("screen_sharing").unwrap();
    helper.send(json!({"cmd": "disconnect"})).unwrap();
    novice.finish().unwrap();
    drop(helper);

    // Revoked, it is gone for good.
    let revoked = keyring
        .lifeline(&["invitations", "revoke", &id])
        .output()
        .unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    let listed = keyring.lifeline(&["invitations"]).output().unwrap();
    assert!(listed.stdout.is_empty());
    let refused = keyring
        .lifeline(&["invite", "--resume", &id])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}
