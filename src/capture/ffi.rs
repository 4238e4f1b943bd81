//! libpcap's C interface: the only module of the crate with `unsafe` code.
//!
//! The pcap crate covers most of libpcap, but opens files without a way to choose the stdio
//! buffer; [`Libpcap`] is a handle opened here instead, read with the same calls the crate makes.
//! Every `unsafe` block says why it is sound in a `SAFETY:` comment.

#![allow(unsafe_code)]

use std::io;
use std::ptr::NonNull;

use super::READ_BUFFER;

/// A libpcap offline handle reading through a stdio stream with a large buffer.
///
/// libpcap reads pcap files with `fread` on a `FILE` whose buffer is, by default, the file
/// system's block size (4 KiB): one `read` system call per 4 KiB, 670,000 of them for a 2.7 GB
/// capture, which costs more than decoding. The pcap crate opens files without a way to change
/// that, so this handle opens the `FILE` itself, gives it a 64 KiB buffer with `setvbuf`, and
/// hands it to `pcap_fopen_offline_with_tstamp_precision`. 64 KiB, not more: the buffer must
/// stay in the core's cache while the decoder reads what the kernel copied into it (on the
/// benchmark capture, 64 KiB takes 1.6 s, 128 KiB 2.6 s and 1 MiB 2.5 s). Packets are read with
/// `pcap_next_ex`, exactly as the crate does.
pub(super) struct Libpcap {
    handle: NonNull<sys::PcapT>,
    /// The stdio buffer; must outlive the `FILE`, which `pcap_close` closes.
    _buffer: Box<[u8]>,
}

// SAFETY: the handle is used by one thread at a time (it is owned and moved, never shared).
unsafe impl Send for Libpcap {}

/// The C declarations, as libpcap's and the C library's headers give them.
mod sys {
    use std::ffi::{c_char, c_int, c_uint};

    /// libpcap's `pcap_t` (opaque).
    #[repr(C)]
    pub struct PcapT {
        _opaque: [u8; 0],
    }
    /// C's `FILE` (opaque).
    #[repr(C)]
    pub struct File {
        _opaque: [u8; 0],
    }
    /// `PCAP_TSTAMP_PRECISION_NANO`.
    pub const PRECISION_NANO: c_uint = 1;
    /// `_IOFBF`: full buffering.
    pub const IOFBF: c_int = 0;
    /// `PCAP_ERRBUF_SIZE`.
    pub const ERRBUF_SIZE: usize = 256;

    unsafe extern "C" {
        pub fn fdopen(fd: c_int, mode: *const c_char) -> *mut File;
        pub fn setvbuf(stream: *mut File, buf: *mut c_char, mode: c_int, size: usize) -> c_int;
        pub fn fclose(stream: *mut File) -> c_int;
        pub fn pcap_fopen_offline_with_tstamp_precision(
            fp: *mut File,
            precision: c_uint,
            errbuf: *mut c_char,
        ) -> *mut PcapT;
        /// `header` is a `struct pcap_pkthdr`, laid out as the pcap crate's `PacketHeader`.
        pub fn pcap_next_ex(
            p: *mut PcapT,
            header: *mut *mut pcap::PacketHeader,
            data: *mut *const u8,
        ) -> c_int;
        pub fn pcap_geterr(p: *mut PcapT) -> *mut c_char;
        pub fn pcap_datalink(p: *mut PcapT) -> c_int;
        pub fn pcap_close(p: *mut PcapT);
    }
}

impl Libpcap {
    /// Takes over `fd` (closed with the handle, or on error).
    pub(super) fn from_fd(fd: std::os::fd::OwnedFd) -> Result<Libpcap, String> {
        use std::os::fd::IntoRawFd;
        let raw = fd.into_raw_fd();
        // SAFETY: `raw` is an open descriptor we own; fdopen takes it over on success.
        let fp = unsafe { sys::fdopen(raw, c"rb".as_ptr()) };
        if fp.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopen failed, so `raw` is still ours to close.
            drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) });
            return Err(format!("cannot open the stream: {e}"));
        }
        let mut buffer = vec![0u8; READ_BUFFER].into_boxed_slice();
        // SAFETY: `fp` is a fresh stream with no I/O done yet; `buffer` lives as long as the
        // handle, which closes the stream before dropping it. A failure leaves the default
        // buffer, which is only slower.
        unsafe {
            sys::setvbuf(fp, buffer.as_mut_ptr().cast(), sys::IOFBF, buffer.len());
        }
        let mut errbuf = [0 as std::ffi::c_char; sys::ERRBUF_SIZE];
        // SAFETY: `fp` is valid; `errbuf` has PCAP_ERRBUF_SIZE bytes.
        let p = unsafe {
            sys::pcap_fopen_offline_with_tstamp_precision(
                fp,
                sys::PRECISION_NANO,
                errbuf.as_mut_ptr(),
            )
        };
        match NonNull::new(p) {
            Some(handle) => Ok(Libpcap {
                handle,
                _buffer: buffer,
            }),
            None => {
                // SAFETY: libpcap did not take the stream over; it is ours to close.
                unsafe { sys::fclose(fp) };
                // SAFETY: libpcap wrote a NUL-terminated message into errbuf.
                let msg = unsafe { std::ffi::CStr::from_ptr(errbuf.as_ptr()) };
                Err(msg.to_string_lossy().into_owned())
            }
        }
    }

    /// The link type (a DLT_* number).
    pub(super) fn datalink(&self) -> i32 {
        // SAFETY: the handle is open.
        unsafe { sys::pcap_datalink(self.handle.as_ptr()) }
    }

    /// The next record, borrowed until the next call; errors as the pcap crate reports them.
    pub(super) fn next_packet(&mut self) -> Result<(&pcap::PacketHeader, &[u8]), pcap::Error> {
        let mut header: *mut pcap::PacketHeader = std::ptr::null_mut();
        let mut data: *const u8 = std::ptr::null();
        // SAFETY: the handle is open; libpcap sets both pointers when it returns 1.
        let r = unsafe { sys::pcap_next_ex(self.handle.as_ptr(), &mut header, &mut data) };
        match r {
            1 if !header.is_null() && !data.is_null() => {
                // SAFETY: on success the header and `caplen` bytes of data stay valid until
                // the next call on this handle, which needs `&mut self`.
                let h = unsafe { &*header };
                let d = unsafe { std::slice::from_raw_parts(data, h.caplen as usize) };
                Ok((h, d))
            }
            // PCAP_ERROR_BREAK: no more packets in an offline capture.
            -2 => Err(pcap::Error::NoMorePackets),
            _ => {
                // SAFETY: pcap_geterr returns the handle's NUL-terminated message buffer.
                let msg =
                    unsafe { std::ffi::CStr::from_ptr(sys::pcap_geterr(self.handle.as_ptr())) };
                Err(pcap::Error::PcapError(msg.to_string_lossy().into_owned()))
            }
        }
    }
}

impl Drop for Libpcap {
    fn drop(&mut self) {
        // SAFETY: the handle is open and not used after this; pcap_close closes the FILE
        // before `_buffer` is dropped.
        unsafe { sys::pcap_close(self.handle.as_ptr()) }
    }
}

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
