//! Every stored key's value starts with a format version, then postcard:
//! a later release reads what this one wrote, and refuses (rather than
//! misreads) a format it does not know.

use crate::error::FormatError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The version of everything this release writes.
pub const FORMAT: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, FormatError> {
    Ok(postcard::to_extend(value, vec![FORMAT])?)
}

pub fn decode<T: DeserializeOwned>(stored: &[u8]) -> Result<T, FormatError> {
    match stored.split_first() {
        Some((&FORMAT, rest)) => Ok(postcard::from_bytes(rest)?),
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
        assert!(index_key(1) < index_key(256));
        assert_eq!(index_of(&index_key(42)), Some(42));
    }
}
