//! The shared screen over QUIC: one unidirectional stream per encoded frame.
//!
//! A frame's stream carries [`STREAM_FRAME`], a header (sequence number, size, keyframe
//! flag) and the H.264 access unit. Frames never wait for each other: each has its own
//! stream, so a lost packet delays only its frame. When a keyframe is sent the older frames
//! still in flight are reset, since the keyframe replaces them. The helper decodes in order
//! and asks for a keyframe when a frame is missing.
//!
//! The novice's side captures and encodes on a blocking thread; [`Pacer`] decides when,
//! from the bandwidth setting, the connection's measured capacity and what is in flight.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::Report;
use crate::media::{
    EncodedFrame, Frame, FrameSource, MediaError, OpenH264Decoder, OpenH264Encoder, Pacer,
    QualityPreset, VideoDecoder, VideoEncoder,
};
use crate::proto::BandwidthPreset;

/// First byte of a unidirectional stream that carries a file.
pub(super) const STREAM_FILE: u8 = 1;
/// First byte of a unidirectional stream that carries a video frame.
pub(super) const STREAM_FRAME: u8 = 2;

/// The largest encoded frame accepted: 8 MiB (a 4K keyframe of busy content fits).
const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;

/// Bytes of the frame header: sequence (8), width (4), height (4), flags (1).
const HEADER_LEN: usize = 17;

/// The QUIC error code of a frame replaced by a newer keyframe.
const SUPERSEDED: u32 = 2;

/// How often the measured capacity is read for the `auto` setting.
const CAPACITY_PERIOD: Duration = Duration::from_secs(1);

/// What the session tells the video sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct VideoControl {
    /// Whether frames may be sent: the screen is shared and not paused.
    pub active: bool,
    /// The novice's bandwidth setting.
    pub preset: BandwidthPreset,
    /// Counts the helper's keyframe requests; each change asks for one.
    pub keyframes: u64,
}

/// A frame the helper decoded, for the user interface.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedFrame {
    /// The sender's sequence number.
    pub seq: u64,
    /// Whether it was a keyframe.
    pub keyframe: bool,
    /// Encoded size in bytes.
    pub bytes: usize,
    /// The H.264 access unit (Annex B), e.g. for recording.
    pub encoded: Arc<Vec<u8>>,
    /// The decoded picture.
    pub picture: Arc<Frame>,
}

/// Frame statistics, reported every second while frames arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoStats {
    /// Frames per second over the last period.
    pub fps: f64,
    /// Video kilobits per second over the last period.
    pub kbps: f64,
    /// The connection's smoothed round-trip time in milliseconds.
    pub rtt_ms: f64,
}

/// Sends the screen from `source` on `conn` while `control` says so; returns when the
/// connection closes or `control`'s sender is dropped. Errors of the source or encoder are
/// reported and end the video (the session goes on).
pub(super) async fn send(
    conn: quinn::Connection,
    source: Box<dyn FrameSource>,
    mut control: watch::Receiver<VideoControl>,
    reports: mpsc::UnboundedSender<Report>,
) {
    let mut current = *control.borrow();
    let mut pacer = Pacer::new(settings(current.preset, &conn));
    let mut tools = Some((source, OpenH264Encoder::with_settings(pacer.settings())));
    let (delivered_tx, mut delivered) = mpsc::unbounded_channel::<()>();
    let mut in_flight: VecDeque<(u64, oneshot::Sender<()>)> = VecDeque::new();
    let mut seq = 0u64;
    let mut capacity_check = tokio::time::interval(CAPACITY_PERIOD);
    loop {
        let now = Instant::now();
        let next = if current.active {
            pacer.next_capture(now)
        } else {
            None
        };
        let wait = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = control.changed() => {
                if changed.is_err() {
                    return;
                }
                let new = *control.borrow();
                if new.keyframes != current.keyframes || (new.active && !current.active) {
                    pacer.request_keyframe();
                }
                current = new;
                pacer.set_settings(settings(current.preset, &conn));
                continue;
            }
            Some(()) = delivered.recv() => {
                pacer.on_delivered();
                continue;
            }
            _ = capacity_check.tick() => {
                if current.preset == BandwidthPreset::Auto {
                    pacer.set_settings(settings(current.preset, &conn));
                }
                continue;
            }
            () = wait => {}
            () = closed(&conn) => return,
        }
        pacer.on_captured(Instant::now());
        let Some((mut source, mut encoder)) = tools.take() else {
            return;
        };
        let keyframe = pacer.keyframe_wanted();
        let rate = pacer.settings();
        let work = tokio::task::spawn_blocking(move || {
            if encoder.settings() != rate {
                encoder.set_settings(rate);
            }
            let result = capture_and_encode(source.as_mut(), &mut encoder, keyframe);
            (source, encoder, result)
        });
        let Ok((source, encoder, result)) = work.await else {
            return;
        };
        tools = Some((source, encoder));
        let encoded = match result {
            Ok(Some(encoded)) => encoded,
            Ok(None) => continue,
            Err(e) => {
                let _ = reports.send(Report::Error(format!("screen sharing stopped: {e}")));
                return;
            }
        };
        if encoded.keyframe {
            // The keyframe replaces every older frame still on its way.
            for (_, cancel) in in_flight.drain(..) {
                let _ = cancel.send(());
            }
        }
        pacer.on_sent(encoded.data.len(), Instant::now(), encoded.keyframe);
        let (cancel_tx, cancel_rx) = oneshot::channel();
        in_flight.push_back((seq, cancel_tx));
        in_flight.retain(|(_, cancel)| !cancel.is_closed());
        tokio::spawn(send_frame(
            conn.clone(),
            seq,
            encoded,
            cancel_rx,
            delivered_tx.clone(),
        ));
        seq += 1;
    }
}

