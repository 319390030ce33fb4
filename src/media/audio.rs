//! Audio containers: just enough parsing to tell audio from video and to read the duration
//! where the container states it (MP4's `mvhd`, Ogg's last granule position, WebM's `Duration`).
//! Every read is bounds-checked; a container we cannot read simply has no duration.

use super::Format;

/// How far into a WebM file its header elements are looked for.
const WEBM_HEADER_WINDOW: usize = 256 * 1024;

pub(super) fn duration_ms(format: Format, bytes: &[u8]) -> Option<u64> {
    match format {
        Format::Mp4Audio => mp4_duration_ms(bytes),
        Format::Ogg => ogg_duration_ms(bytes),
        Format::WebM => webm_duration_ms(bytes),
        _ => None,
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The boxes of one level of an MP4 file: (type, payload).
fn mp4_boxes(mut b: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        let size = be_u32(b, 0)? as usize;
        let kind: [u8; 4] = b.get(4..8)?.try_into().ok()?;
        let (header, size) = match size {
            1 => (16, usize::try_from(be_u64(b, 8)?).ok()?),
            0 => (8, b.len()),
            n => (8, n),
        };
        if size < header || size > b.len() {
            return None;
        }
        let payload = &b[header..size];
        b = &b[size..];
        Some((kind, payload))
    })
}

fn mp4_child<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    mp4_boxes(b).find(|(k, _)| k == kind).map(|(_, p)| p)
}

/// The handler types of the file's tracks (`soun`, `vide`, …).
fn mp4_handlers(bytes: &[u8]) -> Vec<[u8; 4]> {
    let Some(moov) = mp4_child(bytes, b"moov") else {
        return Vec::new();
    };
    mp4_boxes(moov)
        .filter(|(k, _)| k == b"trak")
        .filter_map(|(_, trak)| mp4_child(trak, b"mdia"))
        .filter_map(|mdia| mp4_child(mdia, b"hdlr"))
        .filter_map(|hdlr| hdlr.get(8..12)?.try_into().ok())
        .collect()
}

/// An MP4 with sound tracks and no video track is audio (Safari records voice notes so).
pub(super) fn mp4_is_audio_only(bytes: &[u8]) -> bool {
    let handlers = mp4_handlers(bytes);
    handlers.iter().any(|h| h == b"soun") && !handlers.iter().any(|h| h == b"vide")
}

fn mp4_duration_ms(bytes: &[u8]) -> Option<u64> {
    let mvhd = mp4_child(mp4_child(bytes, b"moov")?, b"mvhd")?;
    let (timescale, duration) = match mvhd.first()? {
        0 => (be_u32(mvhd, 12)?, u64::from(be_u32(mvhd, 16)?)),
        1 => (be_u32(mvhd, 20)?, be_u64(mvhd, 24)?),
        _ => return None,
    };
    (timescale > 0 && duration != u64::MAX && duration != u64::from(u32::MAX))
        .then(|| duration.saturating_mul(1000) / u64::from(timescale))
}

/// Ogg: the last page's granule position, in samples of the stream's rate (Opus: always
/// 48 kHz, minus the pre-skip of its header).
fn ogg_duration_ms(bytes: &[u8]) -> Option<u64> {
    if !bytes.starts_with(b"OggS") {
        return None;
    }
    let segments = usize::from(*bytes.get(26)?);
    let packet = bytes.get(27 + segments..)?;
    let (rate, skip) = if packet.starts_with(b"OpusHead") {
        let pre_skip = u16::from_le_bytes(packet.get(10..12)?.try_into().ok()?);
        (48_000u64, u64::from(pre_skip))
    } else if packet.starts_with(b"\x01vorbis") {
        let rate = u32::from_le_bytes(packet.get(12..16)?.try_into().ok()?);
        (u64::from(rate), 0)
    } else {
        return None;
    };
    let tail_start = bytes.len().saturating_sub(64 * 1024);
    let last = bytes[tail_start..]
        .windows(4)
        .rposition(|w| w == b"OggS")
        .map(|i| tail_start + i)?;
    let granule = u64::from_le_bytes(bytes.get(last + 6..last + 14)?.try_into().ok()?);
    (rate > 0 && granule != u64::MAX).then(|| granule.saturating_sub(skip) * 1000 / rate)
}

