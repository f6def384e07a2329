//! The policy under test, written twice: in Reflex's configuration and in
//! FRR's. Each entry of one has the same seq in the other; keep them in
//! step. `NH` stands for an address on the LAN that no node has (a
//! next hop set by policy).
//!
//! The router is AS 65000. IN is the import map of the source (eBGP, AS
//! 65001; the table's paths start "65001 ..."). Its IPv4 routes (a full
//! table from PCH, AS3856) carry one or two 3856:5xx00 communities and
//! MED 0; its IPv6 routes (a full table from RouteViews' peer AS13030)
//! carry two to six 13030:N (some 1299:N too) and a MED. The same maps
//! serve both families: an entry that matches a prefix list matches the
//! routes of its family only, so entries that set an IPv4 next hop are
//! kept to IPv4 routes (FRR would write the IPv4 next hop into an IPv6
//! route's attributes, where `match ip next-hop` then finds it). OUT_IBGP is the export map
//! towards the iBGP client, OUT_EBGP towards the eBGP client (AS 65002).
//! Marker communities (65000:N, 65000:1:N, rt:65000:N) tag what an entry
//! did, so that later entries and the export maps can match on it.

/// Lists and route-maps, Reflex's TOML.
pub const REFLEX: &str = r#"
[prefix-list.LONG]
entries = [ { action = "permit", prefix = "0.0.0.0/0", ge = 25 } ]

[prefix-list.MIX]
entries = [
  { seq = 5, action = "deny", prefix = "24.0.0.0/8", ge = 20, le = 22 },
  { seq = 10, action = "permit", prefix = "24.0.0.0/8", le = 24 },
  { seq = 15, action = "permit", prefix = "80.0.0.0/4", ge = 19, le = 21 },
  { seq = 20, action = "permit", prefix = "1.1.1.0/24" },
  { seq = 25, action = "permit", prefix = "192.0.0.0/3", ge = 23 },
  { seq = 30, action = "permit", prefix = "128.0.0.0/2", le = 16 },
]

[prefix-list.OUT_DENY]
entries = [ { action = "permit", prefix = "2.0.0.0/7", le = 24 } ]

[prefix-list.UNCHANGED]
entries = [ { action = "permit", prefix = "64.0.0.0/3", ge = 22, le = 24 } ]

[as-path-list.ORIGIN_7018]
entries = [ { action = "permit", regex = "_7018$" } ]

[as-path-list.VIA_2914]
entries = [ { action = "permit", regex = "^65001 2914_" } ]

[as-path-list.AS_SET]
entries = [ { action = "permit", regex = "[{]" } ]

[as-path-list.MIX]
entries = [
  { action = "deny", regex = "_3356_" },
  { action = "permit", regex = "^65001 (3257|6762)_" },
  { action = "permit", regex = "^65001 6939 [0-9]+$" },
]

[as-path-list.VIA_174]
entries = [ { action = "permit", regex = "_174_" } ]

[as-path-list.DENY_OUT]
entries = [ { action = "permit", regex = "_9498_" } ]

[community-list.C56600]
entries = [ { action = "permit", values = ["3856:56600"] } ]

[community-list.C51300]
entries = [ { action = "permit", values = ["3856:51300"] } ]

[community-list.RE]
entries = [ { action = "permit", regex = "^3856:5[12][0-9]00$" } ]

[community-list.DEL]
entries = [ { action = "permit", regex = "^3856:5[12]" } ]

[community-list.ALL3856]
entries = [ { action = "permit", regex = "^3856:" } ]

[community-list.MARK30]
entries = [ { action = "permit", values = ["65000:30"] } ]

[community-list.LMARK40]
kind = "large"
entries = [ { action = "permit", values = ["65000:1:40"] } ]

[community-list.EMARK50]
kind = "extended"
entries = [ { action = "permit", values = ["rt:65000:50"] } ]

# --- issue 23: what FRR's text form and removal make of them ---

[prefix-list.DECOR4]
entries = [
  { seq = 5, action = "permit", prefix = "100.0.0.0/6", le = 32 },
  { seq = 10, action = "permit", prefix = "176.0.0.0/5", le = 32 },
]

[prefix-list.ALL4]
entries = [ { action = "permit", prefix = "0.0.0.0/0", le = 32 } ]

[prefix-list.ALL6]
entries = [ { action = "permit", prefix = "::/0", le = 128 } ]

[prefix-list.DECOR6]
entries = [ { action = "permit", prefix = "2a02::/15", le = 128 } ]

