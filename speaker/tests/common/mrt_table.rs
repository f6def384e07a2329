// The MRT figures of the data README ("PART A - MRT FILES"), one row per
// file, and the check of a summary (as JSON) against them. Shared by
// speaker/tests/mrt_readme_counts.rs and node/tests/mrt_cli.rs via include!.
//
// Where the README's parser and a correct RFC 6396 reading differ, the row
// keeps the README figures and carries ours in `ours`, with a `// differs:`
// comment saying why.

use serde_json::Value;
use std::collections::BTreeMap;

/// Figures by record family, as the README gives them.
#[derive(Clone, Copy, Debug)]
pub enum Figures {
    /// TABLE_DUMP_V2: peers_in_index, peers_with_entries, prefixes v4, v6, rib_entries.
    Tdv2(u64, u64, u64, u64, u64),
    /// TABLE_DUMP: entries, unique_prefixes, peers.
    Tdv1(u64, u64, u64),
    /// BGP4MP: peers, messages ("NAME=n ..."), announced (unique), withdrawn (unique).
    Bgp(u64, &'static str, u64, u64, u64, u64),
    /// No family line.
    None,
}

pub struct Row {
    /// Path under mrt/.
    pub file: &'static str,
    pub records: u64,
    /// "type/subtype=count ...".
    pub types: &'static str,
    /// "first .. last" (UTC).
    pub time: &'static str,
    pub readme: Figures,
    /// Our figures where they honestly differ from the README's.
    pub ours: Option<Figures>,
    /// The kind of error that ends the stream early ("truncated", "record_too_long").
    pub fatal: Option<&'static str>,
}

pub const fn row(
    file: &'static str,
    records: u64,
    types: &'static str,
    time: &'static str,
    readme: Figures,
    ours: Option<Figures>,
    fatal: Option<&'static str>,
) -> Row {
    Row { file, records, types, time, readme, ours, fatal }
}
pub const fn tdv2(a: u64, b: u64, c: u64, d: u64, e: u64) -> Figures {
    Figures::Tdv2(a, b, c, d, e)
}
pub const fn tdv1(a: u64, b: u64, c: u64) -> Figures {
    Figures::Tdv1(a, b, c)
}
pub const fn bgp(p: u64, m: &'static str, a: u64, au: u64, w: u64, wu: u64) -> Figures {
    Figures::Bgp(p, m, a, au, w, wu)
}

#[rustfmt::skip]
pub const ROWS: &[Row] = &[
    row("rib/bgpdump_bview.20020722.2337.gz", 115521, "12/1=115521", "2002-07-22 23:37:35 .. 2002-07-22 23:37:37", tdv1(115521, 112988, 36), None, None),
    row("rib/bgpdump_bview.64k_stream_overflow.gz", 2, "13/1=1 13/4=1", "2018-09-19 08:00:00 .. 2018-09-19 08:00:00", tdv2(54, 23, 0, 1, 23), None, None),
    row("rib/bgpdump_bview.ipv4_unicast_add_path.gz", 32, "13/1=1 13/8=31", "2016-01-07 12:01:47 .. 2016-01-07 12:01:47", tdv2(3, 3, 31, 0, 62), None, None),
    row("rib/bgpdump_bview.ipv6_unicast_add_path.gz", 32, "13/1=1 13/10=31", "2016-01-07 12:24:08 .. 2016-01-07 12:24:08", tdv2(3, 3, 0, 31, 62), None, None),
    row("rib/hask-mrt_rib.20150922.1200_routeviews6-v6.bz2", 25879, "13/1=1 13/4=25878", "2015-09-22 12:00:00 .. 2015-09-22 12:00:01", tdv2(29, 27, 0, 25878, 609246), None, None),
    // No peer index table: the README gives no peer figures; the entries name 2 distinct peer indexes.
    row("rib/pyasn_bview.20140112.1600_3samples.bz2", 3, "13/2=3", "2014-01-12 16:00:00 .. 2014-01-12 16:00:01", tdv2(0, 2, 3, 0, 3), None, None),
    row("rib/pyasn_rib.20080501.0644_firstMB.bz2", 139291, "12/1=139291", "2008-05-01 06:44:58 .. 2008-05-01 06:44:59", tdv1(139291, 3507, 44), None, Some("truncated")),
    row("rib/pyasn_rib.20140523.0600_firstMB.bz2", 9073, "13/1=1 13/2=9072", "2014-05-23 06:00:00 .. 2014-05-23 06:00:00", tdv2(47, 35, 9072, 0, 270005), None, Some("truncated")),
    row("rib/ryu_rib.20161101.0000_pick.bz2", 3, "13/1=1 13/2=2", "2016-11-01 00:00:00 .. 2016-11-01 00:00:00", tdv2(7, 2, 2, 0, 4), None, None),
    row("derived/DERIVED_rib-from-updates.et-header.2015_pch-as3856_fullv4.gz", 577704, "13/1=1 13/2=577703", "2015-10-23 02:01:55 .. 2015-10-23 02:01:55", tdv2(1, 1, 577703, 0, 577703), None, None),
    row("updates/bgpdump_updates.20020722.2238.gz", 1121, "16/1=1028 16/0=93", "2002-07-22 22:38:34 .. 2002-07-22 22:53:33", bgp(38, "KEEPALIVE=615 STATE_CHANGE=93 UPDATE=393 OPEN=13 NOTIFICATION=7", 825, 598, 2419, 899), None, None),
    row("updates/bgpdump_updates.20070211.0141.gz", 23394, "16/1=23394", "2007-02-11 01:41:00 .. 2007-02-11 01:55:59", bgp(31, "UPDATE=23394", 51329, 2478, 2328, 337), None, None),
    row("updates/bgpdump_updates.20071015.1505.gz", 4297, "16/1=4256 16/4=41", "2007-10-15 15:05:00 .. 2007-10-15 15:09:59", bgp(18, "UPDATE=4222 KEEPALIVE=75", 10111, 1822, 385, 113), None, None),
    row("updates/bgpdump_updates.20100722.2015.gz", 2193, "16/4=1364 16/1=789 16/5=40", "2010-07-22 20:15:01 .. 2010-07-22 20:20:00", bgp(56, "UPDATE=1822 KEEPALIVE=331 STATE_CHANGE=40", 5067, 713, 547, 148), None, None),
    row("updates/bgpdump_updates.20160811.1600.gz", 17406, "16/4=17384 16/5=22", "2016-08-11 16:00:00 .. 2016-08-11 16:04:59", bgp(40, "UPDATE=17216 STATE_CHANGE=22 KEEPALIVE=168", 39256, 1712, 1956, 335), None, None),
    row("updates/bgpdump_updates.et-header.2015.gz", 89686, "17/5=4 17/1=1 17/4=89681", "2015-10-23 02:01:18 .. 2015-10-23 02:01:55", bgp(1, "STATE_CHANGE=4 OPEN=1 KEEPALIVE=2 UPDATE=89679", 577737, 577706, 3, 3), None, None),
    row("updates/bgpdump_updates.long_withdrawal.gz", 1, "16/4=1", "2019-12-31 11:40:07 .. 2019-12-31 11:40:07", bgp(1, "UPDATE=1", 0, 0, 4096, 4096), None, None),
    row("updates/bgpdump_updates.nlri_mask_trailing_bits.gz", 1, "16/1=1", "2010-11-07 22:23:52 .. 2010-11-07 22:23:52", bgp(1, "UPDATE=1 UPDATE_unparsed=1", 0, 0, 0, 0), None, None),
    row("updates/bgpkit_local_only_updates.bz2", 85, "17/4=85", "2024-09-14 22:30:18 .. 2024-09-14 22:44:59", bgp(4, "UPDATE=85", 159, 29, 109, 27), None, None),
    row("updates/gobgpdump_arch0.mrt", 18088, "16/4=10261 16/1=7827", "2013-01-01 00:13:44 .. 2013-01-01 00:28:45", bgp(35, "UPDATE=18088", 42997, 3390, 4465, 345), None, None),
    row("updates/gobgpdump_arch1.mrt", 18213, "16/1=7738 16/4=10475", "2013-01-01 00:28:45 .. 2013-01-01 00:43:46", bgp(35, "UPDATE=18213", 36534, 1127, 3973, 232), None, None),
    row("updates/gobgpdump_arch2.mrt", 19021, "16/4=11015 16/1=8006", "2013-01-01 00:43:46 .. 2013-01-01 00:58:47", bgp(34, "UPDATE=19021", 40810, 2703, 5013, 443), None, None),
    row("updates/gobgpdump_arch3.mrt", 1342, "16/4=747 16/1=595", "2013-01-01 00:58:47 .. 2013-01-01 01:00:00", bgp(34, "UPDATE=1342", 3341, 425, 279, 71), None, None),
    row("updates/hask-mrt_update.20151009.1230_routeviews6.bz2", 15044, "16/4=14879 16/1=165", "2015-10-09 12:30:00 .. 2015-10-09 12:45:00", bgp(27, "UPDATE=15044", 23622, 392, 2020, 173), None, None),
    row("updates/libbgpstream_ris.rrc06.updates.1427846400.gz", 795, "16/4=791 16/5=4", "2015-04-01 00:00:01 .. 2015-04-01 00:04:59", bgp(6, "KEEPALIVE=30 UPDATE=761 STATE_CHANGE=4", 1435, 492, 122, 93), None, None),
    row("updates/ryu_updates.20161101.0000.bz2", 2623, "16/4=2623", "2016-11-01 00:00:02 .. 2016-11-01 00:14:54", bgp(4, "UPDATE=2623", 5379, 904, 383, 162), None, None),
    row("impl-samples/mrtparse_bird-mrtdump_bgp", 27, "16/5=12 16/1=1 16/9=14", "2017-02-11 08:27:54 .. 2017-02-11 08:29:30", bgp(1, "STATE_CHANGE=12 OPEN=2 KEEPALIVE=5 UPDATE=6 ROUTE-REFRESH=1 NOTIFICATION=1", 12, 3, 0, 0), None, None),
    row("impl-samples/mrtparse_bird-mrtdump_rib", 14, "13/1=2 13/2=4 13/8=8", "2017-02-11 08:28:04 .. 2017-02-11 08:29:07", tdv2(4, 2, 6, 0, 18), None, None),
    row("impl-samples/mrtparse_bird6-mrtdump_bgp", 27, "16/5=12 16/1=1 16/9=14", "2017-02-11 08:27:54 .. 2017-02-11 08:29:31", bgp(1, "STATE_CHANGE=12 OPEN=2 KEEPALIVE=5 UPDATE=6 ROUTE-REFRESH=1 NOTIFICATION=1", 12, 3, 0, 0), None, None),
    row("impl-samples/mrtparse_bird6-mrtdump_rib", 9, "13/1=2 13/4=2 13/10=5", "2017-02-11 08:28:04 .. 2017-02-11 08:29:04", tdv2(3, 2, 0, 5, 10), None, None),
    // differs: as mrtparse_bird_bgp: ADD-PATH NLRI under MESSAGE_AS4; we decode all 8 UPDATEs and count 14 NLRI (4 unique), the README parser 24 (5) with 2 unparsed.
    row("impl-samples/mrtparse_bird6_bgp", 29, "16/5=12 16/1=1 16/4=16", "2017-02-11 09:32:41 .. 2017-02-11 09:34:33", bgp(1, "STATE_CHANGE=12 OPEN=2 KEEPALIVE=5 UPDATE=8 UPDATE_unparsed=2 ROUTE-REFRESH=1 NOTIFICATION=1", 24, 5, 0, 0), Some(bgp(1, "STATE_CHANGE=12 OPEN=2 KEEPALIVE=5 UPDATE=8 ROUTE-REFRESH=1 NOTIFICATION=1", 14, 4, 0, 0)), None),
    // differs: BIRD 1.x wrote ADD-PATH NLRI under the plain MESSAGE_AS4 subtype (its OPENs negotiate ADD-PATH for IPv4/IPv6 unicast). The README parser reads the path identifiers as prefixes (20 "announced", 2 UPDATEs unparsed); we infer ADD-PATH when the UPDATE only decodes with it and count the 14 real NLRI (4 unique).
    row("impl-samples/mrtparse_bird_bgp", 29, "16/5=12 16/1=1 16/4=16", "2017-02-11 09:32:41 .. 2017-02-11 09:34:26", bgp(1, "STATE_CHANGE=12 OPEN=2 KEEPALIVE=5 UPDATE=8 UPDATE_unparsed=2 ROUTE-REFRESH=1 NOTIFICATION=1", 20, 4, 0, 0), Some(bgp(1, "STATE_CHANGE=12 OPEN=2 KEEPALIVE=5 UPDATE=8 ROUTE-REFRESH=1 NOTIFICATION=1", 14, 4, 0, 0)), None),
    row("impl-samples/mrtparse_openbgpd_bgp", 87, "16/0=8 16/1=4 16/5=8 16/4=67", "2015-10-14 16:51:51 .. 2015-10-14 16:54:10", bgp(4, "STATE_CHANGE=16 OPEN=4 KEEPALIVE=13 UPDATE=48 ROUTE-REFRESH=4 NOTIFICATION=2", 99, 22, 0, 0), None, None),
    row("impl-samples/mrtparse_openbgpd_rib_table", 31, "12/1=11 12/2=20", "2015-10-14 17:33:14 .. 2015-10-14 17:33:14", tdv1(31, 21, 3), None, None),
    row("impl-samples/mrtparse_openbgpd_rib_table-mp", 31, "16/2=31", "2015-10-14 17:24:06 .. 2015-10-14 17:24:06", Figures::None, None, None),
    row("impl-samples/mrtparse_openbgpd_rib_table-v2", 24, "13/1=1 13/2=11 13/4=10 13/6=2", "2015-10-14 17:10:56 .. 2015-10-14 17:10:56", tdv2(3, 2, 11, 10, 33), None, None),
    // differs: the README parser mis-reads the VPNv4 MP_REACH_NLRI (labels + RD) and the empty End-of-RIB MP_UNREACH_NLRI; per RFC 4364/4760 the 24 UPDATEs announce 3 IPv4 + 3 IPv6 + 8 VPNv4 NLRI (x2 sessions = 34, 14 unique) and withdraw nothing.
    row("impl-samples/mrtparse_quagga_bgp", 67, "16/5=20 16/1=4 16/4=43", "2017-02-11 08:36:03 .. 2017-02-11 08:37:50", bgp(2, "STATE_CHANGE=20 OPEN=4 KEEPALIVE=10 UPDATE=24 ROUTE-REFRESH=7 NOTIFICATION=2", 22, 7, 2, 1), Some(bgp(2, "STATE_CHANGE=20 OPEN=4 KEEPALIVE=10 UPDATE=24 ROUTE-REFRESH=7 NOTIFICATION=2", 34, 14, 0, 0)), None),
    row("impl-samples/mrtparse_quagga_rib", 7, "13/1=1 13/2=3 13/4=3", "2017-02-11 08:40:00 .. 2017-02-11 08:40:00", tdv2(2, 2, 3, 3, 9), None, None),
    row("historic/bgpkit_rrc00_1999.09_updates.19990903.1041.gz", 24242, "5/3=4 5/5=1 5/7=21 5/1=24216", "1999-09-03 08:41:39 .. 1999-09-03 08:51:38", bgp(0, "legacy_BGP_subtype3=4 legacy_BGP_subtype5=1 legacy_BGP_subtype7=21 legacy_BGP_subtype1=24216", 0, 0, 0, 0), None, None),
    row("historic/bgpkit_rrc00_1999.12_updates.19991214.1621.gz", 18203, "5/1=18054 5/7=120 5/3=27 5/5=1 5/6=1", "1999-12-14 16:21:27 .. 1999-12-14 16:36:15", bgp(0, "legacy_BGP_subtype1=18054 legacy_BGP_subtype7=120 legacy_BGP_subtype3=27 legacy_BGP_subtype5=1 legacy_BGP_subtype6=1", 0, 0, 0, 0), None, None),
    // differs: the first TABLE_DUMP record holds more than its declared length (batched entries, length 4 short): by RFC 6396 framing its body has trailing data, so it is a record error (no TDv1 entry), the next "record" is junk (14458/31256) and the third header declares 51,527,683 octets (above our 16 MiB cap): the stream stops there. The README parser took one entry from record 1.
    row("historic/bgpkit_rrc00_2000.01_bview.20000111.0032.gz", 2, "12/1=1 14458/31256=1", "2000-01-11 00:32:24 .. 2080-01-15 14:55:17", tdv1(1, 1, 1), Some(Figures::None), Some("record_too_long")),
    row("historic/bgpkit_rrc00_2000.01_updates.20000102.2014.gz", 3957, "5/1=3818 5/7=123 5/3=16", "2000-01-02 20:14:50 .. 2000-01-02 20:29:49", bgp(0, "legacy_BGP_subtype1=3818 legacy_BGP_subtype7=123 legacy_BGP_subtype3=16", 0, 0, 0, 0), None, None),
    row("historic/bgpkit_rrc00_2000.03_updates.20000325.0345.gz", 6, "5/1=4 5/7=1 32305/28353=1", "1970-06-04 02:12:15 .. 2000-03-25 03:45:44", bgp(0, "legacy_BGP_subtype1=4 legacy_BGP_subtype7=1", 0, 0, 0, 0), None, Some("record_too_long")),
    // differs: the 21 MALFORMED(header) message records are too short to hold the peer address; the README parser counted them as one more peer (AS 0, no address), we cannot name that peer: 43. (Its 42 8-octet STATE_CHANGE records, without AFI and addresses, are record errors counted as STATE_CHANGE, as in the README.)
    row("historic/bgpkit_rrc01_2000.11_updates.20001104.0124.gz", 1286, "16/1=922 16/0=364", "2000-11-04 01:24:10 .. 2000-11-04 01:39:05", bgp(44, "KEEPALIVE=618 STATE_CHANGE=364 OPEN=9 UPDATE=266 MALFORMED(header)=21 NOTIFICATION=8", 378, 137, 141, 101), Some(bgp(43, "KEEPALIVE=618 STATE_CHANGE=364 OPEN=9 UPDATE=266 MALFORMED(header)=21 NOTIFICATION=8", 378, 137, 141, 101)), None),
    row("historic/bgpkit_rrc03_2010.02_updates.20100227.1600.first-796-records.gz", 796, "16/4=515 16/1=277 16/5=4", "2010-02-27 16:00:26 .. 2010-02-27 16:00:33", bgp(40, "KEEPALIVE=23 UPDATE=768 STATE_CHANGE=4 NOTIFICATION=1", 1226, 199, 133, 43), None, None),
    row("historic/bgpkit_rrc15_2010.02_updates.20100227.1600.gz", 6615, "16/4=6053 16/1=542 16/5=20", "2010-02-27 16:00:00 .. 2010-02-27 16:05:00", bgp(9, "UPDATE=6546 KEEPALIVE=47 STATE_CHANGE=20 OPEN=1 NOTIFICATION=1", 52468, 49048, 1318, 121), None, None),
    row("historic/bgpkit_rrc15_2010.02_updates.20100227.1610.gz", 1953, "16/4=1306 16/5=16 16/1=631", "2010-02-27 16:10:02 .. 2010-02-27 16:15:00", bgp(9, "UPDATE=1888 STATE_CHANGE=16 OPEN=1 KEEPALIVE=47 NOTIFICATION=1", 5920, 2212, 1549, 198), None, None),
];

fn counts(spec: &str) -> BTreeMap<String, u64> {
    spec.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

fn map_of(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_u64()?))).collect())
        .unwrap_or_default()
}

