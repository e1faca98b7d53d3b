//! Tests of `core::auth`: passwords, hardening, the PAKE bound to the TLS exporter, limits.

use std::collections::HashSet;

use lifeline_core::auth::{
    AttemptLimiter, AttemptOutcome, AuthError, DEFAULT_MAX_ATTEMPTS, Handshake, HardenedPassword,
    HardeningParams, PAKE_MESSAGE_LEN, Password, Role, SessionSecrets, generate_password, harden,
    word_list,
};
use lifeline_core::ticket::PakeSalt;
use proptest::prelude::*;

const INVITATION: [u8; 16] = [7; 16];
const EXPORTER: [u8; 32] = [42; 32];
const SALT: PakeSalt = PakeSalt([9; 16]);

fn hardened(password: &str) -> HardenedPassword {
    harden(
        &Password::parse(password).expect("test passwords are valid"),
        &SALT,
        &HardeningParams::for_tests(),
    )
}

/// The outcome of one full exchange as the driver would run it: the helper's MAC goes first,
/// the novice verifies it and only then sends its own.
struct Outcome {
    novice: Result<SessionSecrets, AuthError>,
    helper: Option<Result<SessionSecrets, AuthError>>,
}

fn exchange(
    helper_password: &HardenedPassword,
    novice_password: &HardenedPassword,
    helper_ids: (&[u8; 16], &[u8; 32]),
    novice_ids: (&[u8; 16], &[u8; 32]),
) -> Outcome {
    let (helper, message_a) =
        Handshake::start(Role::Helper, helper_password, helper_ids.0, helper_ids.1);
    let (novice, message_b) =
        Handshake::start(Role::Novice, novice_password, novice_ids.0, novice_ids.1);
    assert_eq!(message_a.len(), PAKE_MESSAGE_LEN);
    assert_eq!(message_b.len(), PAKE_MESSAGE_LEN);
    let (helper_confirmer, helper_mac) = helper
        .receive_pake(&message_b)
        .expect("well-formed PAKE message");
    let (novice_confirmer, novice_mac) = novice
        .receive_pake(&message_a)
        .expect("well-formed PAKE message");
    let novice = novice_confirmer.verify(&helper_mac);
    let helper = novice.is_ok().then(|| helper_confirmer.verify(&novice_mac));
    Outcome { novice, helper }
}

/// Like `exchange`, but the helper verifies even when the novice has refused, to show that
/// both sides fail on their own.
fn both_verify(
    helper_password: &HardenedPassword,
    novice_password: &HardenedPassword,
    helper_ids: (&[u8; 16], &[u8; 32]),
    novice_ids: (&[u8; 16], &[u8; 32]),
) -> (
    Result<SessionSecrets, AuthError>,
    Result<SessionSecrets, AuthError>,
) {
    let (helper, message_a) =
        Handshake::start(Role::Helper, helper_password, helper_ids.0, helper_ids.1);
    let (novice, message_b) =
        Handshake::start(Role::Novice, novice_password, novice_ids.0, novice_ids.1);
    let (helper_confirmer, helper_mac) = helper
        .receive_pake(&message_b)
        .expect("well-formed PAKE message");
    let (novice_confirmer, novice_mac) = novice
        .receive_pake(&message_a)
        .expect("well-formed PAKE message");
    (
        helper_confirmer.verify(&novice_mac),
        novice_confirmer.verify(&helper_mac),
    )
}

#[test]
fn same_password_gives_the_same_safety_code_on_both_sides() {
    let password = hardened("apple-banana-cherry-dog");
    let outcome = exchange(
        &password,
        &password,
        (&INVITATION, &EXPORTER),
        (&INVITATION, &EXPORTER),
    );
    let novice = outcome.novice.unwrap();
    let helper = outcome.helper.unwrap().unwrap();
    let code = novice.safety_code();
    assert_eq!(code, helper.safety_code());
    assert_eq!(code.len(), 7);
    assert_eq!(&code[3..4], " ");
    assert!(
        code.chars()
            .filter(|c| *c != ' ')
            .all(|c| c.is_ascii_digit())
    );
}