[prefix-list.OWN4]
entries = [ { action = "permit", prefix = "60.0.0.0/6", le = 32 } ]

[prefix-list.OWN6]
entries = [ { action = "permit", prefix = "2804::/16", le = 128 } ]

[prefix-list.ONM4]
entries = [ { action = "permit", prefix = "5.0.0.0/8", le = 32 } ]

[prefix-list.ONM6]
entries = [ { action = "permit", prefix = "2600::/12", le = 128 } ]

[community-list.ANCHOR]
entries = [ { action = "permit", regex = "^3356:" } ]

[community-list.WK]
entries = [ { action = "permit", regex = "_no-peer_" } ]

[community-list.DELM]
entries = [ { action = "permit", values = ["3356:10", "65000:7"] } ]

[community-list.DELML]
kind = "large"
entries = [ { action = "permit", values = ["65000:9:1", "1:2:3"] } ]

[community-list.DELWK]
entries = [ { action = "permit", regex = "^route-filter-v6$" } ]

[community-list.EXACT_RE]
entries = [
  { action = "permit", regex = "^3856:5[0-9]+00$" },
  { action = "permit", regex = "^13030:61 13030:1701$" },
]

[community-list.EXACT_V]
entries = [
  { action = "permit", values = ["13030:51107", "13030:61", "13030:1604"] },
  { action = "permit", values = ["no-peer", "3856:56600"] },
]

[community-list.NOT95]
entries = [
  { action = "deny", values = ["65000:95"] },
  { action = "permit", values = ["internet"] },
]

# --- import from the source ---

# Communities added out of order (Reflex appends, FRR sorts), for the
# entries after them: an anchored expression, a well-known name, removal
# by entries of several values and by name, exact-match; MED arithmetic
# that saturates at both ends.
[[route-map.IN]]
seq = 1
action = "permit"
on-match = "next"
match = { prefix-list = "DECOR4" }
set = { community-add = ["65000:7", "3356:10", "no-peer", "route-filter-v6"], large-community-add = ["65000:9:1", "1:2:3", "65000:9:2"], ext-community-add = ["rt:65000:7", "soo:65000:8"], med = 4294967290 }

[[route-map.IN]]
seq = 2
action = "permit"
on-match = "next"
match = { prefix-list = "DECOR6" }
set = { community-add = ["65000:7", "3356:10", "no-peer", "route-filter-v6"], large-community-add = ["65000:9:1", "1:2:3", "65000:9:2"], ext-community-add = ["rt:65000:7", "soo:65000:8"], med = 25 }

[[route-map.IN]]
seq = 3
action = "permit"
on-match = "next"
match = { community = "ANCHOR" }
set = { med = "+10", large-community-add = ["65000:4:3"] }

[[route-map.IN]]
seq = 4
action = "permit"
on-match = "next"
match = { community = "WK" }
set = { med = "-100", large-community-add = ["65000:4:4"] }

[[route-map.IN]]
seq = 5
action = "permit"
on-match = "next"
set = { community-remove = "DELM" }

[[route-map.IN]]
seq = 6
action = "permit"
on-match = "next"
set = { community-remove = "DELML" }

[[route-map.IN]]
seq = 7
action = "permit"
on-match = "next"
set = { community-remove = "DELWK" }

[[route-map.IN]]
seq = 8
action = "permit"
on-match = "next"
match = { community = "EXACT_RE", community-exact = true }
set = { large-community-add = ["65000:4:8"] }

[[route-map.IN]]
seq = 9
action = "permit"
on-match = "next"
match = { community = "EXACT_V", community-exact = true }
set = { large-community-add = ["65000:4:9"] }

[[route-map.IN]]
seq = 10
action = "deny"
match = { prefix-list = "LONG" }

[[route-map.IN]]
seq = 20
action = "deny"
match = { as-path = "ORIGIN_7018" }

[[route-map.IN]]
seq = 25
action = "deny"
match = { community = "C51300", community-exact = true }

[[route-map.IN]]
seq = 30
action = "permit"
on-match = "next"
match = { community = "C56600" }
set = { local-pref = 150, med = 100, community-add = ["65000:30"] }

[[route-map.IN]]
seq = 40
action = "permit"
on-match = "goto 60"
match = { as-path = "VIA_2914" }
set = { med = "+7", large-community-add = ["65000:1:40"] }

[[route-map.IN]]
seq = 50
action = "permit"
match = { prefix-list = "MIX" }
set = { origin = "egp", ext-community-add = ["rt:65000:50"] }

