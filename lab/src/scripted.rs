//! Driving `lifeline invite --script` and `lifeline join --script` from another program.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long [`Scripted::wait`] waits for an event.
const WAIT: Duration = Duration::from_secs(60);

/// One side of a Lifeline session driven through script mode; killed when dropped.
pub struct Scripted {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::Receiver<Value>,
}

impl Scripted {
    /// Starts `command` with `--script` added, reading its events.
    pub fn start(mut command: Command) -> Result<Self, String> {
        let mut child = command
            .arg("--script")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Self {
            child,
            stdin,
            events,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command line.
    pub fn send(&mut self, command: Value) -> Result<(), String> {
        writeln!(self.stdin, "{command}").map_err(|e| e.to_string())
    }

    /// The next event named `name`; errors and the end of the session fail.
    pub fn wait(&self, name: &str) -> Result<Value, String> {
        self.wait_for(name, |_| true)
    }

    /// Waits for the session to end and returns the `log` event, the last one.
    pub fn finish(&self) -> Result<Value, String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let event = self.next_event(deadline, "the session did not end with a log event")?;
            if event["event"] == "log" {
                return Ok(event);
            }
        }
    }

    /// The next event before `deadline`, or `missing` as the error.
    fn next_event(&self, deadline: Instant, missing: &str) -> Result<Value, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.events
            .recv_timeout(left)
            .map_err(|_| missing.to_owned())
    }

    /// Every event that arrives within `period` (none is an error here).
    pub fn events_for(&self, period: Duration) -> Vec<Value> {
        let deadline = Instant::now() + period;
        let mut events = Vec::new();
        while let Ok(event) = self.next_event(deadline, "") {
            events.push(event);
        }
        events
    }

    /// The next `state` event that reports `state`.
    pub fn wait_state(&self, state: &str) -> Result<Value, String> {
        self.wait_for("state", |event| event["state"] == state)
    }

    /// The next event named `name` that `accept` takes.
    pub fn wait_for(&self, name: &str, accept: impl Fn(&Value) -> bool) -> Result<Value, String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let event = self.next_event(deadline, &format!("no {name} event"))?;
            match event["event"].as_str() {
                Some(n) if n == name && accept(&event) => return Ok(event),
                Some("error") => return Err(format!("error event: {event}")),
                Some("state") if event["state"] == "ended" => {
                    return Err(format!("session ended waiting for {name}: {event}"));
                }
                _ => {}
            }
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