#[test]
fn typed_password_matches_generated_one_after_normalization() {
    let generated = generate_password();
    let typed = format!(
        "  {}  ",
        generated.expose().to_uppercase().replace('-', "  ")
    );
    let novice = harden(&generated, &SALT, &HardeningParams::for_tests());
    let helper = harden(
        &Password::parse(&typed).unwrap(),
        &SALT,
        &HardeningParams::for_tests(),
    );
    let outcome = exchange(
        &helper,
        &novice,
        (&INVITATION, &EXPORTER),
        (&INVITATION, &EXPORTER),
    );
    assert!(outcome.novice.is_ok());
    assert!(matches!(outcome.helper, Some(Ok(_))));
}

#[test]
fn safety_codes_differ_between_sessions() {
    let password = hardened("apple-banana-cherry-dog");
    let codes: HashSet<String> = (0..8)
        .map(|_| {
            exchange(
                &password,
                &password,
                (&INVITATION, &EXPORTER),
                (&INVITATION, &EXPORTER),
            )
            .novice
            .unwrap()
            .safety_code()
        })
        .collect();
    assert!(codes.len() > 1, "fresh exchanges must give fresh codes");
}

#[test]
fn wrong_password_fails_on_both_sides() {
    let right = hardened("apple-banana-cherry-dog");
    let wrong = hardened("apple-banana-cherry-cat");
    let outcome = exchange(
        &wrong,
        &right,
        (&INVITATION, &EXPORTER),
        (&INVITATION, &EXPORTER),
    );
    assert_eq!(outcome.novice.unwrap_err(), AuthError::WrongPassword);
    assert!(
        outcome.helper.is_none(),
        "the novice refuses before sending its MAC"
    );

    let (helper, novice) = both_verify(
        &wrong,
        &right,
        (&INVITATION, &EXPORTER),
        (&INVITATION, &EXPORTER),
    );
    assert_eq!(helper.unwrap_err(), AuthError::Rejected);
    assert_eq!(novice.unwrap_err(), AuthError::WrongPassword);
}

#[test]
fn different_exporters_a_splicing_relay_fail() {
    let password = hardened("apple-banana-cherry-dog");
    let other_exporter = [43; 32];
    let (helper, novice) = both_verify(
        &password,
        &password,
        (&INVITATION, &EXPORTER),
        (&INVITATION, &other_exporter),
    );
    assert_eq!(helper.unwrap_err(), AuthError::Rejected);
    assert_eq!(novice.unwrap_err(), AuthError::WrongPassword);
}

#[test]
fn different_invitation_ids_fail() {
    let password = hardened("apple-banana-cherry-dog");
    let other_invitation = [8; 16];
    let (helper, novice) = both_verify(
        &password,
        &password,
        (&INVITATION, &EXPORTER),
        (&other_invitation, &EXPORTER),
    );
    assert_eq!(helper.unwrap_err(), AuthError::Rejected);
    assert_eq!(novice.unwrap_err(), AuthError::WrongPassword);
}

#[test]
fn a_message_from_the_same_role_is_refused() {
    let password = hardened("apple-banana-cherry-dog");
    let (novice, _) = Handshake::start(Role::Novice, &password, &INVITATION, &EXPORTER);
    let (_, other_novice_message) =
        Handshake::start(Role::Novice, &password, &INVITATION, &EXPORTER);
    assert!(matches!(
        novice.receive_pake(&other_novice_message),
        Err(AuthError::MalformedMessage(_))
    ));
}

#[test]
fn malformed_messages_are_errors() {
    let password = hardened("apple-banana-cherry-dog");
    let mut not_a_point = vec![b'A'];
    // y = 2 is not the y-coordinate of any Ed25519 point.
    not_a_point.push(2);
    not_a_point.extend_from_slice(&[0; 31]);
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![b'A'],
        vec![b'A'; PAKE_MESSAGE_LEN - 1],
        vec![b'A'; PAKE_MESSAGE_LEN + 1],
        vec![0xff; 1 << 20],
        not_a_point,
    ];
    for case in cases {
        let (novice, _) = Handshake::start(Role::Novice, &password, &INVITATION, &EXPORTER);
        let error = novice.receive_pake(&case).unwrap_err();
        assert!(matches!(error, AuthError::MalformedMessage(_)), "{error}");
    }
}

