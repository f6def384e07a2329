//! The three configurations of the topology: Reflex's and FRR's as the
//! router under test (the policy from `policy.rs` in each), and BIRD's as
//! a client.

use crate::policy;
use reflex_tests::netns::Node;
use std::net::Ipv4Addr;
use std::path::Path;

pub const ROUTER_AS: u32 = 65000;
pub const SOURCE_AS: u32 = 65001;
pub const EBGP_CLIENT_AS: u32 = 65002;

pub struct Nodes {
    pub router: Node,
    pub source: Node,
    pub ibgp: Node,
    pub ebgp: Node,
    /// An address on the LAN that no node has: a next hop set by policy.
    pub nh: Ipv4Addr,
}

pub fn reflex_config(n: &Nodes, data: &Path) -> String {
    format!(
        r#"router-id = "{r}"
local-as = {ROUTER_AS}
data-dir = "{data}"
[listen]
addresses = ["{r}", "{r6}"]
{policy}
[[neighbor]]
address = "{src}"
remote-as = {SOURCE_AS}
passive = true
mrai = 0
import = "IN"

[[neighbor]]
address = "{src6}"
remote-as = {SOURCE_AS}
passive = true
mrai = 0
import = "IN"

[[neighbor]]
address = "{ibgp6}"
remote-as = {ROUTER_AS}
connect-retry = 2
export = "OUT_IBGP"

[[neighbor]]
address = "{ebgp6}"
remote-as = {EBGP_CLIENT_AS}
connect-retry = 2
mrai = 0
export = "OUT_EBGP"

[[neighbor]]
address = "{ibgp}"
remote-as = {ROUTER_AS}
connect-retry = 2
export = "OUT_IBGP"

[[neighbor]]
address = "{ebgp}"
remote-as = {EBGP_CLIENT_AS}
connect-retry = 2
mrai = 0
export = "OUT_EBGP"
"#,
        r = n.router.v4,
        r6 = n.router.v6,
        data = data.display(),
        policy = policy::with_next_hop(policy::REFLEX, n.nh),
        src = n.source.v4,
        ibgp = n.ibgp.v4,
        ebgp = n.ebgp.v4,
        src6 = n.source.v6,
        ibgp6 = n.ibgp.v6,
        ebgp6 = n.ebgp.v6,
    )
}

pub fn frr_config(n: &Nodes) -> String {
    format!(
        "frr defaults traditional\nhostname router\nlog stdout informational\n!\n{policy}
router bgp {ROUTER_AS}
 bgp router-id {r}
 bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {src} remote-as {SOURCE_AS}
 neighbor {src} passive
 neighbor {ibgp} remote-as {ROUTER_AS}
 neighbor {ibgp} timers connect 2
 neighbor {ebgp} remote-as {EBGP_CLIENT_AS}
 neighbor {ebgp} timers connect 2
 neighbor {ebgp} advertisement-interval 0
 neighbor {src6} remote-as {SOURCE_AS}
 neighbor {src6} passive
 neighbor {ibgp6} remote-as {ROUTER_AS}
 neighbor {ibgp6} timers connect 2
 neighbor {ebgp6} remote-as {EBGP_CLIENT_AS}
 neighbor {ebgp6} timers connect 2
 neighbor {ebgp6} advertisement-interval 0
 address-family ipv4 unicast
  neighbor {src} activate
  neighbor {src} route-map IN in
  neighbor {ibgp} activate
  neighbor {ibgp} route-map OUT_IBGP out
  neighbor {ebgp} activate
  neighbor {ebgp} route-map OUT_EBGP out
 exit-address-family
 address-family ipv6 unicast
  neighbor {src6} activate
  neighbor {src6} route-map IN in
  neighbor {ibgp6} activate
  neighbor {ibgp6} route-map OUT_IBGP out
  neighbor {ebgp6} activate
  neighbor {ebgp6} route-map OUT_EBGP out
 exit-address-family
!
",
        policy = policy::with_next_hop(policy::FRR, n.nh),
        r = n.router.v4,
        src = n.source.v4,
        ibgp = n.ibgp.v4,
        ebgp = n.ebgp.v4,
        src6 = n.source.v6,
        ibgp6 = n.ibgp.v6,
        ebgp6 = n.ebgp.v6,
    )
}

/// A client that takes everything and sends nothing, over two sessions:
/// IPv4 routes over IPv4, IPv6 routes over IPv6. Next hops on the LAN
/// resolve directly (no IGP here), for iBGP too (`direct`). The tables
/// hold private ASes, 65002 among them: `allow local as` keeps those
/// routes too, so that the client holds all that the router sent.
pub fn bird_config(me: &Node, local_as: u32, router: &Node) -> String {
    let session = |name: &str,
                   me: &dyn std::fmt::Display,
                   router: &dyn std::fmt::Display,
                   family: &str| {
        format!(
            "protocol bgp {name} {{\n  local {me} as {local_as};\n  neighbor {router} as {ROUTER_AS};\n  \
             hold time 90;\n  connect retry time 2;\n  error wait time 1, 5;\n  \
             direct;\n  allow local as;\n  {family} {{ import all; export none; }};\n}}\n"
        )
    };
    format!(
        "router id {me};\nlog stderr {{ warning, error, fatal, bug }};\nprotocol device {{}}\n{v4}{v6}",
        me = me.v4,
        v4 = session("upstream", &me.v4, &router.v4, "ipv4"),
        v6 = session("upstream6", &me.v6, &router.v6, "ipv6"),
    )
}
