//! Where records live: the OS keyring, or memory for tests.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

use super::StoreError;

/// The keyring service name under which Lifeline keeps its entries.
pub const SERVICE: &str = "lifeline";

/// A store of secret text values keyed by a user name, as OS keyrings offer.
pub trait SecretBackend {
    /// The value kept under `user`, or `None` if there is none.
    fn get(&self, user: &str) -> Result<Option<Zeroizing<String>>, StoreError>;
    /// Keeps `value` under `user`, replacing any value there.
    fn set(&self, user: &str, value: &str) -> Result<(), StoreError>;
    /// Removes the value under `user`; `false` if there was none.
    fn delete(&self, user: &str) -> Result<bool, StoreError>;
}

/// The OS keyring through the `keyring` crate: the Secret Service (e.g. gnome-keyring) on
/// Linux, the Keychain on macOS, the Credential Manager on Windows.
#[derive(Debug, Clone)]
pub struct OsKeyring {
    service: String,
}

impl OsKeyring {
    /// Entries under the service [`SERVICE`].
    pub fn new() -> Self {
        Self::with_service(SERVICE)
    }

    /// Entries under another service name (to keep separate sets apart).
    pub fn with_service(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    fn entry(&self, user: &str) -> Result<keyring::Entry, StoreError> {
        // Elsewhere the keyring crate would fall back to a mock store that forgets everything.
        if cfg!(not(any(target_os = "linux", target_os = "macos", windows))) {
            return Err(StoreError::Unavailable(
                "this platform has no keyring Lifeline supports".to_owned(),
            ));
        }
        keyring::Entry::new(&self.service, user).map_err(map_error)
    }
}

impl Default for OsKeyring {
    fn default() -> Self {
        Self::new()
    }
}

/// Sorts the keyring crate's errors into "no keyring at all" and "the keyring failed".
fn map_error(error: keyring::Error) -> StoreError {
    let text = error.to_string().replace('\n', " ");
    match error {
        keyring::Error::PlatformFailure(_) => StoreError::Unavailable(text),
        // A locked keyring: `Keyring` says to unlock it.
        _ => StoreError::Keyring(text),
    }
}

impl SecretBackend for OsKeyring {
    fn get(&self, user: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        match self.entry(user)?.get_password() {
            Ok(value) => Ok(Some(Zeroizing::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(keyring::Error::BadEncoding(bytes)) => {
                // Zeroize what we will not use; the caller sees a record that is not text.
                drop(Zeroizing::new(bytes));
                Ok(Some(Zeroizing::new(String::from("\u{fffd}"))))
            }
            Err(error) => Err(map_error(error)),
        }
    }

    fn set(&self, user: &str, value: &str) -> Result<(), StoreError> {
        self.entry(user)?.set_password(value).map_err(map_error)
    }

    fn delete(&self, user: &str) -> Result<bool, StoreError> {
        match self.entry(user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(error) => Err(map_error(error)),
        }
    }
}

/// Values kept in this process's memory only: for tests, never for real invitations.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    values: Mutex<HashMap<String, Zeroizing<String>>>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SecretBackend for MemoryBackend {
    fn get(&self, user: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        let values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(values.get(user).cloned())
    }

    fn set(&self, user: &str, value: &str) -> Result<(), StoreError> {
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        values.insert(user.to_owned(), Zeroizing::new(value.to_owned()));
        Ok(())
    }

    fn delete(&self, user: &str) -> Result<bool, StoreError> {
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(values.remove(user).is_some())
    }
}

impl<B: SecretBackend + ?Sized> SecretBackend for &B {
    fn get(&self, user: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        (**self).get(user)
    }
    fn set(&self, user: &str, value: &str) -> Result<(), StoreError> {
        (**self).set(user, value)
    }
    fn delete(&self, user: &str) -> Result<bool, StoreError> {
        (**self).delete(user)
    }
}
