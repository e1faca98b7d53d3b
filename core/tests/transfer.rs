//! File transfer with real files in temporary folders: hostile names, end-to-end sending,
//! no overwriting, and nothing left behind by failed or interrupted transfers.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use lifeline_core::transfer::{
    CHUNK_SIZE, Incoming, MAX_NAME_BYTES, Offer, Outgoing, TransferError, TransferLimits,
    numbered_name, sanitize_file_name, unique_destination,
};
use proptest::prelude::*;
use tempfile::TempDir;

/// The names of the entries in `dir`, hidden ones included.
fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .expect("list the folder")
        .map(|e| {
            let entry = e.expect("read a folder entry");
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

/// Content of `len` bytes that is not all alike.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// A sender folder holding `name` with `data`, and an empty receiver folder.
fn setup(name: &str, data: &[u8]) -> (TempDir, PathBuf, TempDir) {
    let source_dir = TempDir::new().expect("create a temporary folder");
    let source = source_dir.path().join(name);
    fs::write(&source, data).expect("write the file to send");
    let dest = TempDir::new().expect("create a temporary folder");
    (source_dir, source, dest)
}

/// Sends the file at `source` through `Outgoing` into an `Incoming` in `dest`.
fn send(source: &Path, dest: &Path) -> Result<PathBuf, TransferError> {
    let mut outgoing = Outgoing::open(7, source)?;
    let mut incoming = Incoming::accept(outgoing.offer().clone(), dest, TransferLimits::default())?;
    while let Some(chunk) = outgoing.next_chunk()? {
        let progress = incoming.write_chunk(&chunk)?;
        assert_eq!(progress, outgoing.progress());
    }
    assert!(incoming.progress().is_complete());
    incoming.finish()
}

/// An offer for `data` under `name`, as a peer would send it.
fn offer_for(name: &str, data: &[u8]) -> Offer {
    Offer {
        id: 1,
        name: name.to_owned(),
        size: data.len() as u64,
        hash: *blake3::hash(data).as_bytes(),
    }
}

#[test]
fn hostile_names_are_cleaned_or_refused() {
    let long_ascii = format!("{}.pdf", "a".repeat(296));
    let long_multibyte = format!("{}.txt", "é".repeat(150));
    let long_no_extension = "b".repeat(300);
    let cases: &[(&str, Option<&str>)] = &[
        ("report.pdf", Some("report.pdf")),
        ("../../etc/passwd", Some("passwd")),
        ("..\\..\\boot.ini", Some("boot.ini")),
        ("C:\\Windows\\System32\\cmd.exe", Some("cmd.exe")),
        ("/absolute/path.txt", Some("path.txt")),
        ("CON", Some("_CON")),
        ("con.txt", Some("_con.txt")),
        ("Lpt9.tar.gz", Some("_Lpt9.tar.gz")),
        ("COM1", Some("_COM1")),
        ("nul .txt", Some("_nul .txt")),
        ("CONSOLE.txt", Some("CONSOLE.txt")),
        ("COM10", Some("COM10")),
        ("a\u{202e}fdp.exe", Some("afdp.exe")),
        ("\u{2066}invoice\u{2069}.pdf", Some("invoice.pdf")),
        ("\0evil", Some("evil")),
        ("bell\u{7}\u{1b}[31m.txt", Some("bell[31m.txt")),
        ("   ", None),
        (".", None),
        ("..", None),
        ("", None),
        ("dir/", None),
        (". . .", None),
        ("\0", None),
        ("\u{202e}", None),
        ("a.txt:secret", Some("a.txt_secret")),
        ("C:evil.txt", Some("C_evil.txt")),
        ("what?<*>|\".txt", Some("what______.txt")),
        (".bashrc", Some("bashrc")),
        ("trailing. . ", Some("trailing")),
        ("  spaced name.doc  ", Some("spaced name.doc")),
        ("日本語の資料.xlsx", Some("日本語の資料.xlsx")),
    ];
    for (offered, expected) in cases {
        let result = sanitize_file_name(offered);
        match expected {
            Some(expected) => assert_eq!(
                result.as_deref().ok(),
                Some(*expected),
                "offered {offered:?} gave {result:?}"
            ),
            None => assert!(
                matches!(result, Err(TransferError::InvalidName { .. })),
                "offered {offered:?} gave {result:?}"
            ),
        }
    }

    let cleaned = sanitize_file_name(&long_ascii).unwrap();
    assert_eq!(cleaned.len(), MAX_NAME_BYTES);
    assert!(cleaned.ends_with("a.pdf"));
    let cleaned = sanitize_file_name(&long_multibyte).unwrap();
    assert!(cleaned.len() <= MAX_NAME_BYTES);
    assert!(cleaned.ends_with("é.txt"));
    assert_eq!(
        sanitize_file_name(&long_no_extension).unwrap().len(),
        MAX_NAME_BYTES
    );
    // Shortening that leaves a reserved name still gets the `_`.
    let padded_device = format!("CON{}x", " ".repeat(300));
    assert_eq!(sanitize_file_name(&padded_device).unwrap(), "_CON");
    let long_device = format!("con.{}", "x".repeat(400));
    let cleaned = sanitize_file_name(&long_device).unwrap();
    assert!(cleaned.starts_with("_con.") && cleaned.len() <= MAX_NAME_BYTES);
}

#[test]
fn refusal_message_escapes_the_name_and_says_what_to_do() {
    let message = sanitize_file_name("\u{202e}\0..").unwrap_err().to_string();
    assert!(
        !message.contains('\u{202e}') && !message.contains('\0'),
        "{message}"
    );
    assert!(message.contains("ask the sender"), "{message}");
    assert!(!message.contains('\n'));
}

proptest! {
    #[test]
    fn sanitized_names_are_one_plain_component(offered in any::<String>()) {
        if let Ok(name) = sanitize_file_name(&offered) {
            let components: Vec<_> = Path::new(&name).components().collect();
            prop_assert_eq!(components.len(), 1);
            prop_assert!(matches!(components[0], Component::Normal(_)));
            prop_assert!(!name.chars().any(|c| c.is_control()));
            let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            prop_assert!(!name.chars().any(bidi), "bidi control in {:?}", name);
            prop_assert!(!name.chars().any(|c| "<>:\"/\\|?*".contains(c)));
            prop_assert!(!name.starts_with(['.', ' ']) && !name.ends_with(['.', ' ']));
            prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES);
            let dir = Path::new("/srv/inbox");
            let joined = dir.join(&name);
            prop_assert!(joined.starts_with(dir));
            prop_assert_eq!(joined.parent(), Some(dir));
            // Cleaning is idempotent, and numbered names stay plain too.
            prop_assert_eq!(sanitize_file_name(&name).ok(), Some(name.clone()));
            let numbered = numbered_name(&name, 9999);
            prop_assert!(numbered.len() <= MAX_NAME_BYTES);
            prop_assert_eq!(Path::new(&numbered).components().count(), 1);
        }
    }
}

#[test]
fn numbered_names_follow_windows_style() {
    assert_eq!(numbered_name("report.pdf", 0), "report.pdf");
    assert_eq!(numbered_name("report.pdf", 1), "report (1).pdf");
    assert_eq!(numbered_name("archive.tar.gz", 2), "archive.tar (2).gz");
    assert_eq!(numbered_name("README", 3), "README (3)");
    let long = sanitize_file_name(&format!("{}.pdf", "z".repeat(300))).unwrap();
    let numbered = numbered_name(&long, 12);
    assert!(numbered.len() <= MAX_NAME_BYTES);
    assert!(numbered.ends_with("z (12).pdf"));
}

#[test]
fn offer_hashes_the_file_in_chunks() {
    let data = content(3 * CHUNK_SIZE + 17);
    let (_source_dir, source, _dest) = setup("big.bin", &data);
    let offer = Offer::from_path(42, &source).unwrap();
    assert_eq!(
        offer,
        Offer {
            id: 42,
            ..offer_for("big.bin", &data)
        }
    );
}

#[test]
fn offering_a_folder_is_refused() {
    let dir = TempDir::new().unwrap();
    assert!(matches!(
        Offer::from_path(1, dir.path()),
        Err(TransferError::NotAFile { .. })
    ));
    assert!(matches!(
        Offer::from_path(1, &dir.path().join("missing")),
        Err(TransferError::Io { .. })
    ));
}

#[test]
fn file_arrives_intact_in_the_chosen_folder() {
    let data = content(2 * CHUNK_SIZE + 5);
    let (_source_dir, source, dest) = setup("photo.jpg", &data);
    let path = send(&source, dest.path()).unwrap();
    assert_eq!(path, dest.path().canonicalize().unwrap().join("photo.jpg"));
    assert_eq!(fs::read(&path).unwrap(), data);
    assert_eq!(
        listing(dest.path()),
        BTreeSet::from(["photo.jpg".to_owned()])
    );
}

#[test]
fn empty_file_arrives() {
    let (_source_dir, source, dest) = setup("empty.txt", b"");
    let path = send(&source, dest.path()).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"");
    assert_eq!(
        listing(dest.path()),
        BTreeSet::from(["empty.txt".to_owned()])
    );
}

