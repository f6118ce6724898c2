//! Files made for the tests: images (one with GPS tags), a pixel bomb, an executable.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

/// A PNG of `width` x `height` with a gradient (so it is not trivially compressible).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, 60, (y % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("encode JPEG");
    out.into_inner()
}

/// What the EXIF block of [`jpeg_with_gps`] carries, to look for in its thumbnail.
pub const CAMERA_MAKE: &[u8] = b"SpyCam-GPS-9000";

/// A JPEG whose EXIF block (APP1) has a camera make, orientation 6 (rotate 90° clockwise) and a
/// GPS position (48° 51' 24" N, 2° 21' 3" E: Paris).
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    let exif = exif_block();
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&u16::try_from(exif.len() + 2).expect("small").to_be_bytes());
    segment.extend_from_slice(&exif);
    // Right after SOI (FF D8).
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&segment);
    out.extend_from_slice(&plain[2..]);
    out
}

/// "Exif\0\0" and a little-endian TIFF structure: IFD0 (Make, Orientation, GPS pointer) and
/// the GPS IFD (latitude and longitude with their references).
fn exif_block() -> Vec<u8> {
    let mut tiff: Vec<u8> = Vec::new();
    let u16le = |v: u16| v.to_le_bytes();
    let u32le = |v: u32| v.to_le_bytes();
    tiff.extend_from_slice(b"II");
    tiff.extend_from_slice(&u16le(42));
    tiff.extend_from_slice(&u32le(8));
    // IFD0 at 8: 3 entries (12 bytes each), then the next-IFD offset.
    let ifd0_len = 2 + 3 * 12 + 4;
    let make_at = 8 + ifd0_len;
    let make_len = CAMERA_MAKE.len() as u32 + 1;
    let gps_at = make_at + make_len;
    tiff.extend_from_slice(&u16le(3));
    // Make (0x010F), ASCII.
    tiff.extend_from_slice(&u16le(0x010F));
    tiff.extend_from_slice(&u16le(2));
    tiff.extend_from_slice(&u32le(make_len));
    tiff.extend_from_slice(&u32le(make_at));
    // Orientation (0x0112), SHORT, 6.
    tiff.extend_from_slice(&u16le(0x0112));
    tiff.extend_from_slice(&u16le(3));
    tiff.extend_from_slice(&u32le(1));
    tiff.extend_from_slice(&u16le(6));
    tiff.extend_from_slice(&u16le(0));
    // GPSInfo (0x8825), LONG offset.
    tiff.extend_from_slice(&u16le(0x8825));
    tiff.extend_from_slice(&u16le(4));
    tiff.extend_from_slice(&u32le(1));
    tiff.extend_from_slice(&u32le(gps_at));
    tiff.extend_from_slice(&u32le(0));
    tiff.extend_from_slice(CAMERA_MAKE);
    tiff.push(0);
    // GPS IFD: 4 entries; the rationals follow it.
    let gps_len = 2 + 4 * 12 + 4;
    let lat_at = gps_at + gps_len;
    let lon_at = lat_at + 24;
    tiff.extend_from_slice(&u16le(4));
    for (tag, reference) in [(1u16, b'N'), (3u16, b'E')] {
        tiff.extend_from_slice(&u16le(tag));
        tiff.extend_from_slice(&u16le(2));
        tiff.extend_from_slice(&u32le(2));
        tiff.extend_from_slice(&[reference, 0, 0, 0]);
    }
    for (tag, at) in [(2u16, lat_at), (4u16, lon_at)] {
        tiff.extend_from_slice(&u16le(tag));
        tiff.extend_from_slice(&u16le(5));
        tiff.extend_from_slice(&u32le(3));
        tiff.extend_from_slice(&u32le(at));
    }
    tiff.extend_from_slice(&u32le(0));
    for (numerator, denominator) in [(48, 1), (51, 1), (24, 1), (2, 1), (21, 1), (3, 1)] {
        tiff.extend_from_slice(&u32le(numerator));
        tiff.extend_from_slice(&u32le(denominator));
    }
    let mut block = b"Exif\0\0".to_vec();
    block.extend_from_slice(&tiff);
    block
}

/// The JPEG segment markers of `jpeg` up to the image data (`FF E1` is APP1, EXIF's).
pub fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        markers.push(marker);
        if marker == 0xDA {
            break; // start of scan: the image data follows
        }
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        at += 2 + len;
    }
    markers
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = u32::try_from(data.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut covered = kind.to_vec();
    covered.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&covered).to_be_bytes());
    chunk
}

/// A well-formed PNG of under 100 bytes that claims `width` x `height` RGBA pixels: a
/// decompression bomb if anything believed it.
pub fn pixel_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&png_chunk(b"IHDR", &header));
    // An empty zlib stream: whatever the decoder would inflate, it has to allocate first.
    png.extend_from_slice(&png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend_from_slice(&png_chunk(b"IEND", &[]));
    png
}

/// The start of a 64-bit ELF executable.
pub fn elf() -> Vec<u8> {
    let mut elf = b"\x7FELF\x02\x01\x01\x00".to_vec();
    elf.resize(512, 0);
    elf[16] = 2; // ET_EXEC
    elf[18] = 0x3E; // x86-64
    elf
}