[[route-map.IN]]
seq = 60
action = "permit"
on-match = "next"
match = { community = "RE" }
set = { med = "-30", community-remove = "DEL" }

[[route-map.IN]]
seq = 70
action = "deny"
match = { as-path = "AS_SET" }

[[route-map.IN]]
seq = 80
action = "permit"
match = { as-path = "MIX", prefix-list = "ALL4" }
set = { prepend = [65001, 65001], next-hop = "NH", community-add = ["65000:80"] }

# IPv6 routes: the same but the IPv4 next hop.
[[route-map.IN]]
seq = 81
action = "permit"
match = { as-path = "MIX", prefix-list = "ALL6" }
set = { prepend = [65001, 65001], community-add = ["65000:80"] }

# Our own AS prepended on import: not an AS-path loop.
[[route-map.IN]]
seq = 85
action = "permit"
match = { prefix-list = "OWN4" }
set = { prepend = [65000] }

[[route-map.IN]]
seq = 86
action = "permit"
match = { prefix-list = "OWN6" }
set = { prepend = [65000] }

[[route-map.IN]]
seq = 90
action = "permit"
match = { origin = "incomplete" }
set = { community-add = ["65000:90", "no-export"] }

[[route-map.IN]]
seq = 100
action = "permit"
set = { community-add = ["65000:100"] }

# --- export to the iBGP client ---

[[route-map.OUT_IBGP]]
seq = 10
action = "deny"
match = { prefix-list = "OUT_DENY" }

[[route-map.OUT_IBGP]]
seq = 20
action = "permit"
on-match = "next"
match = { local-pref = "150" }
set = { local-pref = 250, med = "-40" }

[[route-map.OUT_IBGP]]
seq = 30
action = "permit"
on-match = "next"
match = { origin = "egp" }
set = { origin = "igp", prepend = [64999, 64999] }

[[route-map.OUT_IBGP]]
seq = 35
action = "permit"
on-match = "next"
match = { med = "7" }
set = { large-community-add = ["65000:3:35"] }

[[route-map.OUT_IBGP]]
seq = 36
action = "permit"
on-match = "next"
match = { next-hop = ["NH"] }
set = { large-community-add = ["65000:3:36"] }

[[route-map.OUT_IBGP]]
seq = 40
action = "permit"
on-match = "next"
match = { community = "MARK30" }
set = { next-hop = "self" }

[[route-map.OUT_IBGP]]
seq = 50
action = "permit"
match = { community = "LMARK40" }
set = { community-replace = ["65000:999"] }

[[route-map.OUT_IBGP]]
seq = 60
action = "permit"
match = { community = "EMARK50" }
set = { med = 60, local-pref = 60 }

# on-match next where no later entry matches (NOT95 leaves out what 95
# and 96 marked).
[[route-map.OUT_IBGP]]
seq = 95
action = "permit"
on-match = "next"
match = { prefix-list = "ONM4" }
set = { community-add = ["65000:95"] }

[[route-map.OUT_IBGP]]
seq = 96
action = "permit"
on-match = "next"
match = { prefix-list = "ONM6" }
set = { community-add = ["65000:95"] }

[[route-map.OUT_IBGP]]
seq = 100
action = "permit"
match = { community = "NOT95" }
set = { large-community-add = ["65000:2:100"] }

# --- export to the eBGP client ---

[[route-map.OUT_EBGP]]
seq = 10
action = "deny"
match = { as-path = "DENY_OUT" }

[[route-map.OUT_EBGP]]
seq = 20
action = "permit"
on-match = "next"
match = { local-pref = "150" }
set = { med = 20, prepend = 2 }

[[route-map.OUT_EBGP]]
seq = 30
action = "permit"
on-match = "next"
match = { community = "MARK30" }
set = { next-hop = "NH" }

[[route-map.OUT_EBGP]]
seq = 40
action = "permit"
match = { prefix-list = "UNCHANGED" }
set = { next-hop = "unchanged", med = "+5" }

[[route-map.OUT_EBGP]]
seq = 50
action = "permit"
match = { as-path = "VIA_174" }
set = { exclude = [174], med = "+5", community-replace = [] }

[[route-map.OUT_EBGP]]
seq = 60
action = "permit"
match = { origin = "egp" }
set = { origin = "incomplete", community-remove = "ALL3856" }

[[route-map.OUT_EBGP]]
seq = 100
action = "permit"
set = { community-add = ["65000:200"] }
"#;