/// Resolves when the connection has closed.
async fn closed(conn: &quinn::Connection) {
    conn.closed().await;
}

/// The rate settings for `preset`, with the connection's capacity for `auto`.
fn settings(preset: BandwidthPreset, conn: &quinn::Connection) -> crate::media::RateSettings {
    let path = conn.stats().path;
    let rtt = path.rtt.as_secs_f64().max(0.001);
    let capacity = (path.cwnd as f64 * 8.0 / rtt) as u64;
    QualityPreset::from_setting(preset, capacity).settings()
}

fn capture_and_encode(
    source: &mut dyn FrameSource,
    encoder: &mut OpenH264Encoder,
    keyframe: bool,
) -> Result<Option<EncodedFrame>, MediaError> {
    match source.next_frame()? {
        Some(frame) => encoder.encode(&frame, keyframe),
        None => Ok(None),
    }
}

/// Sends one frame on its own stream; tells `delivered` once the peer has it all, or once
/// it was given up (reset by a newer keyframe, or the connection failed).
async fn send_frame(
    conn: quinn::Connection,
    seq: u64,
    frame: EncodedFrame,
    cancel: oneshot::Receiver<()>,
    delivered: mpsc::UnboundedSender<()>,
) {
    let mut header = [0u8; 1 + HEADER_LEN];
    header[0] = STREAM_FRAME;
    header[1..9].copy_from_slice(&seq.to_be_bytes());
    header[9..13].copy_from_slice(&frame.width.to_be_bytes());
    header[13..17].copy_from_slice(&frame.height.to_be_bytes());
    header[17] = u8::from(frame.keyframe);
    if let Ok(mut stream) = conn.open_uni().await {
        let sending = async {
            stream.write_all(&header).await.ok()?;
            stream.write_all(&frame.data).await.ok()?;
            stream.finish().ok()?;
            stream.stopped().await.ok()
        };
        let superseded = tokio::select! {
            _ = sending => false,
            Ok(()) = cancel => true,
        };
        if superseded {
            tracing::debug!(seq, "frame superseded by a keyframe");
            let _ = stream.reset(SUPERSEDED.into());
        }
    }
    let _ = delivered.send(());
}

