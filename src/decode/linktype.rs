//! The registry of link types: one row per LINKTYPE_* number flowaudit knows, with its name, the
//! DLT_* numbers libpcap uses for it, and which link-layer decoder reads its frames.
//!
//! Everything that knows about link types reads [`REGISTRY`]: the dispatch in
//! [`decode`](super::decode), the names in statistics and reports, the filter compiler's DLT_*
//! number ([`dlt_for_linktype`]) and the LINKTYPE_* number of a live capture ([`linktype_for_dlt`]).

/// BSD loopback: 4-byte address family in the capturing host's byte order.
pub const NULL: u32 = 0;
/// Ethernet II / 802.3.
pub const ETHERNET: u32 = 1;
/// ARCNET with the BSD header (RFC 1201 / RFC 1051).
pub const ARCNET_BSD: u32 = 7;
/// PPP (RFC 1661), with or without the HDLC-like address and control bytes.
pub const PPP: u32 = 9;
/// FDDI, then 802.2 LLC.
pub const FDDI: u32 = 10;
/// Raw IP, DLT_RAW on most platforms.
pub const DLT_RAW: u32 = 12;
/// Raw IP, DLT_RAW on OpenBSD.
pub const DLT_RAW_OPENBSD: u32 = 14;
/// RFC 1483 LLC/SNAP-encapsulated ATM (not decoded; listed for its DLT_* number).
pub const ATM_RFC1483: u32 = 100;
/// PPP in HDLC-like framing (RFC 1662), or Cisco PPP with HDLC framing.
pub const PPP_HDLC: u32 = 50;
/// Raw IP, the LINKTYPE_RAW value stored in files.
pub const RAW: u32 = 101;
/// BSD/OS SLIP (not decoded; listed for its DLT_* number).
pub const SLIP_BSDOS: u32 = 102;
/// BSD/OS PPP (not decoded; listed for its DLT_* number).
pub const PPP_BSDOS: u32 = 103;
/// Cisco HDLC: address, control, EtherType.
pub const C_HDLC: u32 = 104;
/// IEEE 802.11 frames without a radio header.
pub const IEEE802_11: u32 = 105;
/// OpenBSD loopback: 4-byte address family in network byte order.
pub const LOOP: u32 = 108;
/// Linux cooked capture v1 (SLL).
pub const LINUX_SLL: u32 = 113;
/// IEEE 802.11 frames behind a radiotap header.
pub const IEEE802_11_RADIOTAP: u32 = 127;
/// ARCNET with the Linux header (an offset field before the protocol id).
pub const ARCNET_LINUX: u32 = 129;
/// Per-Packet Information header, then a frame of the link type it names.
pub const PPI: u32 = 192;
/// Raw IPv4 only.
pub const IPV4: u32 = 228;
/// Raw IPv6 only.
pub const IPV6: u32 = 229;
/// Linux netfilter NFLOG: a header and TLVs, one of which holds the IP packet.
pub const NFLOG: u32 = 239;
/// IP over InfiniBand (RFC 4391): a 40-byte address header and the 4-byte IPoIB header.
pub const IPOIB: u32 = 242;
/// Apple PKTAP: a metadata header, then a frame of the DLT it names.
pub const PKTAP: u32 = 258;
/// Linux cooked capture v2 (SLL2).
pub const LINUX_SLL2: u32 = 276;

/// The DLT_* number of PKTAP on Darwin (DLT_USER2 elsewhere, so a file's 149 is not PKTAP).
const DLT_PKTAP_DARWIN: u32 = 149;

