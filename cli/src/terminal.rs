//! The interactive flow on a terminal (without `--script`): events in plain sentences,
//! yes/no prompts for consent, control and files, and a progress bar for transfers.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lifeline_core::connect::UserCommand;
use lifeline_core::proto::Role;
use lifeline_core::session::Command;
use serde_json::Value;

/// A question put to the user and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Let the helper connect and see the screen?
    Consent,
    /// Let the helper use the mouse and keyboard?
    Control,
    /// Save the offered file `id` into `dir`?
    File {
        /// The transfer's identifier.
        id: u64,
        /// Where "yes" saves it.
        dir: PathBuf,
    },
}

/// The open questions, newest last; shared by the printer (which asks) and the input
/// (which answers).
#[derive(Debug, Clone, Default)]
pub struct Prompts(Arc<Mutex<Vec<Prompt>>>);

impl Prompts {
    fn push(&self, prompt: Prompt) {
        if let Ok(mut open) = self.0.lock() {
            open.push(prompt);
        }
    }

    fn remove(&self, done: impl Fn(&Prompt) -> bool) {
        if let Ok(mut open) = self.0.lock() {
            open.retain(|p| !done(p));
        }
    }

    fn take_newest(&self) -> Option<Prompt> {
        self.0.lock().ok().and_then(|mut open| open.pop())
    }
}

/// Turns a `yes`/`no` line into the answer to the newest open question. `None` if the line
/// is not a yes or a no; an error if there is no question to answer.
pub fn answer(prompts: &Prompts, line: &str) -> Option<Result<UserCommand, String>> {
    let yes = match line.trim().to_lowercase().as_str() {
        "y" | "yes" => true,
        "n" | "no" => false,
        _ => return None,
    };
    let Some(prompt) = prompts.take_newest() else {
        return Some(Err("there is no question to answer".into()));
    };
    let session = UserCommand::Session;
    Some(Ok(match (prompt, yes) {
        (Prompt::Consent, true) => session(Command::Approve),
        (Prompt::Consent, false) => session(Command::Deny),
        (Prompt::Control, true) => session(Command::GrantControl),
        (Prompt::Control, false) => session(Command::DenyControl),
        (Prompt::File { id, dir }, true) => UserCommand::AcceptFile { id, dir },
        (Prompt::File { id, .. }, false) => session(Command::DeclineFile { id }),
    }))
}

/// Shows events to a person at a terminal.
#[derive(Debug)]
pub struct View {
    role: Role,
    /// The other side's name, once known.
    peer: String,
    prompts: Prompts,
    /// Names and last shown tenth of the transfers in progress.
    transfers: HashMap<u64, (String, u64)>,
    /// Whether standard output is a terminal (a bar redrawn in place) or not (a line per
    /// quarter).
    tty: bool,
}

impl View {
    /// A view for `role`; `peer` is the other side's name if already known (the helper
    /// knows the novice's from the invitation).
    pub fn new(role: Role, peer: Option<String>, prompts: Prompts) -> Self {
        let peer = peer.unwrap_or_else(|| match role {
            Role::Novice => "Your helper".to_owned(),
            Role::Helper => "The other person".to_owned(),
        });
        Self {
            role,
            peer,
            prompts,
            transfers: HashMap::new(),
            tty: std::io::stdout().is_terminal(),
        }
    }