#[test]
fn existing_files_are_never_overwritten() {
    let (_source_dir, source, dest) = setup("notes.txt", b"new content");
    fs::write(dest.path().join("notes.txt"), b"original").unwrap();
    assert_eq!(
        unique_destination(dest.path(), "notes.txt").unwrap(),
        dest.path().join("notes (1).txt")
    );

    let first = send(&source, dest.path()).unwrap();
    assert_eq!(first.file_name().unwrap(), "notes (1).txt");
    let second = send(&source, dest.path()).unwrap();
    assert_eq!(second.file_name().unwrap(), "notes (2).txt");

    assert_eq!(
        fs::read(dest.path().join("notes.txt")).unwrap(),
        b"original"
    );
    assert_eq!(fs::read(first).unwrap(), b"new content");
    assert_eq!(fs::read(second).unwrap(), b"new content");
    assert_eq!(
        listing(dest.path()),
        BTreeSet::from(["notes.txt", "notes (1).txt", "notes (2).txt"].map(String::from))
    );
}

#[test]
fn hostile_offered_name_lands_inside_the_folder() {
    let data = b"not really a password file";
    let dest = TempDir::new().unwrap();
    let mut incoming = Incoming::accept(
        offer_for("../../etc/passwd", data),
        dest.path(),
        TransferLimits::default(),
    )
    .unwrap();
    assert_eq!(incoming.name(), "passwd");
    incoming.write_chunk(data).unwrap();
    let path = incoming.finish().unwrap();
    assert_eq!(
        path.parent(),
        Some(dest.path().canonicalize().unwrap().as_path())
    );
    assert_eq!(listing(dest.path()), BTreeSet::from(["passwd".to_owned()]));
}

