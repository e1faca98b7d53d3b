//! Real sessions on loopback: `lifeline invite --script` and `lifeline join --script` as two
//! processes, driven through their standard input and output. Every wait is bounded.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use lifeline_core::log::{Verification, verify};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// One `lifeline` process in script mode.
struct Peer {
    what: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    seen: Vec<Value>,
}

impl Peer {
    fn spawn(what: &'static str, dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .args(args)
            .current_dir(dir)
            .env_remove("LIFELINE_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run lifeline");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (tx, events) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self {
            what,
            child,
            stdin,
            events,
            seen: Vec::new(),
        }
    }

    fn send(&mut self, command: Value) {
        self.send_line(&command.to_string());
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write command");
        stdin.flush().expect("flush command");
    }

    /// Waits for the next event that `pred` accepts; other events are kept in `seen`.
    fn expect(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if pred(&event) {
                        return event;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: no {what} within {WAIT:?}; saw {:#?}",
                        self.what, self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{}: exited before {what}; saw {:#?}", self.what, self.seen)
                }
            }
        }
    }

    fn event(&mut self, name: &str) -> Value {
        self.expect(name, |e| e["event"] == name)
    }

    fn state(&mut self, state: &str) -> Value {
        self.expect(&format!("state {state}"), |e| {
            e["event"] == "state" && e["state"] == state
        })
    }

