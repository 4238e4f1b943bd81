//! The sinks' thread: what the flow table tells its sink (flows that ended, seconds of traffic,
//! the clock) is handed, in order and in batches, to a third thread that runs the real sinks
//! (writing records, judging them), so that the flow thread only keeps the table.
//!
//! The sinks see exactly the calls, in exactly the order, they would see on the flow thread;
//! only later. At most [`IN_FLIGHT`] batches of [`BATCH`] events are on their way, so memory
//! stays bounded whatever the input; buffers come back for reuse.

use super::handoff::{Giver, Taker, handoff};
use crate::flow::{FlowRecord, FlowSink, SecondBytes};

/// Events per batch.
const BATCH: usize = 256;
/// Batches in flight between the flow thread and the sinks' thread.
const IN_FLIGHT: usize = 4;
/// Event buffers in existence at most: one being filled, IN_FLIGHT queued, one being delivered.
const MAX_BUFFERS: usize = IN_FLIGHT + 2;

/// One call of a [`FlowSink`] method.
// Most events are flows; boxing them would allocate once per flow, while the buffers events
// sit in are reused.
#[allow(clippy::large_enum_variant)]
enum Event {
    Open(i64),
    Flow(FlowRecord),
    /// A flow record whose bytes are spread over its seconds first.
    SpreadFlow(FlowRecord),
    Second(SecondBytes),
    Clock(i64),
    Flush,
}

/// The flow thread's side: a [`FlowSink`] that queues every call for the sinks' thread.
pub(crate) struct Forward {
    events: Vec<Event>,
    /// None once finished: the sinks' thread ends.
    to: Option<Giver<Vec<Event>>>,
}

/// The sinks' side: where the batches come from and where their buffers go back.
pub(crate) struct Deliver {
    from: Taker<Vec<Event>>,
}

/// A connected pair.
pub(crate) fn channel() -> (Forward, Deliver) {
    let (to, from) = handoff(IN_FLIGHT, MAX_BUFFERS);
    (
        Forward {
            events: Vec::with_capacity(BATCH),
            to: Some(to),
        },
        Deliver { from },
    )
}

impl Forward {
    fn push(&mut self, e: Event) {
        self.events.push(e);
        if self.events.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        if let Some(to) = &mut self.to
            && !self.events.is_empty()
        {
            to.give(&mut self.events, || Vec::with_capacity(BATCH));
        }
    }

    /// A flow that ended, given owned (no copy).
    pub(crate) fn flow_owned(&mut self, r: FlowRecord) {
        self.push(Event::Flow(r));
    }

    /// A flow record, its bytes spread over its seconds before it (see [`FlowSink::spread`]).
    pub(crate) fn spread_flow_owned(&mut self, r: FlowRecord) {
        self.push(Event::SpreadFlow(r));
    }

    /// Sends what is queued and closes the channel: the sinks' thread ends after it.
    pub(crate) fn finish(&mut self) {
        self.send();
        self.to = None;
    }
}

impl FlowSink for Forward {
    fn open(&mut self, first_ns: i64) {
        self.push(Event::Open(first_ns));
    }
    fn flow(&mut self, r: &FlowRecord) {
        self.push(Event::Flow(r.clone()));
    }
    fn second(&mut self, b: &SecondBytes) {
        self.push(Event::Second(*b));
    }
    fn clock(&mut self, now_ns: i64) {
        self.push(Event::Clock(now_ns));
    }
    fn flush(&mut self) {
        self.push(Event::Flush);
        self.send();
    }
}

impl Deliver {
    /// Hands every event to `sink`, in order, until the flow side finishes.
    pub(crate) fn run(self, sink: &mut dyn FlowSink) {
        while let Some(mut events) = self.from.take() {
            for e in events.drain(..) {
                match e {
                    Event::Open(t) => sink.open(t),
                    Event::Flow(r) => sink.flow(&r),
                    Event::SpreadFlow(r) => {
                        sink.spread(&r);
                        sink.flow(&r);
                    }
                    Event::Second(b) => sink.second(&b),
                    Event::Clock(t) => sink.clock(t),
                    Event::Flush => sink.flush(),
                }
            }
            self.from.give_back(events);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every call, as text.
    #[derive(Default)]
    struct Calls(Vec<String>);

    impl FlowSink for Calls {
        fn open(&mut self, t: i64) {
            self.0.push(format!("open {t}"));
        }
        fn flow(&mut self, r: &FlowRecord) {
            self.0.push(format!("flow {}", r.uid));
        }
        fn second(&mut self, b: &SecondBytes) {
            self.0.push(format!("second {} {}", b.sec, b.ip_bytes));
        }
        fn clock(&mut self, t: i64) {
            self.0.push(format!("clock {t}"));
        }
        fn flush(&mut self) {
            self.0.push("flush".to_string());
        }
    }

    /// The record of one UDP datagram's flow.
    fn one_record() -> FlowRecord {
        use crate::decode::{Addr, Checksum, Encap, Packet, Transport, Udp, VlanStack};
        use crate::flow::{FlowConfig, FlowTable, NoServerPorts};
        let p = Packet {
            transport: Transport::Udp(Udp {
                src_port: 5353,
                dst_port: 53,
                payload_len: 20,
                app: Default::default(),
            }),
            src: Addr::default(),
            dst: Addr::default(),
            ip_len: 48,
            vlan: VlanStack::default(),
            v6: false,
            csum: Checksum::Unchecked,
            encap: Encap::default(),
            sni: Default::default(),
        };
        let mut records: Vec<FlowRecord> = Vec::new();
        let mut t = FlowTable::new(FlowConfig::default(), &NoServerPorts);
        t.packet(1_000_000_000, &p, &mut records);
        t.finish(&mut records);
        records.remove(0)
    }

    /// Many batches' worth of calls of every kind arrive whole and in order.
    #[test]
    fn every_call_arrives_in_order() {
        let record = one_record();
        let second = SecondBytes {
            proto: record.proto,
            orig_h: record.orig_h,
            orig_p: record.orig_p,
            resp_h: record.resp_h,
            resp_p: record.resp_p,
            direction_inferred: false,
            sec: 0,
            ip_bytes: 0,
        };
        let (mut forward, deliver) = channel();
        let mut want = Calls::default();
        let mut got = Calls::default();
        std::thread::scope(|s| {
            let sinks = s.spawn(|| deliver.run(&mut got));
            let mut both = |f: &mut dyn FnMut(&mut dyn FlowSink)| {
                f(&mut forward);
                f(&mut want);
            };
            both(&mut |k| k.open(1));
            for i in 0..(BATCH * (IN_FLIGHT + 5)) as i64 {
                let mut r = record.clone();
                r.uid = compact_str::format_compact!("C{i}");
                both(&mut |k| k.flow(&r));
                if i % 7 == 0 {
                    both(&mut |k| {
                        k.second(&SecondBytes {
                            sec: i,
                            ip_bytes: i as u64 * 3,
                            ..second
                        })
                    });
                }
                if i % 100 == 0 {
                    both(&mut |k| k.clock(i));
                }
                if i % 1000 == 0 {
                    both(&mut |k| k.flush());
                }
            }
            forward.finish();
            sinks.join().unwrap();
        });
        assert_eq!(got.0.len(), want.0.len());
        assert_eq!(got.0, want.0);
    }
}
