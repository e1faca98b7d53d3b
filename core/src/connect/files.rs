//! Moves files over their own QUIC streams.
//!
//! Reading, hashing and writing run on blocking threads, a few chunks ahead of (or behind)
//! the network, so that disk and network overlap and the runtime's workers only move bytes
//! between QUIC and the pipeline.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::video::STREAM_FILE;
use super::{Report, Shared};
use crate::transfer::{CHUNK_SIZE, Incoming, Outgoing, Progress, TransferError};

/// Progress reports are sent at most every this many bytes (and at the end).
const PROGRESS_STEP: u64 = 1024 * 1024;

/// How many chunks may wait between the disk and the network.
const PIPELINE_DEPTH: usize = 32;

/// The QUIC error code for a transfer abandoned by either side.
const ABANDONED: u32 = 1;

/// Sends `outgoing` on a new unidirectional stream of `conn`: [`STREAM_FILE`], the transfer
/// id (8 bytes, big endian), then the file's bytes. Reports progress, then [`Report::FileSent`] or
/// [`Report::FileFailed`], on `reports`.
pub(super) async fn send(
    conn: quinn::Connection,
    outgoing: Outgoing,
    reports: mpsc::UnboundedSender<Report>,
) {
    let offer = outgoing.offer().clone();
    let fail = |reason: String| Report::FileFailed {
        id: offer.id,
        name: offer.name.clone(),
        reason,
    };
    let mut stream = match conn.open_uni().await {
        Ok(stream) => stream,
        Err(e) => {
            let _ = reports.send(fail(e.to_string()));
            return;
        }
    };
    let mut header = [STREAM_FILE; 9];
    header[1..].copy_from_slice(&offer.id.to_be_bytes());
    if let Err(e) = stream.write_all(&header).await {
        let _ = reports.send(fail(e.to_string()));
        return;
    }
    let mut chunks = read_ahead(outgoing);
    let mut reporter = Reporter::new(offer.id, reports.clone());
    while let Some(next) = chunks.recv().await {
        let (chunk, progress) = match next {
            Ok(Some(read)) => read,
            Ok(None) => break,
            Err(e) => {
                let _ = stream.reset(ABANDONED.into());
                let _ = reports.send(fail(e.to_string()));
                return;
            }
        };
        if let Err(e) = stream.write_chunk(chunk).await {
            let _ = reports.send(fail(e.to_string()));
            return;
        }
        reporter.update(progress);
    }
    let _ = stream.finish();
    let _ = stream.stopped().await;
    let _ = reports.send(Report::FileSent {
        id: offer.id,
        name: offer.name.clone(),
    });
}

/// One step of the reading thread: a chunk and the progress after it, the end (`None`), or
/// the error that ended the transfer.
type ReadStep = Result<Option<(Bytes, Progress)>, TransferError>;

/// Reads and hashes `outgoing` on a blocking thread, a few chunks ahead.
fn read_ahead(mut outgoing: Outgoing) -> mpsc::Receiver<ReadStep> {
    let (tx, rx) = mpsc::channel(PIPELINE_DEPTH);
    tokio::task::spawn_blocking(move || {
        loop {
            let step = outgoing
                .next_chunk()
                .map(|chunk| chunk.map(|chunk| (chunk, outgoing.progress())));
            let last = !matches!(step, Ok(Some(_)));
            // A closed channel means the sender gave up; stop reading.
            if tx.blocking_send(step).is_err() || last {
                break;
            }
        }
    });
    rx
}

