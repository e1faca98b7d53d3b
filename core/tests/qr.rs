//! QR codes of invitation links: the PNG and the terminal drawing both scan back to the
//! link, read by an independent decoder.

use lifeline_core::ticket::qr::Qr;

/// A link of the size an invitation with four candidates and a pinned server URL has.
fn link() -> String {
    format!("lifeline:{}", "AbC-_9".repeat(61))
}

fn decode(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark(x, y) { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_, content) = grids[0].decode().unwrap();
    content
}

#[test]
fn the_png_scans_back_to_the_link() {
    let link = link();
    let png = Qr::new(&link).unwrap().to_png().unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!(decode(w, h, |x, y| pixels[y * w + x] < 128), link);
}

#[test]
fn the_terminal_drawing_scans_back_to_the_link() {
    let link = link();
    let drawing = Qr::new(&link).unwrap().to_terminal();
    // Each character cell holds two modules, one above the other; a light module is drawn.
    let rows: Vec<Vec<char>> = drawing.lines().map(|l| l.chars().collect()).collect();
    let width = rows[0].len();
    assert!(width <= 80, "{width} columns");
    let scale = 4;
    let dark = |x: usize, y: usize| {
        let (col, module_row) = (x / scale, y / scale);
        let cell = rows[module_row / 2][col];
        let top = module_row % 2 == 0;
        match cell {
            '█' => false,
            ' ' => true,
            '▀' => !top,
            '▄' => top,
            other => panic!("unexpected {other:?}"),
        }
    };
    let decoded = decode(width * scale, rows.len() * 2 * scale, dark);
    assert_eq!(decoded, link);
}

#[test]
fn a_link_too_long_for_any_qr_code_is_an_error() {
    assert!(Qr::new(&"x".repeat(4000)).is_err());
}
