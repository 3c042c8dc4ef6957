//! Where an extract's bytes come from (a file or standard input) and what they are, told by
//! content — magic bytes, byte order marks, the first characters — never by the file name.
//!
//! An unsupported file gets one line saying what it looks like and what padan reads; no byte of
//! its content is ever put in a message.

use std::io::{self, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// What padan reads, for the "unsupported file" message.
pub const SUPPORTED: &str = "padan reads delimited text (CSV/TSV, any delimiter; UTF-8, UTF-16 with BOM or Windows-1252; optionally gzip-compressed), Excel .xlsx/.xls, OpenDocument .ods and Parquet";

/// The name `--input -` (standard input) is shown under in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// How many bytes are looked at to tell the format.
const HEAD: usize = 64 * 1024;

/// An extract's bytes: a file, or standard input read into memory.
pub(crate) enum Bytes {
    /// A file on disk.
    File(PathBuf),
    /// Standard input, read whole.
    Memory(bytes::Bytes),
}

/// A reader that is also seekable (for spreadsheets).
pub(crate) trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// The format of an extract, told by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Delimited text; `gzip` when compressed, `utf16` when UTF-16 with a BOM.
    Text {
        /// gzip-compressed.
        gzip: bool,
        /// UTF-16 (little or big endian) with a BOM.
        utf16: Option<&'static encoding_rs::Encoding>,
    },
    /// Apache Parquet.
    Parquet,
    /// Excel 2007+ workbook.
    Xlsx,
    /// Excel 97-2003 workbook.
    Xls,
    /// OpenDocument spreadsheet.
    Ods,
}

impl Bytes {
    /// The bytes of `path`, or of standard input when `path` is `-`.
    pub(crate) fn open(path: &Path) -> Result<(Bytes, PathBuf)> {
        if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .map_err(|e| Error::io("reading", Path::new(STDIN_NAME), e))?;
            Ok((Bytes::Memory(buf.into()), PathBuf::from(STDIN_NAME)))
        } else {
            std::fs::metadata(path).map_err(|e| Error::io("opening extract", path, e))?;
            Ok((Bytes::File(path.to_path_buf()), path.to_path_buf()))
        }
    }

    /// Total size in bytes.
    pub(crate) fn len(&self, name: &Path) -> Result<u64> {
        match self {
            Bytes::File(p) => Ok(std::fs::metadata(p)
                .map_err(|e| Error::io("opening extract", name, e))?
                .len()),
            Bytes::Memory(b) => Ok(b.len() as u64),
        }
    }

    /// A seekable reader over the bytes.
    pub(crate) fn reader(&self, name: &Path) -> Result<Box<dyn ReadSeek>> {
        Ok(match self {
            Bytes::File(p) => Box::new(io::BufReader::new(
                std::fs::File::open(p).map_err(|e| Error::io("opening extract", name, e))?,
            )),
            Bytes::Memory(b) => Box::new(Cursor::new(b.clone())),
        })
    }

    /// The first bytes (at most 64 KiB).
    pub(crate) fn head(&self, name: &Path) -> Result<Vec<u8>> {
        let mut r = self.reader(name)?;
        read_head(&mut r, HEAD).map_err(|e| Error::io("reading extract", name, e))
    }

    /// The format, told by content; an unsupported file is an error saying what it looks like.
    pub(crate) fn kind(&self, name: &Path) -> Result<Kind> {
        let head = self.head(name)?;
        if head.starts_with(&[0x1f, 0x8b]) {
            // Look inside: only compressed text is read.
            let mut inner = flate2::read::MultiGzDecoder::new(self.reader(name)?);
            let h = read_head(&mut inner, HEAD).map_err(|_| {
                Error::input_file(
                    name,
                    "looks like a damaged gzip file (it does not decompress)",
                )
            })?;
            return match sniff(&h) {
                Ok(Kind::Text { utf16, .. }) => Ok(Kind::Text { gzip: true, utf16 }),
                Ok(_) => Err(Error::input_file(
                    name,
                    format!("looks like a gzip-compressed spreadsheet or Parquet file: decompress it first; {SUPPORTED}"),
                )),
                Err(looks) => Err(unsupported(name, &format!("gzip-compressed {looks}"))),
            };
        }
        sniff(&head).map_err(|looks| unsupported(name, looks))
    }
}

