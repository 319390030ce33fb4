//! GIFs are rewritten block by block with the `gif` crate: every frame is decoded to its
//! palette indices (checked, bounded) and written again with its palette, position, delay,
//! disposal and transparency, and the loop count. Nothing else survives: comments, XMP and
//! other application extensions are dropped. No colour is re-quantised, so it is lossless.

use std::io::Cursor;
use std::num::NonZeroU64;

use bytes::Bytes;
use gif::{ColorOutput, DecodeOptions, Encoder, MemoryLimit};

use super::{MediaLimits, Refusal};

/// Most frames one GIF may have.
const MAX_FRAMES: usize = 2000;

fn invalid(e: impl std::fmt::Display) -> Refusal {
    Refusal::Invalid(format!("This image cannot be read: {e}"))
}

pub(super) fn rewrite(bytes: &[u8], limits: &MediaLimits) -> Result<Bytes, Refusal> {
    let mut options = DecodeOptions::new();
    options.set_color_output(ColorOutput::Indexed);
    let per_frame = NonZeroU64::new(limits.max_pixels).unwrap_or(NonZeroU64::MIN);
    options.set_memory_limit(MemoryLimit::Bytes(per_frame));
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(invalid)?;
    let (w, h) = (decoder.width(), decoder.height());
    let palette = decoder
        .global_palette()
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let repeat = decoder.repeat();
    let mut out = Vec::with_capacity(bytes.len());
    {
        let mut encoder = Encoder::new(&mut out, w, h, &palette).map_err(invalid)?;
        encoder.set_repeat(repeat).map_err(invalid)?;
        let (mut frames, mut pixels) = (0usize, 0u64);
        while let Some(frame) = decoder.read_next_frame().map_err(invalid)? {
            frames += 1;
            pixels += u64::from(frame.width) * u64::from(frame.height);
            if frames > MAX_FRAMES || pixels > limits.max_gif_frame_pixels {
                return Err(Refusal::Invalid(
                    "This animation is too large: too many frames".into(),
                ));
            }
            encoder.write_frame(frame).map_err(invalid)?;
        }
        if frames == 0 {
            return Err(invalid("it has no frames"));
        }
    }
    Ok(Bytes::from(out))
}
