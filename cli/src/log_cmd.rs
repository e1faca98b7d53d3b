//! `lifeline log verify`: checks that a session log was not changed after it was written.

use std::path::PathBuf;

use lifeline_core::log::{Verification, verify};

use crate::error::CliError;

const EXAMPLES: &str = "\
Examples:
  lifeline log verify \"$HOME/Documents/Lifeline Logs/20261123093700.xml\"";

/// Arguments of `lifeline log`.
#[derive(clap::Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(clap::Subcommand)]
enum LogCommand {
    /// Check a session log's hash chain: exit 0 if intact, 1 if an entry was changed.
    #[command(after_help = EXAMPLES)]
    Verify {
        /// The session log file (YYYYMMDDHHMMSS.xml).
        file: PathBuf,
    },
}

/// Runs `lifeline log …`; a changed log is reported as [`CliError::Tampered`].
pub fn run(args: LogArgs) -> Result<(), CliError> {
    match args.command {
        LogCommand::Verify { file } => {
            let verification = verify(&file).map_err(|e| CliError::BadLog(e.to_string()))?;
            match verification {
                Verification::Intact { .. } => {
                    println!("{}: {verification}", file.display());
                    Ok(())
                }
                Verification::Tampered { .. } => Err(CliError::Tampered(format!(
                    "{}: {verification}",
                    file.display()
                ))),
            }
        }
    }
}
