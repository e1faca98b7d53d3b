//! A minimal VNC (RFB 3.8) viewer for the benchmark: no authentication, 32-bit true colour,
//! ZRLE and CopyRect (what x11vnc sends best), raw as a fallback. It keeps the framebuffer
//! and asks for incremental updates continuously, like a real viewer.

use std::io::{Read, Write};
use std::net::TcpStream;

use flate2::{Decompress, FlushDecompress};

type Result<T> = std::result::Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A connected viewer and its copy of the screen.
pub struct Viewer {
    stream: TcpStream,
    width: u16,
    height: u16,
    /// BGRA, `width × height`.
    pixels: Vec<u8>,
    zlib: Decompress,
}

impl Viewer {
    /// Connects to `addr`, negotiates and asks for the whole screen.
    pub fn connect(addr: &str) -> Result<Self> {
        let mut stream = TcpStream::connect(addr).map_err(err)?;
        stream.set_nodelay(true).map_err(err)?;
        let mut version = [0u8; 12];
        stream.read_exact(&mut version).map_err(err)?;
        stream.write_all(b"RFB 003.008\n").map_err(err)?;
        let count = read_u8(&mut stream)?;
        let mut types = vec![0u8; usize::from(count)];
        stream.read_exact(&mut types).map_err(err)?;
        if !types.contains(&1) {
            return Err(format!("the server wants authentication: {types:?}"));
        }
        stream.write_all(&[1]).map_err(err)?;
        if read_u32(&mut stream)? != 0 {
            return Err("security handshake failed".into());
        }
        stream.write_all(&[1]).map_err(err)?; // shared
        let width = read_u16(&mut stream)?;
        let height = read_u16(&mut stream)?;
        let mut format = [0u8; 16];
        stream.read_exact(&mut format).map_err(err)?;
        let name_len = read_u32(&mut stream)?;
        let mut name = vec![0u8; name_len as usize];
        stream.read_exact(&mut name).map_err(err)?;
        // 32 bpp, depth 24, little endian, true colour, 8 bits each at 16/8/0.
        let mut set_format = vec![0u8, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0];
        set_format.extend_from_slice(&[0, 0, 0]);
        stream.write_all(&set_format).map_err(err)?;
        let encodings: [i32; 3] = [16, 1, 0]; // ZRLE, CopyRect, raw
        let mut set_encodings = vec![2u8, 0];
        set_encodings.extend_from_slice(&(encodings.len() as u16).to_be_bytes());
        for e in encodings {
            set_encodings.extend_from_slice(&e.to_be_bytes());
        }
        stream.write_all(&set_encodings).map_err(err)?;
        let mut viewer = Self {
            stream,
            width,
            height,
            pixels: vec![0; usize::from(width) * usize::from(height) * 4],
            zlib: Decompress::new(true),
        };
        viewer.request(false)?;
        Ok(viewer)
    }

    fn request(&mut self, incremental: bool) -> Result<()> {
        let mut msg = vec![3u8, u8::from(incremental), 0, 0, 0, 0];
        msg.extend_from_slice(&self.width.to_be_bytes());
        msg.extend_from_slice(&self.height.to_be_bytes());
        self.stream.write_all(&msg).map_err(err)
    }

    /// Reads messages until one framebuffer update is applied; asks for the next one.
    pub fn next_update(&mut self) -> Result<()> {
        loop {
            match read_u8(&mut self.stream)? {
                0 => {
                    self.read_update()?;
                    return self.request(true);
                }
                2 => {} // bell
                3 => {
                    let mut pad = [0u8; 3];
                    self.stream.read_exact(&mut pad).map_err(err)?;
                    let len = read_u32(&mut self.stream)?;
                    let mut text = vec![0u8; len as usize];
                    self.stream.read_exact(&mut text).map_err(err)?;
                }
                other => return Err(format!("unexpected server message {other}")),
            }
        }
    }

    /// The pixel at `x, y` (BGRA).
    pub fn pixel(&self, x: u16, y: u16) -> [u8; 4] {
        let at = self.offset(x, y);
        [
            self.pixels[at],
            self.pixels[at + 1],
            self.pixels[at + 2],
            self.pixels[at + 3],
        ]
    }

    fn read_update(&mut self) -> Result<()> {
        let _pad = read_u8(&mut self.stream)?;
        let rects = read_u16(&mut self.stream)?;
        for _ in 0..rects {
            let x = read_u16(&mut self.stream)?;
            let y = read_u16(&mut self.stream)?;
            let w = read_u16(&mut self.stream)?;
            let h = read_u16(&mut self.stream)?;
            let encoding = read_u32(&mut self.stream)? as i32;
            match encoding {
                0 => {
                    let mut data = vec![0u8; usize::from(w) * usize::from(h) * 4];
                    self.stream.read_exact(&mut data).map_err(err)?;
                    for row in 0..h {
                        let from = usize::from(row) * usize::from(w) * 4;
                        let to = self.offset(x, y + row);
                        self.pixels[to..to + usize::from(w) * 4]
                            .copy_from_slice(&data[from..from + usize::from(w) * 4]);
                    }
                }
                1 => {
                    let sx = read_u16(&mut self.stream)?;
                    let sy = read_u16(&mut self.stream)?;
                    let copy = self.region(sx, sy, w, h);
                    self.paste(x, y, w, h, &copy);
                }
                16 => self.zrle(x, y, w, h)?,
                -223 | -224 => {} // desktop size / last rect pseudo-encodings
                other => return Err(format!("unsupported encoding {other}")),
            }
        }
        Ok(())
    }