/// Every figure of `row` that `summary` (the JSON of a `speaker::mrt::Summary`) gets wrong.
pub fn check(row: &Row, s: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let mut eq = |what: &str, want: String, got: String| {
        if want != got {
            bad.push(format!("{what}: expected {want}, got {got}"));
        }
    };
    eq("records", row.records.to_string(), s["records"].to_string());
    eq("types", format!("{:?}", counts(row.types)), format!("{:?}", map_of(&s["types"])));
    let time = match (s["first_timestamp"].as_u64(), s["last_timestamp"].as_u64()) {
        (Some(a), Some(b)) => format!("{} .. {}", utc(a), utc(b)),
        _ => "-".to_string(),
    };
    eq("time", row.time.to_string(), time);
    eq("fatal", format!("{:?}", row.fatal), format!("{:?}", s["fatal_error_kind"].as_str()));
    match row.ours.unwrap_or(row.readme) {
        Figures::Tdv2(pi, pe, v4, v6, e) => {
            let t = &s["table_dump_v2"];
            eq("peers_in_index", pi.to_string(), t["peers_in_index"].to_string());
            eq("peers_with_entries", pe.to_string(), t["peers_with_entries"].to_string());
            eq("prefixes v4", v4.to_string(), t["prefixes_v4"].to_string());
            eq("prefixes v6", v6.to_string(), t["prefixes_v6"].to_string());
            eq("rib_entries", e.to_string(), t["rib_entries"].to_string());
        }
        Figures::Tdv1(e, u, p) => {
            let t = &s["table_dump"];
            eq("entries", e.to_string(), t["entries"].to_string());
            eq("unique_prefixes", u.to_string(), t["unique_prefixes"].to_string());
            eq("peers", p.to_string(), t["peers"].to_string());
        }
        Figures::Bgp(p, m, a, au, w, wu) => {
            let t = &s["bgp4mp"];
            eq("peers", p.to_string(), t["peers"].to_string());
            eq("messages", format!("{:?}", counts(m)), format!("{:?}", map_of(&t["messages"])));
            eq("announced", a.to_string(), t["announced"].to_string());
            eq("announced unique", au.to_string(), t["announced_unique"].to_string());
            eq("withdrawn", w.to_string(), t["withdrawn"].to_string());
            eq("withdrawn unique", wu.to_string(), t["withdrawn_unique"].to_string());
        }
        Figures::None => {}
    }
    bad
}

/// "YYYY-MM-DD HH:MM:SS" (UTC), written independently of the crate's.
fn utc(t: u64) -> String {
    let (mut days, secs) = (t / 86_400, t % 86_400);
    let mut y = 1970;
    loop {
        let len = if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while days >= months[m] {
        days -= months[m];
        m += 1;
    }
    format!("{y:04}-{:02}-{:02} {:02}:{:02}:{:02}", m + 1, days + 1, secs / 3600, secs / 60 % 60, secs % 60)
}

/// The data folder.
pub fn data_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/bgp-data"))
}

/// Every file under mrt/, as paths relative to it.
pub fn mrt_files() -> Vec<String> {
    fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let base = data_dir().join("mrt");
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}
