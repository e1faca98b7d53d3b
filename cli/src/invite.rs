//! `lifeline invite`: make an invitation for a helper.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};

use lifeline_core::auth::{
    AttemptLimiter, HardenedPassword, HardeningParams, generate_password, harden,
};
use lifeline_core::connect::{
    Desktop, NoviceEndpoint, Reach, SessionIo, forward_path_events, novice_side, run_novice,
};
use lifeline_core::identity::Identity;
use lifeline_core::log::SessionLog;
use lifeline_core::net::host_candidates;
use lifeline_core::net::{CheckKey, PortMapping};
use lifeline_core::proto::Role;
use lifeline_core::session::SessionConfig;
use lifeline_core::store::{OsKeyring, StandingInvitation, StandingInvitations};
use lifeline_core::ticket::qr::Qr;
use lifeline_core::ticket::{
    Candidate, DEFAULT_LIFETIME, FILE_EXTENSION, Invitation, InvitationBody, InvitationId,
    MAX_LIFETIME, ServerUrl,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::CliError;
use crate::live;
use crate::screen::Keeper;
use crate::terminal::{Prompts, View};

const EXAMPLES: &str = "\
Examples:
  lifeline invite
  lifeline invite --script --listen 127.0.0.1:0 --password-file pw.txt
  lifeline invite --dry-run
  lifeline invite --resume 0123456789abcdef0123456789abcdef
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
    /// Listen on this address (e.g. 127.0.0.1:0); a specific address is the invitation's
    /// only host candidate [default: every interface, all of their addresses].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Read the password from this file instead of generating one.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Script mode: JSON events on stdout, JSON commands on stdin (see docs/script-mode.md).
    #[arg(long)]
    script: bool,
    /// Wait again on a standing invitation kept in the keyring (see lifeline invitations).
    #[arg(
        long,
        value_name = "ID",
        conflicts_with_all = ["dry_run", "expires", "name", "out", "qr", "server", "password_file"]
    )]
    resume: Option<String>,
    /// Folder for the session log [default: Documents/Lifeline Logs].
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Share the screen of this X11 display [default: $DISPLAY].
    #[arg(long, value_name = "DISPLAY")]
    display: Option<String>,
    /// Share this monitor: 0, 1, … in the display's order [default: the primary one].
    #[arg(long, value_name = "N")]
    monitor: Option<usize>,
    /// Share no screen: chat and files only.
    #[arg(long, conflicts_with_all = ["display", "monitor"])]
    no_share: bool,
    #[command(flatten)]
    reach: crate::reach::ReachArgs,
}

