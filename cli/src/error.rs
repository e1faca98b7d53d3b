//! The command's errors and their exit statuses.

use std::path::PathBuf;

use lifeline_core::ticket::TicketError;

/// Why a command failed. Displayed as one line after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Not an error: `--help` or `--version` output, printed on stdout.
    #[error("{0}")]
    Informational(String),
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// The invitation is refused.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// An input file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file given as a session log is not one (or cannot be read).
    #[error("{0}")]
    BadLog(String),
    /// A session log was changed after it was written.
    #[error("{0}")]
    Tampered(String),
    /// Something this computer should provide failed (network interfaces, key generation).
    #[error("{0}")]
    System(String),
}

impl CliError {
    /// 2 for bad input, 1 when this computer could not do what was asked or a log was
    /// changed.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Informational(_) => 0,
            Self::Usage(_) | Self::Ticket(_) | Self::Read { .. } | Self::BadLog(_) => 2,
            Self::Write { .. } | Self::System(_) | Self::Tampered(_) => 1,
        }
    }

    /// Turns clap's (multi-line) message into one line, keeping help and version output.
    pub fn from_clap(error: clap::Error) -> Self {
        use clap::error::ErrorKind;
        let text = error.render().to_string();
        match error.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Self::Informational(text),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Self::Usage(
                "no command given; use lifeline invite, lifeline join or lifeline inspect (see lifeline --help)"
                    .to_owned(),
            ),
            _ => {
                // clap's message is its first paragraph; the rest is usage and tips.
                let paragraph: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .skip_while(|line| line.is_empty())
                    .take_while(|line| !line.is_empty())
                    .collect();
                let message = paragraph.join(" ");
                let message = message.strip_prefix("error: ").unwrap_or(&message);
                Self::Usage(format!("{message} (see lifeline --help)"))
            }
        }
    }
}
