//! Images: the dimensions are read first and checked (a decompression bomb stops there, before
//! any pixel buffer exists), then the decode runs under `image`'s limits; the EXIF orientation
//! is applied to the pixels BEFORE re-encoding, because the re-encoded file carries no metadata
//! at all (no EXIF, no GPS, no XMP, no comments). The thumbnail is made from the upright image.

use std::io::Cursor;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::{Format, MediaLimits, Processed, Refusal, Thumbnail};

/// JPEG quality of re-encoded photos and of thumbnails.
const JPEG_QUALITY: u8 = 88;
const THUMBNAIL_QUALITY: u8 = 80;

fn invalid(e: impl std::fmt::Display) -> Refusal {
    Refusal::Invalid(format!("This image cannot be read: {e}"))
}

pub(super) fn process(
    format: Format,
    bytes: &Bytes,
    limits: &MediaLimits,
) -> Result<Processed, Refusal> {
    let image_format = match format {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        Format::WebP => ImageFormat::WebP,
        _ => return Err(Refusal::Unsupported("not an image".into())),
    };
    if format == Format::Jpeg && !ends_like_a_jpeg(bytes) {
        return Err(invalid("the file is truncated"));
    }
    let img = decode(image_format, bytes, limits)?;
    let original = match format {
        // A GIF is rewritten frame by frame (its animation kept, its extensions dropped).
        Format::Gif => super::gif::rewrite(bytes, limits)?,
        _ => encode(format, &img)?,
    };
    let thumbnail = thumbnail(&img, limits.thumbnail_edge)?;
    Ok(Processed {
        format,
        original,
        thumbnail: Some(thumbnail),
        width: Some(img.width()),
        height: Some(img.height()),
        duration_ms: None,
    })
}

/// The upright image, or why not. The first frame of an animation.
fn decode(
    format: ImageFormat,
    bytes: &Bytes,
    limits: &MediaLimits,
) -> Result<DynamicImage, Refusal> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes.as_ref()), format);
    let mut l = Limits::default();
    // No side may exceed what 40 MP allow with the other side at 1 px… within u32.
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    l.max_image_width = Some(side);
    l.max_image_height = Some(side);
    l.max_alloc = Some(limits.max_decoded_bytes);
    reader.limits(l);
    let mut decoder = reader.into_decoder().map_err(refusal_of)?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(Refusal::Invalid(format!(
            "This image is too large: {w}×{h} is over {} megapixels",
            limits.max_pixels / 1_000_000
        )));
    }
    if pixels == 0 {
        return Err(invalid("it has no pixels"));
    }
    // `from_decoder` does not count its own buffer against `max_alloc` (image-rs #3081).
    if decoder.total_bytes() > limits.max_decoded_bytes {
        return Err(Refusal::Invalid(format!(
            "This image is too large to process ({w}×{h} at this colour depth)"
        )));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(refusal_of)?;
    img.apply_orientation(orientation);
    Ok(img)
}

fn refusal_of(e: image::ImageError) -> Refusal {
    match e {
        image::ImageError::Limits(_) => {
            Refusal::Invalid("This image is too large to process".into())
        }
        other => invalid(other),
    }
}

/// A complete JPEG ends with its EOI marker (FF D9), possibly followed by padding; a cut one
/// does not (the decoder would otherwise fill the missing rows with grey).
fn ends_like_a_jpeg(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    let end = tail
        .iter()
        .rposition(|b| *b != 0x00 && *b != 0xff && *b != b'\n' && *b != b'\r');
    match end {
        Some(i) => tail[i] == 0xd9 && i > 0 && tail[i - 1] == 0xff,
        None => false,
    }
}

/// The pixels in the upload's own format, with nothing else: the encoders write no metadata.
fn encode(format: Format, img: &DynamicImage) -> Result<Bytes, Refusal> {
    let mut out = Vec::new();
    let written = match format {
        Format::Jpeg => {
            let rgb = match img {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => img.clone(),
                other => DynamicImage::ImageRgb8(other.to_rgb8()),
            };
            rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
        }
        Format::Png => img.write_with_encoder(PngEncoder::new_with_quality(
            &mut out,
            CompressionType::Default,
            FilterType::Adaptive,
        )),
        Format::WebP => {
            // `image` encodes WebP losslessly only.
            let eight = if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
            eight.write_with_encoder(WebPEncoder::new_lossless(&mut out))
        }
        _ => return Err(Refusal::Unsupported("not an image".into())),
    };
    written.map_err(|e| Refusal::Invalid(format!("This image cannot be re-encoded: {e}")))?;
    Ok(Bytes::from(out))
}

/// At most `edge` px on the long edge (never enlarged): a JPEG, or a PNG when the image has
/// transparency.
fn thumbnail(img: &DynamicImage, edge: u32) -> Result<Thumbnail, Refusal> {
    let small = if img.width().max(img.height()) > edge {
        img.thumbnail(edge, edge)
    } else {
        img.clone()
    };
    let mut out = Vec::new();
    let (written, content_type) = if small.color().has_alpha() {
        let rgba = DynamicImage::ImageRgba8(small.to_rgba8());
        let enc =
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
        (rgba.write_with_encoder(enc), "image/png")
    } else {
        let rgb = DynamicImage::ImageRgb8(small.to_rgb8());
        let enc = JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY);
        (rgb.write_with_encoder(enc), "image/jpeg")
    };
    written.map_err(|e| Refusal::Invalid(format!("No thumbnail could be made: {e}")))?;
    Ok(Thumbnail {
        bytes: Bytes::from(out),
        content_type,
    })
}
