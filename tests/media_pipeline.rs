//! The upload pipeline on real files (§12): what is accepted and how it comes out (upright,
//! without metadata, with a thumbnail ≤ 320 px), and what is refused, bombs included.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::media_files::*;
use image::{GenericImageView, ImageDecoder};
use order_chat::domain::AttachmentKind;
use order_chat::media::{Format, MediaLimits, Refusal, process, sniff};

fn run(bytes: Vec<u8>) -> Result<order_chat::media::Processed, Refusal> {
    process(Bytes::from(bytes), &MediaLimits::default())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_phone_jpeg_is_served_upright_without_exif_or_gps() {
    let input = phone_jpeg(400, 200);
    assert!(contains(&input, b"Exif") && contains(&input, b"N\0"));
    let out = run(input).expect("accepted");
    assert_eq!(out.format, Format::Jpeg);
    // Orientation 6: the 400×200 sensor image is shown 200 wide and 400 tall.
    assert_eq!((out.width, out.height), (Some(200), Some(400)));
    assert!(!contains(&out.original, b"Exif"), "no EXIF left");
    assert!(!contains(&out.original, &[0xff, 0xe1]), "no APP1 segment");
    let mut dec =
        image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(out.original.to_vec())).unwrap();
    assert_eq!(dec.exif_metadata().unwrap(), None);
    let img = decode(&out.original);
    assert_eq!(img.dimensions(), (200, 400));
    // The sensor's left half (red) is now on top, its right half (blue) below.
    let top = img.get_pixel(100, 50);
    let bottom = img.get_pixel(100, 350);
    assert!(top[0] > 150 && top[2] < 100, "red on top: {top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 100, "blue below: {bottom:?}");
    let thumb = out.thumbnail.expect("thumbnail");
    assert_eq!(thumb.content_type, "image/jpeg");
    assert_eq!(decode(&thumb.bytes).dimensions(), (160, 320));
}

#[test]
fn a_png_keeps_its_transparency_and_its_thumbnail_too() {
    let out = run(png_with_alpha(1000, 500)).expect("accepted");
    assert_eq!(out.format, Format::Png);
    assert_eq!(out.format.kind(), AttachmentKind::Image);
    let img = decode(&out.original);
    assert_eq!(img.dimensions(), (1000, 500));
    assert_eq!(img.get_pixel(900, 10)[3], 0, "transparent half kept");
    assert_eq!(img.get_pixel(10, 10)[3], 255);
    let thumb = out.thumbnail.unwrap();
    assert_eq!(thumb.content_type, "image/png");
    let t = decode(&thumb.bytes);
    assert_eq!(t.dimensions(), (320, 160));
    assert_eq!(t.get_pixel(300, 5)[3], 0);
}

#[test]
fn a_gif_keeps_its_frames() {
    let out = run(animated_gif(64, 48)).expect("accepted");
    assert_eq!(out.format, Format::Gif);
    assert_eq!((out.width, out.height), (Some(64), Some(48)));
    use image::AnimationDecoder;
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(out.original.to_vec()))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 2);
    assert!(out.thumbnail.is_some());
}

#[test]
fn a_webp_is_accepted() {
    let out = run(webp(500, 300)).expect("accepted");
    assert_eq!(out.format, Format::WebP);
    assert_eq!(out.format.content_type(), "image/webp");
    assert_eq!(decode(&out.original).dimensions(), (500, 300));
    assert_eq!(
        decode(&out.thumbnail.unwrap().bytes).dimensions(),
        (320, 192)
    );
}

#[test]
fn a_small_image_is_not_enlarged() {
    let out = run(jpeg(&halves(100, 80))).unwrap();
    assert_eq!(
        decode(&out.thumbnail.unwrap().bytes).dimensions(),
        (100, 80)
    );
}

#[test]
fn a_pdf_is_a_file_kept_as_it_is() {
    let out = run(pdf()).expect("accepted");
    assert_eq!(out.format, Format::Pdf);
    assert_eq!(out.format.kind(), AttachmentKind::File);
    assert_eq!(out.original.as_ref(), pdf().as_slice());
    assert!(out.thumbnail.is_none());
}

#[test]
fn svg_html_and_unknown_bytes_are_unsupported() {
    for bytes in [
        SVG_WITH_SCRIPT.to_vec(),
        HTML_PAGE.to_vec(),
        b"MZ\x90\0\x03".to_vec(),
        vec![7; 100],
    ] {
        match sniff(&bytes) {
            Err(Refusal::Unsupported(_)) => {}
            other => panic!("{:?} must be unsupported, got {other:?}", &bytes[..5]),
        }
    }
}

#[test]
fn a_truncated_jpeg_is_invalid() {
    let full = jpeg(&halves(300, 300));
    let cut = full[..full.len() * 2 / 3].to_vec();
    assert!(matches!(run(cut), Err(Refusal::Invalid(_))));
}

#[test]
fn a_decompression_bomb_is_refused_at_once() {
    let start = Instant::now();
    match run(png_bomb()) {
        Err(Refusal::Invalid(m)) => assert!(m.contains("too large"), "{m}"),
        other => panic!("bomb accepted: {:?}", other.map(|p| p.width)),
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "no pixel buffer was made"
    );
}

#[test]
fn a_garbled_png_is_invalid() {
    let mut png = png_with_alpha(50, 50);
    let n = png.len();
    for b in &mut png[60..n - 20] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    assert!(matches!(run(png), Err(Refusal::Invalid(_))));
}
