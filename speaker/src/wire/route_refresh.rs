//! ROUTE-REFRESH (RFC 2918) with the enhanced route refresh subtypes of
//! RFC 7313 and the ORF entries of RFC 5291 kept as octets.

use super::error::RouteRefreshError;
use super::family::{Afi, Family, Safi};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// The Message Subtype octet (RFC 7313 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RefreshSubtype(pub u8);

impl RefreshSubtype {
    pub const NORMAL: RefreshSubtype = RefreshSubtype(0);
    /// Beginning of Route Refresh.
    pub const BORR: RefreshSubtype = RefreshSubtype(1);
    /// End of Route Refresh.
    pub const EORR: RefreshSubtype = RefreshSubtype(2);
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteRefresh {
    pub family: Family,
    pub subtype: RefreshSubtype,
    /// RFC 5291 ORF entries (subtype 0 only), as received.
    #[serde(serialize_with = "super::serialize_hex")]
    pub orf: Bytes,
}

impl RouteRefresh {
    pub fn new(family: Family, subtype: RefreshSubtype) -> RouteRefresh {
        RouteRefresh {
            family,
            subtype,
            orf: Bytes::new(),
        }
    }

    /// Decodes the body. `message` is the whole message, the data of the
    /// NOTIFICATION for a bad length (RFC 7313 §5).
    pub fn decode(body: &Bytes, message: &Bytes) -> Result<RouteRefresh, RouteRefreshError> {
        let bad = || RouteRefreshError::InvalidLength {
            length: message.len() as u16,
            message: message.clone(),
        };
        let [a0, a1, sub, safi, ..] = body[..] else {
            return Err(bad());
        };
        let subtype = RefreshSubtype(sub);
        // Only a plain refresh may carry ORF entries (RFC 5291 §4); BoRR and
        // EoRR are exactly 4 octets (RFC 7313 §5).
        if body.len() > 4 && subtype != RefreshSubtype::NORMAL {
            return Err(bad());
        }
        Ok(RouteRefresh {
            family: Family::new(Afi(u16::from_be_bytes([a0, a1])), Safi(safi)),
            subtype,
            orf: body.slice(4..),
        })
    }

    pub fn encode_body(&self, out: &mut BytesMut) {
        out.put_u16(self.family.afi.0);
        out.put_u8(self.subtype.0);
        out.put_u8(self.family.safi.0);
        out.put_slice(&self.orf);
    }
}