/// Opens the desktop to share: `--display`, else `$DISPLAY`; `None` with `--no-share` or
/// without any display (then says so).
fn open_desktop(args: &InviteArgs) -> Result<Option<Desktop>, CliError> {
    if args.no_share {
        return Ok(None);
    }
    let display = args
        .display
        .clone()
        .or_else(|| std::env::var("DISPLAY").ok().filter(|d| !d.is_empty()));
    let Some(display) = display else {
        eprintln!("warning: no display to share (DISPLAY is not set); chat and files only");
        return Ok(None);
    };
    share_desktop(&display, args.monitor).map(Some)
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn share_desktop(display: &str, monitor: Option<usize>) -> Result<Desktop, CliError> {
    lifeline_core::host::share_x11(Some(display), monitor).map_err(|e| {
        CliError::System(format!(
            "cannot share the screen of display {display}: {e}; use --no-share for chat and files only"
        ))
    })
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn share_desktop(display: &str, _monitor: Option<usize>) -> Result<Desktop, CliError> {
    Err(CliError::System(format!(
        "sharing display {display} is not available on this system yet; use --no-share"
    )))
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

/// Makes and writes the invitation; without `--dry-run`, waits for a helper.
pub fn run(args: InviteArgs) -> Result<(), CliError> {
    if let Some(id) = args.resume.clone() {
        return live::runtime()?.block_on(resume(args, &id));
    }
    let identity = Identity::generate().map_err(|e| CliError::System(e.to_string()))?;
    if !args.dry_run {
        return live::runtime()?.block_on(wait_for_helper(args, identity));
    }
    let candidates = host_candidates(pick_port()?)
        .map_err(|e| CliError::System(format!("cannot list network interfaces: {e}")))?;
    let written = write_invitation(&args, &identity, candidates)?;
    print_invitation(&written);
    print!("{}", written.qr.to_terminal());
    Ok(())
}

/// An invitation made and written to disk.
struct Written {
    invitation: Invitation,
    out: PathBuf,
    qr_path: PathBuf,
    qr: Qr,
    link: String,
}

/// Binds the endpoint, writes the invitation, and runs the novice's side until the session
/// ends, the invitation expires or closes, or Ctrl-C.
async fn wait_for_helper(args: InviteArgs, identity: Identity) -> Result<(), CliError> {
    let script = args.script;
    let desktop = open_desktop(&args)?;
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let endpoint =
        NoviceEndpoint::bind(&identity, listen).map_err(|e| CliError::System(e.to_string()))?;
    let local = endpoint
        .local_addr()
        .map_err(|e| CliError::System(format!("cannot read the listening address: {e}")))?;
    let reach = args.reach.reach(args.server.clone())?;
    let (candidates, mapping) = crate::reach::novice_candidates(&endpoint, local, &reach).await?;
    let password = match &args.password_file {
        Some(path) => live::read_password_file(path)?,
        None => generate_password(),
    };
    let log_dir = live::log_dir(args.log_dir.clone())?;
    let written = write_invitation(&args, &identity, candidates)?;
    let invitation = &written.invitation;
    let hardened = harden(
        &password,
        &invitation.body().salt,
        &HardeningParams::default(),
    );
    // Kept in the keyring, the invitation survives a restart: `lifeline invite --resume ID`.
    let standing = StandingInvitation {
        invitation: invitation.clone(),
        identity,
        hardened: hardened.clone(),
        limiter: AttemptLimiter::default(),
    };
    let store = StandingInvitations::new(OsKeyring::new());
    let kept = match store.save(&standing, OffsetDateTime::now_utc()) {
        Ok(()) => Some(store),
        Err(error) => {
            eprintln!("warning: this invitation will not survive a restart: {error}");
            None
        }
    };

    if script {
        live::emit(
            true,
            serde_json::json!({
                "event": "invitation",
                "id": invitation.body().id.to_string(),
                "path": absolute(&written.out).display().to_string(),
                "link": written.link,
                "password": password.expose(),
            }),
        );
    } else {
        print_invitation(&written);
        println!("Password:   {}", password.expose());
        println!();
        print!("{}", written.qr.to_terminal());
        println!(
            "Read the password to your helper by phone. Waiting for your helper… (Ctrl-C to stop)"
        );
        println!("{}", live::HELP);
    }
    let options = Options {
        script,
        log_dir,
        desktop,
        reach,
        candidates: written.invitation.body().candidates.clone(),
        _mapping: mapping,
    };
    serve(
        endpoint,
        invitation,
        &hardened,
        standing.limiter,
        kept,
        options,
    )
    .await
}

/// Waits again on a standing invitation kept in the keyring.
async fn resume(args: InviteArgs, id: &str) -> Result<(), CliError> {
    let id: InvitationId = id.parse().map_err(|_| {
        CliError::Usage(format!(
            "{id:?} is not an invitation id (32 hex digits); see lifeline invitations"
        ))
    })?;
    let store = StandingInvitations::new(OsKeyring::new());
    let standing = store
        .load(id, OffsetDateTime::now_utc())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let desktop = open_desktop(&args)?;
    if standing.limiter.is_closed() {
        return Err(CliError::Usage(format!(
            "invitation {id} was closed after too many wrong passwords; make a new one"
        )));
    }
    // The helper connects to the addresses the invitation lists: listen on their port.
    let port = standing
        .invitation
        .body()
        .candidates
        .first()
        .map_or(0, |c| c.addr.port());
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], port)));
    let endpoint = NoviceEndpoint::bind(&standing.identity, listen)
        .map_err(|e| CliError::System(e.to_string()))?;
    let log_dir = live::log_dir(args.log_dir.clone())?;
    let invitation = &standing.invitation;
    if args.script {
        live::emit(
            true,
            serde_json::json!({
                "event": "invitation",
                "id": id.to_string(),
                "path": null,
                "link": invitation.to_link(),
                "password": null,
                "resumed": true,
            }),
        );
    } else {
        println!("Waiting again on invitation {id}, with the password you gave before.");
        println!("Link:       {}", invitation.to_link());
        println!("{}", live::HELP);
    }
    let reach = args.reach.reach(invitation.body().server.clone())?;
    let options = Options {
        script: args.script,
        log_dir,
        desktop,
        reach,
        candidates: invitation.body().candidates.clone(),
        _mapping: None,
    };
    serve(
        endpoint,
        invitation,
        &standing.hardened,
        standing.limiter.clone(),
        Some(store),
        options,
    )
    .await
}

