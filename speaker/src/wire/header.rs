//! The message header (RFC 4271 §4.1) and framing of a byte stream.

use super::error::HeaderError;
use bytes::{BufMut, BytesMut};

pub const MARKER: [u8; 16] = [0xff; 16];
pub const HEADER_LEN: usize = 19;
/// RFC 4271 §4.1.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// RFC 8654 §3, once Extended Message is negotiated.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Message type codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Open = 1,
    Update = 2,
    Notification = 3,
    Keepalive = 4,
    /// RFC 2918.
    RouteRefresh = 5,
}

impl MessageType {
    pub fn from_code(code: u8) -> Option<MessageType> {
        Some(match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// Smallest valid total length (RFC 4271 §4.2–§4.5, RFC 2918 §3).
    fn min_len(self) -> usize {
        match self {
            MessageType::Open => 29,
            MessageType::Update => 23,
            MessageType::Notification => 21,
            MessageType::Keepalive => 19,
            MessageType::RouteRefresh => 23,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MessageType::Open => "OPEN",
            MessageType::Update => "UPDATE",
            MessageType::Notification => "NOTIFICATION",
            MessageType::Keepalive => "KEEPALIVE",
            MessageType::RouteRefresh => "ROUTE-REFRESH",
        }
    }
}

/// A checked header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub length: usize,
    pub message_type: MessageType,
}

impl Header {
    /// Checks the header at the start of `buf` (at least 19 octets).
    ///
    /// `max_len` is 4096, or 65535 once RFC 8654 is negotiated; OPEN and
    /// KEEPALIVE stay within 4096 regardless (RFC 8654 §3).
    pub fn decode(buf: &[u8], max_len: usize) -> Result<Header, HeaderError> {
        let h: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(HeaderError::BadLength {
                length: buf.len() as u16,
            })?;
        if h[..16] != MARKER {
            return Err(HeaderError::NotSynchronized);
        }
        let length_field = u16::from_be_bytes([h[16], h[17]]);
        let length = usize::from(length_field);
        let code = h[18];
        let bad_length = HeaderError::BadLength {
            length: length_field,
        };
        if !(HEADER_LEN..=max_len).contains(&length) {
            return Err(bad_length);
        }
        let message_type =
            MessageType::from_code(code).ok_or(HeaderError::BadType { message_type: code })?;
        let too_long = matches!(message_type, MessageType::Open | MessageType::Keepalive)
            && length > MAX_MESSAGE_LEN;
        if length < message_type.min_len()
            || (message_type == MessageType::Keepalive && length != HEADER_LEN)
            || too_long
        {
            return Err(bad_length);
        }
        Ok(Header {
            length,
            message_type,
        })
    }

    /// Writes a header with a zero length, to be fixed up by [`set_length`].
    pub fn encode_start(message_type: MessageType, out: &mut BytesMut) -> usize {
        let start = out.len();
        out.put_slice(&MARKER);
        out.put_u16(0);
        out.put_u8(message_type as u8);
        start
    }
}

/// Fills in the length of the message that starts at `start`: at most
/// `max` octets (4096, or 65535 with RFC 8654 extended messages).
pub fn set_length(
    out: &mut BytesMut,
    start: usize,
    max: usize,
) -> Result<(), super::error::EncodeError> {
    let len = out.len() - start;
    if len > max {
        return Err(super::error::EncodeError::MessageTooLong { len, max });
    }
    let len = super::error::len_u16("a message", len)?;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// How many octets the next message in `buf` takes, if the header is there.
///
/// Used to frame a TCP stream: `Ok(None)` means read more.
pub fn frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, HeaderError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let h = Header::decode(buf, max_len)?;
    Ok(if buf.len() >= h.length {
        Some(h.length)
    } else {
        None
    })
}
