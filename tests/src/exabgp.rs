//! ExaBGP as a test peer.