/// How a session runs: its user interface, log folder, desktop, and how helpers reach it.
struct Options {
    script: bool,
    log_dir: PathBuf,
    desktop: Option<Desktop>,
    reach: Reach,
    /// This side's candidates, for the rendezvous.
    candidates: Vec<Candidate>,
    /// The router's port mapping, released when the session ends.
    _mapping: Option<PortMapping>,
}

/// Runs the novice's side on `endpoint` until the session ends; wrong passwords are
/// counted in `kept` (the keyring) as they happen.
async fn serve(
    endpoint: NoviceEndpoint,
    invitation: &Invitation,
    hardened: &HardenedPassword,
    limiter: AttemptLimiter,
    kept: Option<StandingInvitations<OsKeyring>>,
    options: Options,
) -> Result<(), CliError> {
    let Options {
        script,
        log_dir,
        desktop,
        reach,
        candidates,
        _mapping,
    } = options;
    let log = SessionLog::create(
        &log_dir,
        Role::Novice,
        &invitation.body().id.to_string(),
        OffsetDateTime::now_utc(),
    )
    .map_err(|e| CliError::System(e.to_string()))?;
    let prompts = (!script).then(Prompts::default);
    let view = prompts
        .clone()
        .map(|prompts| View::new(Role::Novice, None, prompts));
    let (reports, printer) = live::print_reports(view, Keeper::default());
    let paths = forward_path_events(endpoint.socket(), reports.clone());
    endpoint.answer_checks(invitation);
    let helpers = {
        let socket = endpoint.socket().clone();
        let body = invitation.body();
        let key = CheckKey::derive(&body.id, &body.fingerprint);
        novice_side(
            &reach,
            endpoint.socket().clone(),
            invitation.clone(),
            candidates,
            move |found| socket.add_client_peer(key, found),
        )
    };
    let io = SessionIo {
        name: invitation.body().name.clone(),
        commands: live::forward_commands(live::stdin_lines(), prompts).1,
        reports,
        log,
        config: SessionConfig::default(),
        desktop,
    };
    let id = invitation.body().id;
    let keep_count = move |_: &AttemptLimiter| {
        if let Some(store) = &kept {
            if let Err(error) = store.record_failure(id, OffsetDateTime::now_utc()) {
                eprintln!(
                    "warning: the wrong password could not be counted in the keyring: {error}"
                );
            }
        }
    };
    let result = run_novice(&endpoint, invitation, hardened, limiter, keep_count, io).await;
    if let Some(helpers) = helpers {
        helpers.abort();
    }
    paths.abort();
    let _ = printer.await;
    endpoint.shutdown().await;
    live::finish(result, script)
}

fn print_invitation(written: &Written) {
    let expires = written.invitation.body().expires;
    println!("Invitation: {}", absolute(&written.out).display());
    println!("QR code:    {}", absolute(&written.qr_path).display());
    println!(
        "Expires:    {}",
        expires.format(&Rfc3339).unwrap_or_default()
    );
    println!("Link:       {}", written.link);
    println!();
}

fn write_invitation(
    args: &InviteArgs,
    identity: &Identity,
    candidates: Vec<Candidate>,
) -> Result<Written, CliError> {
    let name = args.name.clone().unwrap_or_else(live::account_name);
    let now = OffsetDateTime::now_utc();
    let body = InvitationBody::new(
        name,
        candidates,
        args.server.clone(),
        identity.fingerprint(),
        now,
        args.expires.unwrap_or(DEFAULT_LIFETIME),
    )?;
    let invitation = Invitation::sign(body, identity.signing_key())?;

    let out = args.out.clone().unwrap_or_else(|| {
        let id = invitation.body().id.to_string();
        PathBuf::from(format!("lifeline-invitation-{}.{FILE_EXTENSION}", &id[..8]))
    });
    let qr_path = args.qr.clone().unwrap_or_else(|| out.with_extension("png"));
    let link = invitation.to_link();
    let qr = Qr::new(&link).map_err(|e| CliError::System(e.to_string()))?;
    write(&out, invitation.to_xml().as_bytes())?;
    write(
        &qr_path,
        &qr.to_png().map_err(|e| CliError::System(e.to_string()))?,
    )?;

    Ok(Written {
        invitation,
        out,
        qr_path,
        qr,
        link,
    })
}

/// A free UDP port for the candidates. A dry run does not keep it open.
fn pick_port() -> Result<u16, CliError> {
    UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|socket| socket.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| CliError::System(format!("cannot open a UDP socket: {e}")))
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
