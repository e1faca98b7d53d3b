//! What `invite` and `join` share once connected: script mode (JSON lines on stdin and
//! stdout, see docs/script-mode.md), the simple interactive terminal flow, and the session
//! log folder.

use std::io::BufRead;
use std::path::PathBuf;

use lifeline_core::connect::{ConnectError, Outcome, Report, UserCommand};
use lifeline_core::proto::{BandwidthPreset, InputEvent, MouseButton};
use lifeline_core::session::{Command, Notification};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::error::CliError;
use crate::screen::Keeper;
use crate::terminal::{self, Prompts, View};

/// A command line of script mode.
#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
enum ScriptCommand {
    Approve,
    Deny,
    RequestControl,
    GrantControl,
    DenyControl,
    ReleaseControl,
    Escape,
    Pause,
    Resume,
    Disconnect,
    Bandwidth { preset: String },
    Chat { text: String },
    SendFile { path: PathBuf },
    AcceptFile { id: u64, dir: PathBuf },
    DeclineFile { id: u64 },
    CancelFile { id: u64 },
    Password { text: String },
    Pointer { x: f32, y: f32 },
    Button { button: String, down: bool },
    Wheel { dy: i32 },
    Key { key: String, down: bool },
    Text { text: String },
    Monitor { index: usize },
}

/// One line of input: a command, the password, or why the line is not understood.
pub enum Input {
    /// A command for the session.
    Command(UserCommand),
    /// The password (join, before connecting).
    Password(String),
}

/// Parses one line in script mode (JSON) or interactive mode (words).
pub fn parse_line(line: &str, script: bool) -> Result<Input, String> {
    let command = if script {
        serde_json::from_str::<ScriptCommand>(line).map_err(|e| format!("bad command: {e}"))?
    } else {
        parse_words(line)?
    };
    Ok(match command {
        ScriptCommand::Password { text } => Input::Password(text),
        other => Input::Command(to_user_command(other)?),
    })
}

fn parse_words(line: &str) -> Result<ScriptCommand, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let id = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{s:?} is not a file number"))
    };
    Ok(match word {
        "approve" | "yes" => ScriptCommand::Approve,
        "deny" | "no" => ScriptCommand::Deny,
        "request" | "request-control" => ScriptCommand::RequestControl,
        "grant" | "grant-control" => ScriptCommand::GrantControl,
        "refuse" | "deny-control" => ScriptCommand::DenyControl,
        "release" | "release-control" => ScriptCommand::ReleaseControl,
        "esc" => ScriptCommand::Escape,
        "pause" => ScriptCommand::Pause,
        "resume" => ScriptCommand::Resume,
        "quit" | "disconnect" => ScriptCommand::Disconnect,
        "bandwidth" => ScriptCommand::Bandwidth {
            preset: rest.to_owned(),
        },
        "chat" | "say" => ScriptCommand::Chat {
            text: rest.to_owned(),
        },
        "send" => ScriptCommand::SendFile { path: rest.into() },
        "accept" => {
            let (n, dir) = rest.split_once(' ').unwrap_or((rest, "."));
            ScriptCommand::AcceptFile {
                id: id(n)?,
                dir: dir.trim().into(),
            }
        }
        "decline" => ScriptCommand::DeclineFile { id: id(rest)? },
        "monitor" => ScriptCommand::Monitor {
            index: rest
                .parse()
                .map_err(|_| format!("{rest:?} is not a monitor number"))?,
        },
        "cancel" => ScriptCommand::CancelFile { id: id(rest)? },
        _ => return Err(format!("unknown command {word:?}; {HELP}")),
    })
}

/// The commands of the interactive flow.
pub const HELP: &str = "commands: yes/no (answer the question), approve, deny, request, grant, refuse, \
release, esc, pause, resume, bandwidth PRESET, chat TEXT, send PATH, accept ID [DIR], decline ID, \
cancel ID, quit";

