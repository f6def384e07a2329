//! Every stored key's value starts with a format version, then postcard:
//! a later release reads what this one wrote, and refuses (rather than
//! misreads) a format it does not know.

use crate::error::FormatError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The version of everything this release writes. 2: snapshots record
/// the writes applied, and a log entry may say which write it is. 3:
/// snapshots record route-map names, and a log entry may hold a PeerUp
/// with them. 4: snapshots hold the replicated policy, and a log entry
/// may change it. 5: snapshots hold the neighbours' ids, and a log entry
/// may register neighbours. 6: snapshots hold the session leases, and a
/// log entry may change them or carry the lease epochs of its writer. 7:
/// snapshots record which peers and groups negotiated long-lived graceful
/// restart, and a log entry may bring such a peer up or change its stale
/// paths. Every other value is laid out as in 1; 1 to 6 are read. Values
/// laid out as in every format are written as the lowest format that holds
/// them ([`encode_as`]).
pub const FORMAT: u8 = FORMAT_7;

/// Format 7 (long-lived graceful restart): the lowest that holds its
/// commands, whatever this release's [`FORMAT`].
pub const FORMAT_7: u8 = 7;

/// The formats before, still read.
pub const FORMAT_6: u8 = 6;
pub const FORMAT_5: u8 = 5;
pub const FORMAT_4: u8 = 4;
pub const FORMAT_3: u8 = 3;
pub const FORMAT_2: u8 = 2;
pub const FORMAT_1: u8 = 1;

/// The format of the frames members send each other
/// (`consensus::protocol`): their layout is format 6's (pings, and the
/// leader's vouch in each AppendEntries, came with it).
pub const WIRE_FORMAT: u8 = FORMAT_6;

/// `value` in this release's format: for a value whose layout changed
/// over the formats (a snapshot's state, read by [`decode_or_older`]).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, FormatError> {
    encode_as(value, FORMAT)
}

/// `value` marked as format `format`: the lowest whose release reads it.
/// A value laid out the same in every format is written with the lowest
/// format that holds what it carries (a log entry holding no command of a
/// newer format is written as the oldest that has all of its commands),
/// so that during a rolling upgrade a member of the previous release
/// reads what members of this one write, until they write something it
/// cannot read, which it refuses ([`FormatError::Version`]) rather than
/// misreads.
pub fn encode_as<T: Serialize>(value: &T, format: u8) -> Result<Vec<u8>, FormatError> {
    Ok(postcard::to_extend(value, vec![format])?)
}

/// A value of a type laid out the same in every format (a log entry of
/// an older one holds none of the newer commands).
pub fn decode<T: DeserializeOwned>(stored: &[u8]) -> Result<T, FormatError> {
    match stored.split_first() {
        Some((
            &(FORMAT | FORMAT_6 | FORMAT_5 | FORMAT_4 | FORMAT_3 | FORMAT_2 | FORMAT_1),
            rest,
        )) => Ok(postcard::from_bytes(rest)?),
        Some((v, _)) => Err(FormatError::Version(*v)),
        None => Err(FormatError::Empty),
    }
}

/// A value whose layout changed in formats 2 to 7: format 6's is read as
/// `V6`, format 5's as `V5`, format 4's as
/// `V4`, format 3's as `V3`, format 2's as `V2`, format 1's as `V1`.
pub fn decode_or_older<T, V6, V5, V4, V3, V2, V1>(stored: &[u8]) -> Result<T, FormatError>
where
    T: DeserializeOwned,
    V6: DeserializeOwned + Into<T>,
    V5: DeserializeOwned + Into<T>,
    V4: DeserializeOwned + Into<T>,
    V3: DeserializeOwned + Into<T>,
    V2: DeserializeOwned + Into<T>,
    V1: DeserializeOwned + Into<T>,
{
    match stored.split_first() {
        Some((&FORMAT, rest)) => Ok(postcard::from_bytes(rest)?),
        Some((&FORMAT_6, rest)) => Ok(postcard::from_bytes::<V6>(rest)?.into()),
        Some((&FORMAT_5, rest)) => Ok(postcard::from_bytes::<V5>(rest)?.into()),
        Some((&FORMAT_4, rest)) => Ok(postcard::from_bytes::<V4>(rest)?.into()),
        Some((&FORMAT_3, rest)) => Ok(postcard::from_bytes::<V3>(rest)?.into()),
        Some((&FORMAT_2, rest)) => Ok(postcard::from_bytes::<V2>(rest)?.into()),
        Some((&FORMAT_1, rest)) => Ok(postcard::from_bytes::<V1>(rest)?.into()),
        Some((v, _)) => Err(FormatError::Version(*v)),
        None => Err(FormatError::Empty),
    }
}

/// A log index as a key that sorts like the number (big-endian).
pub fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

pub fn index_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versioned_round_trip_and_refusal() {
        let v = (7u32, "x".to_string());
        let e = encode(&v).unwrap();
        assert_eq!(e[0], FORMAT);
        assert_eq!(decode::<(u32, String)>(&e).unwrap(), v);
        let mut other = e.clone();
        other[0] = FORMAT + 1;
        assert!(matches!(
            decode::<(u32, String)>(&other),
            Err(FormatError::Version(v)) if v == FORMAT + 1
        ));
        assert!(matches!(decode::<u32>(&[]), Err(FormatError::Empty)));
        // Format 1 is read; a type whose layout changed through its V1.
        let mut v1 = e.clone();
        v1[0] = 1;
        assert_eq!(decode::<(u32, String)>(&v1).unwrap(), v);
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct New(u32, String, bool);
        #[derive(serde::Deserialize)]
        struct Three(u32, String, u8);
        #[derive(serde::Deserialize)]
        struct Mid(u32, String);
        #[derive(serde::Deserialize)]
        struct Old(u32);
        impl From<Mid> for New {
            fn from(m: Mid) -> New {
                New(m.0, m.1, false)
            }
        }
        impl From<Three> for New {
            fn from(t: Three) -> New {
                New(t.0, t.1, t.2 > 0)
            }
        }
        impl From<Old> for New {
            fn from(o: Old) -> New {
                New(o.0, String::new(), false)
            }
        }
        let old = postcard::to_extend(&7u32, vec![1]).unwrap();
        assert_eq!(
            decode_or_older::<New, Three, Three, Three, Three, Mid, Old>(&old).unwrap(),
            New(7, String::new(), false)
        );
        let mid = postcard::to_extend(&(7u32, "m".to_string()), vec![2]).unwrap();
        assert_eq!(
            decode_or_older::<New, Three, Three, Three, Three, Mid, Old>(&mid).unwrap(),
            New(7, "m".into(), false)
        );
        let three = postcard::to_extend(&(7u32, "t".to_string(), 1u8), vec![3]).unwrap();
        assert_eq!(
            decode_or_older::<New, Three, Three, Three, Three, Mid, Old>(&three).unwrap(),
            New(7, "t".into(), true)
        );
        let new = encode(&(7u32, "n".to_string(), true)).unwrap();
        assert_eq!(
            decode_or_older::<New, Three, Three, Three, Three, Mid, Old>(&new).unwrap(),
            New(7, "n".into(), true)
        );
        assert!(decode::<New>(&old).is_err(), "format 1 misread as 2");
        assert!(index_key(1) < index_key(256));
        assert_eq!(index_of(&index_key(42)), Some(42));
    }
}
