//! Standard input (`-`).
//!
//! [`discover`](fn@super::discover) reads the first four bytes of standard input to learn its
//! format, and keeps them here for [`Reader::open`](super::Reader::open) to replay. Either
//! reader then reads the kept bytes followed by the rest of standard input, as it reads a file,
//! so `tcpdump -w - | flowaudit flows -` works.

use std::io;
use std::sync::Mutex;

use super::read_up_to;

/// Bytes already taken from standard input by [`discover`](fn@super::discover), for
/// [`Reader::open`](super::Reader::open) to replay.
static STDIN_HEAD: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Reads the first 4 bytes of standard input and keeps them for
/// [`Reader::open`](super::Reader::open).
pub(super) fn peek_stdin() -> io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    let n = read_up_to(&mut io::stdin().lock(), &mut head)?;
    let head = head[..n].to_vec();
    *STDIN_HEAD.lock().unwrap_or_else(|e| e.into_inner()) = Some(head.clone());
    Ok(head)
}

/// The bytes [`discover`](fn@super::discover) took from standard input, or the first 4 bytes if
/// it did not run.
pub(super) fn take_stdin_head() -> io::Result<Vec<u8>> {
    let kept = STDIN_HEAD.lock().unwrap_or_else(|e| e.into_inner()).take();
    match kept {
        Some(head) => Ok(head),
        None => {
            let mut head = [0u8; 4];
            let n = read_up_to(&mut io::stdin().lock(), &mut head)?;
            Ok(head[..n].to_vec())
        }
    }
}
