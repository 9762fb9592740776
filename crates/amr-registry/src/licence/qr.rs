//! QR codes as SVG (for pages) and PNG (for download and print shops), drawn from the module
//! matrix of the `qrcode` crate. The PNG writer is our own: one bit per pixel, grayscale,
//! zlib-compressed; a few dozen lines instead of an image library.

use std::io::Write;

use amr_kernel::error::AppError;

/// Light modules around the code, as ISO/IEC 18004 asks.
pub const QUIET_ZONE: usize = 4;

/// A QR code's modules (`true` = dark), row by row.
#[derive(Debug, Clone)]
pub struct Qr {
    width: usize,
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `text` at error-correction level M (15 % of the symbol may be lost).
    pub fn encode(text: &str) -> Result<Qr, AppError> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("QR encoding: {e}")))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(Qr { width, dark })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// A scalable SVG (one path; runs of dark modules per row), `label` as its accessible name.
    pub fn svg(&self, label: &str) -> String {
        let side = self.width + 2 * QUIET_ZONE;
        let mut d = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    d.push_str(&format!(
                        "M{} {}h{}v1h-{}z",
                        start + QUIET_ZONE,
                        y + QUIET_ZONE,
                        x - start,
                        x - start
                    ));
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
             shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{}\" class=\"qr\">\
             <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{d}\"/></svg>",
            escape_attr(label)
        )
    }

    /// A PNG with `scale` pixels per module, quiet zone included.
    pub fn png(&self, scale: usize) -> Vec<u8> {
        let scale = scale.max(1);
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let row_bytes = side.div_ceil(8);
        let mut raw = Vec::with_capacity((row_bytes + 1) * side);
        for py in 0..side {
            raw.push(0); // filter: none
            let my = (py / scale).checked_sub(QUIET_ZONE);
            let mut byte = 0u8;
            for px in 0..side {
                let mx = (px / scale).checked_sub(QUIET_ZONE);
                let dark = matches!((mx, my), (Some(x), Some(y)) if self.is_dark(x, y));
                // Grayscale, 1 bit: 1 is white.
                byte = (byte << 1) | u8::from(!dark);
                if px % 8 == 7 {
                    raw.push(byte);
                    byte = 0;
                }
            }
            if !side.is_multiple_of(8) {
                raw.push((byte << (8 - side % 8)) | (0xff >> (side % 8)));
            }
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = z.write_all(&raw);
        let idat = z.finish().unwrap_or_default();

        let mut out = Vec::with_capacity(idat.len() + 64);
        out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(side as u32).to_be_bytes());
        ihdr.extend_from_slice(&(side as u32).to_be_bytes());
        ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // depth 1, grayscale, deflate, no filter/interlace
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &idat);
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const URL: &str = "https://amr.example.gov.cn/v/AZE3MDEwMk1BM0M0WVFYMEJ8";

    #[test]
    fn the_svg_draws_every_dark_module_and_escapes_its_label() {
        let qr = Qr::encode(URL).unwrap();
        let svg = qr.svg("码 \"<x>\"");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("aria-label=\"码 &quot;&lt;x&gt;&quot;\""));
        let side = qr.width() + 2 * QUIET_ZONE;
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        // The sum of the run lengths is the number of dark modules.
        let dark = (0..qr.width())
            .flat_map(|y| (0..qr.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| qr.is_dark(x, y))
            .count();
        let drawn: usize = svg
            .split('h')
            .skip(1)
            .filter_map(|s| s.split('v').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(drawn, dark);
    }

    #[test]
    fn the_png_is_well_formed_and_holds_the_modules() {
        let qr = Qr::encode(URL).unwrap();
        let scale = 3;
        let png = qr.png(scale);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let side = (qr.width() + 2 * QUIET_ZONE) * scale;
        // Walk the chunks, checking each CRC.
        let mut at = 8;
        let mut idat = Vec::new();
        let mut kinds = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut h = crc32fast::Hasher::new();
            h.update(kind);
            h.update(data);
            assert_eq!(h.finalize(), crc);
            if kind == b"IHDR" {
                assert_eq!(
                    u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize,
                    side
                );
                assert_eq!(&data[8..10], &[1, 0]);
            }
            if kind == b"IDAT" {
                idat.extend_from_slice(data);
            }
            kinds.push(String::from_utf8(kind.to_vec()).unwrap());
            at += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(idat.as_slice())
            .read_to_end(&mut raw)
            .unwrap();
        let row = side.div_ceil(8) + 1;
        assert_eq!(raw.len(), row * side);
        let pixel_dark =
            |px: usize, py: usize| raw[py * row + 1 + px / 8] & (0x80 >> (px % 8)) == 0;
        for y in 0..qr.width() {
            for x in 0..qr.width() {
                let (px, py) = ((x + QUIET_ZONE) * scale + 1, (y + QUIET_ZONE) * scale + 1);
                assert_eq!(pixel_dark(px, py), qr.is_dark(x, y), "module {x},{y}");
            }
        }
        assert!(!pixel_dark(0, 0), "the quiet zone is light");

        // A QR reader finds the address in the PNG's pixels.
        let mut img = rqrr::PreparedImage::prepare_from_bitmap(side, side, pixel_dark);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, URL);
    }
}
