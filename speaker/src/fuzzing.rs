//! Entry points for the fuzz targets in `speaker/fuzz`: each decodes
//! arbitrary octets and checks the codec's invariants, panicking only when
//! one is broken.

use crate::wire::{AttrInterner, CodecContext, Family, Message};
use bytes::Bytes;

/// Contexts a message may be decoded in: the first input octet picks one.
fn context(selector: u8) -> CodecContext {
    let mut ctx = CodecContext {
        four_octet_as: selector & 1 != 0,
        extended_message: selector & 2 != 0,
        ..CodecContext::default()
    };
    if selector & 4 != 0 {
        ctx.add_path = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST, Family::VPNV4];
    }
    ctx
}

/// A whole message: decoding never panics; a clean decode re-encodes to the
/// same octets' meaning (decoding the re-encoding gives the same message).
pub fn fuzz_message(data: &[u8]) {
    let Some((&selector, msg)) = data.split_first() else {
        return;
    };
    let ctx = context(selector);
    let mut interner = AttrInterner::with_limit(64);
    let Ok(m) = Message::decode(Bytes::copy_from_slice(msg), &ctx, Some(&mut interner)) else {
        return;
    };
    if let Message::Update(u) = &m
        && !u.issues.is_empty()
    {
        return;
    }
    // What decoded within the size limit encodes within it again.
    let encoded = m.to_bytes(&ctx);
    let Ok(encoded) = encoded else {
        panic!("a decoded message does not encode: {encoded:?}");
    };
    let again = Message::decode(encoded, &ctx, None);
    assert_eq!(
        again.as_ref().ok(),
        Some(&m),
        "re-encoding changed the message"
    );
}

/// A path attributes field alone, as in an UPDATE or an MRT RIB entry.
pub fn fuzz_attributes(data: &[u8]) {
    let Some((&selector, raw)) = data.split_first() else {
        return;
    };
    let mut ctx = context(selector);
    if selector & 8 != 0 {
        ctx.mrt_rib_entry = Some(if selector & 16 != 0 {
            Family::IPV6_UNICAST
        } else {
            Family::IPV4_UNICAST
        });
    }
    let raw = Bytes::copy_from_slice(raw);
    let Ok((attrs, reach, unreach, issues)) =
        crate::wire::update::decode_interned(&raw, &ctx, None)
    else {
        return;
    };
    if !issues.is_empty() {
        return;
    }
    let mut out = bytes::BytesMut::new();
    let encoded = crate::wire::attr::encode_attributes(
        &attrs,
        reach.as_ref(),
        unreach.as_ref(),
        &ctx,
        &mut out,
    );
    assert!(
        encoded.is_ok(),
        "decoded attributes do not encode: {encoded:?}"
    );
    let again = crate::wire::update::decode_interned(&out.freeze(), &ctx, None);
    let Ok((a2, _, _, i2)) = again else {
        panic!("re-encoded attributes do not decode");
    };
    assert_eq!(*a2, *attrs, "re-encoding changed the attributes");
    assert!(i2.is_empty());
}

/// An MRT stream (possibly compressed): reading never panics, ends after a
/// fatal error, and never allocates past the record cap.
pub fn fuzz_mrt(data: &[u8]) {
    let Ok(reader) = crate::mrt::MrtReader::new(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let reader = reader.with_max_record_len(1 << 20);
    let mut fatal = false;
    for rec in reader {
        assert!(!fatal, "a record after a fatal error");
        if let Err(e) = rec {
            fatal = e.is_fatal();
        }
    }
}