proptest! {
    // Each case runs two SPAKE2 handshakes; 96 cases keep the unoptimized test build quick.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arbitrary_peer_messages_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
        helper in any::<bool>(),
        mac in any::<[u8; 32]>(),
    ) {
        let password = HardenedPassword::from_bytes([1; 32]);
        let role = if helper { Role::Helper } else { Role::Novice };
        let (handshake, _) = Handshake::start(role, &password, &INVITATION, &EXPORTER);
        if let Ok((confirmer, _)) = handshake.receive_pake(&bytes) {
            prop_assert!(confirmer.verify(&mac).is_err());
        }
    }

    #[test]
    fn well_sized_peer_messages_never_panic(
        body in any::<[u8; 32]>(),
        side in prop_oneof![Just(b'A'), Just(b'B'), Just(b'S'), any::<u8>()],
    ) {
        let password = HardenedPassword::from_bytes([1; 32]);
        let mut message = vec![side];
        message.extend_from_slice(&body);
        for role in [Role::Helper, Role::Novice] {
            let (handshake, _) = Handshake::start(role, &password, &INVITATION, &EXPORTER);
            let _ = handshake.receive_pake(&message);
        }
    }
}

/// The offline-attack resistance that can be shown at this level: the public transcript (both
/// PAKE messages and the MACs) plus the invitation is not enough to check a password. The
/// only way to compute a confirmation MAC is a handshake, and a handshake carries its own
/// fresh secret scalar, so feeding it recorded messages — even with the right password —
/// does not reproduce the recorded MACs.
#[test]
fn recorded_transcript_cannot_be_replayed_even_with_the_right_password() {
    let password = hardened("apple-banana-cherry-dog");

    // A real exchange that an eavesdropper (who also has the invitation) records.
    let (helper, message_a) = Handshake::start(Role::Helper, &password, &INVITATION, &EXPORTER);
    let (novice, message_b) = Handshake::start(Role::Novice, &password, &INVITATION, &EXPORTER);
    let (helper_confirmer, helper_mac) = helper.receive_pake(&message_b).unwrap();
    let (novice_confirmer, novice_mac) = novice.receive_pake(&message_a).unwrap();
    assert!(novice_confirmer.verify(&helper_mac).is_ok());
    assert!(helper_confirmer.verify(&novice_mac).is_ok());

    // The attacker's best offline move: a fresh handshake with a guess — here even the right
    // password — fed the recorded messages. It must not recognise the recorded MACs, or
    // guesses could be tested against the recording offline.
    for guess in ["apple-banana-cherry-dog", "apple-banana-cherry-cat"] {
        let guess = hardened(guess);
        let (as_novice, _) = Handshake::start(Role::Novice, &guess, &INVITATION, &EXPORTER);
        let (confirmer, _) = as_novice.receive_pake(&message_a).unwrap();
        assert_eq!(
            confirmer.verify(&helper_mac).unwrap_err(),
            AuthError::WrongPassword
        );

        let (as_helper, _) = Handshake::start(Role::Helper, &guess, &INVITATION, &EXPORTER);
        let (confirmer, mac) = as_helper.receive_pake(&message_b).unwrap();
        assert_ne!(
            mac, helper_mac,
            "a replayed handshake reproduces no recorded MAC"
        );
        assert_eq!(
            confirmer.verify(&novice_mac).unwrap_err(),
            AuthError::Rejected
        );
    }
}

#[test]
fn normalization_table() {
    let table = [
        ("apple-banana-cherry-dog", "apple-banana-cherry-dog"),
        ("Apple  Banana-cherry  DOG", "apple-banana-cherry-dog"),
        ("  apple banana cherry dog\n", "apple-banana-cherry-dog"),
        ("apple__banana - cherry\tdog", "apple-banana-cherry-dog"),
        ("-apple-banana-cherry-dog-", "apple-banana-cherry-dog"),
        ("APPLE_BANANA_CHERRY_DOG\r\n", "apple-banana-cherry-dog"),
        ("Ünïcode Wörds", "ünïcode-wörds"),
        ("single", "single"),
    ];
    for (input, expected) in table {
        assert_eq!(
            Password::parse(input).unwrap().expose(),
            expected,
            "{input:?}"
        );
    }
    for empty in ["", "   ", "-_- \n"] {
        assert_eq!(
            Password::parse(empty).unwrap_err(),
            AuthError::EmptyPassword
        );
    }
    assert!(matches!(
        Password::parse(&"a".repeat(10_000)),
        Err(AuthError::PasswordTooLong { .. })
    ));
}