/// An EBML variable-length integer at `at`: (value, length). `marker` keeps the length bits
/// (element ids) or strips them (sizes).
fn vint(b: &[u8], at: usize, marker: bool) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut v = if marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xff >> len)
    };
    for i in 1..len {
        v = (v << 8) | u64::from(*b.get(at + i)?);
    }
    Some((v, len))
}

/// The payload of the first element with this id at this level of `b` (walking siblings).
fn ebml_child(b: &[u8], id: u64) -> Option<&[u8]> {
    let mut at = 0;
    while at < b.len() {
        let (eid, il) = vint(b, at, true)?;
        let (size, sl) = vint(b, at + il, false)?;
        let start = at + il + sl;
        // An unknown size (all ones) runs to the end of what we have.
        let end = if size == (1u64 << (7 * sl)) - 1 {
            b.len()
        } else {
            start.checked_add(usize::try_from(size).ok()?)?.min(b.len())
        };
        if eid == id {
            return b.get(start..end);
        }
        if end <= at {
            return None;
        }
        at = end;
    }
    None
}

const EBML_HEADER: u64 = 0x1A45_DFA3;
const SEGMENT: u64 = 0x1853_8067;
const INFO: u64 = 0x1549_A966;
const TRACKS: u64 = 0x1654_AE6B;
const DURATION: u64 = 0x4489;
const TIMECODE_SCALE: u64 = 0x2A_D7B1;

fn webm_segment(bytes: &[u8]) -> Option<&[u8]> {
    let window = &bytes[..bytes.len().min(WEBM_HEADER_WINDOW)];
    let header = ebml_child(window, EBML_HEADER)?;
    let after = header.as_ptr() as usize - window.as_ptr() as usize + header.len();
    ebml_child(window.get(after..)?, SEGMENT)
}

/// A WebM whose tracks name audio codecs only (Chrome and Firefox record voice notes so).
pub(super) fn webm_is_audio_only(bytes: &[u8]) -> bool {
    let Some(tracks) = webm_segment(bytes).and_then(|s| ebml_child(s, TRACKS)) else {
        return false;
    };
    let has = |needle: &[u8]| tracks.windows(needle.len()).any(|w| w == needle);
    (has(b"A_OPUS") || has(b"A_VORBIS")) && !has(b"V_")
}

fn webm_duration_ms(bytes: &[u8]) -> Option<u64> {
    let info = ebml_child(webm_segment(bytes)?, INFO)?;
    let scale_ns = ebml_child(info, TIMECODE_SCALE)
        .map(|v| v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        .unwrap_or(1_000_000);
    let d = ebml_child(info, DURATION)?;
    let ticks = match d.len() {
        4 => f64::from(f32::from_be_bytes(d.try_into().ok()?)),
        8 => f64::from_be_bytes(d.try_into().ok()?),
        _ => return None,
    };
    let ms = ticks * scale_ns as f64 / 1e6;
    (ms.is_finite() && ms >= 0.0).then_some(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn an_m4a_states_its_duration_and_has_no_video() {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&4500u32.to_be_bytes());
        let mut hdlr = vec![0u8; 24];
        hdlr[8..12].copy_from_slice(b"soun");
        let trak = mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr)));
        let moov = mp4_box(b"moov", &[mp4_box(b"mvhd", &mvhd), trak].concat());
        let file = [mp4_box(b"ftyp", b"isomisom"), moov].concat();
        assert!(mp4_is_audio_only(&file));
        assert_eq!(mp4_duration_ms(&file), Some(4500));
    }

    #[test]
    fn garbage_has_no_duration() {
        assert_eq!(mp4_duration_ms(&[0xff; 64]), None);
        assert_eq!(ogg_duration_ms(b"OggS"), None);
        assert_eq!(webm_duration_ms(&[0x1a, 0x45, 0xdf, 0xa3, 0xff]), None);
        assert!(!webm_is_audio_only(&[0x1a, 0x45, 0xdf, 0xa3]));
    }
}
