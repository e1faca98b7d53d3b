//! Standing invitations against a real gnome-keyring on a private D-Bus session bus.
//!
//! Each test runs this same binary under `dbus-run-session` with a freshly unlocked
//! gnome-keyring and a temporary HOME; that *driver* process runs every step (save, load,
//! list, …) as a further process of this binary, so a load really happens after a restart.
//! Steps report on stdout in `@ key=value` lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lifeline_core::auth::{AttemptLimiter, HardeningParams, Password, harden};
use lifeline_core::identity::Identity;
use lifeline_core::store::{
    MemoryBackend, OsKeyring, SecretBackend, StandingInvitation, StandingInvitations, StoreError,
};
use lifeline_core::ticket::{Fingerprint, Invitation, InvitationBody, InvitationId};
use time::{Duration, OffsetDateTime};

/// Which step or scenario a child process runs.
const ROLE: &str = "LIFELINE_KEYRING_ROLE";
/// The invitation id a step works on.
const ID: &str = "LIFELINE_KEYRING_ID";
/// Hours added to the clock of a step (to make invitations expire).
const LATER: &str = "LIFELINE_KEYRING_LATER_HOURS";
/// Lifetime in hours of the invitation a `save` step makes.
const LIFETIME: &str = "LIFELINE_KEYRING_LIFETIME_HOURS";

// ---------- the parent side: a private bus and keyring per test ----------

fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is missing: install the Debian package {package} (scripts/setup does)"
    );
}

/// Runs `scenario` in a driver process under a private session bus with an unlocked
/// gnome-keyring and a temporary HOME; fails the test with the driver's output if it fails.
fn run_in_keyring_session(scenario: &str) {
    require("dbus-run-session", "dbus-daemon");
    require("gnome-keyring-daemon", "gnome-keyring");
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("dbus-run-session");
    command.args([
        "--",
        "sh",
        "-c",
        "echo -n testpw | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
         && exec \"$0\" driver --exact --nocapture --test-threads=1",
    ]);
    command.arg(std::env::current_exe().unwrap());
    isolate(&mut command, home.path());
    command.env(ROLE, scenario);
    let output = command.output().unwrap();
    assert!(
        output.status.success() && stdout(&output).contains("@ scenario=done"),
        "scenario {scenario} failed ({}):\n{}\n{}",
        output.status,
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Points every place a process may write at `home`.
fn isolate(command: &mut Command, home: &Path) {
    let runtime = home.join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    command
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_RUNTIME_DIR", runtime)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn saved_invitation_loads_unchanged_after_a_restart_and_no_file_holds_its_secrets() {
    run_in_keyring_session("restart");
}

#[test]
fn revoked_invitation_is_gone() {
    run_in_keyring_session("revoke");
}

#[test]
fn corrupt_record_gives_a_clear_error_and_can_be_revoked() {
    run_in_keyring_session("corrupt");
}

#[test]
fn expired_invitation_is_refused_and_pruned() {
    run_in_keyring_session("expired");
}

#[test]
fn without_a_keyring_the_error_says_to_start_one() {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["driver", "--exact", "--nocapture", "--test-threads=1"]);
    isolate(&mut command, home.path());
    command
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", home.path().join("no-bus").display()),
        )
        .env(ROLE, "list");
    let report = report(&command.output().unwrap());
    let error = &report["error"];
    assert!(
        error.starts_with("no keyring is available: start gnome-keyring or another Secret Service"),
        "{error}"
    );
}

// ---------- the store's logic, in memory ----------

fn standing(lifetime_hours: i64, now: OffsetDateTime) -> StandingInvitation {
    let identity = Identity::generate().unwrap();
    let body = InvitationBody::new(
        "Grandma Rose".to_owned(),
        Vec::new(),
        Some("https://lifeline.example.org/".parse().unwrap()),
        identity.fingerprint(),
        now,
        Duration::hours(lifetime_hours),
    )
    .unwrap();
    let salt = body.salt;
    let invitation = Invitation::sign(body, identity.signing_key()).unwrap();
    let password = Password::parse("correct horse battery staple").unwrap();
    StandingInvitation {
        invitation,
        identity,
        hardened: harden(&password, &salt, &HardeningParams::for_tests()),
        limiter: AttemptLimiter::default(),
    }
}