fn unsupported(name: &Path, looks: &str) -> Error {
    Error::input_file(name, format!("looks like {looks}; {SUPPORTED}"))
}

/// Reads up to `n` bytes.
fn read_head(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n.min(1 << 16));
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Tells the format from the first bytes, or says what the bytes look like.
pub(crate) fn sniff(head: &[u8]) -> std::result::Result<Kind, &'static str> {
    const OLE: [u8; 8] = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
    let text = |utf16| Ok(Kind::Text { gzip: false, utf16 });
    if head.starts_with(b"PAR1") {
        return Ok(Kind::Parquet);
    }
    if head.starts_with(b"PK\x03\x04") {
        return zip_kind(head);
    }
    if head.starts_with(&OLE) {
        // Old Excel, Word and Outlook files share this container; calamine tells them apart.
        return Ok(Kind::Xls);
    }
    if head.starts_with(&[0xff, 0xfe]) {
        return text(Some(encoding_rs::UTF_16LE));
    }
    if head.starts_with(&[0xfe, 0xff]) {
        return text(Some(encoding_rs::UTF_16BE));
    }
    for (magic, looks) in [
        (&b"%PDF"[..], "a PDF document"),
        (b"SQLite format 3\0", "an SQLite database"),
        (b"ARROW1", "an Arrow IPC (Feather) file"),
        (b"ORC", "an ORC file"),
        (b"Obj\x01", "an Avro file"),
        (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
        (b"BZh", "a bzip2-compressed file"),
        (b"\xfd7zXZ\x00", "an xz-compressed file"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
    ] {
        if head.starts_with(magic) {
            return Err(looks);
        }
    }
    let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    // UTF-16 without a BOM: every other byte NUL. Binary data: NULs or many control bytes (a
    // few stray ones in a text export are left to the row checks).
    let nuls = body.iter().filter(|&&b| b == 0).count();
    let controls = body
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c)) || b == 0x7f)
        .count();
    if nuls * 3 > body.len() && nuls > 0 {
        return Err(
            "UTF-16 text without a byte order mark (save it as UTF-8, or as UTF-16 with BOM)",
        );
    }
    if nuls * 100 > body.len() || controls * 20 > body.len() {
        return Err("a binary file");
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        Some(b'{') | Some(b'[') => Err("JSON (or NDJSON)"),
        Some(b'<') => {
            let start: Vec<u8> = body
                .iter()
                .skip_while(|b| b.is_ascii_whitespace())
                .take(256)
                .map(u8::to_ascii_lowercase)
                .collect();
            let has = |s: &[u8]| start.windows(s.len()).any(|w| w == s);
            if has(b"<html") || has(b"<!doctype html") || has(b"<table") {
                Err("an HTML page (some systems save an HTML table under .xls: open it in a spreadsheet and save as .xlsx or CSV)")
            } else {
                Err("XML (an Excel 2003 XML spreadsheet? save it as .xlsx or CSV)")
            }
        }
        _ => text(None),
    }
}

/// A zip archive: an Excel or OpenDocument workbook, or something else.
fn zip_kind(head: &[u8]) -> std::result::Result<Kind, &'static str> {
    let has = |s: &[u8]| head.windows(s.len()).any(|w| w == s);
    if has(b"application/vnd.oasis.opendocument.spreadsheet") {
        Ok(Kind::Ods)
    } else if has(b"application/vnd.oasis.opendocument") {
        Err("an OpenDocument file that is not a spreadsheet")
    } else if has(b"word/") {
        Err("a Word document")
    } else if has(b"ppt/") {
        Err("a PowerPoint presentation")
    } else if has(b"xl/") || has(b"[Content_Types].xml") {
        // Member names are in the local headers; a workbook with a large first member may show
        // only [Content_Types].xml in the first 64 KiB: the workbook reader decides.
        Ok(Kind::Xlsx)
    } else {
        Err("a zip archive that is not a spreadsheet (unzip it first)")
    }
}