    /// Waits for the process to exit; returns its exit code.
    fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{}: did not exit; saw {:#?}", self.what, self.seen);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// Starts a novice with password `password`; returns it and the invitation path.
fn novice(dir: &Path, password: &str) -> (Peer, PathBuf) {
    std::fs::write(dir.join("novice-password"), password).expect("write password");
    let out = dir.join("invitation.lifeline");
    let logs = dir.join("novice-logs");
    let mut novice = Peer::spawn(
        "novice",
        dir,
        &[
            "invite",
            "--script",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "Rose",
            "--password-file",
            path_str(&dir.join("novice-password")),
            "--out",
            path_str(&out),
            "--log-dir",
            path_str(&logs),
        ],
    );
    let invitation = novice.event("invitation");
    assert_eq!(invitation["path"], path_str(&out));
    assert!(
        invitation["link"]
            .as_str()
            .expect("link")
            .starts_with("lifeline:")
    );
    assert!(
        !invitation["password"]
            .as_str()
            .expect("password")
            .is_empty()
    );
    (novice, out)
}

fn helper(dir: &Path, invitation: &Path, password: &str, n: u32) -> Peer {
    let file = dir.join(format!("helper-password-{n}"));
    std::fs::write(&file, password).expect("write password");
    Peer::spawn(
        "helper",
        dir,
        &[
            "join",
            "--script",
            path_str(invitation),
            "--name",
            "Helen",
            "--password-file",
            path_str(&file),
            "--log-dir",
            path_str(&dir.join("helper-logs")),
        ],
    )
}

/// Connects a helper with the right password and has the novice approve it.
fn connected(dir: &Path) -> (Peer, Peer) {
    let (mut novice, invitation) = novice(dir, "Correct Horse battery");
    let mut helper = helper(dir, &invitation, "correct horse  BATTERY\n", 0);
    let request = novice.event("connect_request");
    assert_eq!(request["helper"], "Helen");
    let code = helper.event("safety_code");
    assert_eq!(request["safety_code"], code["code"], "safety codes differ");
    assert_eq!(code["code"].as_str().expect("code").len(), 7);
    novice.send(json!({"cmd": "approve"}));
    novice.state("screen_sharing");
    helper.state("screen_sharing");
    (novice, helper)
}

fn assert_log_intact(path: &Value) {
    let path = path.as_str().expect("log path");
    match verify(path).expect("read log") {
        Verification::Intact { entries, finished } => {
            assert!(finished, "{path} not finished");
            assert!(entries > 0, "{path} is empty");
        }
        other => panic!("{path}: {other:?}"),
    }
}

/// Sends a file from `from` to `to`, which saves it into `dir`; checks content and hash.
fn transfer(from: &mut Peer, to: &mut Peer, source: &Path, dir: &Path) {
    let content = std::fs::read(source).expect("read source");
    from.send(json!({"cmd": "send_file", "path": path_str(source)}));
    let sender = from.what;
    let offer = to.expect("file_offer from peer", |e| {
        e["event"] == "file_offer" && e["from"] == sender
    });
    let name = source.file_name().and_then(|n| n.to_str()).expect("name");
    assert_eq!(offer["name"], name);
    assert_eq!(offer["size"], content.len() as u64);
    let id = offer["id"].as_u64().expect("id");
    to.send(json!({"cmd": "accept_file", "id": id, "dir": path_str(dir)}));
    let progress = to.expect("file_progress", |e| {
        e["event"] == "file_progress" && e["id"] == id
    });
    assert_eq!(progress["total"], content.len() as u64);
    let done = to.expect("file_done", |e| e["event"] == "file_done" && e["id"] == id);
    let path = PathBuf::from(done["path"].as_str().expect("path"));
    assert_eq!(
        path.parent()
            .map(Path::canonicalize)
            .transpose()
            .expect("dir"),
        Some(dir.canonicalize().expect("dir"))
    );
    assert_eq!(std::fs::read(&path).expect("read received"), content);
    let hash = blake3::hash(&content).to_hex();
    assert_eq!(done["hash"], hash.as_str());
    from.expect("file_sent", |e| e["event"] == "file_sent" && e["id"] == id);
}

#[test]
fn whole_session_chat_files_control_pause_disconnect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let (mut novice, mut helper) = connected(dir);

    // Chat both ways.
    novice.send(json!({"cmd": "chat", "text": "Hello, can you see my screen?"}));
    let chat = helper.expect("chat", |e| e["event"] == "chat" && e["from"] == "novice");
    assert_eq!(chat["text"], "Hello, can you see my screen?");
    helper.send(json!({"cmd": "chat", "text": "Yes <I> can & \"quote\""}));
    let chat = novice.expect("chat", |e| e["event"] == "chat" && e["from"] == "helper");
    assert_eq!(chat["text"], "Yes <I> can & \"quote\"");

    // A malformed command is an error event, not a crash.
    novice.send_line("this is not json");
    novice.event("error");
    helper.send_line(r#"{"cmd":"fly"}"#);
    helper.event("error");

    // Files both ways.
    let novice_dir = dir.join("novice-downloads");
    let helper_dir = dir.join("helper-downloads");
    std::fs::create_dir_all(&novice_dir).expect("mkdir");
    std::fs::create_dir_all(&helper_dir).expect("mkdir");
    let big = dir.join("screenshot.bin");
    std::fs::write(
        &big,
        (0..300_000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>(),
    )
    .expect("write");
    let small = dir.join("notes.txt");
    std::fs::write(&small, "step 1: open settings\n").expect("write");
    transfer(&mut novice, &mut helper, &big, &helper_dir);
    transfer(&mut helper, &mut novice, &small, &novice_dir);

    // A declined file, and a folder that does not exist: nothing is written.
    novice.send(json!({"cmd": "send_file", "path": path_str(&small)}));
    let offer = helper.expect("second offer", |e| {
        e["event"] == "file_offer" && e["from"] == "novice" && e["name"] == "notes.txt"
    });
    helper.send(
        json!({"cmd": "accept_file", "id": offer["id"], "dir": path_str(&dir.join("missing"))}),
    );
    helper.event("error");
    let declined = novice.event("file_declined");
    assert_eq!(declined["id"], offer["id"]);
    assert!(!dir.join("missing").exists());

    // Control: request, grant, release.
    helper.send(json!({"cmd": "request_control"}));
    novice.event("control_request");
    novice.send(json!({"cmd": "grant_control"}));
    novice.state("control_sharing");
    helper.event("control_granted");
    helper.state("control_sharing");
    helper.send(json!({"cmd": "release_control"}));
    helper.state("screen_sharing");
    let ended = novice.event("control_ended");
    assert_eq!(ended["reason"], "released_by_helper");
    novice.state("screen_sharing");

    // The helper may not pause.
    helper.send(json!({"cmd": "pause"}));
    helper.event("refused");

    // Pause and resume.
    novice.send(json!({"cmd": "pause"}));
    novice.state("paused");
    helper.state("paused");
    helper.event("paused");
    novice.send(json!({"cmd": "resume"}));
    novice.state("screen_sharing");
    helper.state("screen_sharing");
    helper.event("resumed");

    // Disconnect.
    helper.send(json!({"cmd": "disconnect"}));
    let end = helper.state("ended");
    assert_eq!(end["reason"], "the helper disconnected");
    let end = novice.state("ended");
    assert_eq!(end["reason"], "the helper disconnected");
    let novice_log = novice.event("log");
    let helper_log = helper.event("log");
    assert_eq!(novice.wait_exit(), 0);
    assert_eq!(helper.wait_exit(), 0);
    assert_log_intact(&novice_log["path"]);
    assert_log_intact(&helper_log["path"]);
    let text = std::fs::read_to_string(novice_log["path"].as_str().expect("path")).expect("log");
    for event in [
        "consent_granted",
        "chat",
        "file_received",
        "file_sent",
        "control_granted",
        "control_ended",
        "paused",
        "resumed",
        "connection_ended",
    ] {
        assert!(
            text.contains(&format!("event=\"{event}\"")),
            "novice log lacks {event}:\n{text}"
        );
    }
}

#[test]
fn a_transfer_cut_off_by_a_disconnect_leaves_nothing_in_the_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let (mut novice, mut helper) = connected(dir);
    let source = dir.join("big.iso");
    let file = std::fs::File::create(&source).expect("create");
    file.set_len(1 << 30).expect("size");
    let received = dir.join("received");
    std::fs::create_dir(&received).expect("mkdir");
    helper.send(json!({"cmd": "send_file", "path": path_str(&source)}));
    let offer = novice.event("file_offer");
    let id = offer["id"].as_u64().expect("id");
    novice.send(json!({"cmd": "accept_file", "id": id, "dir": path_str(&received)}));
    novice.expect("file_progress", |e| {
        e["event"] == "file_progress" && e["id"] == id && e["bytes"].as_u64() > Some(0)
    });
    helper.send(json!({"cmd": "disconnect"}));
    novice.state("ended");
    // The transfer in flight is reported and logged before the session log is closed.
    let failed = novice.expect("file_failed", |e| {
        e["event"] == "file_failed" && e["id"] == id
    });
    assert!(!failed["reason"].as_str().unwrap_or("").is_empty());
    let left: Vec<_> = std::fs::read_dir(&received)
        .expect("read dir")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_log_intact(&novice.event("log")["path"]);
    assert_eq!(novice.wait_exit(), 0);
    assert_eq!(helper.wait_exit(), 0);
}

#[test]
fn deny_ends_the_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let (mut novice, invitation) = novice(dir, "alpha beta");
    let mut helper = helper(dir, &invitation, "alpha beta", 0);
    novice.event("connect_request");
    helper.event("safety_code");
    novice.send(json!({"cmd": "deny"}));
    let end = helper.state("ended");
    assert_eq!(end["reason"], "the novice declined");
    let end = novice.state("ended");
    assert_eq!(end["reason"], "the novice declined");
    assert_log_intact(&novice.event("log")["path"]);
    assert_log_intact(&helper.event("log")["path"]);
    assert_eq!(novice.wait_exit(), 0);
    assert_eq!(helper.wait_exit(), 0);
}

#[test]
fn wrong_passwords_count_down_and_the_fifth_closes_the_invitation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let (mut novice, invitation) = novice(dir, "right words here");
    for n in 1..=5u32 {
        let mut helper = helper(dir, &invitation, "wrong words here", n);
        let left = 5 - n;
        let end = helper.state("ended");
        assert_eq!(
            end["reason"],
            format!("wrong password, {left} attempts left"),
            "attempt {n}"
        );
        assert_log_intact(&helper.event("log")["path"]);
        helper.wait_exit();
    }
    let end = novice.state("ended");
    assert_eq!(end["reason"], "too many wrong passwords");
    let log = novice.event("log");
    assert_eq!(novice.wait_exit(), 0);
    assert_log_intact(&log["path"]);
    let text = std::fs::read_to_string(log["path"].as_str().expect("path")).expect("log");
    assert_eq!(text.matches("event=\"wrong_password\"").count(), 5);
    assert!(text.contains("event=\"invitation_closed\""));

    // The invitation is closed: nobody answers any more.
    let mut late = helper(dir, &invitation, "right words here", 6);
    late.event("error");
    assert_ne!(late.wait_exit(), 0);
}
