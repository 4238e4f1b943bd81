//! The crate's `unsafe` code, all of it: registering a live capture's descriptor with tokio's
//! reactor. Every `unsafe` block says why it is sound in a `SAFETY:` comment.

#![allow(unsafe_code)]

/// Registers a live interface's ring with tokio's reactor, so that its task wakes when packets
/// wait (see [`super::live::watch`]).
pub(super) fn watch(
    live: super::live::Live,
) -> Result<
    tokio::io::unix::AsyncFd<super::live::Live>,
    tokio::io::unix::AsyncFdRegisterError<super::live::Live>,
> {
    // SAFETY: the descriptor is libpcap's for this capture. The AsyncFd owns the capture, so the
    // descriptor stays open, and the same, until the AsyncFd is dropped.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(live, tokio::io::Interest::READABLE) }
}