/// A reader counting the bytes read through it (for progress bars).
pub(crate) struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R) -> (Counting<R>, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (
            Counting {
                inner,
                count: count.clone(),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// UTF-16 (with BOM) → UTF-8, streaming.
pub(crate) struct Utf16ToUtf8<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
}

impl<R: Read> Utf16ToUtf8<R> {
    pub(crate) fn new(inner: R, enc: &'static encoding_rs::Encoding) -> Self {
        const CHUNK: usize = 32 * 1024;
        let decoder = enc.new_decoder_with_bom_removal();
        // Room for a whole input chunk's worth of output, so that each call consumes its input.
        let out_len = decoder
            .max_utf8_buffer_length(CHUNK)
            .unwrap_or(3 * CHUNK + 16);
        Utf16ToUtf8 {
            inner,
            decoder,
            input: vec![0; CHUNK],
            output: vec![0; out_len],
            out_start: 0,
            out_end: 0,
            eof: false,
        }
    }
}

impl<R: Read> Read for Utf16ToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_start == self.out_end {
            if self.eof {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            self.eof = n == 0;
            let (_, read, written, _) =
                self.decoder
                    .decode_to_utf8(&self.input[..n], &mut self.output, self.eof);
            if read != n {
                return Err(io::Error::other("UTF-16 decoding fell behind its input"));
            }
            self.out_start = 0;
            self.out_end = written;
        }
        let k = buf.len().min(self.out_end - self.out_start);
        buf[..k].copy_from_slice(&self.output[self.out_start..self.out_start + k]);
        self.out_start += k;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_formats_by_content() {
        assert_eq!(sniff(b"PAR1\x15\x04"), Ok(Kind::Parquet));
        assert_eq!(
            sniff(b"id,nama\n1,x\n"),
            Ok(Kind::Text {
                gzip: false,
                utf16: None
            })
        );
        assert!(matches!(
            sniff(b"\xff\xfei\0d\0"),
            Ok(Kind::Text { utf16: Some(_), .. })
        ));
        assert_eq!(sniff(b"  [{\"a\": 1}]"), Err("JSON (or NDJSON)"));
        assert_eq!(sniff(b"{\"a\":1}\n{\"a\":2}\n"), Err("JSON (or NDJSON)"));
        assert_eq!(sniff(b"id\0,x\xff\x00\x00\x13"), Err("a binary file"));
        assert!(sniff(b"i\0d\0,\0x\0").unwrap_err().starts_with("UTF-16"));
        assert!(sniff(b"<html><table>").unwrap_err().contains("HTML"));
        assert_eq!(sniff(b"%PDF-1.4"), Err("a PDF document"));
        assert_eq!(
            sniff(b"PK\x03\x04....[Content_Types].xml....xl/workbook.xml"),
            Ok(Kind::Xlsx)
        );
        assert_eq!(
            sniff(b"PK\x03\x04....mimetypeapplication/vnd.oasis.opendocument.spreadsheet"),
            Ok(Kind::Ods)
        );
        assert!(sniff(b"PK\x03\x04....notes.txt").is_err());
    }

    #[test]
    fn decodes_utf16_in_any_chunking() {
        let text = "id\tnama\nA1\tSiti Ñ ‰\n".repeat(5000);
        for (enc, bom, be) in [
            (encoding_rs::UTF_16LE, [0xff, 0xfe], false),
            (encoding_rs::UTF_16BE, [0xfe, 0xff], true),
        ] {
            let mut bytes = bom.to_vec();
            for u in text.encode_utf16() {
                bytes.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
            }
            let mut out = String::new();
            Utf16ToUtf8::new(Cursor::new(bytes), enc)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
    }
}
