//! `lifeline join`: connect to a novice's invitation and help.

use std::path::PathBuf;

use lifeline_core::auth::{HardeningParams, Password, harden};
use lifeline_core::connect::{SessionIo, run_helper_via};
use lifeline_core::log::SessionLog;
use lifeline_core::proto::Role;
use lifeline_core::session::SessionConfig;
use lifeline_core::ticket::{Invitation, ServerUrl};
use time::OffsetDateTime;

use crate::error::CliError;
use crate::input::read_invitation;
use crate::live::{self, Input};
use crate::screen::Keeper;
use crate::terminal::{Prompts, View};

const EXAMPLES: &str = "\
Examples:
  lifeline join ~/Downloads/invitation.lifeline
  lifeline join 'lifeline:AQ3x…' --password-file pw.txt --script";

/// Arguments of `lifeline join`.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct JoinArgs {
    /// An invitation file or a lifeline: link.
    #[arg(value_name = "FILE|LINK")]
    invitation: String,
    /// Read the password from this file [default: ask for it on standard input].
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Your name, as the novice will see it [default: your account's name].
    #[arg(long)]
    name: Option<String>,
    /// Script mode: JSON events on stdout, JSON commands on stdin (see docs/script-mode.md).
    #[arg(long)]
    script: bool,
    /// Folder for the session log [default: Documents/Lifeline Logs].
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Write every frame of the novice's screen received to this H.264 (Annex B) file.
    #[arg(long, value_name = "FILE.h264")]
    record: Option<PathBuf>,
    /// Keep the latest picture of the novice's screen in this PNG, rewritten every second.
    #[arg(long, value_name = "FILE.png")]
    snapshot: Option<PathBuf>,
    /// Do not open a window even when a display is available.
    #[arg(long)]
    no_window: bool,
    /// Reach the novice through this server instead of the invitation's (https://…).
    #[arg(long, value_name = "URL")]
    server: Option<ServerUrl>,
    #[command(flatten)]
    reach: crate::reach::ReachArgs,
}

/// Connects and runs the helper's side until the session ends.
pub fn run(args: JoinArgs) -> Result<(), CliError> {
    let bytes = read_invitation(&args.invitation)?;
    let invitation = Invitation::parse(&bytes, OffsetDateTime::now_utc())?;
    let log_dir = live::log_dir(args.log_dir.clone())?;
    live::runtime()?.block_on(join(args, invitation, log_dir))
}

async fn join(args: JoinArgs, invitation: Invitation, log_dir: PathBuf) -> Result<(), CliError> {
    let script = args.script;
    let server = args
        .server
        .clone()
        .or_else(|| invitation.body().server.clone());
    let reach = args.reach.reach(server)?;
    let mut lines = live::stdin_lines();
    let password = match &args.password_file {
        Some(path) => live::read_password_file(path)?,
        None => ask_password(&mut lines, script, &invitation).await?,
    };
    let hardened = harden(
        &password,
        &invitation.body().salt,
        &HardeningParams::default(),
    );
    let log = SessionLog::create(
        &log_dir,
        Role::Helper,
        &invitation.body().id.to_string(),
        OffsetDateTime::now_utc(),
    )
    .map_err(|e| CliError::System(e.to_string()))?;
    if !script {
        println!("Connecting to {}… (Ctrl-C to stop)", invitation.body().name);
        println!("{}", live::HELP);
    }
    let prompts = (!script).then(Prompts::default);
    let view = prompts
        .clone()
        .map(|prompts| View::new(Role::Helper, Some(invitation.body().name.clone()), prompts));
    let (window_commands, commands) = live::forward_commands(lines, prompts);
    #[allow(unused_mut)]
    let mut keeper = Keeper::new(args.record.clone(), args.snapshot.clone())?;
    #[cfg(target_os = "linux")]
    if !args.no_window {
        let title = format!("{} — Lifeline", invitation.body().name);
        match crate::window::Viewer::open(&title, window_commands) {
            Ok(Some(viewer)) => keeper.set_viewer(viewer),
            Ok(None) => {}
            Err(e) => live::emit(script, live::error_event(e)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    drop(window_commands);
    let (reports, printer) = live::print_reports(view, keeper);
    let io = SessionIo {
        name: args.name.clone().unwrap_or_else(helper_name),
        commands,
        reports,
        log,
        config: SessionConfig::default(),
        desktop: None,
    };
    let result = run_helper_via(&invitation, &hardened, io, &reach).await;
    let _ = printer.await;
    live::finish(result, script)
}

/// Reads the password from the first line of standard input: the words in interactive mode,
/// `{"cmd":"password","text":…}` in script mode.
async fn ask_password(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    script: bool,
    invitation: &Invitation,
) -> Result<Password, CliError> {
    if !script {
        println!(
            "Type the password that {} read to you:",
            invitation.body().name
        );
    }
    let line = lines
        .recv()
        .await
        .ok_or_else(|| CliError::Usage("no password given".into()))?;
    let text = if script {
        match live::parse_line(&line, true) {
            Ok(Input::Password(text)) => text,
            _ => {
                return Err(CliError::Usage(
                    "script mode expects {\"cmd\":\"password\",\"text\":…} first, or --password-file"
                        .into(),
                ));
            }
        }
    } else {
        line
    };
    Password::parse(&text).map_err(|e| CliError::Usage(e.to_string()))
}

/// The helper's name when none is given: the account's, or `helper`.
fn helper_name() -> String {
    let name = live::account_name();
    if name.is_empty() {
        "helper".to_owned()
    } else {
        name
    }
}