/// The link-layer decoder that reads a link type's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ethernet header, then the EtherType chain ([`super::ethernet`]).
    Ethernet,
    /// Linux cooked capture v1 ([`super::sll`]).
    LinuxSll,
    /// Linux cooked capture v2 ([`super::sll`]).
    LinuxSll2,
    /// BSD loopback, address family in the capturing host's byte order ([`super::null`]).
    Null,
    /// OpenBSD loopback, address family in network byte order ([`super::null`]).
    Loop,
    /// Raw IPv4 or IPv6, told apart by the version nibble ([`super::raw`]).
    RawIp,
    /// Raw IPv4 only.
    Ipv4,
    /// Raw IPv6 only.
    Ipv6,
    /// PPP with or without address and control, or Cisco HDLC ([`super::ppp`]).
    Ppp,
    /// Cisco HDLC ([`super::chdlc`]).
    CiscoHdlc,
    /// IEEE 802.11 ([`super::ieee80211`]).
    Ieee80211,
    /// Radiotap, then 802.11 ([`super::radiotap`]).
    Radiotap,
    /// PPI, then the link type it names ([`super::ppi`]).
    Ppi,
    /// Apple PKTAP, then the link type it names ([`super::pktap`]).
    Pktap,
    /// Linux NFLOG ([`super::nflog`]).
    Nflog,
    /// IP over InfiniBand ([`super::ipoib`]).
    Ipoib,
    /// FDDI, then LLC/SNAP ([`super::fddi`]).
    Fddi,
    /// ARCNET, BSD header ([`super::arcnet`]).
    ArcnetBsd,
    /// ARCNET, Linux header ([`super::arcnet`]).
    ArcnetLinux,
}

/// One link type.
#[derive(Debug, Clone, Copy)]
pub struct LinkType {
    /// The LINKTYPE_* number of pcap and pcapng headers.
    pub number: u32,
    /// Short name for statistics and messages.
    pub name: &'static str,
    /// DLT_* numbers libpcap reports for this link type on some platform, when they differ from
    /// `number`; the first is the one its filter compiler takes.
    pub dlts: &'static [u32],
    /// How its frames are decoded; `None`: flowaudit does not decode it.
    pub link: Option<Link>,
}

const fn row(
    number: u32,
    name: &'static str,
    dlts: &'static [u32],
    link: Option<Link>,
) -> LinkType {
    LinkType {
        number,
        name,
        dlts,
        link,
    }
}

/// Every link type flowaudit knows.
pub const REGISTRY: &[LinkType] = &[
    row(NULL, "null", &[], Some(Link::Null)),
    row(ETHERNET, "ethernet", &[], Some(Link::Ethernet)),
    row(ARCNET_BSD, "arcnet", &[], Some(Link::ArcnetBsd)),
    row(PPP, "ppp", &[], Some(Link::Ppp)),
    row(FDDI, "fddi", &[], Some(Link::Fddi)),
    // Platform DLT_RAW values also appear as link types in files written by some tools.
    row(DLT_RAW, "raw-ip", &[], Some(Link::RawIp)),
    row(DLT_RAW_OPENBSD, "raw-ip", &[], Some(Link::RawIp)),
    row(PPP_HDLC, "ppp-hdlc", &[], Some(Link::Ppp)),
    row(ATM_RFC1483, "atm-rfc1483", &[11], None),
    row(
        RAW,
        "raw-ip",
        &[DLT_RAW, DLT_RAW_OPENBSD],
        Some(Link::RawIp),
    ),
    row(SLIP_BSDOS, "slip-bsdos", &[15], None),
    row(PPP_BSDOS, "ppp-bsdos", &[16], None),
    row(C_HDLC, "cisco-hdlc", &[], Some(Link::CiscoHdlc)),
    row(IEEE802_11, "802.11", &[], Some(Link::Ieee80211)),
    row(LOOP, "loop", &[], Some(Link::Loop)),
    row(LINUX_SLL, "linux-sll", &[], Some(Link::LinuxSll)),
    row(
        IEEE802_11_RADIOTAP,
        "802.11-radiotap",
        &[],
        Some(Link::Radiotap),
    ),
    row(ARCNET_LINUX, "arcnet-linux", &[], Some(Link::ArcnetLinux)),
    row(PPI, "ppi", &[], Some(Link::Ppi)),
    row(IPV4, "ipv4", &[], Some(Link::Ipv4)),
    row(IPV6, "ipv6", &[], Some(Link::Ipv6)),
    row(NFLOG, "nflog", &[], Some(Link::Nflog)),
    row(IPOIB, "ipoib", &[], Some(Link::Ipoib)),
    row(
        PKTAP,
        "pktap",
        if cfg!(target_vendor = "apple") {
            &[DLT_PKTAP_DARWIN]
        } else {
            &[]
        },
        Some(Link::Pktap),
    ),
    row(LINUX_SLL2, "linux-sll2", &[], Some(Link::LinuxSll2)),
];

