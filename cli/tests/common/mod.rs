//! Running the `lifeline` binary in tests.

#![allow(dead_code)] // Each test file uses its own part of these helpers.

use std::path::Path;
use std::process::{Command, Output};

/// The result of one run of `lifeline`.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `lifeline` with `args` in `dir`.
pub fn lifeline(dir: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(args)
        .current_dir(dir)
        .env_remove("LIFELINE_LOG")
        .output()
        .expect("run lifeline");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Run {
    /// Asserts the run failed with exit 2 and exactly one `error: …` line; returns it.
    pub fn assert_one_line_error(&self, what: &str) -> &str {
        assert_eq!(self.code, 2, "{what}: exit code; stderr {:?}", self.stderr);
        assert!(self.stdout.is_empty(), "{what}: stdout {:?}", self.stdout);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{what}: stderr {:?}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{what}: {:?}", lines[0]);
        lines[0]
    }
}

/// Makes an invitation with `lifeline invite --dry-run` in `dir`; returns (file, link).
pub fn dry_run_invitation(dir: &Path, extra: &[&str]) -> (std::path::PathBuf, String) {
    let file = dir.join("invitation.lifeline");
    let mut args = vec![
        "invite",
        "--dry-run",
        "--out",
        file.to_str().expect("UTF-8 temp path"),
    ];
    args.extend_from_slice(extra);
    let run = lifeline(dir, &args);
    assert_eq!(run.code, 0, "invite failed: {}", run.stderr);
    let link = run
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("Link:"))
        .expect("a Link: line")
        .trim()
        .to_owned();
    (file, link)
}

/// An invitation that expired a day and a half ago, correctly signed.
pub fn expired_invitation() -> lifeline_core::ticket::Invitation {
    use lifeline_core::ticket::{Fingerprint, Invitation, InvitationBody};
    use time::{Duration, OffsetDateTime};
    let made = OffsetDateTime::now_utc() - Duration::days(2);
    let body = InvitationBody::new(
        "Rose".to_owned(),
        vec![],
        None,
        Fingerprint([3; 32]),
        made,
        Duration::hours(6),
    )
    .expect("valid body");
    Invitation::sign(body, &ed25519_dalek::SigningKey::from_bytes(&[5; 32])).expect("signed")
}
