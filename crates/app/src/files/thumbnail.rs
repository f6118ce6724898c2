//! Thumbnails of PNG, JPEG, WebP and GIF images: decoded within fixed bounds, turned upright,
//! scaled so the longest side is at most 256 px and re-encoded from the pixels alone, so no
//! EXIF (GPS position, camera serial), ICC or other metadata of the original survives.
//!
//! A decompression bomb (a small file claiming huge dimensions) is refused from its header,
//! before any pixel buffer is allocated. Blocking work: call it on the blocking pool.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder as _, ImageFormat, ImageReader, Limits};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;
/// Wider or taller images are refused (a 16K panorama still passes).
pub const MAX_DIMENSION: u32 = 16_384;
/// The most a decode may allocate: a 48-megapixel RGB photo fits, a bomb does not.
pub const MAX_DECODE_BYTES: u64 = 256 << 20;
/// Larger files are not decoded at all (no thumbnail; the file itself is fine).
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

const JPEG_QUALITY: u8 = 80;

/// The formats a thumbnail is made of, by sniffed content type.
pub fn format_of(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/webp" => Some(ImageFormat::WebP),
        "image/gif" => Some(ImageFormat::Gif),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Why an image has no thumbnail: it does not decode, or is out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(pub String);

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

pub fn make(bytes: &[u8], format: ImageFormat) -> Result<Thumbnail, Unusable> {
    let unusable = |what: &str, err: image::ImageError| Unusable(format!("{what}: {err}"));
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    // Reads the header only; the dimension limits are checked here.
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| unusable("unreadable image", e))?;
    let (width, height) = decoder.dimensions();
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(Unusable(format!(
            "{width}x{height} pixels would need {} bytes to decode",
            decoder.total_bytes()
        )));
    }
    let orientation = decoder
        .orientation()
        .map_err(|e| unusable("unreadable orientation", e))?;
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| unusable("undecodable image", e))?;
    image.apply_orientation(orientation);
    let image = if image.width().max(image.height()) > THUMBNAIL_SIDE {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    } else {
        image
    };
    encode(&image)
}

/// PNG when transparency must survive, JPEG otherwise. Neither encoder writes metadata that
/// is not given to it, and none is.
fn encode(image: &DynamicImage) -> Result<Thumbnail, Unusable> {
    let failed = |err: image::ImageError| Unusable(format!("cannot encode the thumbnail: {err}"));
    let mut out = Cursor::new(Vec::new());
    if image.color().has_alpha() {
        image
            .to_rgba8()
            .write_to(&mut out, ImageFormat::Png)
            .map_err(failed)?;
        return Ok(Thumbnail {
            bytes: out.into_inner(),
            content_type: "image/png",
        });
    }
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&image.to_rgb8())
        .map_err(failed)?;
    Ok(Thumbnail {
        bytes: out.into_inner(),
        content_type: "image/jpeg",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        let written = image.write_to(&mut out, ImageFormat::Png);
        assert!(written.is_ok());
        out.into_inner()
    }

    #[test]
    fn the_longest_side_becomes_256_pixels() {
        let made = make(&png(1000, 500), ImageFormat::Png);
        let thumb = made.as_ref().map(|t| t.content_type);
        assert_eq!(thumb, Ok("image/jpeg"));
        let bytes = made.map(|t| t.bytes).unwrap_or_default();
        let decoded = image::load_from_memory(&bytes).map(|i| (i.width(), i.height()));
        assert_eq!(decoded.ok(), Some((256, 128)));
    }

    #[test]
    fn small_images_keep_their_size() {
        let bytes = make(&png(40, 20), ImageFormat::Png)
            .map(|t| t.bytes)
            .unwrap_or_default();
        let decoded = image::load_from_memory(&bytes).map(|i| (i.width(), i.height()));
        assert_eq!(decoded.ok(), Some((40, 20)));
    }

    #[test]
    fn corrupt_bytes_and_wrong_formats_are_unusable() {
        assert!(make(b"\x89PNG\r\n\x1a\nnot really", ImageFormat::Png).is_err());
        assert!(make(&png(10, 10), ImageFormat::Jpeg).is_err());
        let mut truncated = png(300, 300);
        truncated.truncate(truncated.len() / 2);
        assert!(make(&truncated, ImageFormat::Png).is_err());
    }
}
