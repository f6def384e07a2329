//! This member's sessions whose PeerUp is on its way through the log.
//! A neighbour's session may end and come up again before its first
//! PeerUp is applied (the log can lag seconds behind a full table): each
//! PeerUp proposed is counted, so that the first one applied does not use
//! up the second's entry and leave the second session, once its PeerUp
//! applies, with no table and no UPDATEs.

use speaker::rib::PeerId;
use speaker::wire::CodecContext;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct ComingUp(BTreeMap<PeerId, (CodecContext, u32)>);

impl ComingUp {
    /// A session of `peer` proposed its PeerUp; `codec` is what it
    /// negotiated (the latest session's is the one that counts).
    pub fn proposed(&mut self, peer: PeerId, codec: CodecContext) {
        let e = self.0.entry(peer).or_insert_with(|| (codec.clone(), 0));
        e.0 = codec;
        e.1 += 1;
    }

    /// `joins` PeerUps of `peer` applied: the codec of its latest session
    /// here, or `None` if none was proposed here (another member's
    /// session: a make-before-break move, this member the old owner).
    pub fn applied(&mut self, peer: PeerId, joins: u32) -> Option<CodecContext> {
        let e = self.0.get_mut(&peer)?;
        let codec = e.0.clone();
        e.1 = e.1.saturating_sub(joins);
        if e.1 == 0 {
            self.0.remove(&peer);
        }
        Some(codec)
    }

    /// Every PeerUp of `peer` at once (a snapshot held them).
    pub fn take(&mut self, peer: PeerId) -> Option<CodecContext> {
        self.0.remove(&peer).map(|(codec, _)| codec)
    }

    /// Whether a PeerUp of `peer` proposed here is still on its way.
    pub fn contains(&self, peer: PeerId) -> bool {
        self.0.contains_key(&peer)
    }

    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.0.keys().copied()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn codec(add_path: bool) -> CodecContext {
        let mut c = CodecContext::four_octet();
        if add_path {
            c.add_path = vec![speaker::wire::Family::IPV4_UNICAST];
        }
        c
    }

    #[test]
    fn a_second_session_up_before_the_first_peer_up_applies_keeps_its_entry() {
        let mut c = ComingUp::default();
        let p = PeerId(7);
        c.proposed(p, codec(false));
        c.proposed(p, codec(true));
        // The first PeerUp applies: the latest session's codec.
        assert_eq!(c.applied(p, 1), Some(codec(true)));
        // The second one still finds its entry.
        assert_eq!(c.applied(p, 1), Some(codec(true)));
        assert_eq!(c.applied(p, 1), None);
        assert_eq!(c.peers().count(), 0);
    }

    #[test]
    fn another_members_peer_up_is_not_this_members() {
        let mut c = ComingUp::default();
        assert_eq!(c.applied(PeerId(1), 1), None);
        c.proposed(PeerId(2), codec(false));
        assert_eq!(c.applied(PeerId(2), 3), Some(codec(false)));
        assert_eq!(c.take(PeerId(2)), None);
    }

    #[test]
    fn a_snapshot_takes_every_peer_up_at_once() {
        let mut c = ComingUp::default();
        c.proposed(PeerId(3), codec(false));
        c.proposed(PeerId(3), codec(false));
        assert_eq!(c.take(PeerId(3)), Some(codec(false)));
        assert_eq!(c.applied(PeerId(3), 1), None);
    }
}
