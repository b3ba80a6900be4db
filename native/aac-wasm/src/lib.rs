//! AAC-LC decoding for gigastt, as a tiny C-ABI WebAssembly module around
//! symphonia-codec-aac (MPL-2.0, used unmodified). The host writes bytes into memory
//! from `gst_alloc`, calls `gst_open` with an AudioSpecificConfig, then `gst_decode`
//! per raw AAC access unit; decoded audio is planar f32 at `gst_out()`.
use symphonia_codec_aac::AacDecoder;
use symphonia_core::audio::{AudioBufferRef, SampleBuffer};
use symphonia_core::codecs::{CodecParameters, Decoder, DecoderOptions, CODEC_TYPE_AAC};
use symphonia_core::formats::Packet;

struct State {
    dec: AacDecoder,
    out: Vec<f32>,
    channels: u32,
    rate: u32,
}

static mut STATE: Option<State> = None;

#[no_mangle]
pub extern "C" fn gst_alloc(n: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(n);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

#[no_mangle]
pub unsafe extern "C" fn gst_free(p: *mut u8, n: usize) {
    drop(Vec::from_raw_parts(p, 0, n));
}

/// 0: ready; -1: the config is refused (HE-AAC, bad bytes).
#[no_mangle]
pub unsafe extern "C" fn gst_open(asc: *const u8, len: usize) -> i32 {
    let bytes = std::slice::from_raw_parts(asc, len).to_vec().into_boxed_slice();
    let mut params = CodecParameters::new();
    params.for_codec(CODEC_TYPE_AAC).with_extra_data(bytes);
    match AacDecoder::try_new(&params, &DecoderOptions::default()) {
        Ok(dec) => {
            STATE = Some(State { dec, out: Vec::new(), channels: 0, rate: 0 });
            0
        }
        Err(_) => -1,
    }
}

/// Samples per channel decoded from one access unit; -1 for a damaged one (skip it).
#[no_mangle]
pub unsafe extern "C" fn gst_decode(p: *const u8, len: usize) -> i32 {
    let st = match STATE.as_mut() {
        Some(s) => s,
        None => return -2,
    };
    let data = std::slice::from_raw_parts(p, len).to_vec();
    let packet = Packet::new_from_slice(0, 0, 0, &data);
    match st.dec.decode(&packet) {
        Ok(buf) => {
            let frames = buf.frames();
            let spec = *buf.spec();
            st.channels = spec.channels.count() as u32;
            st.rate = spec.rate;
            if frames == 0 {
                return 0;
            }
            let mut sb = SampleBuffer::<f32>::new(frames as u64, spec);
            copy(&mut sb, buf);
            st.out.clear();
            st.out.extend_from_slice(sb.samples());
            frames as i32
        }
        Err(_) => -1,
    }
}

fn copy(sb: &mut SampleBuffer<f32>, buf: AudioBufferRef) {
    sb.copy_planar_ref(buf);
}

#[no_mangle]
pub unsafe extern "C" fn gst_out() -> *const f32 {
    STATE.as_ref().map_or(std::ptr::null(), |s| s.out.as_ptr())
}

#[no_mangle]
pub unsafe extern "C" fn gst_channels() -> u32 {
    STATE.as_ref().map_or(0, |s| s.channels)
}

#[no_mangle]
pub unsafe extern "C" fn gst_rate() -> u32 {
    STATE.as_ref().map_or(0, |s| s.rate)
}

#[no_mangle]
pub unsafe extern "C" fn gst_close() {
    STATE = None;
}
