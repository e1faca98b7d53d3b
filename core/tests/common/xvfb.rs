//! A real X server for tests: Xvfb on a display number it picks itself (`-displayfd`), killed
//! when dropped.

use std::io::Read;
use std::process::{Child, Command, Stdio};

/// A running Xvfb.
pub struct Xvfb {
    child: Child,
    /// Its display name, e.g. `:3`.
    pub display: String,
}

impl Xvfb {
    /// Starts `Xvfb -screen 0 {width}x{height}x24`, with `-noreset` (otherwise the server resets,
    /// losing e.g. RandR monitors, whenever its last client disconnects). Returns `None` (after printing why) only
    /// when Xvfb is not installed; any other failure panics.
    pub fn start(width: u32, height: u32) -> Option<Self> {
        Self::start_with(width, height, &[])
    }

    /// Like [`Xvfb::start`], with extra server arguments (e.g. `-extension MIT-SHM`).
    pub fn start_with(width: u32, height: u32, extra: &[&str]) -> Option<Self> {
        let spawned = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-noreset",
                "-screen",
                "0",
            ])
            .arg(format!("{width}x{height}x24"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("SKIPPED: Xvfb is not installed (scripts/setup installs it)");
                return None;
            }
            Err(e) => panic!("cannot start Xvfb: {e}"),
        };
        // Xvfb writes its display number once it accepts connections.
        let mut out = child.stdout.take().expect("piped stdout");
        let mut number = String::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).expect("read Xvfb's display number") == 1 && byte[0] != b'\n' {
            number.push(char::from(byte[0]));
        }
        assert!(
            !number.trim().is_empty(),
            "Xvfb exited without a display number"
        );
        Some(Self {
            child,
            display: format!(":{}", number.trim()),
        })
    }

    /// A command (e.g. `xdotool`, `xterm`) with `DISPLAY` set to this server.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("DISPLAY", &self.display);
        command
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
