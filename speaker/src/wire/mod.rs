//! BGP wire codec.