/// One past the largest number in [`REGISTRY`]: the size of the lookup index.
const INDEX_LEN: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < REGISTRY.len() {
        if REGISTRY[i].number as usize > max {
            max = REGISTRY[i].number as usize;
        }
        i += 1;
    }
    max + 1
};

/// No row for this number in [`INDEX`].
const NONE: u8 = u8::MAX;

/// The row of each number in [`REGISTRY`] ([`NONE`]: no row), built at compile time.
const INDEX: [u8; INDEX_LEN] = {
    assert!(REGISTRY.len() < NONE as usize);
    let mut index = [NONE; INDEX_LEN];
    let mut i = 0;
    while i < REGISTRY.len() {
        let n = REGISTRY[i].number as usize;
        assert!(index[n] == NONE, "a link type listed twice");
        index[n] = i as u8;
        i += 1;
    }
    index
};

/// The decoder of each number, built at compile time from [`REGISTRY`] so that the per-frame
/// dispatch is one load.
const LINKS: [Option<Link>; INDEX_LEN] = {
    let mut links = [None; INDEX_LEN];
    let mut i = 0;
    while i < REGISTRY.len() {
        links[REGISTRY[i].number as usize] = REGISTRY[i].link;
        i += 1;
    }
    links
};

/// The registry row of `lt`, if flowaudit knows it.
pub fn lookup(lt: u32) -> Option<&'static LinkType> {
    match INDEX.get(lt as usize) {
        Some(&i) if i != NONE => Some(&REGISTRY[i as usize]),
        _ => None,
    }
}

/// The decoder of `lt`'s frames, if flowaudit decodes it.
#[inline]
pub fn link(lt: u32) -> Option<Link> {
    match LINKS.get(lt as usize) {
        Some(&link) => link,
        None => None,
    }
}

/// True when flowaudit can decode this link type.
pub fn is_supported(lt: u32) -> bool {
    link(lt).is_some()
}

/// A short name for statistics and messages ("unsupported" for a link type flowaudit does not
/// decode).
pub fn name(lt: u32) -> &'static str {
    match lookup(lt) {
        Some(l) if l.link.is_some() => l.name,
        _ => "unsupported",
    }
}

/// The DLT_* number libpcap's filter compiler knows a LINKTYPE_* number by (only a few differ;
/// -1 for a number that does not fit).
pub fn dlt_for_linktype(lt: u32) -> i32 {
    let dlt = match lookup(lt) {
        Some(l) => l.dlts.first().copied().unwrap_or(lt),
        None => lt,
    };
    i32::try_from(dlt).unwrap_or(-1)
}

