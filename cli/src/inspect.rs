//! `lifeline inspect`: the public fields of an invitation as one JSON object.

use lifeline_core::ticket::Invitation;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::CliError;
use crate::input::read_invitation;

const EXAMPLES: &str = "\
Examples:
  lifeline inspect invitation.lifeline
  lifeline inspect 'lifeline:AQ3x…'
  lifeline inspect --allow-expired old-invitation.lifeline | jq .expires";

/// Arguments of `lifeline inspect`.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct InspectArgs {
    /// An invitation file, a lifeline: link, or - to read standard input.
    #[arg(value_name = "FILE|LINK")]
    invitation: String,
    /// Show an invitation that has expired (or is not valid yet) instead of refusing it.
    /// The signature is still checked.
    #[arg(long)]
    allow_expired: bool,
}

#[derive(Serialize)]
struct Inspection {
    id: String,
    name: String,
    created: String,
    expires: String,
    expired: bool,
    candidates: Vec<CandidateJson>,
    server: Option<String>,
    fingerprint: String,
}

#[derive(Serialize)]
struct CandidateJson {
    kind: &'static str,
    addr: String,
}

/// Prints the invitation as JSON, or refuses it.
pub fn run(args: InspectArgs) -> Result<(), CliError> {
    let bytes = read_invitation(&args.invitation)?;
    let now = OffsetDateTime::now_utc();
    let invitation = if args.allow_expired {
        Invitation::parse_ignoring_time(&bytes)?
    } else {
        Invitation::parse(&bytes, now)?
    };
    let body = invitation.body();
    let time = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let inspection = Inspection {
        id: body.id.to_string(),
        name: body.name.clone(),
        created: time(body.created),
        expires: time(body.expires),
        expired: invitation.is_expired(now),
        candidates: body
            .candidates
            .iter()
            .map(|c| CandidateJson {
                kind: c.kind.as_str(),
                addr: c.addr.to_string(),
            })
            .collect(),
        server: body.server.as_ref().map(ToString::to_string),
        fingerprint: body.fingerprint.to_string(),
    };
    let json = serde_json::to_string(&inspection)
        .map_err(|e| CliError::System(format!("cannot format JSON: {e}")))?;
    println!("{json}");
    Ok(())
}