    /// Prints `event` (a script-mode event object) as sentences.
    pub fn show(&mut self, event: &Value) {
        let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
        let id = event["id"].as_u64().unwrap_or_default();
        let peer = self.peer.clone();
        let line = match event["event"].as_str().unwrap_or_default() {
            "state" => self.state(&text("state"), event["reason"].as_str()),
            "connect_request" => {
                self.peer = text("helper");
                self.prompts.push(Prompt::Consent);
                Some(format!(
                    "\n{name} wants to connect to your computer.\n\
                     Safety code: {code}. Ask {name} to read you the code on their screen: \
                     it must be the same.\n\
                     If you allow it, {name} will see everything on your screen, but cannot \
                     use your mouse or keyboard unless you allow that too.\n\
                     Continue only if you asked {name} for help.\n\
                     Allow {name} to see your screen? (yes/no)",
                    name = self.peer,
                    code = text("safety_code"),
                ))
            }
            "safety_code" => Some(format!(
                "Safety code: {}. Read it to {peer}; it must match the code on their screen.",
                text("code")
            )),
            "control_request" => {
                self.prompts.push(Prompt::Control);
                Some(format!(
                    "\n{peer} asks to use your mouse and keyboard.\n\
                     You can take control back at any time by pressing Esc (or typing esc).\n\
                     Allow {peer} to control your computer? (yes/no)"
                ))
            }
            "control_granted" => Some(match self.role {
                Role::Novice => format!("{peer} now controls your mouse and keyboard."),
                Role::Helper => "You now control the mouse and keyboard.".to_owned(),
            }),
            "control_denied" => {
                self.prompts.remove(|p| *p == Prompt::Control);
                Some("Control was not given.".to_owned())
            }
            "control_ended" => Some(format!("Control ended ({}).", words(&text("reason")))),
            "chat" => {
                let from = if event["from"] == self.role.as_str() {
                    "You".to_owned()
                } else {
                    peer
                };
                Some(format!("{from}: {}", text("text")))
            }
            "file_offer" if event["from"] != self.role.as_str() => {
                let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                let question = format!(
                    "\n{peer} wants to send you \"{name}\" ({size}).\n\
                     Save it in {folder}? (yes/no, or: accept {id} FOLDER)",
                    name = text("name"),
                    size = size(event["size"].as_u64().unwrap_or_default()),
                    folder = dir.display(),
                );
                self.prompts.push(Prompt::File { id, dir });
                self.transfers.insert(id, (text("name"), 0));
                Some(question)
            }
            "file_offer" => {
                self.transfers.insert(id, (text("name"), 0));
                Some(format!(
                    "Offered \"{}\" as file {id}; waiting for {peer} to accept it.",
                    text("name")
                ))
            }
            "file_accepted" => {
                self.prompts
                    .remove(|p| matches!(p, Prompt::File { id: i, .. } if *i == id));
                Some(format!("File {id} accepted."))
            }
            "file_declined" | "file_cancelled" => {
                self.prompts
                    .remove(|p| matches!(p, Prompt::File { id: i, .. } if *i == id));
                self.transfers.remove(&id);
                Some(format!("File {id} will not be sent."))
            }
            "file_progress" => {
                self.progress(
                    id,
                    event["bytes"].as_u64().unwrap_or_default(),
                    event["total"].as_u64().unwrap_or_default(),
                );
                None
            }
            "file_sent" => {
                self.transfers.remove(&id);
                Some(format!("Sent \"{}\".", text("name")))
            }
            "file_done" => {
                self.transfers.remove(&id);
                Some(format!(
                    "Saved \"{}\" as {} (verified).",
                    text("name"),
                    text("path")
                ))
            }
            "file_failed" => {
                self.transfers.remove(&id);
                Some(format!(
                    "Sending \"{}\" failed: {}. Nothing was saved.",
                    text("name"),
                    text("reason")
                ))
            }
            "bandwidth" => Some(format!("Bandwidth setting: {}.", text("preset"))),
            "paused" => Some("The session is paused: the screen is not shared.".to_owned()),
            "resumed" => Some("The session goes on.".to_owned()),
            "refused" => Some(format!("Refused {}: {}.", text("what"), text("reason"))),
            "keyframe_request" => None,
            "path" => Some(match event["kind"].as_str() {
                Some("relay") => format!("Connected through the relay ({}).", text("remote")),
                Some(kind) => format!("Connected {kind} to {}.", text("remote")),
                None => return,
            }),
            "monitor_request" => Some(format!(
                "{peer} asks to see monitor {}. Type monitor {} to show it.",
                event["index"], event["index"]
            )),
            _ => {
                say(event);
                None
            }
        };
        if let Some(line) = line {
            println!("{line}");
        }
    }

    fn state(&mut self, state: &str, reason: Option<&str>) -> Option<String> {
        let peer = &self.peer;
        Some(match (state, self.role) {
            ("waiting", _) => "Waiting for your helper to connect… (Ctrl-C to stop)".to_owned(),
            ("connecting", Role::Novice) => "Someone is connecting…".to_owned(),
            ("connecting", Role::Helper) => "Connected; checking the password…".to_owned(),
            ("awaiting_consent", Role::Novice) => return None,
            ("awaiting_consent", Role::Helper) => {
                format!("Password accepted. Waiting for {peer} to allow the connection…")
            }
            ("screen_sharing", Role::Novice) => {
                format!("{peer} can see your screen. Type pause, chat TEXT, send FILE or quit.")
            }
            ("screen_sharing", Role::Helper) => format!(
                "You can see {peer}'s screen. Type request to ask for control, chat TEXT, \
                 send FILE or quit."
            ),
            ("control_sharing", Role::Novice) => {
                format!("{peer} is using your computer. Press Esc or type esc to stop them.")
            }
            ("control_sharing", Role::Helper) => {
                "You control the mouse and keyboard. Type release to give it back.".to_owned()
            }
            ("paused", _) => return None,
            ("ended", _) => {
                self.prompts.remove(|_| true);
                format!("The session ended: {}.", reason.unwrap_or("goodbye"))
            }
            (other, _) => format!("State: {other}"),
        })
    }

    fn progress(&mut self, id: u64, bytes: u64, total: u64) {
        let Some((name, shown)) = self.transfers.get_mut(&id) else {
            return;
        };
        let percent = (bytes * 100).checked_div(total).unwrap_or(100);
        let amount = format!("{} of {}", size(bytes), size(total));
        if self.tty {
            const WIDTH: u64 = 30;
            let filled = usize::try_from(percent * WIDTH / 100).unwrap_or_default();
            let bar = format!("{:<width$}", "#".repeat(filled), width = WIDTH as usize);
            print!("\r{name} [{bar}] {percent:>3} %  {amount}\x1b[K");
            if bytes >= total {
                println!();
            }
            let _ = std::io::stdout().flush();
        } else if percent / 25 > *shown || (bytes >= total && *shown < 4) {
            *shown = percent / 25;
            println!("{name}: {percent} % ({amount})");
        }
    }
}

/// Prints an event that needs no context (`log`, `error`, …) as a sentence.
pub fn say(event: &Value) {
    let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
    match event["event"].as_str().unwrap_or_default() {
        "log" => println!("Session log: {}", text("path")),
        "error" => println!("Error: {}", text("message")),
        other => println!("[{other}] {event}"),
    }
}

/// `released_by_novice` → `released by novice`.
fn words(reason: &str) -> String {
    reason.replace('_', " ")
}

/// A size in bytes, KiB, MiB or GiB.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
