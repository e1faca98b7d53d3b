//! The events a session log records, and their flat form: an event name and an ordered
//! list of named text fields, which is what the XML holds and what the hash chain covers.

/// Defines [`LogEvent`] and the mapping between each variant and its flat form, so that the
/// variant list, the event names and the field names cannot drift apart.
macro_rules! log_events {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal $({
            $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)?
        })?
    ),* $(,)?) => {
        /// One thing that happened in a session, as recorded in the session log.
        ///
        /// These are the events of Windows Remote Assistance's log: connection, consent,
        /// control, chat, files, pause and bandwidth. What the helper does on the screen is
        /// never recorded.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum LogEvent {
            $( $(#[$doc])* $variant $({ $( $(#[$fdoc])* $field: $ty ),* })? ),*
        }

        impl LogEvent {
            /// The event's name as written in the log's `event` attribute, e.g. `chat`.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $name ),*
                }
            }

            /// The event's fields in their fixed order, as (element name, text).
            pub(crate) fn fields(&self) -> Vec<(&'static str, String)> {
                match self {
                    $( Self::$variant $({ $($field),* })? => vec![
                        $($( (stringify!($field), $field.to_string()) ),*)?
                    ] ),*
                }
            }

            /// Rebuilds an event from its name and fields, in any order. Unknown or
            /// repeated fields, missing fields and unreadable numbers are refused.
            pub(crate) fn from_fields(name: &str, fields: &[(String, String)]) -> Result<Self, String> {
                let mut fields = Fields::new(fields);
                let event = match name {
                    $( $name => Self::$variant $({ $( $field: fields.take(stringify!($field))? ),* })?, )*
                    _ => return Err(format!("unknown event {:?}", super::printable(name))),
                };
                fields.finish()?;
                Ok(event)
            }
        }
    };
}

log_events! {
    /// The novice opened an invitation (or the helper opened one received).
    InvitationOpened = "invitation_opened" {
        /// The invitation's id.
        id: String,
    },
    /// A connection attempt arrived from this address.
    IncomingAddress = "incoming_address" {
        /// The peer's address, as text (e.g. `203.0.113.7:4433`).
        addr: String,
    },
    /// The connection with the peer is established (password accepted).
    ConnectionEstablished = "connection_established" {
        /// The peer's display name.
        peer_name: String,
    },
    /// A wrong password was given.
    WrongPassword = "wrong_password" {
        /// How many attempts the invitation still allows.
        attempts_left: u32,
    },
    /// The novice let the helper see the screen.
    ConsentGranted = "consent_granted",
    /// The novice refused to let the helper see the screen.
    ConsentDenied = "consent_denied",
    /// The helper asked to share control.
    ControlRequested = "control_requested",
    /// The novice agreed to share control.
    ControlGranted = "control_granted",
    /// The novice refused to share control.
    ControlDenied = "control_denied",
    /// Control sharing started.
    ControlStarted = "control_started",
    /// Control sharing ended.
    ControlEnded = "control_ended" {
        /// Why, e.g. `esc pressed`, `helper gave up control`.
        reason: String,
    },
    /// Input from the helper arrived while the helper had no control and was dropped.
    InputRefused = "input_refused" {
        /// How many input events were dropped.
        count: u64,
    },
    /// A chat message.
    Chat = "chat" {
        /// Who wrote it (a role or display name).
        from: String,
        /// The message, exactly as sent.
        text: String,
    },
    /// A file was offered.
    FileOffered = "file_offered" {
        /// Who offered it.
        from: String,
        /// The file's name.
        name: String,
        /// The file's size in bytes.
        size: u64,
    },
    /// The receiver accepted an offered file.
    FileAccepted = "file_accepted" {
        /// The file's name.
        name: String,
    },
    /// The receiver declined an offered file.
    FileDeclined = "file_declined" {
        /// The file's name.
        name: String,
    },
    /// A file was received completely and verified.
    FileReceived = "file_received" {
        /// The file's name as offered.
        name: String,
        /// Where it was saved.
        path: String,
        /// Its BLAKE3 hash, in hex.
        hash: String,
    },
    /// A file was sent completely.
    FileSent = "file_sent" {
        /// The file's name.
        name: String,
    },
    /// A file transfer failed.
    FileFailed = "file_failed" {
        /// The file's name.
        name: String,
        /// Why it failed.
        reason: String,
    },
    /// The novice paused the session.
    Paused = "paused",
    /// The novice resumed the session.
    Resumed = "resumed",
    /// The novice changed the bandwidth setting.
    BandwidthChanged = "bandwidth_changed" {
        /// The new preset's name.
        preset: String,
    },
    /// Something went wrong.
    Error = "error" {
        /// What went wrong.
        message: String,
    },
    /// The connection ended.
    ConnectionEnded = "connection_ended" {
        /// Why, e.g. `helper disconnected`.
        reason: String,
    },
    /// The invitation was closed and accepts no more connections.
    InvitationClosed = "invitation_closed" {
        /// Why, e.g. `too many wrong passwords`, `expired`.
        reason: String,
    },
}

/// The fields of one entry being turned back into an event.
struct Fields<'a> {
    fields: &'a [(String, String)],
    taken: Vec<bool>,
}

impl<'a> Fields<'a> {
    fn new(fields: &'a [(String, String)]) -> Self {
        Self {
            fields,
            taken: vec![false; fields.len()],
        }
    }

    fn take<T: std::str::FromStr>(&mut self, name: &str) -> Result<T, String> {
        let mut found = None;
        for (i, (n, value)) in self.fields.iter().enumerate() {
            if n == name {
                if found.is_some() {
                    return Err(format!("field <{name}> appears twice"));
                }
                found = Some((i, value));
            }
        }
        let (i, value) = found.ok_or_else(|| format!("field <{name}> is missing"))?;
        if let Some(t) = self.taken.get_mut(i) {
            *t = true;
        }
        value
            .parse()
            .map_err(|_| format!("field <{name}> is not a valid number"))
    }

    fn finish(self) -> Result<(), String> {
        match self
            .fields
            .iter()
            .zip(&self.taken)
            .find(|(_, taken)| !**taken)
        {
            Some(((name, _), _)) => Err(format!("unexpected field <{}>", super::printable(name))),
            None => Ok(()),
        }
    }
}
