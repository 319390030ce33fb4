//! The upload pipeline (§12), pure and synchronous: what the bytes are (sniffed with `infer`,
//! never the client's header or the file name), and for images a decode under explicit limits
//! that re-encodes them upright and without their metadata, with a thumbnail. The service runs
//! it off the async runtime (`spawn_blocking`) behind a semaphore.

use bytes::Bytes;

use crate::domain::AttachmentKind;

mod audio;
mod gif;
mod picture;

/// What the pipeline may spend on one image.
#[derive(Debug, Clone, Copy)]
pub struct MediaLimits {
    /// Most pixels an image may have (width × height), 40 megapixels by the contract.
    pub max_pixels: u64,
    /// Most bytes a decoded image may take in memory (a 40 MP RGBA8 image is 160 MB).
    pub max_decoded_bytes: u64,
    /// Most frame pixels an animated GIF may carry in all (each frame is rewritten).
    pub max_gif_frame_pixels: u64,
    /// The thumbnail's long edge.
    pub thumbnail_edge: u32,
}

impl Default for MediaLimits {
    fn default() -> Self {
        Self {
            max_pixels: 40_000_000,
            max_decoded_bytes: 256 * 1024 * 1024,
            max_gif_frame_pixels: 400_000_000,
            thumbnail_edge: 320,
        }
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a type we accept (415 `UNSUPPORTED_MEDIA_TYPE`).
    #[error("{0}")]
    Unsupported(String),
    /// An accepted type whose content is unusable: does not decode, too many pixels
    /// (`VALIDATION`).
    #[error("{0}")]
    Invalid(String),
}

/// A format we accept, decided from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    WebP,
    Ogg,
    WebM,
    Mp4Audio,
    Mp3,
    Pdf,
    Doc,
    Docx,
    Xls,
    Xlsx,
    Odt,
    Ods,
}

impl Format {
    pub fn kind(self) -> AttachmentKind {
        match self {
            Format::Jpeg | Format::Png | Format::Gif | Format::WebP => AttachmentKind::Image,
            Format::Ogg | Format::WebM | Format::Mp4Audio | Format::Mp3 => AttachmentKind::Audio,
            _ => AttachmentKind::File,
        }
    }

    /// The true `Content-Type` of the bytes as served.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::WebP => "image/webp",
            Format::Ogg => "audio/ogg",
            Format::WebM => "audio/webm",
            Format::Mp4Audio => "audio/mp4",
            Format::Mp3 => "audio/mpeg",
            Format::Pdf => "application/pdf",
            Format::Doc => "application/msword",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Xls => "application/vnd.ms-excel",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Odt => "application/vnd.oasis.opendocument.text",
            Format::Ods => "application/vnd.oasis.opendocument.spreadsheet",
        }
    }
}

/// Decide the format from the bytes alone. Order matters where signatures overlap (an M4A is
/// also an MP4; an Office file is also a ZIP or a CFB container).
pub fn sniff(bytes: &[u8]) -> Result<Format, Refusal> {
    use infer::{archive, audio as a, doc, image as i, odf, video as v};
    let found = if i::is_jpeg(bytes) {
        Format::Jpeg
    } else if i::is_png(bytes) {
        Format::Png
    } else if i::is_gif(bytes) {
        Format::Gif
    } else if i::is_webp(bytes) {
        Format::WebP
    } else if a::is_m4a(bytes) || (v::is_mp4(bytes) && audio::mp4_is_audio_only(bytes)) {
        Format::Mp4Audio
    } else if a::is_ogg(bytes) || a::is_ogg_opus(bytes) {
        Format::Ogg
    } else if v::is_webm(bytes) && audio::webm_is_audio_only(bytes) {
        Format::WebM
    } else if a::is_mp3(bytes) {
        Format::Mp3
    } else if archive::is_pdf(bytes) {
        Format::Pdf
    } else if doc::is_docx(bytes) {
        Format::Docx
    } else if doc::is_xlsx(bytes) {
        Format::Xlsx
    } else if odf::is_odt(bytes) {
        Format::Odt
    } else if odf::is_ods(bytes) {
        Format::Ods
    } else if doc::is_doc(bytes) {
        Format::Doc
    } else if doc::is_xls(bytes) {
        Format::Xls
    } else {
        let what = infer::get(bytes).map_or("unrecognised bytes".to_owned(), |t| {
            t.mime_type().to_owned()
        });
        return Err(Refusal::Unsupported(format!(
            "This type of file is not accepted ({what}): send a JPEG, PNG, GIF or WebP image, \
             an Ogg, WebM, M4A or MP3 audio file, a PDF, or an Office or OpenDocument text or \
             spreadsheet"
        )));
    };
    Ok(found)
}

/// The bytes as they will be served, and what the wire says of them.
#[derive(Debug, Clone)]
pub struct Processed {
    pub format: Format,
    pub original: Bytes,
    /// A JPEG (or a PNG when the image has transparency), at most `thumbnail_edge` on the
    /// long edge: images only.
    pub thumbnail: Option<Thumbnail>,
    /// Of the upright image.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

/// Sniff, then for images decode under `limits`, apply the EXIF orientation, re-encode
/// without metadata and make the thumbnail; audio gets its duration when the container
/// states it; documents are kept as they are. CPU-bound: call it from a blocking thread.
pub fn process(bytes: Bytes, limits: &MediaLimits) -> Result<Processed, Refusal> {
    let format = sniff(&bytes)?;
    match format.kind() {
        AttachmentKind::Image => picture::process(format, &bytes, limits),
        AttachmentKind::Audio => Ok(Processed {
            format,
            duration_ms: audio::duration_ms(format, &bytes),
            original: bytes,
            thumbnail: None,
            width: None,
            height: None,
        }),
        AttachmentKind::File => Ok(Processed {
            format,
            original: bytes,
            thumbnail: None,
            width: None,
            height: None,
            duration_ms: None,
        }),
    }
}
