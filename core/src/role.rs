//! The two sides of a session.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which side of a session someone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// The person who asked for help, made the invitation and shares their desktop.
    Novice,
    /// The person who helps.
    Helper,
}

impl Role {
    /// The role's name in lowercase: `novice` or `helper`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Novice => "novice",
            Self::Helper => "helper",
        }
    }

    /// The other role.
    pub fn peer(self) -> Self {
        match self {
            Self::Novice => Self::Helper,
            Self::Helper => Self::Novice,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name other than `novice` or `helper`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role; expected novice or helper")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        match s {
            "novice" => Ok(Self::Novice),
            "helper" => Ok(Self::Helper),
            _ => Err(UnknownRole),
        }
    }
}
