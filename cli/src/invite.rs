//! `lifeline invite`: make an invitation for a helper.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};

use lifeline_core::identity::Identity;
use lifeline_core::net::host_candidates;
use lifeline_core::ticket::qr::Qr;
use lifeline_core::ticket::{
    DEFAULT_LIFETIME, FILE_EXTENSION, Invitation, InvitationBody, MAX_LIFETIME, MAX_NAME_LEN,
    ServerUrl,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::CliError;

const EXAMPLES: &str = "\
Examples:
  lifeline invite --dry-run
  lifeline invite --dry-run --expires 3days --name \"Rose Miller\" --out ~/rose.lifeline";

/// Arguments of `lifeline invite`.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct InviteArgs {
    /// Write the invitation (file, link, QR code) and exit, without waiting for a helper.
    #[arg(long)]
    dry_run: bool,
    /// How long the invitation stays valid, e.g. 30m, 2h, 3days (at most 99days).
    #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
    expires: Option<time::Duration>,
    /// Your name, as the helper will see it [default: your account's name].
    #[arg(long)]
    name: Option<String>,
    /// Where to write the invitation [default: lifeline-invitation-ID.lifeline here].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Where to write the QR code image [default: the invitation's path with .png].
    #[arg(long, value_name = "FILE")]
    qr: Option<PathBuf>,
    /// Rendezvous and relay server to name in the invitation (https://…).
    #[arg(long, value_name = "URL")]
    server: Option<ServerUrl>,
}

/// Parses `--expires`: a positive duration of at most 99 days.
fn parse_lifetime(text: &str) -> Result<time::Duration, String> {
    let parsed = humantime::parse_duration(text)
        .map_err(|e| format!("{e}; write a duration such as 30m, 2h or 3days"))?;
    let lifetime = time::Duration::try_from(parsed).map_err(|e| e.to_string())?;
    if lifetime < time::Duration::minutes(1) {
        return Err("an invitation must be valid for at least a minute".to_owned());
    }
    if lifetime > MAX_LIFETIME {
        return Err("an invitation may be valid for at most 99 days".to_owned());
    }
    Ok(lifetime)
}

/// Makes and writes the invitation.
pub fn run(args: InviteArgs) -> Result<(), CliError> {
    if !args.dry_run {
        return Err(CliError::Usage(
            "waiting for a helper is not available in this version; use --dry-run to make an invitation".to_owned(),
        ));
    }
    let identity = Identity::generate().map_err(|e| CliError::System(e.to_string()))?;
    let candidates = host_candidates(pick_port()?)
        .map_err(|e| CliError::System(format!("cannot list network interfaces: {e}")))?;
    let name = args.name.unwrap_or_else(default_name);
    let now = OffsetDateTime::now_utc();
    let body = InvitationBody::new(
        name,
        candidates,
        args.server,
        identity.fingerprint(),
        now,
        args.expires.unwrap_or(DEFAULT_LIFETIME),
    )?;
    let invitation = Invitation::sign(body, identity.signing_key())?;

    let out = args.out.unwrap_or_else(|| {
        let id = invitation.body().id.to_string();
        PathBuf::from(format!("lifeline-invitation-{}.{FILE_EXTENSION}", &id[..8]))
    });
    let qr_path = args.qr.unwrap_or_else(|| out.with_extension("png"));
    let link = invitation.to_link();
    let qr = Qr::new(&link).map_err(|e| CliError::System(e.to_string()))?;
    write(&out, invitation.to_xml().as_bytes())?;
    write(
        &qr_path,
        &qr.to_png().map_err(|e| CliError::System(e.to_string()))?,
    )?;

    let expires = invitation.body().expires;
    println!("Invitation: {}", absolute(&out).display());
    println!("QR code:    {}", absolute(&qr_path).display());
    println!(
        "Expires:    {}",
        expires.format(&Rfc3339).unwrap_or_default()
    );
    println!("Link:       {link}");
    println!();
    print!("{}", qr.to_terminal());
    Ok(())
}

/// A free UDP port for the candidates. A dry run does not keep it open.
fn pick_port() -> Result<u16, CliError> {
    UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|socket| socket.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| CliError::System(format!("cannot open a UDP socket: {e}")))
}

fn default_name() -> String {
    let real = whoami::realname();
    let name = if real.trim().is_empty() {
        whoami::username()
    } else {
        real
    };
    let mut name: String = name.trim().chars().filter(|c| !c.is_control()).collect();
    while name.len() > MAX_NAME_LEN {
        name.pop();
    }
    name
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|source| CliError::Write {
        path: path.to_owned(),
        source,
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