/// The same in FRR's configuration language.
pub const FRR: &str = r#"
ip prefix-list LONG seq 5 permit 0.0.0.0/0 ge 25
ip prefix-list MIX seq 5 deny 24.0.0.0/8 ge 20 le 22
ip prefix-list MIX seq 10 permit 24.0.0.0/8 le 24
ip prefix-list MIX seq 15 permit 80.0.0.0/4 ge 19 le 21
ip prefix-list MIX seq 20 permit 1.1.1.0/24
ip prefix-list MIX seq 25 permit 192.0.0.0/3 ge 23
ip prefix-list MIX seq 30 permit 128.0.0.0/2 le 16
ip prefix-list OUT_DENY seq 5 permit 2.0.0.0/7 le 24
ip prefix-list UNCHANGED seq 5 permit 64.0.0.0/3 ge 22 le 24
!
bgp as-path access-list ORIGIN_7018 seq 5 permit _7018$
bgp as-path access-list VIA_2914 seq 5 permit ^65001 2914_
bgp as-path access-list AS_SET seq 5 permit [{]
bgp as-path access-list MIX seq 5 deny _3356_
bgp as-path access-list MIX seq 10 permit ^65001 (3257|6762)_
bgp as-path access-list MIX seq 15 permit ^65001 6939 [0-9]+$
bgp as-path access-list VIA_174 seq 5 permit _174_
bgp as-path access-list DENY_OUT seq 5 permit _9498_
!
bgp community-list standard C56600 seq 5 permit 3856:56600
bgp community-list standard C51300 seq 5 permit 3856:51300
bgp community-list expanded RE seq 5 permit ^3856:5[12][0-9]00$
bgp community-list expanded DEL seq 5 permit ^3856:5[12]
bgp community-list expanded ALL3856 seq 5 permit ^3856:
bgp community-list standard MARK30 seq 5 permit 65000:30
bgp large-community-list standard LMARK40 seq 5 permit 65000:1:40
bgp extcommunity-list standard EMARK50 seq 5 permit rt 65000:50
!
ip prefix-list ALL4 seq 5 permit 0.0.0.0/0 le 32
ipv6 prefix-list ALL6 seq 5 permit ::/0 le 128
ip prefix-list DECOR4 seq 5 permit 100.0.0.0/6 le 32
ip prefix-list DECOR4 seq 10 permit 176.0.0.0/5 le 32
ipv6 prefix-list DECOR6 seq 5 permit 2a02::/15 le 128
ip prefix-list OWN4 seq 5 permit 60.0.0.0/6 le 32
ipv6 prefix-list OWN6 seq 5 permit 2804::/16 le 128
ip prefix-list ONM4 seq 5 permit 5.0.0.0/8 le 32
ipv6 prefix-list ONM6 seq 5 permit 2600::/12 le 128
bgp community-list expanded ANCHOR seq 5 permit ^3356:
bgp community-list expanded WK seq 5 permit _no-peer_
bgp community-list standard DELM seq 5 permit 3356:10 65000:7
bgp large-community-list standard DELML seq 5 permit 65000:9:1 1:2:3
bgp community-list expanded DELWK seq 5 permit ^route-filter-v6$
bgp community-list expanded EXACT_RE seq 5 permit ^3856:5[0-9]+00$
bgp community-list expanded EXACT_RE seq 10 permit ^13030:61 13030:1701$
bgp community-list standard EXACT_V seq 5 permit 13030:51107 13030:61 13030:1604
bgp community-list standard EXACT_V seq 10 permit no-peer 3856:56600
bgp community-list standard NOT95 seq 5 deny 65000:95
bgp community-list standard NOT95 seq 10 permit internet
!
route-map IN permit 1
 match ip address prefix-list DECOR4
 set community 65000:7 3356:10 no-peer route-filter-v6 additive
 set large-community 65000:9:1 1:2:3 65000:9:2 additive
 set extcommunity rt 65000:7
 set extcommunity soo 65000:8
 set metric 4294967290
 on-match next
exit
route-map IN permit 2
 match ipv6 address prefix-list DECOR6
 set community 65000:7 3356:10 no-peer route-filter-v6 additive
 set large-community 65000:9:1 1:2:3 65000:9:2 additive
 set extcommunity rt 65000:7
 set extcommunity soo 65000:8
 set metric 25
 on-match next
exit
route-map IN permit 3
 match community ANCHOR
 set metric +10
 set large-community 65000:4:3 additive
 on-match next
exit
route-map IN permit 4
 match community WK
 set metric -100
 set large-community 65000:4:4 additive
 on-match next
exit
route-map IN permit 5
 set comm-list DELM delete
 on-match next
exit
route-map IN permit 6
 set large-comm-list DELML delete
 on-match next
exit
route-map IN permit 7
 set comm-list DELWK delete
 on-match next
exit
route-map IN permit 8
 match community EXACT_RE exact-match
 set large-community 65000:4:8 additive
 on-match next
exit
route-map IN permit 9
 match community EXACT_V exact-match
 set large-community 65000:4:9 additive
 on-match next
exit
route-map IN deny 10
 match ip address prefix-list LONG
exit
route-map IN deny 20
 match as-path ORIGIN_7018
exit
route-map IN deny 25
 match community C51300 exact-match
exit
route-map IN permit 30
 match community C56600
 set local-preference 150
 set metric 100
 set community 65000:30 additive
 on-match next
exit
route-map IN permit 40
 match as-path VIA_2914
 set metric +7
 set large-community 65000:1:40 additive
 on-match goto 60
exit
route-map IN permit 50
 match ip address prefix-list MIX
 set origin egp
 set extcommunity rt 65000:50
exit
route-map IN permit 60
 match community RE
 set metric -30
 set comm-list DEL delete
 on-match next
exit
route-map IN deny 70
 match as-path AS_SET
exit
route-map IN permit 80
 match as-path MIX
 match ip address prefix-list ALL4
 set as-path prepend 65001 65001
 set ip next-hop NH
 set community 65000:80 additive
exit
route-map IN permit 81
 match as-path MIX
 match ipv6 address prefix-list ALL6
 set as-path prepend 65001 65001
 set community 65000:80 additive
exit
route-map IN permit 85
 match ip address prefix-list OWN4
 set as-path prepend 65000
exit
route-map IN permit 86
 match ipv6 address prefix-list OWN6
 set as-path prepend 65000
exit
route-map IN permit 90
 match origin incomplete
 set community 65000:90 no-export additive
exit
route-map IN permit 100
 set community 65000:100 additive
exit
!
route-map OUT_IBGP deny 10
 match ip address prefix-list OUT_DENY
exit
route-map OUT_IBGP permit 20
 match local-preference 150
 set local-preference 250
 set metric -40
 on-match next
exit
route-map OUT_IBGP permit 30
 match origin egp
 set origin igp
 set as-path prepend 64999 64999
 on-match next
exit
route-map OUT_IBGP permit 35
 match metric 7
 set large-community 65000:3:35 additive
 on-match next
exit
route-map OUT_IBGP permit 36
 match ip next-hop address NH
 set large-community 65000:3:36 additive
 on-match next
exit
route-map OUT_IBGP permit 40
 match community MARK30
 set ip next-hop peer-address
 on-match next
exit
route-map OUT_IBGP permit 50
 match large-community LMARK40
 set community 65000:999
exit
route-map OUT_IBGP permit 60
 match extcommunity EMARK50
 set metric 60
 set local-preference 60
exit
route-map OUT_IBGP permit 95
 match ip address prefix-list ONM4
 set community 65000:95 additive
 on-match next
exit
route-map OUT_IBGP permit 96
 match ipv6 address prefix-list ONM6
 set community 65000:95 additive
 on-match next
exit
route-map OUT_IBGP permit 100
 match community NOT95
 set large-community 65000:2:100 additive
exit
!
route-map OUT_EBGP deny 10
 match as-path DENY_OUT
exit
route-map OUT_EBGP permit 20
 match local-preference 150
 set metric 20
 set as-path prepend 65000 65000
 on-match next
exit
route-map OUT_EBGP permit 30
 match community MARK30
 set ip next-hop NH
 on-match next
exit
route-map OUT_EBGP permit 40
 match ip address prefix-list UNCHANGED
 set ip next-hop unchanged
 set metric +5
exit
route-map OUT_EBGP permit 50
 match as-path VIA_174
 set as-path exclude 174
 set metric +5
 set community none
exit
route-map OUT_EBGP permit 60
 match origin egp
 set origin incomplete
 set comm-list ALL3856 delete
exit
route-map OUT_EBGP permit 100
 set community 65000:200 additive
exit
!
"#;

/// A policy text with `NH` made an address.
pub fn with_next_hop(text: &str, nh: std::net::Ipv4Addr) -> String {
    text.replace("\"NH\"", &format!("\"{nh}\""))
        .replace("next-hop NH", &format!("next-hop {nh}"))
        .replace("next-hop address NH", &format!("next-hop address {nh}"))
}
