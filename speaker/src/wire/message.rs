//! A whole BGP message: framing, decoding by type, encoding.

use super::context::CodecContext;
use super::error::{DecodeError, EncodeError};
use super::header::{HEADER_LEN, Header, MessageType, set_length};
use super::intern::AttrInterner;
use super::notification::Notification;
use super::open::Open;
use super::route_refresh::RouteRefresh;
use super::update::Update;
use bytes::{Bytes, BytesMut};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

impl Message {
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Decodes one whole message (header included). Trailing octets after
    /// the length the header gives are a length error.
    pub fn decode(
        msg: Bytes,
        ctx: &CodecContext,
        interner: Option<&mut AttrInterner>,
    ) -> Result<Message, DecodeError> {
        let h = Header::decode(&msg, ctx.max_message_len())?;
        if h.length != msg.len() {
            return Err(super::error::HeaderError::BadLength {
                length: h.length as u16,
            }
            .into());
        }
        let body = msg.slice(HEADER_LEN..);
        Ok(match h.message_type {
            MessageType::Open => Message::Open(Open::decode(&body)?),
            MessageType::Update => Message::Update(Update::decode(body, ctx, interner)?),
            MessageType::Notification => Message::Notification(Notification::decode(body)),
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => Message::RouteRefresh(RouteRefresh::decode(&body, &msg)?),
        })
    }

    /// Takes the next whole message off the front of a receive buffer:
    /// `Ok(None)` when more octets are needed.
    pub fn decode_from(
        buf: &mut BytesMut,
        ctx: &CodecContext,
        interner: Option<&mut AttrInterner>,
    ) -> Result<Option<Message>, DecodeError> {
        let Some(len) = super::header::frame_len(buf, ctx.max_message_len())? else {
            return Ok(None);
        };
        let msg = buf.split_to(len).freeze();
        Message::decode(msg, ctx, interner).map(Some)
    }

    /// Appends the encoded message to `out`; on an error, `out` is as
    /// it was.
    pub fn encode(&self, ctx: &CodecContext, out: &mut BytesMut) -> Result<(), EncodeError> {
        // OPEN and KEEPALIVE stay within 4096 octets (RFC 8654 §3).
        let max = match self {
            Message::Open(_) | Message::Keepalive => super::header::MAX_MESSAGE_LEN,
            _ => ctx.max_message_len(),
        };
        let start = Header::encode_start(self.message_type(), out);
        let body = match self {
            Message::Open(o) => o.encode_body(out),
            Message::Update(u) => u.encode_body(ctx, out),
            Message::Notification(n) => {
                // Its data (a copy of what was wrong) is diagnostic: cut
                // to fit rather than not sent.
                n.encode_body_within(out, max - HEADER_LEN);
                Ok(())
            }
            Message::Keepalive => Ok(()),
            Message::RouteRefresh(r) => {
                r.encode_body(out);
                Ok(())
            }
        };
        let done = body.and_then(|()| set_length(out, start, max));
        if done.is_err() {
            out.truncate(start);
        }
        done
    }

    pub fn to_bytes(&self, ctx: &CodecContext) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        self.encode(ctx, &mut out)?;
        Ok(out.freeze())
    }
}
