//! The [`Reader`]: one input, whatever its format, read frame by frame through its
//! [`PacketSource`].

use std::fs::File;
use std::io::{self, Cursor, Read};

use super::layout::{describe_head, sniff};
use super::pcap_file::PcapFile;
use super::pcapng::PcapngReader;
use super::stdin::take_stdin_head;
use super::{
    CaptureError, Format, Input, PacketSource, READ_BUFFER, RawPacket, check_filter, read_up_to,
};

/// Reads the frames of one input, in file order.
pub struct Reader {
    path: String,
    source: Box<dyn PacketSource + Send>,
    /// Set after the end of the input or an error: nothing more will be read.
    done: bool,
}

impl Reader {
    /// Opens one input. `filter`: optional BPF expression (tcpdump syntax) applied to every
    /// packet; an expression that does not compile for Ethernet is a Filter error.
    pub fn open(input: &Input, filter: Option<&str>) -> Result<Reader, CaptureError> {
        if let Some(expr) = filter {
            check_filter(expr)?;
        }
        let path = input.path.display().to_string();
        if input.path.as_os_str() == "-" {
            let head = take_stdin_head().map_err(|e| CaptureError::Open {
                path: path.clone(),
                message: format!("cannot read standard input: {e}"),
            })?;
            return open_stream(path, head, Box::new(io::stdin()), filter);
        }
        let open = |shown: &str| {
            File::open(&input.path).map_err(|e| CaptureError::Open {
                path: shown.to_string(),
                message: format!("cannot open: {e}"),
            })
        };
        let source: Box<dyn PacketSource + Send> = match input.format {
            Format::Pcap => Box::new(PcapFile::open(&path, Box::new(open(&path)?), filter)?),
            Format::Pcapng => Box::new(PcapngReader::new(
                Box::new(open(&path)?),
                filter,
                READ_BUFFER,
            )),
        };
        Ok(Reader {
            path,
            source,
            done: false,
        })
    }

    /// Reads a capture from any byte stream, as standard input is read: the first bytes decide
    /// the format. `shown` names the input in errors. For the fuzz targets and embedders that
    /// hold a capture in memory.
    pub fn from_stream(
        shown: &str,
        mut stream: Box<dyn Read + Send>,
        filter: Option<&str>,
    ) -> Result<Reader, CaptureError> {
        if let Some(expr) = filter {
            check_filter(expr)?;
        }
        let mut head = [0u8; 4];
        let n = read_up_to(&mut stream, &mut head).map_err(|e| CaptureError::Open {
            path: shown.to_string(),
            message: format!("cannot read: {e}"),
        })?;
        open_stream(shown.to_string(), head[..n].to_vec(), stream, filter)
    }

    /// Next frame that passes the filter; Ok(None) at a clean end of file.
    ///
    /// A corrupt or truncated file is Err(CaptureError::Corrupt{path, offset, what}) where offset
    /// is the byte offset in the file of the record (pcap) or block (pcapng) that is damaged.
    /// After an Err the reader is finished (next returns Ok(None)).
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        match self.source.next_packet() {
            Ok(Some(packet)) => Ok(Some(packet)),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(fault) => {
                self.done = true;
                Err(fault.into_error(&self.path))
            }
        }
    }

    /// Bytes of the input consumed so far (for a progress bar).
    pub fn offset(&self) -> u64 {
        self.source.offset()
    }

    /// Link types of the frames read so far in this input (frames the filter rejected
    /// included), in order of appearance, deduplicated.
    pub fn link_types(&self) -> &[u32] {
        self.source.link_types()
    }
}

/// Opens a stream whose first bytes `head` were already taken from it; `rest` is the remainder.
pub(super) fn open_stream(
    path: String,
    head: Vec<u8>,
    rest: Box<dyn Read + Send>,
    filter: Option<&str>,
) -> Result<Reader, CaptureError> {
    let Some(format) = sniff(&head) else {
        return Err(CaptureError::NotACapture {
            path,
            found: describe_head(&head),
        });
    };
    let stream = Box::new(Cursor::new(head).chain(rest));
    let source: Box<dyn PacketSource + Send> = match format {
        Format::Pcapng => Box::new(PcapngReader::new(stream, filter, READ_BUFFER)),
        Format::Pcap => Box::new(PcapFile::open(&path, stream, filter)?),
    };
    Ok(Reader {
        path,
        source,
        done: false,
    })
}
