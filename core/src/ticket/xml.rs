//! The XML document form of an invitation (a `.lifeline` file), see `docs/invitation.md`.
//!
//! Reading is strict: the root must be `<invitation version="1">`, document type
//! declarations are refused (so no entity can ever be expanded), unknown and repeated
//! elements are refused, and every field is checked before the signature is verified over
//! the canonical binary encoding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};

use super::model::{format_time, parse_time};
use super::{Candidate, FORMAT_VERSION, Invitation, InvitationBody, TicketError};

/// The XML namespace of the invitation document.
const NAMESPACE: &str = "urn:lifeline:invitation";
const ROOT: &str = "invitation";

#[derive(Serialize, Deserialize)]
#[serde(rename = "invitation", deny_unknown_fields)]
struct XmlInvitation {
    #[serde(rename = "@xmlns", skip_serializing_if = "Option::is_none")]
    xmlns: Option<String>,
    #[serde(rename = "@version")]
    version: Option<String>,
    id: Option<String>,
    created: Option<String>,
    expires: Option<String>,
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates: Option<XmlCandidates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<String>,
    fingerprint: Option<String>,
    salt: Option<String>,
    signature: Option<XmlSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct XmlCandidates {
    #[serde(rename = "candidate", default)]
    items: Vec<XmlCandidate>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct XmlCandidate {
    #[serde(rename = "@kind")]
    kind: Option<String>,
    #[serde(rename = "@addr")]
    addr: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct XmlSignature {
    #[serde(rename = "@key")]
    key: Option<String>,
    #[serde(rename = "$text")]
    value: Option<String>,
}

pub(super) fn encode(invitation: &Invitation) -> String {
    let body = &invitation.body;
    let document = XmlInvitation {
        xmlns: Some(NAMESPACE.to_owned()),
        version: Some(FORMAT_VERSION.to_string()),
        id: Some(body.id.to_string()),
        created: Some(format_time(body.created)),
        expires: Some(format_time(body.expires)),
        name: Some(body.name.clone()),
        candidates: (!body.candidates.is_empty()).then(|| XmlCandidates {
            items: body
                .candidates
                .iter()
                .map(|c| XmlCandidate {
                    kind: Some(c.kind.to_string()),
                    addr: Some(c.addr.to_string()),
                })
                .collect(),
        }),
        server: body.server.as_ref().map(ToString::to_string),
        fingerprint: Some(body.fingerprint.to_string()),
        salt: Some(URL_SAFE_NO_PAD.encode(body.salt.0)),
        signature: Some(XmlSignature {
            key: Some(URL_SAFE_NO_PAD.encode(invitation.public_key.as_bytes())),
            value: Some(URL_SAFE_NO_PAD.encode(invitation.signature.to_bytes())),
        }),
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut serializer = quick_xml::se::Serializer::new(&mut out);
    serializer.indent(' ', 2);
    // Serializing plain strings into a String cannot fail.
    if let Err(error) = document.serialize(serializer) {
        tracing::error!(%error, "serializing an invitation failed");
    }
    out.push('\n');
    out
}

pub(super) fn decode(text: &str) -> Result<Invitation, TicketError> {
    check_structure(text)?;
    let document: XmlInvitation = quick_xml::de::from_str(text).map_err(|e| malformed(&e))?;
    if document.xmlns.as_deref().is_some_and(|ns| ns != NAMESPACE) {
        return Err(TicketError::Malformed(format!(
            "the XML namespace is not {NAMESPACE}"
        )));
    }
    let required = |value: Option<String>, field| value.ok_or(TicketError::MissingField(field));
    let candidates = document
        .candidates
        .map(|c| c.items)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            Ok(Candidate {
                kind: required(c.kind, "candidate kind")?.parse()?,
                addr: required(c.addr, "candidate address")?
                    .parse()
                    .map_err(|_| {
                        TicketError::invalid("candidate address", "expected address:port")
                    })?,
            })
        })
        .collect::<Result<Vec<_>, TicketError>>()?;
    let signature = document
        .signature
        .ok_or(TicketError::MissingField("signature"))?;
    let body = InvitationBody {
        id: required(document.id, "id")?.parse()?,
        created: parse_time("created", &required(document.created, "created")?)?,
        expires: parse_time("expires", &required(document.expires, "expires")?)?,
        name: required(document.name, "name")?,
        candidates,
        server: document.server.map(|s| s.parse()).transpose()?,
        fingerprint: required(document.fingerprint, "fingerprint")?.parse()?,
        salt: super::PakeSalt(decode_b64("salt", &required(document.salt, "salt")?)?),
    };
    let public_key = VerifyingKey::from_bytes(&decode_b64(
        "signature key",
        &required(signature.key, "signature key")?,
    )?)
    .map_err(|_| TicketError::invalid("signature key", "not an Ed25519 public key"))?;
    let signature = Signature::from_bytes(&decode_b64(
        "signature",
        &required(signature.value, "signature")?,
    )?);
    Invitation::verify(body, public_key, signature)
}

/// Walks the whole document before serde sees it: it must be well-formed, have no
/// document type declaration (so no entity can ever be expanded) and no processing
/// instruction (the serde reader mishandles one inside text), and its root must be
/// `<invitation>` with a version this code understands.
fn check_structure(text: &str) -> Result<(), TicketError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut root_seen = false;
    loop {
        match reader.read_event().map_err(|e| malformed(&e))? {
            Event::DocType(_) => {
                return Err(TicketError::Malformed(
                    "document type declarations are not allowed".to_owned(),
                ));
            }
            Event::PI(_) => {
                return Err(TicketError::Malformed(
                    "processing instructions are not allowed".to_owned(),
                ));
            }
            Event::Start(element) | Event::Empty(element) if !root_seen => {
                root_seen = true;
                check_root(&element)?;
            }
            Event::Eof if root_seen => return Ok(()),
            Event::Eof => {
                return Err(TicketError::Malformed(
                    "the document has no root element".to_owned(),
                ));
            }
            _ => {}
        }
    }
}

fn check_root(root: &quick_xml::events::BytesStart<'_>) -> Result<(), TicketError> {
    if root.name().as_ref() != ROOT.as_bytes() {
        return Err(TicketError::Malformed(format!(
            "the root element is <{}>, not <{ROOT}>",
            shorten(&String::from_utf8_lossy(root.name().as_ref()))
        )));
    }
    let version = root
        .try_get_attribute("version")
        .map_err(|e| malformed(&e))?
        .ok_or(TicketError::MissingField("version"))?;
    let version = String::from_utf8_lossy(&version.value).into_owned();
    if version != FORMAT_VERSION.to_string() {
        return Err(TicketError::UnknownVersion(shorten(&version)));
    }
    Ok(())
}

fn decode_b64<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], TicketError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or_else(|| TicketError::invalid(field, format!("expected {N} bytes in base64url")))
}

fn malformed(error: &dyn std::fmt::Display) -> TicketError {
    let message = error.to_string().replace(['\n', '\r'], " ");
    TicketError::Malformed(format!("XML error: {}", shorten(&message)))
}

/// Keeps echoed untrusted text short enough for a one-line error.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}
