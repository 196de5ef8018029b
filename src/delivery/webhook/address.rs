//! Which network addresses webhook deliveries may reach (pure). A subscription makes the
//! server send requests where its creator says: without a limit, anyone allowed to create
//! one could make Herald call the services of its own network (server-side request forgery),
//! the cloud's metadata service included. So deliveries go to public addresses, and to the
//! loopback interface (a receiver on the same machine, as plain `http://` allows for local
//! development); private, shared and link-local networks only where the operator says so
//! (`webhook_private_endpoints`); and never to addresses no one can be at.
//!
//! Every address a host name resolves to is checked when connecting, and the connection
//! goes to the address checked, so a name cannot be pointed elsewhere between the check and
//! the connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of network an address is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The internet at large.
    Public,
    /// This machine.
    Loopback,
    /// A private, shared (carrier-grade NAT), unique-local or link-local network: the
    /// operator's own, where internal services and cloud metadata endpoints live.
    Private,
    /// Unspecified, multicast, broadcast, documentation and reserved ranges.
    Nowhere,
}

pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => reach_v4(v4),
            None => reach_v6(v6),
        },
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Reach::Loopback
    } else if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
    {
        Reach::Nowhere
    } else if ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
    {
        Reach::Private
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Reach::Loopback
    } else if ip.is_unspecified() || ip.is_multicast() || first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Reach::Nowhere
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80 {
        Reach::Private
    } else {
        Reach::Public
    }
}

/// Whether deliveries may go to `ip`; the refusal says why and what would allow it.
pub fn permitted(ip: IpAddr, private_endpoints: bool) -> Result<(), String> {
    match reach(ip) {
        Reach::Public | Reach::Loopback => Ok(()),
        Reach::Private if private_endpoints => Ok(()),
        Reach::Private => Err(format!(
            "{ip} is on a private or link-local network; deliveries go there only with webhook_private_endpoints = true"
        )),
        Reach::Nowhere => Err(format!("{ip} is not an address a receiver can have")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_are_placed_on_their_networks() {
        for (address, expected) in [
            ("93.184.216.34", Reach::Public),
            ("2606:4700::1111", Reach::Public),
            ("127.0.0.1", Reach::Loopback),
            ("127.8.9.10", Reach::Loopback),
            ("::1", Reach::Loopback),
            ("::ffff:127.0.0.1", Reach::Loopback),
            ("10.1.2.3", Reach::Private),
            ("172.16.0.1", Reach::Private),
            ("172.31.255.255", Reach::Private),
            ("192.168.1.1", Reach::Private),
            ("169.254.169.254", Reach::Private),
            ("100.64.0.1", Reach::Private),
            ("198.18.0.1", Reach::Private),
            ("::ffff:10.0.0.1", Reach::Private),
            ("fd00::1", Reach::Private),
            ("fe80::1", Reach::Private),
            ("0.0.0.0", Reach::Nowhere),
            ("255.255.255.255", Reach::Nowhere),
            ("224.0.0.1", Reach::Nowhere),
            ("192.0.2.1", Reach::Nowhere),
            ("240.0.0.1", Reach::Nowhere),
            ("::", Reach::Nowhere),
            ("ff02::1", Reach::Nowhere),
            ("2001:db8::1", Reach::Nowhere),
        ] {
            assert_eq!(reach(ip(address)), expected, "{address}");
        }
        assert_eq!(reach(ip("172.32.0.1")), Reach::Public);
        assert_eq!(reach(ip("100.128.0.1")), Reach::Public);
    }

    #[test]
    fn private_networks_need_the_operators_word() {
        let refused = permitted(ip("169.254.169.254"), false).unwrap_err();
        assert!(refused.contains("webhook_private_endpoints = true"), "{refused}");
        assert!(permitted(ip("169.254.169.254"), true).is_ok());
        assert!(permitted(ip("127.0.0.1"), false).is_ok());
        assert!(permitted(ip("8.8.8.8"), false).is_ok());
        assert!(permitted(ip("0.0.0.0"), true).is_err());
    }
}
