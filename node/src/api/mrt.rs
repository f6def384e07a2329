//! `GET /api/v1/rib/mrt`: the Loc-RIB's IPv4 and IPv6 unicast candidates
//! as an MRT TABLE_DUMP_V2 dump (RFC 6396 §4.3): a PEER_INDEX_TABLE of the
//! peers holding paths, then a RIB record per destination with every
//! candidate (the dump `reflex mrt`, bgpdump and route collectors read),
//! streamed a page at a time.

use super::pages::PAGE;
use super::{ApiError, ApiState};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;
use speaker::mrt::MrtWriter;
use speaker::mrt::table_dump_v2::{Peer, PeerIndexTable, RibEntry, RibRecord};
use speaker::rib::{PeerId, RouteKey};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a streamed dump is.
struct Dump {
    api: ApiState,
    now: u32,
    /// The peer index table's order; `None`: not written yet.
    index: Option<BTreeMap<PeerId, u16>>,
    after: Option<RouteKey>,
    sequence: u32,
    done: bool,
}

pub async fn dump(State(api): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let state = Dump {
        api,
        now,
        index: None,
        after: None,
        sequence: 0,
        done: false,
    };
    // Streamed: the dump is written a page at a time as the client reads
    // it, so neither the whole dump nor the lock is held. The destinations
    // are each as they were when their page was read (as BIRD's and FRR's
    // dumps, not one instant of the table).
    let pages = futures_util::stream::unfold(state, |mut d| async move {
        if d.done {
            return None;
        }
        if d.index.is_some() {
            super::pages::between_pages().await;
        }
        let page = d
            .api
            .member
            .clone()
            .read(|applied| next_page(&mut d, &applied.rib));
        if page.is_err() {
            d.done = true;
        }
        Some((page, d))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reflex-rib.mrt\"",
            ),
        ],
        axum::body::Body::from_stream(pages),
    ))
}

/// The next page of the dump: first the PEER_INDEX_TABLE of the peers
/// holding paths, then RIB records of up to [`PAGE`] destinations.
fn next_page(d: &mut Dump, rib: &speaker::rib::Rib) -> std::io::Result<Bytes> {
    let mut w = MrtWriter::new(Vec::new());
    let index = match &d.index {
        Some(i) => i,
        None => {
            // The peers with paths, in id order, and their index.
            let mut index = BTreeMap::new();
            let mut peers = Vec::new();
            for peer in rib.known_peers().filter(|p| rib.adj_rib_in_len(*p) > 0) {
                let slot = u16::try_from(peers.len())
                    .map_err(|_| std::io::Error::other("more than 65,535 peers"))?;
                index.insert(peer, slot);
                let info = rib.peer(peer);
                peers.push(Peer::new(
                    info.map_or(std::net::Ipv4Addr::UNSPECIFIED, |p| p.router_id),
                    info.map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |p| {
                        p.address
                    }),
                    info.map_or(0, |p| p.asn),
                ));
            }
            let table = PeerIndexTable {
                collector_bgp_id: rib.config().router_id,
                view_name: Bytes::from_static(b"reflex"),
                peers,
            };
            w.write_peer_index_table(d.now, &table)?;
            d.index.insert(index)
        }
    };
    for (looked, (key, entry)) in rib.unicast_after(d.after).enumerate() {
        if looked == PAGE {
            return Ok(Bytes::from(w.into_inner()));
        }
        d.after = Some(*key);
        // A peer that came after the index table was written is left out
        // of this dump.
        let entries: Vec<RibEntry> = entry
            .candidates()
            .iter()
            .filter_map(|c| {
                Some(RibEntry {
                    peer_index: *index.get(&c.peer)?,
                    originated_time: d.now,
                    path_id: None,
                    attributes: c.attrs.clone(),
                    issues: Vec::new(),
                })
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let record = RibRecord {
            sequence: d.sequence,
            family: key.family,
            add_path: false,
            generic: false,
            nlri: key.entry(None, Default::default()),
            entries,
        };
        w.write_rib(d.now, &record)?;
        d.sequence = d.sequence.wrapping_add(1);
    }
    d.done = true;
    Ok(Bytes::from(w.into_inner()))
}