    fn offset(&self, x: u16, y: u16) -> usize {
        (usize::from(y) * usize::from(self.width) + usize::from(x)) * 4
    }

    fn region(&self, x: u16, y: u16, w: u16, h: u16) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::from(w) * usize::from(h) * 4);
        for row in 0..h {
            let at = self.offset(x, y + row);
            out.extend_from_slice(&self.pixels[at..at + usize::from(w) * 4]);
        }
        out
    }

    fn paste(&mut self, x: u16, y: u16, w: u16, h: u16, data: &[u8]) {
        for row in 0..h {
            let from = usize::from(row) * usize::from(w) * 4;
            let to = self.offset(x, y + row);
            self.pixels[to..to + usize::from(w) * 4]
                .copy_from_slice(&data[from..from + usize::from(w) * 4]);
        }
    }

    fn zrle(&mut self, x: u16, y: u16, w: u16, h: u16) -> Result<()> {
        let len = read_u32(&mut self.stream)?;
        let mut compressed = vec![0u8; len as usize];
        self.stream.read_exact(&mut compressed).map_err(err)?;
        let mut data = Vec::with_capacity(usize::from(w) * usize::from(h) * 4 + 1024);
        let mut input = &compressed[..];
        while !input.is_empty() {
            let before = self.zlib.total_in();
            data.reserve(64 * 1024);
            self.zlib
                .decompress_vec(input, &mut data, FlushDecompress::Sync)
                .map_err(err)?;
            let used = (self.zlib.total_in() - before) as usize;
            input = &input[used..];
            if used == 0 && data.capacity() > data.len() {
                break;
            }
        }
        let mut r = Reader { data: &data, at: 0 };
        for ty in (0..h).step_by(64) {
            for tx in (0..w).step_by(64) {
                let (tw, th) = ((w - tx).min(64), (h - ty).min(64));
                let tile = decode_tile(&mut r, usize::from(tw), usize::from(th))?;
                self.paste(x + tx, y + ty, tw, th, &tile);
            }
        }
        Ok(())
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8> {
        let v = *self.data.get(self.at).ok_or("ZRLE data ends early")?;
        self.at += 1;
        Ok(v)
    }

    /// A compressed pixel: 3 bytes (blue, green, red) becomes BGRA.
    fn cpixel(&mut self) -> Result<[u8; 4]> {
        Ok([self.u8()?, self.u8()?, self.u8()?, 255])
    }

    fn run(&mut self) -> Result<usize> {
        let mut len = 1;
        loop {
            let b = self.u8()?;
            len += usize::from(b);
            if b != 255 {
                return Ok(len);
            }
        }
    }
}

fn decode_tile(r: &mut Reader<'_>, w: usize, h: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(w * h * 4);
    let sub = r.u8()?;
    match sub {
        0 => {
            for _ in 0..w * h {
                out.extend_from_slice(&r.cpixel()?);
            }
        }
        1 => {
            let p = r.cpixel()?;
            for _ in 0..w * h {
                out.extend_from_slice(&p);
            }
        }
        2..=16 => {
            let palette: Vec<[u8; 4]> = (0..sub).map(|_| r.cpixel()).collect::<Result<_>>()?;
            let bits = match sub {
                2 => 1,
                3 | 4 => 2,
                _ => 4,
            };
            for _ in 0..h {
                let (mut byte, mut left) = (0u8, 0);
                for _ in 0..w {
                    if left == 0 {
                        byte = r.u8()?;
                        left = 8;
                    }
                    left -= bits;
                    let index = usize::from((byte >> left) & ((1 << bits) - 1));
                    out.extend_from_slice(palette.get(index).ok_or("bad palette index")?);
                }
            }
        }
        128 => {
            while out.len() < w * h * 4 {
                let p = r.cpixel()?;
                for _ in 0..r.run()? {
                    out.extend_from_slice(&p);
                }
            }
        }
        130..=255 => {
            let palette: Vec<[u8; 4]> =
                (0..sub - 128).map(|_| r.cpixel()).collect::<Result<_>>()?;
            while out.len() < w * h * 4 {
                let index = r.u8()?;
                let p = *palette
                    .get(usize::from(index & 127))
                    .ok_or("bad palette index")?;
                let run = if index & 128 != 0 { r.run()? } else { 1 };
                for _ in 0..run {
                    out.extend_from_slice(&p);
                }
            }
        }
        other => return Err(format!("unknown ZRLE subencoding {other}")),
    }
    out.truncate(w * h * 4);
    Ok(out)
}

fn read_u8(s: &mut TcpStream) -> Result<u8> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).map_err(err)?;
    Ok(b[0])
}

fn read_u16(s: &mut TcpStream) -> Result<u16> {
    let mut b = [0u8; 2];
    s.read_exact(&mut b).map_err(err)?;
    Ok(u16::from_be_bytes(b))
}

fn read_u32(s: &mut TcpStream) -> Result<u32> {
    let mut b = [0u8; 4];
    s.read_exact(&mut b).map_err(err)?;
    Ok(u32::from_be_bytes(b))
}
