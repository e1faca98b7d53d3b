//! Network namespaces that delete themselves.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why a lab network could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command failed.
    #[error("`{command}` failed: {stderr} (the lab needs root, iproute2 and nftables)")]
    Command {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The wire did not come up.
    #[error("the wire did not start: {0}")]
    Wire(String),
}

/// A network namespace, deleted (with its interfaces) when dropped.
pub struct Netns {
    name: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// Creates a namespace named `ll<pid>-<n><label>` with its loopback up.
    pub fn new(label: &str) -> Result<Self, LabError> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("ll{}-{n}{label}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let netns = Self { name };
        netns.run(&["ip", "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// The namespace's name, for `ip netns exec` and `ip link set … netns`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs `args` inside the namespace and returns its stdout; fails on a non-zero exit.
    pub fn run(&self, args: &[&str]) -> Result<String, LabError> {
        let (program, rest) = args.split_first().unwrap_or((&"true", &[]));
        let output = run(self.command(program).args(rest))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .output();
    }
}

/// Runs `command`, turning a failure into a [`LabError`].
pub(crate) fn run(command: &mut Command) -> Result<Output, LabError> {
    let line = format!("{command:?}").replace('"', "");
    let output = command.output().map_err(|source| LabError::Spawn {
        program: line.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(LabError::Command {
            command: line,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output)
}
