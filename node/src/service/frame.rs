//! The Ethernet frames that tell a LAN a service address moved: a
//! gratuitous ARP request for IPv4 (RFC 5227 §3 ARP Announcement) and an
//! unsolicited Neighbor Advertisement with the Override flag for IPv6
//! (RFC 4861 §7.2.6). Hosts that hold the address in their ARP or
//! neighbour cache replace the old member's MAC with the new one's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A MAC address.
pub type Mac = [u8; 6];

const BROADCAST: Mac = [0xff; 6];
/// All-nodes multicast (ff02::1) as an Ethernet address (RFC 2464 §7).
const ALL_NODES_MAC: Mac = [0x33, 0x33, 0, 0, 0, 1];
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ICMPV6: u8 = 58;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// Override (RFC 4861 §4.4): replace the cached link-layer address.
const OVERRIDE: u8 = 0x20;
/// Target Link-Layer Address option (RFC 4861 §4.6.1).
const TARGET_LINK_LAYER: u8 = 2;

/// The frame announcing that `address` is at `mac`.
pub fn announcement(address: IpAddr, mac: Mac) -> Vec<u8> {
    match address {
        IpAddr::V4(a) => arp_announcement(a, mac),
        IpAddr::V6(a) => neighbor_advertisement(a, mac),
    }
}

fn ethernet(dst: Mac, src: Mac, ethertype: u16, capacity: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + capacity);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// A gratuitous ARP request: sender and target protocol address both
/// `address`, target hardware address zero (RFC 5227 §2.3), broadcast.
fn arp_announcement(address: Ipv4Addr, mac: Mac) -> Vec<u8> {
    let mut f = ethernet(BROADCAST, mac, ETHERTYPE_ARP, 28);
    f.extend_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f.extend_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    f.push(6);
    f.push(4);
    f.extend_from_slice(&1u16.to_be_bytes()); // request
    f.extend_from_slice(&mac);
    f.extend_from_slice(&address.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&address.octets());
    f
}

/// An unsolicited Neighbor Advertisement from `address` to all nodes,
/// Override set, Solicited clear, with the target link-layer address.
fn neighbor_advertisement(address: Ipv6Addr, mac: Mac) -> Vec<u8> {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut icmp = Vec::with_capacity(32);
    icmp.push(NEIGHBOR_ADVERTISEMENT);
    icmp.push(0); // code
    icmp.extend_from_slice(&[0, 0]); // checksum, below
    icmp.extend_from_slice(&[OVERRIDE, 0, 0, 0]);
    icmp.extend_from_slice(&address.octets());
    icmp.push(TARGET_LINK_LAYER);
    icmp.push(1); // length in units of 8 octets
    icmp.extend_from_slice(&mac);
    let sum = icmpv6_checksum(address, all_nodes, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = ethernet(ALL_NODES_MAC, mac, ETHERTYPE_IPV6, 40 + icmp.len());
    f.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, no class or flow
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.push(ICMPV6);
    f.push(255); // hop limit: RFC 4861 §7.1.2 drops any other
    f.extend_from_slice(&address.octets());
    f.extend_from_slice(&all_nodes.octets());
    f.extend_from_slice(&icmp);
    f
}

/// The ICMPv6 checksum (RFC 4443 §2.3): over the IPv6 pseudo-header
/// (RFC 8200 §8.1) and the message, its checksum field zero.
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40 + message.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(message.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, ICMPV6]);
    pseudo.extend_from_slice(message);
    !ones_complement_sum(&pseudo)
}

/// The 16-bit one's complement sum of `data` (RFC 1071), an odd last
/// octet padded with zero.
fn ones_complement_sum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [0x02, 0x42, 0xc6, 0x12, 0x00, 0x64];

    #[test]
    fn a_gratuitous_arp_names_the_address_as_sender_and_target() {
        let a = Ipv4Addr::new(198, 18, 0, 100);
        let f = announcement(a.into(), MAC);
        assert_eq!(f.len(), 42);
        assert_eq!(&f[0..6], &BROADCAST);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 0x08, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &MAC, "sender hardware address");
        assert_eq!(&f[28..32], &a.octets(), "sender protocol address");
        assert_eq!(&f[32..38], &[0; 6], "target hardware address");
        assert_eq!(&f[38..42], &a.octets(), "target protocol address");
    }

    #[test]
    fn an_unsolicited_advertisement_overrides_and_checks_out() {
        let a: Ipv6Addr = "2001:db8::100".parse().unwrap_or(Ipv6Addr::LOCALHOST);
        let f = announcement(a.into(), MAC);
        assert_eq!(&f[0..6], &ALL_NODES_MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        let ip = &f[14..];
        assert_eq!(ip[0] >> 4, 6);
        assert_eq!(
            usize::from(u16::from_be_bytes([ip[4], ip[5]])),
            ip.len() - 40
        );
        assert_eq!(ip[6], ICMPV6);
        assert_eq!(ip[7], 255, "hop limit");
        assert_eq!(&ip[8..24], &a.octets());
        let icmp = &ip[40..];
        assert_eq!(icmp[0], NEIGHBOR_ADVERTISEMENT);
        assert_eq!(
            icmp[4], OVERRIDE,
            "Override set, Router and Solicited clear"
        );
        assert_eq!(&icmp[8..24], &a.octets(), "target");
        assert_eq!(&icmp[24..26], &[TARGET_LINK_LAYER, 1]);
        assert_eq!(&icmp[26..32], &MAC);
        // A receiver's sum over pseudo-header and message, checksum
        // included, is all ones.
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&ip[8..40]);
        pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, ICMPV6]);
        pseudo.extend_from_slice(icmp);
        assert_eq!(ones_complement_sum(&pseudo), 0xffff);
    }

    #[test]
    fn the_checksum_is_rfc_1071s() {
        // RFC 1071 §3's example: 0001 f203 f4f5 f6f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(ones_complement_sum(&data), 0xddf2);
        assert_eq!(ones_complement_sum(&[0xab]), 0xab00);
    }
}
