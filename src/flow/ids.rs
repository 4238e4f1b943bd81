//! Flow identifiers: the Community ID and Zeek-style uids.

use sha1::{Digest, Sha1};

use super::Text;
use super::key::FlowKey;
use crate::decode::Addr;

/// Community ID v1 (seed 0) of a flow: base64 of the SHA-1 of seed, ordered addresses,
/// protocol, a zero pad byte and ordered ports (https://github.com/corelight/community-id-spec).
///
/// ```
/// use flowaudit::decode::Addr;
/// use flowaudit::flow::community_id;
/// // The specification's example: TCP 128.232.110.120:34855 -> 66.35.250.204:80.
/// let (a, b) = (Addr::v4(&[128, 232, 110, 120]), Addr::v4(&[66, 35, 250, 204]));
/// assert_eq!(community_id(6, false, &a, 34855, &b, 80), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
/// ```
pub fn community_id(proto: u8, v6: bool, a: &Addr, ap: u16, b: &Addr, bp: u16) -> Text {
    let (aw, bw) = (a.wire(v6), b.wire(v6));
    // The spec orders the endpoints by address, then port.
    let ((sa, sp), (da, dp)) = if (aw, ap) <= (bw, bp) {
        ((aw, ap), (bw, bp))
    } else {
        ((bw, bp), (aw, ap))
    };
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    h.update(sa);
    h.update(da);
    h.update([proto, 0]);
    h.update(sp.to_be_bytes());
    h.update(dp.to_be_bytes());
    let digest = h.finalize();
    let mut s = String::with_capacity(30);
    s.push_str("1:");
    base64(&digest, &mut s);
    // 30 bytes: past the inline 24, so the String's buffer is kept as it is.
    Text::from(s)
}

pub fn base64(data: &[u8], out: &mut String) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
}

/// A deterministic Zeek-style uid: `C` and 96 bits of SHA-256 over the flow's key, its first
/// packet time and a duplicate counter, in base62. The same capture always gives the same uids.
pub fn uid(key: &FlowKey, vlan: &[u16], first_ns: i64, dup: u32) -> Text {
    use sha2::Sha256;
    let mut h = Sha256::new();
    h.update([key.proto, key.v6 as u8]);
    h.update(key.lo.bytes);
    h.update(key.hi.bytes);
    h.update(key.lo_port.to_be_bytes());
    h.update(key.hi_port.to_be_bytes());
    for id in vlan {
        h.update(id.to_be_bytes());
    }
    h.update(first_ns.to_be_bytes());
    h.update(dup.to_be_bytes());
    uid_text(&h.finalize())
}

/// [`uid`] with `extra` bytes hashed in (empty: the same as [`uid`]): a tunnelled flow's uid
/// takes its tunnel context's uid, so that flows with the same addresses in two tunnels differ.
pub fn uid_with(key: &FlowKey, vlan: &[u16], extra: &[u8], first_ns: i64, dup: u32) -> Text {
    if extra.is_empty() {
        return uid(key, vlan, first_ns, dup);
    }
    use sha2::Sha256;
    let mut h = Sha256::new();
    h.update(b"tunnel");
    h.update(extra);
    h.update(uid(key, vlan, first_ns, dup).as_bytes());
    uid_text(&h.finalize())
}

/// A uid from a digest: `C` + 17 base62 digits of its first 12 bytes.
pub fn uid_text(d: &[u8]) -> Text {
    let mut n = u128::from_be_bytes([
        0, 0, 0, 0, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11],
    ]);
    const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 17];
    for d in digits.iter_mut().rev() {
        *d = B62[(n % 62) as usize];
        n /= 62;
    }
    let mut s = Text::with_capacity(18);
    s.push('C');
    s.extend(digits.iter().map(|&c| c as char));
    s
}