#[test]
fn memory_round_trip_keeps_everything() {
    let now = OffsetDateTime::now_utc();
    let store = StandingInvitations::new(MemoryBackend::new());
    let saved = standing(24, now);
    store.save(&saved, now).unwrap();
    store.record_failure(saved.id(), now).unwrap();
    let loaded = store.load(saved.id(), now).unwrap();
    assert_eq!(loaded.invitation, saved.invitation);
    assert_eq!(
        *loaded.identity.secret_key_bytes(),
        *saved.identity.secret_key_bytes()
    );
    assert_eq!(
        loaded.identity.certificate_der(),
        saved.identity.certificate_der()
    );
    assert_eq!(loaded.hardened, saved.hardened);
    assert_eq!(loaded.limiter, AttemptLimiter::restore(5, 1));
    assert!(!format!("{loaded:?}").contains(&hex(saved.hardened.expose())));
}

#[test]
fn save_refuses_an_identity_that_did_not_sign_the_invitation() {
    let now = OffsetDateTime::now_utc();
    let store = StandingInvitations::new(MemoryBackend::new());
    let mut standing = standing(24, now);
    standing.identity = Identity::generate().unwrap();
    let error = store.save(&standing, now).unwrap_err();
    assert!(matches!(error, StoreError::IdentityMismatch(_)), "{error}");
    assert!(store.list(now).unwrap().is_empty());
}

#[test]
fn save_refuses_an_expired_invitation() {
    let now = OffsetDateTime::now_utc();
    let store = StandingInvitations::new(MemoryBackend::new());
    let standing = standing(1, now - Duration::hours(2));
    let error = store.save(&standing, now).unwrap_err();
    assert!(matches!(error, StoreError::Expired { .. }), "{error}");
}

#[test]
fn record_from_a_newer_lifeline_asks_for_an_update() {
    let now = OffsetDateTime::now_utc();
    let store = StandingInvitations::new(MemoryBackend::new());
    let standing = standing(24, now);
    store.save(&standing, now).unwrap();
    store
        .backend()
        .set(&standing.id().to_string(), &STANDARD.encode([2u8, 0, 0]))
        .unwrap();
    let error = store.load(standing.id(), now).unwrap_err();
    assert!(
        matches!(error, StoreError::UnknownVersion { version: 2, .. }),
        "{error}"
    );
    assert!(error.to_string().ends_with("update Lifeline"), "{error}");
}

#[test]
fn corrupt_index_is_reported() {
    let store = StandingInvitations::new(MemoryBackend::new());
    store.backend().set("index", "not an id\n").unwrap();
    let error = store.list(OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(error, StoreError::CorruptIndex(_)), "{error}");
}

#[test]
fn identity_from_parts_keeps_the_certificate_and_refuses_a_foreign_one() {
    let identity = Identity::generate().unwrap();
    let again = Identity::from_parts(
        &identity.secret_key_bytes(),
        identity.certificate_der().to_vec(),
    )
    .unwrap();
    assert_eq!(again.fingerprint(), identity.fingerprint());
    let other = Identity::generate().unwrap();
    assert!(
        Identity::from_parts(
            &other.secret_key_bytes(),
            identity.certificate_der().to_vec()
        )
        .is_err()
    );
}

// ---------- the child side ----------

/// Does nothing in a normal test run; in a child process, runs the step or scenario named
/// by the environment.
#[test]
fn driver() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    match role.as_str() {
        "restart" => scenario_restart(),
        "revoke" => scenario_revoke(),
        "corrupt" => scenario_corrupt(),
        "expired" => scenario_expired(),
        step => run_step(step),
    }
    if ![
        "save",
        "load",
        "list",
        "revoke-step",
        "fail",
        "damage",
        "raw",
    ]
    .contains(&role.as_str())
    {
        println!("@ scenario=done");
    }
}