/// Reads one frame stream (after its kind byte) and hands it to the decoder.
pub(super) async fn receive(mut stream: quinn::RecvStream, frames: mpsc::Sender<Incoming>) {
    let mut header = [0u8; HEADER_LEN];
    if stream.read_exact(&mut header).await.is_err() {
        // Reset by a newer keyframe, or the connection ended.
        return;
    }
    let field = |range: std::ops::Range<usize>| {
        let mut bytes = [0u8; 8];
        let len = range.len();
        bytes[8 - len..].copy_from_slice(&header[range]);
        u64::from_be_bytes(bytes)
    };
    let seq = field(0..8);
    let (width, height) = (field(8..12) as u32, field(12..16) as u32);
    let keyframe = header[16] & 1 == 1;
    let data = match stream.read_to_end(MAX_FRAME_BYTES).await {
        Ok(data) => data,
        Err(quinn::ReadToEndError::TooLong) => {
            let _ = stream.stop(SUPERSEDED.into());
            let _ = frames
                .send(Incoming::Invalid(format!(
                    "frame {seq} is larger than {MAX_FRAME_BYTES} bytes"
                )))
                .await;
            return;
        }
        Err(_) => return,
    };
    let frame = EncodedFrame {
        data,
        keyframe,
        width,
        height,
    };
    let _ = frames.send(Incoming::Frame { seq, frame }).await;
}

/// What the frame streams hand to the decoder.
#[derive(Debug)]
pub(super) enum Incoming {
    /// A complete frame.
    Frame {
        /// Its sequence number.
        seq: u64,
        /// The access unit.
        frame: EncodedFrame,
    },
    /// A frame that broke the rules; the session ends.
    Invalid(String),
}

/// What the decoder tells the driver.
#[derive(Debug)]
pub(super) enum Decoded {
    /// A picture to show.
    Frame(ReceivedFrame),
    /// Frames are missing or undecodable: ask the novice for a keyframe.
    NeedKeyframe,
    /// The peer sent something that is not video.
    Invalid(String),
}

/// Decodes frames in order on a blocking thread. Frames that arrive after a newer one are
/// dropped; after a gap, P-frames are dropped (and a keyframe asked for) until a keyframe
/// arrives.
pub(super) fn decode(
    mut frames: mpsc::Receiver<Incoming>,
    decoded: mpsc::UnboundedSender<Decoded>,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let mut decoder = match OpenH264Decoder::new() {
            Ok(decoder) => decoder,
            Err(e) => {
                let _ = decoded.send(Decoded::Invalid(format!("cannot start the decoder: {e}")));
                return;
            }
        };
        let mut next: Option<u64> = None;
        let mut waiting_for_keyframe = true;
        while let Some(incoming) = frames.blocking_recv() {
            let (seq, frame) = match incoming {
                Incoming::Frame { seq, frame } => (seq, frame),
                Incoming::Invalid(reason) => {
                    let _ = decoded.send(Decoded::Invalid(reason));
                    return;
                }
            };
            if next.is_some_and(|n| seq < n) {
                continue;
            }
            if next.is_some_and(|n| seq > n) && !frame.keyframe {
                if !waiting_for_keyframe {
                    let _ = decoded.send(Decoded::NeedKeyframe);
                }
                waiting_for_keyframe = true;
            }
            if frame.keyframe {
                waiting_for_keyframe = false;
            }
            next = Some(seq + 1);
            if waiting_for_keyframe {
                continue;
            }
            match decoder.decode(&frame) {
                Ok(Some(picture)) => {
                    let _ = decoded.send(Decoded::Frame(ReceivedFrame {
                        seq,
                        keyframe: frame.keyframe,
                        bytes: frame.data.len(),
                        encoded: Arc::new(frame.data),
                        picture: Arc::new(picture),
                    }));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(seq, error = %e, "undecodable frame; asking for a keyframe");
                    waiting_for_keyframe = true;
                    let _ = decoded.send(Decoded::NeedKeyframe);
                }
            }
        }
    })
}

/// Counts frames and bytes to report [`VideoStats`] every second.
#[derive(Debug)]
pub(super) struct StatsMeter {
    since: Instant,
    frames: u32,
    bytes: usize,
}

impl StatsMeter {
    /// A meter starting at `now`.
    pub(super) fn new(now: Instant) -> Self {
        Self {
            since: now,
            frames: 0,
            bytes: 0,
        }
    }

    /// Counts one frame of `bytes`.
    pub(super) fn count(&mut self, bytes: usize) {
        self.frames += 1;
        self.bytes += bytes;
    }

