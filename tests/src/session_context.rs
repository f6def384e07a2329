//! Infers the codec context of a captured session from the OPENs seen in it,
//! so that each captured message is decoded the way its receiver would.

use speaker::wire::capability::{AddPathFamily, Capability};
use speaker::wire::{CodecContext, Open};
use std::collections::HashMap;
use std::net::SocketAddr;

/// OPENs seen, by sender address.
#[derive(Default)]
pub struct SessionOpens {
    by_sender: HashMap<SocketAddr, Open>,
}

fn add_path_of(o: &Open) -> Vec<AddPathFamily> {
    o.capabilities()
        .flat_map(|c| match c {
            Capability::AddPath { families } => families.clone(),
            _ => Vec::new(),
        })
        .collect()
}

fn four_octet(o: &Open) -> bool {
    o.capabilities()
        .any(|c| matches!(c, Capability::FourOctetAs { .. }))
}

impl SessionOpens {
    pub fn record(&mut self, sender: SocketAddr, open: Open) {
        self.by_sender.insert(sender, open);
    }

    /// Contexts to try for a message from `src` to `dst`, most likely first.
    /// With both OPENs seen there is exactly one; otherwise the variants a
    /// capture without its OPENs leaves open.
    pub fn candidates(&self, src: SocketAddr, dst: SocketAddr) -> Vec<CodecContext> {
        let sender = self.by_sender.get(&src);
        let receiver = self.by_sender.get(&dst);
        match (sender, receiver) {
            (Some(s), Some(r)) => {
                let recv = add_path_of(r);
                let add_path = add_path_of(s)
                    .into_iter()
                    .filter(|f| {
                        f.mode.send()
                            && recv
                                .iter()
                                .any(|g| g.family == f.family && g.mode.receive())
                    })
                    .map(|f| f.family)
                    .collect();
                vec![CodecContext {
                    four_octet_as: four_octet(s) && four_octet(r),
                    add_path,
                    ..CodecContext::default()
                }]
            }
            (Some(o), None) | (None, Some(o)) => {
                let fams: Vec<_> = add_path_of(o).into_iter().map(|f| f.family).collect();
                let mut v = vec![CodecContext {
                    four_octet_as: four_octet(o),
                    ..CodecContext::default()
                }];
                if !fams.is_empty() {
                    v.push(CodecContext {
                        four_octet_as: four_octet(o),
                        add_path: fams,
                        ..CodecContext::default()
                    });
                }
                v
            }
            (None, None) => {
                use speaker::wire::Family;
                let all = vec![
                    Family::IPV4_UNICAST,
                    Family::IPV6_UNICAST,
                    Family::VPNV4,
                    Family::VPNV6,
                ];
                vec![
                    CodecContext::four_octet(),
                    CodecContext::default(),
                    CodecContext {
                        four_octet_as: true,
                        add_path: all.clone(),
                        ..CodecContext::default()
                    },
                    CodecContext {
                        four_octet_as: false,
                        add_path: all,
                        ..CodecContext::default()
                    },
                ]
            }
        }
    }
}
