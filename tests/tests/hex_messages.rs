//! The hex-text messages and fuzz inputs of the shared data folder:
//! ExaBGP's decoding QA set, PcapPlusPlus' frames (some malformed OPENs) and
//! GoBGP's bad-length crash inputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{BufMut, Bytes, BytesMut};
use speaker::wire::{CodecContext, DecodeError, Message};
use std::path::{Path, PathBuf};

fn data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bgp-data")
        .join(sub)
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks_exact(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn with_header(msg_type: u8, body: &[u8]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_slice(&[0xff; 16]);
    b.put_u16((19 + body.len()) as u16);
    b.put_u8(msg_type);
    b.put_slice(body);
    b.freeze()
}

fn clean(r: &Result<Message, DecodeError>) -> bool {
    match r {
        Ok(Message::Update(u)) => u.issues.is_empty(),
        Ok(_) => true,
        Err(_) => false,
    }
}

#[test]
fn exabgp_qa_messages_decode_cleanly_and_reencode_identically() {
    let ctx = CodecContext {
        extended_message: true,
        ..CodecContext::four_octet()
    };
    let mut checked = 0;
    for f in files("bgp-msg/exabgp-qa-decoding") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap();
        let mut lines = text.lines();
        let kind = lines.next().unwrap();
        let raw = unhex(lines.next().unwrap());
        let msg = if raw.starts_with(&[0xff; 16]) {
            Bytes::from(raw)
        } else if kind.starts_with("update") {
            with_header(2, &raw)
        } else {
            // A bare BGP-LS NLRI: this speaker carries BGP-LS opaquely.
            let family =
                speaker::wire::Family::new(speaker::wire::Afi::BGP_LS, speaker::wire::Safi::BGP_LS);
            let n = speaker::wire::Nlri::decode(family, false, Bytes::from(raw)).unwrap();
            assert!(n.is_opaque(), "{name}");
            continue;
        };
        let r = Message::decode(msg.clone(), &ctx, None);
        assert!(clean(&r), "{name}: {r:?}");
        let out = r.unwrap().to_bytes(&ctx).unwrap();
        assert_eq!(out, msg, "{name}: re-encoding differs");
        checked += 1;
    }
    assert_eq!(checked, 21);
}

#[test]
fn pcapplusplus_frames_decode_and_malformed_opens_are_rejected() {
    let ctx = CodecContext::four_octet();
    for f in files("bgp-msg/pcapplusplus-hexframes") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let frame = unhex(&std::fs::read_to_string(&f).unwrap());
        let at = frame
            .windows(16)
            .position(|w| w == [0xff; 16])
            .expect("marker");
        let mut buf = BytesMut::from(&frame[at..]);
        let malformed = name.contains("malformed")
            || name.contains("too_short")
            || name.contains("truncated")
            || name.contains("partial");
        let mut outcomes = Vec::new();
        loop {
            match Message::decode_from(&mut buf, &ctx, None) {
                Ok(Some(m)) => outcomes.push(Ok(m)),
                Ok(None) => break,
                Err(e) => {
                    outcomes.push(Err(e));
                    break;
                }
            }
        }
        if malformed {
            let err = outcomes.iter().find_map(|o| o.as_ref().err());
            let left_over = !buf.is_empty() && outcomes.is_empty();
            assert!(
                err.is_some() || left_over,
                "{name}: malformed frame accepted: {outcomes:?}"
            );
            if let Some(e) = err {
                assert!(matches!(e.notification().code, 1 | 2), "{name}: {e}");
            }
        } else {
            assert!(
                !outcomes.is_empty() && outcomes.iter().all(|o| o.is_ok()),
                "{name}: {outcomes:?}"
            );
        }
    }
}

#[test]
fn gobgp_bad_length_inputs_are_errors_not_panics() {
    for f in files("fuzz/gobgp-fuzz-bad-len") {
        let raw = Bytes::from(std::fs::read(&f).unwrap());
        let r = Message::decode(raw.clone(), &CodecContext::default(), None);
        assert!(r.is_err(), "{f:?} decoded: {r:?}");
        let mut buf = BytesMut::from(&raw[..]);
        let r = Message::decode_from(&mut buf, &CodecContext::default(), None);
        assert!(r.is_err(), "{f:?} framed: {r:?}");
    }
}