#[test]
fn corrupted_chunk_is_discarded_with_a_hash_mismatch() {
    let data = content(CHUNK_SIZE + 100);
    let (_source_dir, source, dest) = setup("contract.pdf", &data);
    fs::write(dest.path().join("keep.txt"), b"already here").unwrap();
    let before = listing(dest.path());

    let mut outgoing = Outgoing::open(1, &source).unwrap();
    let mut incoming = Incoming::accept(
        outgoing.offer().clone(),
        dest.path(),
        TransferLimits::default(),
    )
    .unwrap();
    let mut first = true;
    while let Some(chunk) = outgoing.next_chunk().unwrap() {
        let mut chunk = chunk.to_vec();
        if first {
            chunk[10] ^= 0x01;
            first = false;
        }
        incoming.write_chunk(&chunk).unwrap();
    }
    let error = incoming.finish().unwrap_err();
    assert!(
        matches!(error, TransferError::HashMismatch { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "the received file does not match its hash (sent \"contract.pdf\", {} bytes); \
             it was discarded — ask the sender to send it again",
            data.len()
        )
    );
    assert_eq!(listing(dest.path()), before);
}

#[test]
fn short_data_is_discarded() {
    let data = content(1000);
    let dest = TempDir::new().unwrap();
    let before = listing(dest.path());
    let mut incoming = Incoming::accept(
        offer_for("short.bin", &data),
        dest.path(),
        TransferLimits::default(),
    )
    .unwrap();
    incoming.write_chunk(&data[..600]).unwrap();
    assert_eq!(
        listing(dest.path()).len(),
        1,
        "a hidden temporary file while receiving"
    );
    let error = incoming.finish().unwrap_err();
    assert!(
        matches!(
            error,
            TransferError::Incomplete {
                received: 600,
                size: 1000,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(listing(dest.path()), before);
}

#[test]
fn dropping_mid_transfer_leaves_nothing() {
    let data = content(3 * CHUNK_SIZE);
    let (_source_dir, source, dest) = setup("video.mp4", &data);
    let before = listing(dest.path());
    let mut outgoing = Outgoing::open(1, &source).unwrap();
    let mut incoming = Incoming::accept(
        outgoing.offer().clone(),
        dest.path(),
        TransferLimits::default(),
    )
    .unwrap();
    let chunk = outgoing.next_chunk().unwrap().unwrap();
    let progress = incoming.write_chunk(&chunk).unwrap();
    assert_eq!(progress.bytes, CHUNK_SIZE as u64);
    assert_eq!(progress.total, data.len() as u64);
    drop(incoming);
    assert_eq!(listing(dest.path()), before);
}

#[test]
fn data_beyond_the_offered_size_is_refused() {
    let data = content(100);
    let dest = TempDir::new().unwrap();
    let mut incoming = Incoming::accept(
        offer_for("small.bin", &data),
        dest.path(),
        TransferLimits::default(),
    )
    .unwrap();
    incoming.write_chunk(&data[..60]).unwrap();
    let error = incoming.write_chunk(&content(41)).unwrap_err();
    assert!(
        matches!(error, TransferError::BeyondOfferedSize { size: 100, .. }),
        "{error}"
    );
    assert!(listing(dest.path()).is_empty(), "discarded at once");
    // The transfer is over: further data and finishing are refused.
    assert!(matches!(
        incoming.write_chunk(&data[60..]),
        Err(TransferError::AlreadyFailed { .. })
    ));
    assert!(matches!(
        incoming.finish(),
        Err(TransferError::AlreadyFailed { .. })
    ));
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn offer_over_the_limit_is_refused_at_accept() {
    let dest = TempDir::new().unwrap();
    let offer = Offer {
        id: 9,
        name: "huge.iso".to_owned(),
        size: 10_001,
        hash: [0; 32],
    };
    let error = Incoming::accept(
        offer.clone(),
        dest.path(),
        TransferLimits { max_size: 10_000 },
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            TransferError::TooLarge {
                size: 10_001,
                max: 10_000,
                ..
            }
        ),
        "{error}"
    );
    assert!(listing(dest.path()).is_empty());
    let default_limit = TransferLimits::default().max_size;
    let huge = Offer {
        size: default_limit + 1,
        ..offer
    };
    assert!(matches!(
        Incoming::accept(huge, dest.path(), TransferLimits::default()),
        Err(TransferError::TooLarge { .. })
    ));
}

#[test]
fn destination_must_be_an_existing_folder() {
    let dest = TempDir::new().unwrap();
    let file = dest.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    for dir in [dest.path().join("missing"), file] {
        assert!(matches!(
            Incoming::accept(offer_for("x.txt", b"x"), &dir, TransferLimits::default()),
            Err(TransferError::NotAFolder { .. })
        ));
    }
    assert_eq!(listing(dest.path()), BTreeSet::from(["a-file".to_owned()]));
}

#[test]
fn sender_detects_a_file_that_grows_or_shrinks() {
    let data = content(2 * CHUNK_SIZE);
    let (_source_dir, source, _dest) = setup("log.txt", &data);

    let mut outgoing = Outgoing::open(1, &source).unwrap();
    outgoing.next_chunk().unwrap().unwrap();
    fs::write(&source, content(CHUNK_SIZE + 10)).unwrap();
    assert!(matches!(
        outgoing.next_chunk(),
        Err(TransferError::SourceChanged { .. })
    ));
    assert!(matches!(
        outgoing.next_chunk(),
        Err(TransferError::AlreadyFailed { .. })
    ));

    fs::write(&source, &data).unwrap();
    let mut outgoing = Outgoing::open(2, &source).unwrap();
    outgoing.next_chunk().unwrap().unwrap();
    outgoing.next_chunk().unwrap().unwrap();
    let mut longer = data.clone();
    longer.extend_from_slice(b"appended");
    fs::write(&source, &longer).unwrap();
    assert!(matches!(
        outgoing.next_chunk(),
        Err(TransferError::SourceChanged { .. })
    ));
}

#[test]
fn sender_detects_content_rewritten_in_place() {
    let data = content(2 * CHUNK_SIZE);
    let (_source_dir, source, _dest) = setup("doc.odt", &data);
    let mut outgoing = Outgoing::open(1, &source).unwrap();
    let mut changed = data.clone();
    changed[CHUNK_SIZE + 1] ^= 0xff;
    fs::write(&source, &changed).unwrap();
    outgoing.next_chunk().unwrap().unwrap();
    outgoing.next_chunk().unwrap().unwrap();
    assert!(matches!(
        outgoing.next_chunk(),
        Err(TransferError::SourceChanged { .. })
    ));
    assert_eq!(outgoing.progress().bytes, data.len() as u64);
}

#[test]
fn concurrent_transfers_of_one_name_never_overwrite_each_other() {
    let dest = TempDir::new().unwrap();
    let contents: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 1000 + usize::from(i)]).collect();
    let paths: Vec<PathBuf> = std::thread::scope(|scope| {
        let handles: Vec<_> = contents
            .iter()
            .map(|data| {
                let dir = dest.path();
                scope.spawn(move || {
                    let mut incoming = Incoming::accept(
                        offer_for("same.txt", data),
                        dir,
                        TransferLimits::default(),
                    )
                    .unwrap();
                    incoming.write_chunk(data).unwrap();
                    incoming.finish().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (path, data) in paths.iter().zip(&contents) {
        assert_eq!(&fs::read(path).unwrap(), data, "{}", path.display());
    }
    let expected: BTreeSet<String> = std::iter::once("same.txt".to_owned())
        .chain((1..8).map(|n| format!("same ({n}).txt")))
        .collect();
    assert_eq!(listing(dest.path()), expected);
}