/// The LINKTYPE_* number of a DLT_* number as libpcap reports it for a live capture (only a few
/// differ).
pub fn linktype_for_dlt(dlt: u32) -> u32 {
    REGISTRY
        .iter()
        .find(|l| l.dlts.contains(&dlt))
        .map_or(dlt, |l| l.number)
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    #[test]
    fn unsupported_link_type() {
        // LINKTYPE_IEEE802_5 (token ring): known to libpcap, not decoded.
        assert_eq!(
            decode(6, &[0u8; 40], 40).unwrap_err(),
            Skip::UnsupportedLinkType(6)
        );
        // A file's 149 is DLT_USER2 outside Darwin, not PKTAP.
        assert_eq!(
            decode(149, &[0u8; 40], 40).unwrap_err(),
            Skip::UnsupportedLinkType(149)
        );
    }

    #[test]
    fn names() {
        assert_eq!(name(ETHERNET), "ethernet");
        assert_eq!(name(NULL), "null");
        for lt in [DLT_RAW, DLT_RAW_OPENBSD, RAW] {
            assert_eq!(name(lt), "raw-ip");
        }
        assert_eq!(name(LOOP), "loop");
        assert_eq!(name(LINUX_SLL), "linux-sll");
        assert_eq!(name(LINUX_SLL2), "linux-sll2");
        assert_eq!(name(IPV4), "ipv4");
        assert_eq!(name(IPV6), "ipv6");
        // Known but not decoded, and unknown.
        assert_eq!(name(ATM_RFC1483), "unsupported");
        assert_eq!(name(IEEE802_11), "802.11");
        assert_eq!(name(PKTAP), "pktap");
        assert_eq!(name(6), "unsupported");
        assert_eq!(name(u32::MAX), "unsupported");
        assert!(is_supported(LINUX_SLL2) && !is_supported(PPP_BSDOS) && !is_supported(9999));
    }

    #[test]
    fn every_decoded_link_type_has_its_decoder() {
        for (lt, link, name) in [
            (ARCNET_BSD, Link::ArcnetBsd, "arcnet"),
            (PPP, Link::Ppp, "ppp"),
            (FDDI, Link::Fddi, "fddi"),
            (PPP_HDLC, Link::Ppp, "ppp-hdlc"),
            (C_HDLC, Link::CiscoHdlc, "cisco-hdlc"),
            (IEEE802_11, Link::Ieee80211, "802.11"),
            (IEEE802_11_RADIOTAP, Link::Radiotap, "802.11-radiotap"),
            (ARCNET_LINUX, Link::ArcnetLinux, "arcnet-linux"),
            (PPI, Link::Ppi, "ppi"),
            (NFLOG, Link::Nflog, "nflog"),
            (IPOIB, Link::Ipoib, "ipoib"),
            (PKTAP, Link::Pktap, "pktap"),
        ] {
            assert_eq!(
                (super::link(lt), super::name(lt)),
                (Some(link), name),
                "{lt}"
            );
            // Their DLT_* numbers are their LINKTYPE_* numbers on Linux.
            assert_eq!(linktype_for_dlt(lt), lt);
        }
        // PKTAP's DLT is 149 on Darwin only; elsewhere 149 is DLT_USER2.
        if cfg!(target_vendor = "apple") {
            assert_eq!(
                (dlt_for_linktype(PKTAP), linktype_for_dlt(149)),
                (149, PKTAP)
            );
        } else {
            assert_eq!((dlt_for_linktype(PKTAP), linktype_for_dlt(149)), (258, 149));
        }
    }

    #[test]
    fn dlt_numbers_both_ways() {
        // LINKTYPE_* -> DLT_* for the filter compiler.
        assert_eq!(dlt_for_linktype(ATM_RFC1483), 11);
        assert_eq!(dlt_for_linktype(RAW), 12);
        assert_eq!(dlt_for_linktype(SLIP_BSDOS), 15);
        assert_eq!(dlt_for_linktype(PPP_BSDOS), 16);
        assert_eq!(dlt_for_linktype(DLT_RAW), 12);
        assert_eq!(dlt_for_linktype(DLT_RAW_OPENBSD), 14);
        assert_eq!(dlt_for_linktype(ETHERNET), 1);
        assert_eq!(dlt_for_linktype(147), 147);
        assert_eq!(dlt_for_linktype(u32::MAX), -1);
        // DLT_* -> LINKTYPE_* for live captures.
        assert_eq!(linktype_for_dlt(11), ATM_RFC1483);
        assert_eq!(linktype_for_dlt(12), RAW);
        assert_eq!(linktype_for_dlt(14), RAW);
        assert_eq!(linktype_for_dlt(15), SLIP_BSDOS);
        assert_eq!(linktype_for_dlt(16), PPP_BSDOS);
        assert_eq!(linktype_for_dlt(1), ETHERNET);
        assert_eq!(linktype_for_dlt(113), LINUX_SLL);
    }
}