#[test]
fn debug_does_not_show_secrets() {
    let password = Password::parse("apple-banana-cherry-dog").unwrap();
    assert!(!format!("{password:?}").contains("apple"));
    let hardened = HardenedPassword::from_bytes([0xab; 32]);
    let shown = format!("{hardened:?}");
    assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, "));
    assert!(shown.contains("redacted"));
}

#[test]
fn generated_passwords_are_four_listed_words_and_differ() {
    let list: HashSet<&str> = word_list().iter().copied().collect();
    assert_eq!(list.len(), 2048);
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let password = generate_password();
        let words: Vec<&str> = password.expose().split('-').collect();
        assert_eq!(words.len(), 4, "{:?}", password.expose());
        assert!(words.iter().all(|word| list.contains(word)));
        assert_eq!(Password::parse(password.expose()).unwrap(), password);
        seen.insert(password.expose().to_owned());
    }
    assert_eq!(seen.len(), 50);
}

#[test]
fn hardening_is_deterministic_and_depends_on_salt_and_password() {
    let params = HardeningParams::for_tests();
    let password = Password::parse("apple-banana-cherry-dog").unwrap();
    let first = harden(&password, &SALT, &params);
    assert_eq!(first, harden(&password, &SALT, &params));
    assert_ne!(first, harden(&password, &PakeSalt([10; 16]), &params));
    let other = Password::parse("apple-banana-cherry-cat").unwrap();
    assert_ne!(first, harden(&other, &SALT, &params));
    assert_eq!(HardenedPassword::from_bytes(*first.expose()), first);
}

#[test]
fn hardening_params_default_to_owasp_minimum() {
    let params = HardeningParams::default();
    assert_eq!(params.memory_kib(), 19 * 1024);
    assert_eq!(params.iterations(), 2);
    assert_eq!(params.parallelism(), 1);
    assert!(matches!(
        HardeningParams::new(1, 1, 1),
        Err(AuthError::InvalidHardeningParams(_))
    ));
    let custom = HardeningParams::new(64, 1, 1).unwrap();
    assert_eq!(
        (
            custom.memory_kib(),
            custom.iterations(),
            custom.parallelism()
        ),
        (64, 1, 1)
    );
}

#[test]
fn default_hardening_runs() {
    let params = HardeningParams::default();
    let password = Password::parse("apple-banana-cherry-dog").unwrap();
    assert_eq!(
        harden(&password, &SALT, &params),
        harden(&password, &SALT, &params)
    );
}

#[test]
fn attempt_limiter_closes_after_five_failures() {
    let mut limiter = AttemptLimiter::default();
    assert_eq!(DEFAULT_MAX_ATTEMPTS, 5);
    assert!(limiter.check().is_ok());
    for left in (1..5).rev() {
        assert_eq!(
            limiter.record_failure(),
            AttemptOutcome {
                attempts_left: left,
                closed: false
            }
        );
        assert!(!limiter.is_closed());
    }
    assert_eq!(
        limiter.record_failure(),
        AttemptOutcome {
            attempts_left: 0,
            closed: true
        }
    );
    assert!(limiter.is_closed());
    assert_eq!(limiter.check().unwrap_err(), AuthError::TooManyAttempts);
    // Closed for good: more failures change nothing.
    assert_eq!(
        limiter.record_failure(),
        AttemptOutcome {
            attempts_left: 0,
            closed: true
        }
    );
    assert_eq!(limiter.failures(), 5);
}

#[test]
fn attempt_limiter_restores_and_handles_zero() {
    let mut limiter = AttemptLimiter::restore(5, 4);
    assert_eq!(limiter.attempts_left(), 1);
    assert!(limiter.record_failure().closed);
    assert!(AttemptLimiter::new(0).is_closed());
    assert_eq!(AttemptLimiter::restore(3, 99).failures(), 3);
}

#[test]
fn error_messages_say_what_to_do() {
    assert_eq!(
        AuthError::WrongPassword.to_string(),
        "the password does not match; check it with the person who sent the invitation"
    );
    for error in [
        AuthError::EmptyPassword,
        AuthError::Rejected,
        AuthError::TooManyAttempts,
        AuthError::MalformedMessage("it has the wrong length"),
    ] {
        let message = error.to_string();
        assert!(
            !message.contains('\n') && message.contains(';'),
            "{message}"
        );
    }
}