fn to_user_command(command: ScriptCommand) -> Result<UserCommand, String> {
    let session = |c| Ok(UserCommand::Session(c));
    match command {
        ScriptCommand::Approve => session(Command::Approve),
        ScriptCommand::Deny => session(Command::Deny),
        ScriptCommand::RequestControl => session(Command::RequestControl),
        ScriptCommand::GrantControl => session(Command::GrantControl),
        ScriptCommand::DenyControl => session(Command::DenyControl),
        ScriptCommand::ReleaseControl => session(Command::ReleaseControl),
        ScriptCommand::Escape => session(Command::LocalEscape),
        ScriptCommand::Pause => session(Command::Pause),
        ScriptCommand::Resume => session(Command::Resume),
        ScriptCommand::Disconnect => session(Command::Disconnect),
        ScriptCommand::Bandwidth { preset } => {
            let preset: BandwidthPreset = preset.parse().map_err(|e| format!("{e}"))?;
            session(Command::SetBandwidth(preset))
        }
        ScriptCommand::Chat { text } => session(Command::Chat(text)),
        ScriptCommand::SendFile { path } => Ok(UserCommand::SendFile(path)),
        ScriptCommand::AcceptFile { id, dir } => Ok(UserCommand::AcceptFile { id, dir }),
        ScriptCommand::DeclineFile { id } => session(Command::DeclineFile { id }),
        ScriptCommand::CancelFile { id } => session(Command::CancelFile { id }),
        ScriptCommand::Password { .. } => Err("the password was already given".into()),
        ScriptCommand::Pointer { x, y } => session(Command::Input(InputEvent::Pointer { x, y })),
        ScriptCommand::Button { button, down } => {
            let button = match button.as_str() {
                "left" => MouseButton::Left,
                "middle" => MouseButton::Middle,
                "right" => MouseButton::Right,
                other => {
                    return Err(format!(
                        "unknown button {other:?}; use left, middle or right"
                    ));
                }
            };
            session(Command::Input(InputEvent::Button { button, down }))
        }
        ScriptCommand::Wheel { dy } => session(Command::Input(InputEvent::Wheel { dy })),
        ScriptCommand::Key { key, down } => {
            session(Command::Input(InputEvent::Key { keysym: key, down }))
        }
        ScriptCommand::Text { text } => session(Command::Input(InputEvent::Text { text })),
        ScriptCommand::Monitor { index } => Ok(UserCommand::SwitchMonitor(index)),
    }
}

/// Prints one event that needs no context: a JSON line in script mode, a sentence
/// otherwise.
pub fn emit(script: bool, event: Value) {
    if script {
        println!("{event}");
    } else {
        terminal::say(&event);
    }
}

/// An `error` event.
pub fn error_event(message: impl Into<String>) -> Value {
    json!({"event": "error", "message": message.into()})
}

/// The event for a report of the driver.
pub fn report_event(report: Report) -> Value {
    match report {
        Report::Notification(n) => notification_event(n),
        Report::FileProgress { id, bytes, total } => {
            json!({"event": "file_progress", "id": id, "bytes": bytes, "total": total})
        }
        Report::FileSent { id, name } => json!({"event": "file_sent", "id": id, "name": name}),
        Report::FileDone {
            id,
            name,
            path,
            hash,
        } => json!({
            "event": "file_done", "id": id, "name": name,
            "path": path.display().to_string(), "hash": hash,
        }),
        Report::FileFailed { id, name, reason } => {
            json!({"event": "file_failed", "id": id, "name": name, "reason": reason})
        }
        Report::Frame(frame) => json!({
            "event": "frame", "seq": frame.seq, "width": frame.picture.width(),
            "height": frame.picture.height(), "bytes": frame.bytes, "keyframe": frame.keyframe,
        }),
        Report::VideoStats(stats) => json!({
            "event": "stats",
            "fps": (stats.fps * 10.0).round() / 10.0,
            "kbps": (stats.kbps * 10.0).round() / 10.0,
            "rtt_ms": (stats.rtt_ms * 100.0).round() / 100.0,
        }),
        Report::Path(path) => json!({
            "event": "path", "kind": path.kind.as_str(), "local": path.local.to_string(),
            "remote": path.remote.to_string(),
            "rtt_ms": (path.rtt.as_secs_f64() * 100_000.0).round() / 100.0,
        }),
        Report::Error(message) => error_event(message),
    }
}

fn notification_event(notification: Notification) -> Value {
    match notification {
        Notification::StateChanged { state, reason } => {
            json!({"event": "state", "state": state.as_str(), "reason": reason})
        }
        Notification::ConnectRequest {
            helper,
            safety_code,
        } => json!({"event": "connect_request", "helper": helper, "safety_code": safety_code}),
        Notification::SafetyCode { code } => json!({"event": "safety_code", "code": code}),
        Notification::ControlRequested => json!({"event": "control_request"}),
        Notification::ControlGranted => json!({"event": "control_granted"}),
        Notification::ControlDenied => json!({"event": "control_denied"}),
        Notification::ControlEnded { reason } => {
            json!({"event": "control_ended", "reason": reason.as_str()})
        }
        Notification::Chat { from, text } => {
            json!({"event": "chat", "from": from.as_str(), "text": text})
        }
        Notification::FileOffered {
            from,
            id,
            name,
            size,
            ..
        } => {
            json!({"event": "file_offer", "from": from.as_str(), "id": id, "name": name, "size": size})
        }
        Notification::FileAccepted { id } => json!({"event": "file_accepted", "id": id}),
        Notification::FileDeclined { id } => json!({"event": "file_declined", "id": id}),
        Notification::FileCancelled { id } => json!({"event": "file_cancelled", "id": id}),
        Notification::BandwidthChanged { preset } => {
            json!({"event": "bandwidth", "preset": preset.as_str()})
        }
        Notification::KeyframeRequested => json!({"event": "keyframe_request"}),
        Notification::MonitorRequested { index } => {
            json!({"event": "monitor_request", "index": index})
        }
        Notification::Refused { what, reason } => {
            json!({"event": "refused", "what": what, "reason": reason})
        }
        Notification::Paused => json!({"event": "paused"}),
        Notification::Resumed => json!({"event": "resumed"}),
    }
}

