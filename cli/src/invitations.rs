//! `lifeline invitations`: the standing invitations kept in the keyring.

use lifeline_core::store::{OsKeyring, StandingInvitations};
use lifeline_core::ticket::InvitationId;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::CliError;

const EXAMPLES: &str = "\
Examples:
  lifeline invitations
  lifeline invitations --json
  lifeline invitations revoke 0123456789abcdef0123456789abcdef";

/// Arguments of `lifeline invitations`.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct InvitationsArgs {
    /// One JSON object per invitation and line.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Option<InvitationsCommand>,
}

#[derive(clap::Subcommand)]
enum InvitationsCommand {
    /// End a standing invitation for good: it can no longer be resumed or joined.
    Revoke {
        /// The invitation's id (see lifeline invitations).
        id: String,
    },
}

/// Lists or revokes standing invitations.
pub fn run(args: InvitationsArgs) -> Result<(), CliError> {
    let store = StandingInvitations::new(OsKeyring::new());
    let now = OffsetDateTime::now_utc();
    match args.command {
        Some(InvitationsCommand::Revoke { id }) => {
            let parsed: InvitationId = id.parse().map_err(|_| {
                CliError::Usage(format!("{id:?} is not an invitation id (32 hex digits)"))
            })?;
            let removed = store
                .revoke(parsed)
                .map_err(|e| CliError::System(e.to_string()))?;
            if !removed {
                return Err(CliError::Usage(format!(
                    "there is no standing invitation {parsed}; see lifeline invitations"
                )));
            }
            println!("revoked {parsed}");
        }
        None => {
            let list = store
                .list(now)
                .map_err(|e| CliError::System(e.to_string()))?;
            for summary in list {
                let expires = summary.expires.format(&Rfc3339).unwrap_or_default();
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": summary.id.to_string(),
                            "name": summary.name,
                            "expires": expires,
                            "attempts_left": summary.attempts_left,
                        })
                    );
                } else {
                    println!(
                        "{}  {expires}  {} attempts left  {}",
                        summary.id, summary.attempts_left, summary.name
                    );
                }
            }
        }
    }
    Ok(())
}