/// Receives a file stream opened by the peer's [`send`] (after its kind byte) into the transfer it names, which
/// must have been accepted (it is taken out of `accepted`). Reports progress, then
/// [`Report::FileDone`] or [`Report::FileFailed`]; a stream for a transfer that was not
/// accepted is refused with [`Report::Error`].
pub(super) async fn receive(
    mut stream: quinn::RecvStream,
    accepted: Shared<HashMap<u64, Incoming>>,
    reports: mpsc::UnboundedSender<Report>,
) {
    let mut header = [0u8; 8];
    if stream.read_exact(&mut header).await.is_err() {
        return;
    }
    let id = u64::from_be_bytes(header);
    let file = accepted.lock().ok().and_then(|mut map| map.remove(&id));
    let Some(file) = file else {
        let _ = stream.stop(ABANDONED.into());
        let _ = reports.send(Report::Error(format!(
            "the other side sent file {id}, which was not accepted"
        )));
        return;
    };
    let offer = file.offer().clone();
    let fail = |reason: String| Report::FileFailed {
        id,
        name: offer.name.clone(),
        reason,
    };
    let (chunks, writer) = write_behind(file, Reporter::new(id, reports.clone()));
    let mut network_error = None;
    // QUIC hands out a packet's worth at a time; the writer gets whole chunks, which keeps
    // its system calls few and lets the hash use its wide SIMD path.
    let mut buf = BytesMut::zeroed(CHUNK_SIZE);
    let mut filled = 0;
    loop {
        match stream.read(&mut buf[filled..]).await {
            Ok(Some(n)) => {
                filled += n;
                if filled < CHUNK_SIZE {
                    continue;
                }
                let chunk = std::mem::replace(&mut buf, BytesMut::zeroed(CHUNK_SIZE));
                filled = 0;
                if chunks.send(Some(chunk.freeze())).await.is_err() {
                    // The writer failed; it says why below.
                    let _ = stream.stop(ABANDONED.into());
                    break;
                }
            }
            Ok(None) => {
                // The end of the stream: the writer finishes the file.
                buf.truncate(filled);
                if filled > 0 {
                    let _ = chunks.send(Some(buf.freeze())).await;
                }
                let _ = chunks.send(None).await;
                break;
            }
            Err(e) => {
                network_error = Some(e.to_string());
                break;
            }
        }
    }
    drop(chunks);
    let written = match writer.await {
        Ok(written) => written,
        Err(e) => Err(e.to_string()),
    };
    let report = match (network_error, written) {
        // The writer saw no end of stream and dropped (so removed) the temporary file.
        (Some(reason), _) => fail(reason),
        (None, Err(reason)) => fail(reason),
        (None, Ok(path)) => Report::FileDone {
            id,
            name: offer.name.clone(),
            path,
            hash: crate::hex::encode(&offer.hash),
        },
    };
    let _ = reports.send(report);
}

/// Writes and hashes the chunks sent on the returned channel into `file` on a blocking
/// thread. `None` marks the end of the stream: the thread then finishes the file (verifies,
/// syncs, moves into place) and returns its final path. If the channel closes without it,
/// the transfer was interrupted and the temporary file is removed.
fn write_behind(
    mut file: Incoming,
    mut reporter: Reporter,
) -> (
    mpsc::Sender<Option<Bytes>>,
    tokio::task::JoinHandle<Result<std::path::PathBuf, String>>,
) {
    let (tx, mut rx) = mpsc::channel::<Option<Bytes>>(PIPELINE_DEPTH);
    let writer = tokio::task::spawn_blocking(move || {
        loop {
            match rx.blocking_recv() {
                Some(Some(chunk)) => {
                    let progress = file.write_chunk(&chunk).map_err(|e| e.to_string())?;
                    reporter.update(progress);
                }
                Some(None) => break,
                None => return Err("the transfer was interrupted".to_owned()),
            }
        }
        if file.progress().bytes == 0 {
            reporter.force(file.progress());
        }
        file.finish().map_err(|e| e.to_string())
    });
    (tx, writer)
}

/// Sends [`Report::FileProgress`] every [`PROGRESS_STEP`] bytes and at the end.
struct Reporter {
    id: u64,
    reports: mpsc::UnboundedSender<Report>,
    reported: u64,
}

impl Reporter {
    fn new(id: u64, reports: mpsc::UnboundedSender<Report>) -> Self {
        Self {
            id,
            reports,
            reported: 0,
        }
    }

    fn update(&mut self, progress: Progress) {
        if progress.bytes - self.reported >= PROGRESS_STEP || progress.is_complete() {
            self.force(progress);
        }
    }

    fn force(&mut self, progress: Progress) {
        self.reported = progress.bytes;
        let _ = self.reports.send(Report::FileProgress {
            id: self.id,
            bytes: progress.bytes,
            total: progress.total,
        });
    }
}
