//! Invitations: XML and link round trips, signatures, expiry and hostile input.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ed25519_dalek::SigningKey;
use lifeline_core::ticket::{
    Candidate, CandidateKind, Fingerprint, Invitation, InvitationBody, InvitationId, MAX_INPUT_LEN,
    PakeSalt, TicketError,
};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
}

fn body(candidates: Vec<Candidate>, server: Option<&str>) -> InvitationBody {
    InvitationBody::new(
        "Grandma Rose".to_owned(),
        candidates,
        server.map(|s| s.parse().unwrap()),
        Fingerprint([0xab; 32]),
        now(),
        Duration::hours(6),
    )
    .unwrap()
}

fn candidate(kind: CandidateKind, addr: &str) -> Candidate {
    Candidate {
        kind,
        addr: addr.parse().unwrap(),
    }
}

fn four_candidates() -> Vec<Candidate> {
    vec![
        candidate(CandidateKind::Host, "192.168.1.20:50123"),
        candidate(CandidateKind::Host, "10.0.0.7:50123"),
        candidate(CandidateKind::Reflexive, "203.0.113.9:61000"),
        candidate(CandidateKind::Mapped, "203.0.113.9:50123"),
    ]
}

const SERVER: &str = "https://lifeline.example.org/#pin=sha256:\
0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn sample() -> Invitation {
    Invitation::sign(body(four_candidates(), Some(SERVER)), &key()).unwrap()
}

#[test]
fn xml_and_link_round_trip() {
    let invitation = sample();
    let xml = invitation.to_xml();
    assert!(xml.starts_with("<?xml"));
    assert_eq!(
        Invitation::parse(xml.as_bytes(), now()).unwrap(),
        invitation
    );
    let link = invitation.to_link();
    assert!(link.starts_with("lifeline:"));
    assert_eq!(
        Invitation::parse(link.as_bytes(), now()).unwrap(),
        invitation
    );
}

#[test]
fn link_with_four_candidates_and_a_server_fits_400_bytes() {
    let link = sample().to_link();
    assert!(link.len() <= 400, "link is {} bytes", link.len());
}

#[test]
fn xml_holds_no_password_material_beyond_the_public_salt() {
    let xml = sample().to_xml();
    for forbidden in ["password", "verifier", "secret", "private"] {
        assert!(
            !xml.to_lowercase().contains(forbidden),
            "{forbidden} in {xml}"
        );
    }
}

/// Signs `body`, then swaps in `changed` under the old signature, as an attacker editing
/// the file would.
fn tampered_xml(original: &Invitation, changed: InvitationBody) -> String {
    let forged = Invitation::sign(changed, &SigningKey::from_bytes(&[9; 32])).unwrap();
    let forged_xml = forged.to_xml();
    let original_xml = original.to_xml();
    let signature = |xml: &str| {
        let start = xml.find("<signature").unwrap();
        let end = xml.find("</signature>").unwrap() + "</signature>".len();
        xml[start..end].to_owned()
    };
    forged_xml.replace(&signature(&forged_xml), &signature(&original_xml))
}

#[test]
fn changing_any_field_breaks_the_signature() {
    let original = sample();
    let base = original.body().clone();
    let mut edits: Vec<(&str, InvitationBody)> = Vec::new();
    let mut edit = |what, f: &dyn Fn(&mut InvitationBody)| {
        let mut b = base.clone();
        f(&mut b);
        edits.push((what, b));
    };
    edit("id", &|b| b.id = InvitationId([1; 16]));
    edit("created", &|b| b.created -= Duration::seconds(1));
    edit("expires", &|b| b.expires += Duration::days(30));
    edit("name", &|b| b.name = "Bank Support".to_owned());
    edit("candidate address", &|b| {
        b.candidates[0].addr = "198.51.100.66:50123".parse().unwrap();
    });
    edit("candidate port", &|b| b.candidates[1].addr.set_port(1));
    edit("candidate kind", &|b| {
        b.candidates[2].kind = CandidateKind::Host
    });
    edit("candidate removed", &|b| {
        b.candidates.pop();
    });
    edit("candidate added", &|b| {
        b.candidates
            .push(candidate(CandidateKind::Host, "198.51.100.66:1"));
    });
    edit("server", &|b| {
        b.server = Some("https://evil.example/".parse().unwrap());
    });
    edit("server removed", &|b| b.server = None);
    edit("fingerprint", &|b| b.fingerprint.0[31] ^= 1);
    edit("salt", &|b| b.salt = PakeSalt([0; 16]));
    for (what, changed) in edits {
        let xml = tampered_xml(&original, changed);
        assert_eq!(
            Invitation::parse(xml.as_bytes(), now()),
            Err(TicketError::BadSignature),
            "edit of {what} was not detected"
        );
    }
}