    /// The statistics, if a second has passed since the last ones; starts a new period.
    pub(super) fn poll(&mut self, now: Instant, rtt: Duration) -> Option<VideoStats> {
        let elapsed = now.duration_since(self.since).as_secs_f64();
        if elapsed < 1.0 {
            return None;
        }
        let stats = VideoStats {
            fps: f64::from(self.frames) / elapsed,
            kbps: self.bytes as f64 * 8.0 / elapsed / 1000.0,
            rtt_ms: rtt.as_secs_f64() * 1000.0,
        };
        *self = Self::new(now);
        Some(stats)
    }
}

/// What [`Video::next`] brings to the driver.
#[derive(Debug)]
pub(super) enum VideoNews {
    /// A decoded frame (helper).
    Frame(ReceivedFrame),
    /// A second's statistics (helper).
    Stats(VideoStats),
    /// The decoder needs a keyframe (helper).
    NeedKeyframe,
    /// The peer broke the video protocol; the session should end.
    Invalid(String),
}

/// One side's video: the novice's sender, or the helper's receiver and decoder.
pub(super) struct Video {
    /// The novice's screen, until the session starts sending it.
    screen: Option<Box<dyn FrameSource>>,
    control: Option<watch::Sender<VideoControl>>,
    frames: Option<mpsc::Sender<Incoming>>,
    decoded: Option<mpsc::UnboundedReceiver<Decoded>>,
    conn: Option<quinn::Connection>,
    meter: StatsMeter,
    tick: tokio::time::Interval,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Video {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Video")
            .field("sending", &self.control.is_some())
            .field("receiving", &self.frames.is_some())
            .finish_non_exhaustive()
    }
}

impl Video {
    /// Video that sends `screen` if given (novice) and otherwise receives (helper).
    pub(super) fn new(screen: Option<Box<dyn FrameSource>>) -> Self {
        Self {
            screen,
            control: None,
            frames: None,
            decoded: None,
            conn: None,
            meter: StatsMeter::new(Instant::now()),
            tick: tokio::time::interval(Duration::from_secs(1)),
            tasks: Vec::new(),
        }
    }

    /// Starts sending (with a screen) or receiving on `conn` once the session is
    /// authenticated; `control` is the starting state.
    pub(super) fn start(
        &mut self,
        conn: &quinn::Connection,
        control: VideoControl,
        receive: bool,
        reports: &mpsc::UnboundedSender<Report>,
    ) {
        self.conn = Some(conn.clone());
        if let Some(screen) = self.screen.take() {
            let (tx, rx) = watch::channel(control);
            self.control = Some(tx);
            self.tasks.push(tokio::spawn(send(
                conn.clone(),
                screen,
                rx,
                reports.clone(),
            )));
        } else if receive {
            let (frames_tx, frames_rx) = mpsc::channel(8);
            let (decoded_tx, decoded_rx) = mpsc::unbounded_channel();
            self.tasks.push(decode(frames_rx, decoded_tx));
            self.frames = Some(frames_tx);
            self.decoded = Some(decoded_rx);
        }
    }

    /// Tells the sender what the session now allows.
    pub(super) fn control(&self, change: impl FnOnce(&mut VideoControl)) {
        if let Some(control) = &self.control {
            control.send_modify(change);
        }
    }

    /// Where frame streams go (helper), if this side receives video.
    pub(super) fn sink(&self) -> Option<mpsc::Sender<Incoming>> {
        self.frames.clone()
    }

    /// Waits for the next decoded frame, statistic or problem; never resolves on the
    /// sending side.
    pub(super) async fn next(&mut self) -> VideoNews {
        let Some(decoded) = self.decoded.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            tokio::select! {
                news = decoded.recv() => match news {
                    Some(Decoded::Frame(frame)) => {
                        self.meter.count(frame.bytes);
                        return VideoNews::Frame(frame);
                    }
                    Some(Decoded::NeedKeyframe) => return VideoNews::NeedKeyframe,
                    Some(Decoded::Invalid(reason)) => return VideoNews::Invalid(reason),
                    None => return std::future::pending().await,
                },
                _ = self.tick.tick() => {
                    let rtt = self.conn.as_ref().map(|c| c.stats().path.rtt).unwrap_or_default();
                    if let Some(stats) = self.meter.poll(Instant::now(), rtt)
                        && stats.fps > 0.0
                    {
                        return VideoNews::Stats(stats);
                    }
                }
            }
        }
    }

    /// Stops sending and decoding.
    pub(super) fn stop(&mut self) {
        self.control = None;
        self.frames = None;
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}
