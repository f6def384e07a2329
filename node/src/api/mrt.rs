//! `GET /api/v1/rib/mrt`: the Loc-RIB's IPv4 and IPv6 unicast candidates
//! as an MRT TABLE_DUMP_V2 dump (RFC 6396 §4.3): a PEER_INDEX_TABLE of the
//! peers holding paths, then a RIB record per destination with every
//! candidate (the dump `reflex mrt`, bgpdump and route collectors read).

use super::{ApiError, ApiState};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use speaker::mrt::MrtWriter;
use speaker::mrt::table_dump_v2::{Peer, PeerIndexTable, RibEntry, RibRecord};
use speaker::rib::PeerId;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub async fn dump(State(api): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    let failed = |e: std::io::Error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write the dump: {e}"),
        )
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    // Under the state machine's lock: one consistent dump.
    let octets = api.member.read(|applied| -> Result<Vec<u8>, ApiError> {
        let rib = &applied.rib;
        // The peers with paths, in id order, and their index in the table.
        let mut index: BTreeMap<PeerId, u16> = BTreeMap::new();
        for (key, entry) in rib.loc_rib() {
            if key.is_ip_unicast() {
                for c in entry.candidates() {
                    index.entry(c.peer).or_insert(0);
                }
            }
        }
        let mut peers = Vec::new();
        for (i, (peer, slot)) in index.iter_mut().enumerate() {
            *slot = u16::try_from(i).map_err(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "more than 65,535 peers")
            })?;
            let info = rib.peer(*peer);
            peers.push(Peer::new(
                info.map_or(std::net::Ipv4Addr::UNSPECIFIED, |p| p.router_id),
                info.map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |p| {
                    p.address
                }),
                info.map_or(0, |p| p.asn),
            ));
        }
        let mut w = MrtWriter::new(Vec::new());
        let table = PeerIndexTable {
            collector_bgp_id: rib.config().router_id,
            view_name: Bytes::from_static(b"reflex"),
            peers,
        };
        w.write_peer_index_table(now, &table).map_err(failed)?;
        let mut sequence = 0u32;
        for (key, entry) in rib.loc_rib() {
            if !key.is_ip_unicast() || entry.candidates().is_empty() {
                continue;
            }
            let record = RibRecord {
                sequence,
                family: key.family,
                add_path: false,
                generic: false,
                nlri: key.entry(None, Default::default()),
                entries: entry
                    .candidates()
                    .iter()
                    .map(|c| RibEntry {
                        peer_index: index.get(&c.peer).copied().unwrap_or(0),
                        originated_time: now,
                        path_id: None,
                        attributes: c.attrs.clone(),
                        issues: Vec::new(),
                    })
                    .collect(),
            };
            w.write_rib(now, &record).map_err(failed)?;
            sequence = sequence.wrapping_add(1);
        }
        Ok(w.into_inner())
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reflex-rib.mrt\"",
            ),
        ],
        octets,
    ))
}
