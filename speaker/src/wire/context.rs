//! What a session negotiated, as far as the codec cares: it changes how
//! messages are laid out (RFC 6793 AS numbers, RFC 7911 path identifiers,
//! RFC 8654 lengths).

use super::family::Family;
use super::header::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};

/// The negotiated layout, used for both decoding and encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodecContext {
    /// RFC 6793: AS numbers in AS_PATH and AGGREGATOR are 4 octets.
    pub four_octet_as: bool,
    /// RFC 8654: messages up to 65535 octets.
    pub extended_message: bool,
    /// RFC 7911: families whose NLRI carry a path identifier in this direction.
    pub add_path: Vec<Family>,
    /// RFC 6396 §4.3.4: MP_REACH_NLRI in a TABLE_DUMP_V2 RIB entry holds only
    /// the next hop; the family comes from the record.
    pub mrt_rib_entry: Option<Family>,
}

impl CodecContext {
    /// A session with 4-octet AS numbers and nothing else negotiated.
    pub fn four_octet() -> CodecContext {
        CodecContext {
            four_octet_as: true,
            ..CodecContext::default()
        }
    }

    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    #[inline]
    pub fn add_path(&self, family: Family) -> bool {
        !self.add_path.is_empty() && self.add_path.contains(&family)
    }
}
