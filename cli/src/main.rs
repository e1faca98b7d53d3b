//! `lifeline`: remote assistance from the command line.
//!
//! Every failure ends with exactly one line `error: …` on stderr and a non-zero exit
//! status: 2 for bad input (arguments, invitations), 1 when the computer could not do what
//! was asked (a file could not be written) or a session log was changed after it was
//! written.

#![warn(clippy::unwrap_used)] // Integration tests may unwrap; library code may not.

mod error;
mod input;
mod inspect;
mod invitations;
mod invite;
mod join;
mod live;
mod log_cmd;
mod reach;
mod screen;
mod terminal;
#[cfg(target_os = "linux")]
mod window;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

const EXAMPLES: &str = "\
Examples:
  Ask for help: make an invitation valid for 2 hours and send the file or link:
    lifeline invite --dry-run --expires 2h --name \"Rose\"
  See what an invitation says before opening it:
    lifeline inspect ~/Downloads/invitation.lifeline
  Check that a session log was not changed:
    lifeline log verify \"$HOME/Documents/Lifeline Logs/20261123093700.xml\"";

/// Remote assistance: ask someone you trust for help with your computer, or give help.
#[derive(Parser)]
#[command(name = "lifeline", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ask for help: make an invitation (file, link and QR code) to send to your helper.
    Invite(invite::InviteArgs),
    /// Give help: connect to the computer that made an invitation.
    Join(join::JoinArgs),
    /// Show what an invitation file or link says, as one JSON object.
    Inspect(inspect::InspectArgs),
    /// List the standing invitations kept in the keyring, or revoke one.
    Invitations(invitations::InvitationsArgs),
    /// Work with session logs.
    Log(log_cmd::LogArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIFELINE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return report(CliError::from_clap(error)),
    };
    let result = match cli.command {
        Command::Invite(args) => invite::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Log(args) => log_cmd::run(args),
        Command::Invitations(args) => invitations::run(args),
        Command::Join(args) => join::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(error),
    }
}

fn report(error: CliError) -> ExitCode {
    match error {
        CliError::Informational(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        error => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
