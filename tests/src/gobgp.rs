//! GoBGP as a test peer.
