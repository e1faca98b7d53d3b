//! A point-to-point link between two namespaces with a chosen delay, loss and rate.
//!
//! The `lifeline-wire` program opens a TUN device in each namespace and copies IP packets
//! between them, holding each one for the one-way delay and dropping a share of them; the
//! rate is limited by `tc tbf` on both devices.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::netns::{LabError, Netns};

/// The properties of a [`Wire`].
#[derive(Debug, Clone)]
pub struct WireConfig {
    /// Delay added to every packet, in each direction (half the added round-trip time).
    pub one_way_delay: Duration,
    /// Share of packets dropped, in each direction (0.0 to 1.0).
    pub loss: f64,
    /// Rate limit in each direction, in bits per second; `None` for no limit.
    pub rate_bps: Option<u64>,
}

impl Default for WireConfig {
    fn default() -> Self {
        Self {
            one_way_delay: Duration::ZERO,
            loss: 0.0,
            rate_bps: None,
        }
    }
}

/// A running wire between two namespaces: side A is 198.18.0.1, side B 198.18.0.2 (the
/// benchmarking range, used only inside these namespaces). Stopped when dropped.
pub struct Wire {
    child: Child,
}

impl Wire {
    /// Address of side A.
    pub const A: &'static str = "198.18.0.1";
    /// Address of side B.
    pub const B: &'static str = "198.18.0.2";

    /// Starts `lifeline-wire` (found next to the running program, or at `$LIFELINE_WIRE`)
    /// between `a` and `b` and waits until both ends are up.
    pub fn start(a: &Netns, b: &Netns, config: &WireConfig) -> Result<Self, LabError> {
        let program = std::env::var_os("LIFELINE_WIRE")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let exe = std::env::current_exe().ok()?;
                let dir = exe.parent()?;
                // Test binaries live in target/<profile>/deps, programs one level up.
                [dir.join("lifeline-wire"), dir.join("../lifeline-wire")]
                    .into_iter()
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                LabError::Wire("lifeline-wire not found; build it or set LIFELINE_WIRE".into())
            })?;
        let mut command = Command::new(&program);
        command
            .args(["--a", a.name(), "--b", b.name()])
            .args(["--a-addr", Self::A, "--b-addr", Self::B])
            .arg(format!("--delay-us={}", config.one_way_delay.as_micros()))
            .arg(format!("--loss={}", config.loss))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(rate) = config.rate_bps {
            command.arg(format!("--rate-bps={rate}"));
        }
        let mut child = command.spawn().map_err(|source| LabError::Spawn {
            program: program.display().to_string(),
            source,
        })?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LabError::Wire(format!(
                "lifeline-wire said {:?}",
                line.trim()
            )));
        }
        Ok(Self { child })
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
