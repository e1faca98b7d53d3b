//! The password the novice reads to the helper: generation and lenient normalization.

use std::fmt;

use bip39::Language;
use rand::Rng;
use zeroize::Zeroizing;

use super::AuthError;

/// Words in a generated password (4 words of 11 bits each: 44 bits).
pub const PASSWORD_WORDS: usize = 4;
/// The longest password accepted, in characters after normalization.
pub const MAX_PASSWORD_LEN: usize = 256;

/// The word list generated passwords are drawn from: the BIP-39 English list (2048 words,
/// each unique in its first four letters, chosen to be easy to read and hear).
pub fn word_list() -> &'static [&'static str; 2048] {
    Language::English.word_list()
}

/// A password in normal form: lowercase words joined by single hyphens.
///
/// The text is wiped from memory when the value is dropped, and `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Normalizes what a person typed (or what a `--password-file` holds): trims it,
    /// lowercases it, and turns every run of spaces, hyphens and underscores into one hyphen,
    /// so `" Apple  Banana-cherry  DOG\n"` becomes `apple-banana-cherry-dog`.
    ///
    /// Fails if nothing is left, or if the result is longer than [`MAX_PASSWORD_LEN`].
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let mut normal =
            Zeroizing::new(String::with_capacity(input.len().min(4 * MAX_PASSWORD_LEN)));
        let mut pending_separator = false;
        for c in input.chars() {
            if is_separator(c) {
                pending_separator = true;
                continue;
            }
            if pending_separator && !normal.is_empty() {
                normal.push('-');
            }
            pending_separator = false;
            normal.extend(c.to_lowercase());
            if normal.chars().count() > MAX_PASSWORD_LEN {
                return Err(AuthError::PasswordTooLong {
                    max: MAX_PASSWORD_LEN,
                });
            }
        }
        if normal.is_empty() {
            return Err(AuthError::EmptyPassword);
        }
        Ok(Self(normal))
    }

    /// The normalized password, to show to the novice or to harden. Keep its copies short-lived.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Characters that separate words: whitespace, hyphens and underscores.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '-' || c == '_'
}

/// A fresh password of [`PASSWORD_WORDS`] words from [`word_list`], drawn with the operating
/// system's random number generator, e.g. `apple-banana-cherry-dog`.
pub fn generate_password() -> Password {
    let words = word_list();
    let mut rng = rand::rngs::OsRng;
    let mut text = Zeroizing::new(String::with_capacity(PASSWORD_WORDS * 9));
    for i in 0..PASSWORD_WORDS {
        if i > 0 {
            text.push('-');
        }
        text.push_str(words[rng.gen_range(0..words.len())]);
    }
    Password(text)
}