#[test]
fn a_key_swap_is_refused() {
    // Replacing only the public key leaves a signature that the new key did not make.
    let xml = sample().to_xml();
    let other = base64_key(&SigningKey::from_bytes(&[9; 32]));
    let start = xml.find("key=\"").unwrap() + 5;
    let end = start + xml[start..].find('"').unwrap();
    let swapped = format!("{}{other}{}", &xml[..start], &xml[end..]);
    assert_eq!(
        Invitation::parse(swapped.as_bytes(), now()),
        Err(TicketError::BadSignature)
    );
}

fn base64_key(key: &SigningKey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())
}

#[test]
fn expiry_and_clock_skew() {
    let invitation = sample();
    let link = invitation.to_link();
    let expires = invitation.body().expires;
    assert!(Invitation::parse(link.as_bytes(), expires - Duration::seconds(1)).is_ok());
    assert!(matches!(
        Invitation::parse(link.as_bytes(), expires),
        Err(TicketError::Expired { .. })
    ));
    assert!(matches!(
        Invitation::parse(link.as_bytes(), now() - Duration::hours(1)),
        Err(TicketError::NotYetValid { .. })
    ));
    // A few minutes of clock difference are tolerated.
    assert!(Invitation::parse(link.as_bytes(), now() - Duration::minutes(4)).is_ok());
    assert_eq!(
        Invitation::parse_ignoring_time(link.as_bytes()).unwrap(),
        invitation
    );
}

#[test]
fn lifetime_is_at_most_99_days() {
    let make = |lifetime| {
        InvitationBody::new(
            "Rose".to_owned(),
            vec![],
            None,
            Fingerprint([1; 32]),
            now(),
            lifetime,
        )
    };
    assert!(make(Duration::days(99)).is_ok());
    assert!(matches!(
        make(Duration::days(99) + Duration::seconds(1)),
        Err(TicketError::InvalidField {
            field: "expires",
            ..
        })
    ));
    assert!(make(Duration::ZERO).is_err());
}

/// Whether an error is the one a case expects.
type Expectation = fn(&TicketError) -> bool;

#[test]
fn hostile_and_broken_input_gets_typed_errors() {
    let xml = sample().to_xml();
    let link = sample().to_link();
    let cases: Vec<(&str, Vec<u8>, Expectation)> = vec![
        ("empty", vec![], |e| *e == TicketError::Empty),
        ("blank", b"  \n\t ".to_vec(), |e| *e == TicketError::Empty),
        ("binary", vec![0xff, 0xfe, 0x00, 0x81], |e| {
            matches!(e, TicketError::Malformed(_))
        }),
        ("oversized", vec![b' '; MAX_INPUT_LEN + 1], |e| {
            matches!(e, TicketError::TooLarge { .. })
        }),
        ("plain text", b"hello".to_vec(), |e| {
            matches!(e, TicketError::Malformed(_))
        }),
        (
            "truncated xml",
            xml.as_bytes()[..xml.len() / 2].to_vec(),
            |e| matches!(e, TicketError::Malformed(_)),
        ),
        (
            "truncated link",
            link.as_bytes()[..link.len() - 10].to_vec(),
            |e| matches!(e, TicketError::Malformed(_)),
        ),
        ("link with junk", format!("{link}!!").into_bytes(), |e| {
            matches!(e, TicketError::Malformed(_))
        }),
        (
            "other root",
            b"<?xml version=\"1.0\"?><html version=\"1\"/>".to_vec(),
            |e| matches!(e, TicketError::Malformed(_)),
        ),
        (
            "newer version",
            xml.replacen("version=\"1\"", "version=\"2\"", 2)
                .into_bytes(),
            |e| *e == TicketError::UnknownVersion("2".to_owned()),
        ),
        ("no version", b"<invitation/>".to_vec(), |e| {
            *e == TicketError::MissingField("version")
        }),
        (
            "missing fingerprint",
            strip_element(&xml, "fingerprint").into_bytes(),
            |e| *e == TicketError::MissingField("fingerprint"),
        ),
        (
            "missing signature",
            strip_element(&xml, "signature").into_bytes(),
            |e| *e == TicketError::MissingField("signature"),
        ),
        (
            "unknown element",
            xml.replace("<salt>", "<password>hunter2</password><salt>")
                .into_bytes(),
            |e| matches!(e, TicketError::Malformed(_)),
        ),
        (
            "duplicate element",
            xml.replace("<salt>", "<name>Bank</name><salt>")
                .into_bytes(),
            |e| matches!(e, TicketError::Malformed(_)),
        ),
        (
            "entity expansion",
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE invitation [<!ENTITY a \"aaaaaaaaaa\">\
                 <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
                xml.split_once("?>")
                    .unwrap()
                    .1
                    .replace("Grandma Rose", "&b;")
            )
            .into_bytes(),
            |e| matches!(e, TicketError::Malformed(_)),
        ),
        (
            "undeclared entity",
            xml.replace("Grandma Rose", "&b;").into_bytes(),
            |e| matches!(e, TicketError::Malformed(_)),
        ),
        (
            "bad time",
            xml.replacen("Z</created>", "+01:00</created>", 1)
                .into_bytes(),
            |e| {
                matches!(
                    e,
                    TicketError::InvalidField {
                        field: "created",
                        ..
                    }
                )
            },
        ),
        (
            "bad address",
            xml.replace("192.168.1.20:50123", "192.168.1.300:1")
                .into_bytes(),
            |e| {
                matches!(
                    e,
                    TicketError::InvalidField {
                        field: "candidate address",
                        ..
                    }
                )
            },
        ),
    ];
    for (what, input, expected) in cases {
        let error = Invitation::parse(&input, now()).expect_err(what);
        assert!(expected(&error), "{what}: unexpected {error:?}");
        let message = error.to_string();
        assert!(
            !message.contains('\n'),
            "{what}: multi-line message {message:?}"
        );
    }
}

