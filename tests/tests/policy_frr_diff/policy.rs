//! The policy under test, written twice: in Reflex's configuration and in
//! FRR's. Each entry of one has the same seq in the other; keep them in
//! step. `NH` stands for an address on the LAN that no node has (a
//! next hop set by policy).
//!
//! The router is AS 65000. IN is the import map of the source (eBGP, AS
//! 65001; the table's paths start "65001 ..."; every route carries one
//! or two 3856:5xx00 communities and MED 0). OUT_IBGP is the export map
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

# --- import from the source ---

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
match = { as-path = "MIX" }
set = { prepend = [65001, 65001], next-hop = "NH", community-add = ["65000:80"] }

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

[[route-map.OUT_IBGP]]
seq = 100
action = "permit"
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
 set as-path prepend 65001 65001
 set ip next-hop NH
 set community 65000:80 additive
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
route-map OUT_IBGP permit 100
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