fn store() -> StandingInvitations<OsKeyring> {
    StandingInvitations::new(OsKeyring::new())
}

fn clock() -> OffsetDateTime {
    let later: i64 = std::env::var(LATER).map_or(0, |hours| hours.parse().unwrap());
    OffsetDateTime::now_utc() + Duration::hours(later)
}

fn id_from_env() -> InvitationId {
    std::env::var(ID).unwrap().parse().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn print_standing(standing: &StandingInvitation) {
    println!("@ id={}", standing.id());
    println!("@ key={}", hex(&*standing.identity.secret_key_bytes()));
    println!("@ cert={}", hex(standing.identity.certificate_der()));
    println!(
        "@ cert_fingerprint={}",
        Fingerprint::of_certificate(standing.identity.certificate_der())
    );
    println!("@ pinned={}", standing.invitation.body().fingerprint);
    println!("@ hardened={}", hex(standing.hardened.expose()));
    println!("@ failures={}", standing.limiter.failures());
    println!("@ left={}", standing.limiter.attempts_left());
}

fn run_step(step: &str) {
    let store = store();
    let now = clock();
    match step {
        "save" => {
            let lifetime: i64 = std::env::var(LIFETIME).map_or(48, |hours| hours.parse().unwrap());
            let standing = standing(lifetime, now);
            store.save(&standing, now).unwrap();
            print_standing(&standing);
        }
        "load" => match store.load(id_from_env(), now) {
            Ok(standing) => print_standing(&standing),
            Err(error) => println!("@ error={error}"),
        },
        "list" => match store.list(now) {
            Ok(list) => {
                let ids: Vec<String> = list
                    .iter()
                    .map(|s| format!("{}:{}:{}", s.id, s.name, s.failures))
                    .collect();
                println!("@ listed={}", ids.join(","));
            }
            Err(error) => println!("@ error={error}"),
        },
        "revoke-step" => println!("@ revoked={}", store.revoke(id_from_env()).unwrap()),
        "fail" => match store.record_failure(id_from_env(), now) {
            Ok(outcome) => println!("@ left={}", outcome.attempts_left),
            Err(error) => println!("@ error={error}"),
        },
        "damage" => store
            .backend()
            .set(&id_from_env().to_string(), "this is not a record")
            .unwrap(),
        "raw" => {
            let value = store
                .backend()
                .get(&id_from_env().to_string())
                .unwrap()
                .unwrap();
            println!("@ raw={}", &*value);
        }
        other => panic!("unknown role {other}"),
    }
}

/// Runs one step in a new process (the restart) and returns its report.
fn step(role: &str, env: &[(&str, &str)]) -> HashMap<String, String> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["driver", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "step {role} failed: {}\n{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    report(&output)
}

fn report(output: &Output) -> HashMap<String, String> {
    stdout(output)
        .lines()
        // libtest may print "test driver ... " on the same line, before the first report.
        .filter_map(|line| line.split_once("@ ").map(|(_, report)| report))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

fn listed(env: &[(&str, &str)]) -> String {
    let report = step("list", env);
    report
        .get("listed")
        .unwrap_or_else(|| panic!("list failed: {report:?}"))
        .clone()
}

fn scenario_restart() {
    let saved = step("save", &[]);
    let id = saved["id"].as_str();
    assert_eq!(saved["cert_fingerprint"], saved["pinned"]);
    assert_eq!(step("fail", &[(ID, id)])["left"], "4");
    assert_eq!(step("fail", &[(ID, id)])["left"], "3");

    let loaded = step("load", &[(ID, id)]);
    for field in [
        "id",
        "key",
        "cert",
        "cert_fingerprint",
        "pinned",
        "hardened",
    ] {
        assert_eq!(
            loaded.get(field),
            saved.get(field),
            "{field} changed: {loaded:?}"
        );
    }
    assert_eq!(loaded["cert_fingerprint"], saved["pinned"]);
    assert_eq!(loaded["failures"], "2");
    assert_eq!(loaded["left"], "3");
    assert_eq!(listed(&[]), format!("{id}:Grandma Rose:2"));

    // The limit survives restarts too: three more failures close it for good.
    for left in ["2", "1", "0"] {
        assert_eq!(step("fail", &[(ID, id)])["left"], left);
    }
    assert_eq!(step("load", &[(ID, id)])["left"], "0");

    // Nothing secret in any file: the keyring keeps it encrypted on disk.
    let raw = step("raw", &[(ID, id)])["raw"].clone();
    let key = from_hex(&saved["key"]);
    let hardened = from_hex(&saved["hardened"]);
    let mut needles: Vec<Vec<u8>> = vec![raw.into_bytes()];
    for secret in [&key, &hardened] {
        needles.push(secret.clone());
        needles.push(hex(secret).into_bytes());
        needles.push(STANDARD.encode(secret).into_bytes());
    }
    let home = PathBuf::from(std::env::var_os("HOME").unwrap());
    let files = files_under(&home);
    let keyrings = home.join(".local/share/keyrings");
    assert!(
        files.iter().any(|file| file.starts_with(&keyrings)),
        "gnome-keyring wrote no keyring file under {}: {files:?}",
        keyrings.display()
    );
    for file in &files {
        let content = std::fs::read(file).unwrap();
        for needle in &needles {
            assert!(
                !content
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "{} holds secret bytes",
                file.display()
            );
        }
    }
}

fn scenario_revoke() {
    let saved = step("save", &[]);
    let id = saved["id"].as_str();
    let other = step("save", &[]);
    assert_eq!(
        listed(&[]),
        format!("{id}:Grandma Rose:0,{}:Grandma Rose:0", other["id"])
    );
    assert_eq!(step("revoke-step", &[(ID, id)])["revoked"], "true");
    let error = &step("load", &[(ID, id)])["error"];
    assert!(
        error.starts_with(&format!("no standing invitation {id} is kept")),
        "{error}"
    );
    assert_eq!(listed(&[]), format!("{}:Grandma Rose:0", other["id"]));
    assert_eq!(step("revoke-step", &[(ID, id)])["revoked"], "false");
    assert_eq!(
        step("revoke-step", &[(ID, &other["id"])])["revoked"],
        "true"
    );
    assert_eq!(listed(&[]), "");
}

fn scenario_corrupt() {
    let id = step("save", &[])["id"].clone();
    step("damage", &[(ID, &id)]);
    let error = &step("load", &[(ID, &id)])["error"];
    assert!(
        error.starts_with(&format!(
            "the standing invitation {id} in the keyring is corrupt"
        )) && error.ends_with("revoke it and make a new invitation"),
        "{error}"
    );
    let error = &step("list", &[])["error"];
    assert!(error.contains("is corrupt"), "{error}");
    assert_eq!(step("revoke-step", &[(ID, &id)])["revoked"], "true");
    assert_eq!(listed(&[]), "");
}

fn scenario_expired() {
    let short = step("save", &[(LIFETIME, "1")])["id"].clone();
    let long = step("save", &[(LIFETIME, "48")])["id"].clone();
    let error = &step("load", &[(ID, &short), (LATER, "2")])["error"];
    assert!(
        error.starts_with(&format!("the standing invitation {short} expired at"))
            && error.ends_with("was removed; make a new invitation"),
        "{error}"
    );
    let error = &step("load", &[(ID, &short)])["error"];
    assert!(error.starts_with("no standing invitation"), "{error}");

    let pruned = step("save", &[(LIFETIME, "1")])["id"].clone();
    assert_eq!(listed(&[(LATER, "2")]), format!("{long}:Grandma Rose:0"));
    let error = &step("load", &[(ID, &pruned)])["error"];
    assert!(error.starts_with("no standing invitation"), "{error}");
    assert_eq!(listed(&[]), format!("{long}:Grandma Rose:0"));
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            files.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    files
}
