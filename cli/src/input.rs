//! Reading an invitation given on the command line as a file, a link, or `-` for stdin.

use std::io::Read;
use std::path::PathBuf;

use lifeline_core::ticket::{LINK_SCHEME, MAX_INPUT_LEN, TicketError};

use crate::error::CliError;

/// The bytes of the invitation named by `arg`; input over the size limit is refused before
/// more than the limit is read.
pub fn read_invitation(arg: &str) -> Result<Vec<u8>, CliError> {
    let is_link = arg
        .get(..LINK_SCHEME.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(LINK_SCHEME));
    if is_link {
        return Ok(arg.as_bytes().to_vec());
    }
    let path = PathBuf::from(arg);
    let read_error = |source| CliError::Read {
        path: path.clone(),
        source,
    };
    let mut bytes = Vec::new();
    let limit = MAX_INPUT_LEN as u64 + 1;
    if arg == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        let file = std::fs::File::open(&path).map_err(read_error)?;
        let meta = file.metadata().map_err(read_error)?;
        if meta.is_dir() {
            return Err(CliError::Usage(format!(
                "{arg} is a folder; give an invitation file or a lifeline: link"
            )));
        }
        if meta.len() > MAX_INPUT_LEN as u64 {
            return Err(TicketError::TooLarge {
                len: usize::try_from(meta.len()).unwrap_or(usize::MAX),
                max: MAX_INPUT_LEN,
            }
            .into());
        }
        file.take(limit)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    }
    Ok(bytes)
}