fn strip_element(xml: &str, name: &str) -> String {
    let start = xml.find(&format!("<{name}")).unwrap();
    let close = format!("</{name}>");
    let end = xml.find(&close).unwrap() + close.len();
    format!("{}{}", &xml[..start], &xml[end..])
}

fn arb_candidate() -> impl Strategy<Value = Candidate> {
    let ip = prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
    .prop_filter("unicast", |ip| !ip.is_unspecified() && !ip.is_multicast());
    (
        prop::sample::select(CandidateKind::ALL.to_vec()),
        ip,
        1u16..,
    )
        .prop_map(|(kind, ip, port)| Candidate {
            kind,
            addr: SocketAddr::new(ip, port),
        })
}

fn arb_body() -> impl Strategy<Value = InvitationBody> {
    let name = "[^\\p{Cc}]{1,20}".prop_filter("trimmed, non-empty", |s: &String| {
        !s.trim().is_empty() && s.trim() == s && s.len() <= 64
    });
    let server = prop_oneof![
        Just(None),
        "[a-z0-9.-]{1,30}".prop_map(|h| Some(format!("https://{h}/"))),
        ("[a-z0-9.-]{1,30}", any::<[u8; 32]>())
            .prop_map(|(h, pin)| Some(format!("https://{h}:443/#pin={}", Fingerprint(pin)))),
    ];
    (
        any::<[u8; 16]>(),
        0i64..4_000_000_000,
        1i64..=99 * 86_400,
        name,
        prop::collection::vec(arb_candidate(), 0..=16),
        server,
        any::<[u8; 32]>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(id, created, lifetime, name, candidates, server, fingerprint, salt)| {
                let created = OffsetDateTime::from_unix_timestamp(created).unwrap();
                InvitationBody {
                    id: InvitationId(id),
                    created,
                    expires: created + Duration::seconds(lifetime),
                    name,
                    candidates,
                    server: server.map(|s| s.parse().unwrap()),
                    fingerprint: Fingerprint(fingerprint),
                    salt: PakeSalt(salt),
                }
            },
        )
}

proptest! {
    #[test]
    fn any_invitation_round_trips(body in arb_body(), seed in any::<[u8; 32]>()) {
        let invitation = Invitation::sign(body, &SigningKey::from_bytes(&seed)).unwrap();
        let xml = invitation.to_xml();
        prop_assert_eq!(&Invitation::parse_ignoring_time(xml.as_bytes()).unwrap(), &invitation);
        let link = invitation.to_link();
        prop_assert_eq!(&Invitation::parse_ignoring_time(link.as_bytes()).unwrap(), &invitation);
    }

    /// Any one-byte change of a link either is refused or (never, in practice) decodes to
    /// the very same invitation: nothing else can pass the signature.
    #[test]
    fn no_byte_change_yields_another_valid_invitation(
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
        xml in any::<bool>(),
    ) {
        let invitation = sample();
        let text = if xml { invitation.to_xml() } else { invitation.to_link() };
        let mut bytes = text.into_bytes();
        let at = at.index(bytes.len());
        bytes[at] = value;
        if let Ok(parsed) = Invitation::parse_ignoring_time(&bytes) {
            prop_assert_eq!(parsed, invitation);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Invitation::parse(&bytes, now());
        let mut link = b"lifeline:".to_vec();
        link.extend_from_slice(&bytes);
        let _ = Invitation::parse(&link, now());
    }
}
