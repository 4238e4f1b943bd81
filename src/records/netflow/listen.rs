//! A UDP listener: every datagram received is fed to a [`Collector`], its source address as
//! the exporter, until a duration has passed or a stop flag is set.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Collector, NetflowError};
use crate::records::Item;

/// How often the stop flag and the clock are looked at while no datagram comes.
const POLL: Duration = Duration::from_millis(50);

/// What the listener received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenStats {
    pub datagrams: u64,
    /// UDP payload bytes.
    pub bytes: u64,
}

/// A bound UDP socket and the collector its datagrams go to.
#[derive(Debug)]
pub struct Listener {
    socket: UdpSocket,
    collector: Collector,
    stats: ListenStats,
}

impl Listener {
    /// Binds `addr` (port 0: an ephemeral port, see [`Listener::local_addr`]).
    pub fn bind(addr: SocketAddr) -> Result<Listener, NetflowError> {
        let bind = |e: std::io::Error| NetflowError::Bind {
            addr: addr.to_string(),
            message: e.to_string(),
        };
        let socket = UdpSocket::bind(addr).map_err(bind)?;
        socket.set_read_timeout(Some(POLL)).map_err(bind)?;
        Ok(Listener {
            socket,
            collector: Collector::new(),
            stats: ListenStats::default(),
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, NetflowError> {
        self.socket
            .local_addr()
            .map_err(|e| NetflowError::Io(e.to_string()))
    }

    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    pub fn stats(&self) -> &ListenStats {
        &self.stats
    }

    /// Receives datagrams for `duration`, or until `stop` is set and no datagram is waiting,
    /// handing every item to `on_item`. Malformed messages are counted by the collector; only
    /// a receive error other than a timeout ends the run early, as an error.
    pub fn run(
        &mut self,
        duration: Duration,
        stop: Option<&AtomicBool>,
        mut on_item: impl FnMut(Item),
    ) -> Result<&ListenStats, NetflowError> {
        let end = Instant::now() + duration;
        let mut buf = vec![0u8; 65536];
        let mut items = Vec::new();
        while Instant::now() < end {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    self.stats.datagrams += 1;
                    self.stats.bytes += n as u64;
                    let _ = self.collector.message(from, &buf[..n], &mut items);
                    items.drain(..).for_each(&mut on_item);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                        break;
                    }
                }
                Err(e) => return Err(NetflowError::Io(e.to_string())),
            }
        }
        Ok(&self.stats)
    }
}