/// Reads standard input on its own thread (so that it never holds up the runtime), one
/// line at a time.
pub fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Turns input lines into commands until input ends; prints an error event for each line
/// that is not a command. `prompts` is `None` in script mode; on a terminal, `yes` and `no`
/// answer its newest question. Ctrl-C disconnects.
///
/// Returns a sender for other sources of commands (the helper's window) and the receiver.
pub fn forward_commands(
    mut lines: mpsc::UnboundedReceiver<String>,
    prompts: Option<Prompts>,
) -> (
    mpsc::UnboundedSender<UserCommand>,
    mpsc::UnboundedReceiver<UserCommand>,
) {
    let script = prompts.is_none();
    let (tx, rx) = mpsc::unbounded_channel();
    let ctrl_c = tx.clone();
    let others = tx.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = ctrl_c.send(UserCommand::Session(Command::Disconnect));
        }
    });
    tokio::spawn(async move {
        while let Some(line) = lines.recv().await {
            if line.trim().is_empty() {
                continue;
            }
            let parsed = match prompts.as_ref().and_then(|p| terminal::answer(p, &line)) {
                Some(answer) => answer.map(Input::Command),
                None => parse_line(&line, script),
            };
            match parsed {
                Ok(Input::Command(command)) => {
                    if tx.send(command).is_err() {
                        break;
                    }
                }
                Ok(Input::Password(_)) => {
                    emit(script, error_event("the password was already given"))
                }
                Err(message) => emit(script, error_event(message)),
            }
        }
        // Input ended: keep the channel open so the session goes on (Ctrl-C still works).
        tx.closed().await;
    });
    (others, rx)
}

/// Prints every report until the driver drops its sender: as JSON lines in script mode
/// (`view` is `None`), otherwise through the terminal `view`.
///
/// Received frames go to `keeper` (recording, snapshot); they are events in script mode and
/// silent on a terminal.
pub fn print_reports(
    mut view: Option<View>,
    mut keeper: Keeper,
) -> (mpsc::UnboundedSender<Report>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Report>();
    let printer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            let report = tokio::select! {
                report = rx.recv() => report,
                _ = tick.tick() => {
                    if let Some(problem) = keeper.flush() {
                        emit(view.is_none(), error_event(problem));
                    }
                    continue;
                }
            };
            let Some(report) = report else { break };
            if let Report::Frame(frame) = &report
                && let Some(problem) = keeper.keep(frame)
            {
                emit(view.is_none(), error_event(problem));
            }
            let event = report_event(report);
            if event["event"] == "state" {
                keeper.on_state(event["state"].as_str().unwrap_or_default());
            }
            match &mut view {
                Some(_) if matches!(event["event"].as_str(), Some("frame" | "stats")) => {}
                Some(view) => view.show(&event),
                None => emit(true, event),
            }
        }
        if let Some(problem) = keeper.flush() {
            emit(view.is_none(), error_event(problem));
        }
    });
    (tx, printer)
}

/// The folder for session logs: `--log-dir`, or the default.
pub fn log_dir(arg: Option<PathBuf>) -> Result<PathBuf, CliError> {
    arg.or_else(lifeline_core::log::default_log_dir)
        .ok_or_else(|| {
            CliError::Usage("no home folder is known; give a folder with --log-dir".into())
        })
}

/// A multi-threaded tokio runtime.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the runtime: {e}")))
}

/// Reads and normalizes a password file.
pub fn read_password_file(
    path: &std::path::Path,
) -> Result<lifeline_core::auth::Password, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_owned(),
        source,
    })?;
    lifeline_core::auth::Password::parse(&text).map_err(|e| CliError::Usage(e.to_string()))
}

/// Reports how a session ended: the `log` event (the last one) when it ran, or the error.
pub fn finish(result: Result<Outcome, ConnectError>, script: bool) -> Result<(), CliError> {
    match result {
        Ok(outcome) => {
            if let Some(path) = outcome.log_path {
                emit(
                    script,
                    json!({"event": "log", "path": path.display().to_string()}),
                );
            }
            Ok(())
        }
        Err(e) => {
            if script {
                emit(true, error_event(e.to_string()));
            }
            Err(CliError::System(e.to_string()))
        }
    }
}

/// This account's full name (or login name), without control characters, cut to the
/// longest name an invitation allows; empty if the system knows neither.
pub fn account_name() -> String {
    let real = whoami::realname();
    let name = if real.trim().is_empty() {
        whoami::username()
    } else {
        real
    };
    let mut name: String = name.trim().chars().filter(|c| !c.is_control()).collect();
    while name.len() > lifeline_core::ticket::MAX_NAME_LEN {
        name.pop();
    }
    name
}
