//! Reading an event CSV in batches of rows whose cells share one buffer.
//!
//! The import reads on one thread and parses on others. With `csv::StringRecord`, each
//! row was three allocations made on the reader thread and freed on a parsing thread,
//! and its cells were copied once more into the record. Here `csv_core` (the parser
//! under the `csv` crate, with the same dialect) writes a whole batch's cells into one
//! buffer, and the parsing threads read them in place.
//!
//! As with `csv::Reader` (its defaults): the first row is the header, `\r`, `\n` and
//! `\r\n` end a row, blank lines are skipped, and a row is refused when it has more or
//! fewer cells than the header. Two differences, on purpose: a UTF-8 byte order mark
//! before the header is dropped (it used to stick to the first column's name), and a
//! row's line is the line its first character is on (`csv::Position::line` is the line
//! after the row before it ended, one too few after a `\r\n` or a blank line). UTF-8 is
//! checked by whoever reads the cells ([`Row::cells`]), so the reader thread does not.

use std::io::BufRead;

use csv_core::ReadRecordResult;

/// Whether the cells of a CSV's first line are Excel's `sep=X`, which names the
/// delimiter `X` (read with that delimiter: `sep=` and an empty cell; with another: one
/// cell).
pub fn is_separator_line(cells: &[String], delimiter: u8) -> bool {
    match cells {
        [one] => one.len() == 5 && one.starts_with("sep=") && one.is_char_boundary(5),
        [sep, empty] => sep == "sep=" && empty.is_empty() && delimiter != b'=',
        _ => false,
    }
}

/// The line a record of `text` starts on. `csv::Position::line` is the line the reader
/// was on when it began the record, before the line ends it passes over first: the `\n`
/// of a `\r\n` (so every row of a file saved on Windows was told one line early) and
/// blank lines.
pub fn first_line(text: &str, at: &csv::Position) -> u64 {
    let from = text
        .as_bytes()
        .get(at.byte() as usize..)
        .unwrap_or_default();
    let passed = from
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count();
    at.line() + passed as u64
}

/// The most bytes a row may hold. An event is at most 32 KB, so a longer row is refused
/// anyway, but a cell the mapping ignores may be long (a CRM's HTML notes): this is far
/// above. What it bounds is a quote left open, after which the rest of the file reads as
/// one cell: the import stops at that row, saying so, rather than holding the rest of
/// the file in memory to refuse it as one row.
pub const MAX_ROW_BYTES: usize = 16 << 20;

/// The most bytes of cells a batch holds before it is handed on, whatever its rows:
/// batches of long rows stay this small (a batch of 5,000 rows of 30 KB would be 150 MB,
/// and several are in flight).
pub const MAX_BATCH_BYTES: usize = 8 << 20;

/// What to do with a file that is not UTF-8.
pub const NOT_UTF8: &str = "export the file as CSV UTF-8, or give --encoding windows-1252 if a spreadsheet of a Western European locale saved it as plain CSV";

/// The rows read together, in file order.
#[derive(Debug, Default)]
pub struct Batch {
    /// The rows' cells, unescaped, one after the other.
    bytes: Vec<u8>,
    /// The end of each cell, from the start of its row.
    ends: Vec<usize>,
    /// Per row: its line, where its cells start in `bytes`, where its ends start in `ends`.
    rows: Vec<(u64, usize, usize)>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row at `index` (below [`Batch::len`]), with its line.
    pub fn row(&self, index: usize) -> (u64, Row<'_>) {
        let (line, start, first) = self.rows[index];
        let (end, last) = match self.rows.get(index + 1) {
            Some(&(_, end, last)) => (end, last),
            None => (self.bytes.len(), self.ends.len()),
        };
        let row = Row {
            bytes: &self.bytes[start..end],
            ends: &self.ends[first..last],
        };
        (line, row)
    }

    /// Appends copies of the rows `range` of `from`, with their lines.
    pub fn push_rows(&mut self, from: &Batch, range: std::ops::Range<usize>) {
        for i in range {
            let (line, row) = from.row(i);
            self.rows.push((line, self.bytes.len(), self.ends.len()));
            self.bytes.extend_from_slice(row.bytes);
            self.ends.extend_from_slice(row.ends);
        }
    }

    /// Drops the rows from `len` on.
    pub fn truncate_rows(&mut self, len: usize) {
        if let Some(&(_, start, first)) = self.rows.get(len) {
            self.rows.truncate(len);
            self.bytes.truncate(start);
            self.ends.truncate(first);
        }
    }

    /// Drops the room past what the rows fill (see [`read_row`]).
    fn cut(&mut self, filled: Filled) {
        self.bytes.truncate(filled.bytes);
        self.ends.truncate(filled.ends);
    }

    /// The rows with their lines.
    pub fn rows(&self) -> impl Iterator<Item = (u64, Row<'_>)> {
        (0..self.len()).map(|i| self.row(i))
    }
}

/// One row's cells, as read.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Row<'a> {
    /// The cells as read, UTF-8 or not.
    pub fn raw_cells(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let bytes = self.bytes;
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let cell = &bytes[start..end];
            start = end;
            cell
        })
    }

    /// The cells as text, read in place, or `None` when the row is not UTF-8.
    pub fn cells(&self) -> Option<Cells<'a>> {
        let text = std::str::from_utf8(self.bytes).ok()?;
        // A cell may end inside a character when its neighbour begins with the rest of
        // it: that row is not UTF-8 either.
        if !self.ends.iter().all(|&end| text.is_char_boundary(end)) {
            return None;
        }
        Some(Cells {
            text,
            ends: self.ends.iter(),
            start: 0,
        })
    }
}

/// A row's cells, in order, as slices of its UTF-8 text (no allocation).
#[derive(Debug, Clone)]
pub struct Cells<'a> {
    text: &'a str,
    ends: std::slice::Iter<'a, usize>,
    start: usize,
}

impl<'a> Iterator for Cells<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let end = *self.ends.next()?;
        // Every end is a character boundary within the text (checked by `Row::cells`).
        let cell = &self.text[self.start..end];
        self.start = end;
        Some(cell)
    }
}

/// A CSV reader that hands out batches of rows.
pub struct Reader<R> {
    input: R,
    core: csv_core::Reader,
    /// Cells per row, from the header.
    width: usize,
    done: bool,
    /// The bytes of the last batch read: the next one is sized for as many.
    last_bytes: usize,
}

/// Why a row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    /// Its error code (`malformed_csv`).
    pub code: &'static str,
    pub message: String,
    /// Its cells as read (for `--rejects`).
    pub cells: Vec<Vec<u8>>,
}

impl<R: BufRead> Reader<R> {
    /// Reads the header: its cells, and the reader past it. A first line `sep=;` (which
    /// Excel writes to name the delimiter, see [`is_separator_line`]) is passed over.
    pub fn new(mut input: R, delimiter: u8) -> anyhow::Result<(Reader<R>, Vec<String>)> {
        let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        let header = |input: &mut R, core: &mut csv_core::Reader| {
            let (mut batch, mut filled) = (Batch::default(), Filled::default());
            let read = read_row(input, core, &mut batch, &mut filled)?;
            batch.cut(filled);
            let headers = match read.then(|| batch.rows().next()).flatten() {
                None => Vec::new(),
                Some((_, row)) => {
                    let mut cells: Vec<&str> = row
                        .cells()
                        .ok_or_else(|| anyhow::anyhow!("the CSV header is not UTF-8 ({NOT_UTF8})"))?
                        .collect();
                    if let Some(first) = cells.first_mut() {
                        *first = first.strip_prefix('\u{feff}').unwrap_or(first);
                    }
                    cells.into_iter().map(str::to_string).collect()
                }
            };
            anyhow::Ok((read, headers))
        };
        let (mut read, mut headers) = header(&mut input, &mut core)?;
        if is_separator_line(&headers, delimiter) {
            (read, headers) = header(&mut input, &mut core)?;
        }
        let reader = Reader {
            input,
            core,
            width: headers.len(),
            done: !read,
            last_bytes: 0,
        };
        Ok((reader, headers))
    }

    /// Reads up to `rows` rows (fewer at the end of the input, none then, or once they
    /// hold [`MAX_BATCH_BYTES`]). A row whose width differs from the header's is left out
    /// and reported to `bad`; it counts in the second value returned, the rows read.
    /// When the input fails, or a row is longer than [`MAX_ROW_BYTES`], the rows read
    /// before are returned with the error (the row it was reading is not), and the
    /// reader reads no more.
    pub fn read_batch(
        &mut self,
        rows: usize,
        bad: &mut dyn FnMut(BadRow),
    ) -> (Batch, u64, std::io::Result<()>) {
        // Sized for the last batch's bytes and a sixteenth more, so it seldom grows.
        let mut batch = Batch {
            bytes: Vec::with_capacity((self.last_bytes + (self.last_bytes >> 4)).max(rows * 256)),
            ends: Vec::with_capacity(rows * (self.width + 1)),
            rows: Vec::with_capacity(rows),
        };
        let mut filled = Filled::default();
        let (mut read, mut status) = (0, Ok(()));
        while !self.done && batch.len() < rows && filled.bytes < MAX_BATCH_BYTES {
            let before = filled;
            match read_row(&mut self.input, &mut self.core, &mut batch, &mut filled) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    (self.done, status) = (true, Err(e));
                    break;
                }
            }
            read += 1;
            let width = filled.ends - before.ends;
            if width != self.width {
                let (line, _, _) = batch.rows.pop().expect("the row just read");
                let row = Row {
                    bytes: &batch.bytes[before.bytes..filled.bytes],
                    ends: &batch.ends[before.ends..filled.ends],
                };
                let cells = row.raw_cells().map(<[u8]>::to_vec).collect();
                // A row over several lines whose width is wrong: most likely a quote
                // left open, which took the lines after it into one cell.
                // (A line end that closes the input, inside the open quote, ends no line.)
                let lines = memchr::memchr_iter(b'\n', row.bytes).count() as u64
                    - u64::from(row.bytes.ends_with(b"\n"));
                let open = match lines {
                    0 => String::new(),
                    n => format!(
                        " (it runs over lines {line} to {}: is a quote left open? a cell holding a quote is wholly quoted, its quotes doubled)",
                        line + n
                    ),
                };
                filled = before;
                bad(BadRow {
                    line,
                    code: parcours_core::ErrorCode::MalformedCsv.as_str(),
                    message: format!(
                        "the row has {width} cells where the header has {}{open}",
                        self.width
                    ),
                    cells,
                });
            }
        }
        batch.cut(filled);
        self.last_bytes = filled.bytes;
        (batch, read, status)
    }
}

/// How much of a batch's buffers holds rows; past that, they are zeroed room for the
/// next row.
#[derive(Debug, Default, Clone, Copy)]
struct Filled {
    bytes: usize,
    ends: usize,
}

/// Makes `v` at least `len` long, zeroed past what it held (the parser writes into
/// initialised memory), and as long as its capacity: the room is zeroed once per
/// buffer, not once per row.
fn room<T: Copy + Default>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::default());
        v.resize(v.capacity(), T::default());
    }
}

/// Reads one row into `batch` after what `filled` says it holds, with the line it
/// starts on, and moves `filled` past it; `false` at the end of the input. The batch's
/// buffers may be longer than `filled` (zeroed room): cut them to it when done.
fn read_row(
    input: &mut impl BufRead,
    core: &mut csv_core::Reader,
    batch: &mut Batch,
    filled: &mut Filled,
) -> std::io::Result<bool> {
    let (start, first) = (filled.bytes, filled.ends);
    // Room for the row; it grows by doubling for a long row.
    let (mut out, mut end) = (start, first);
    room(&mut batch.bytes, start + 1024);
    room(&mut batch.ends, first + 32);
    let mut ended_by_newline;
    let found = loop {
        let buf = input.fill_buf()?;
        let (result, read, written, ended) =
            core.read_record(buf, &mut batch.bytes[out..], &mut batch.ends[end..]);
        ended_by_newline = read > 0 && buf[read - 1] == b'\n';
        input.consume(read);
        out += written;
        end += ended;
        if out - start > MAX_ROW_BYTES {
            // The line it starts on: the lines read, less those inside it (see below).
            let inside = memchr::memchr_iter(b'\n', &batch.bytes[start..out]).count() as u64;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the row of line {} is longer than {} MiB: is a quote left open? (a cell holding a quote is wholly quoted, its quotes doubled)",
                    core.line() - inside,
                    MAX_ROW_BYTES >> 20
                ),
            ));
        }
        match result {
            ReadRecordResult::InputEmpty => {}
            // The row's room doubles (not the batch's).
            ReadRecordResult::OutputFull => room(&mut batch.bytes, out + (out - start).max(1024)),
            ReadRecordResult::OutputEndsFull => room(&mut batch.ends, end + (end - first).max(32)),
            ReadRecordResult::Record => break true,
            ReadRecordResult::End => break false,
        }
    };
    if found {
        // `core.line()` counts the line ends read so far: the row's own (kept in its
        // quoted cells) and the one that ended it are not before its start.
        // Usually none. Counted byte by byte, they took 2% of an import's CPU (the
        // count widened each byte to 64 bits); `memchr` skips to them.
        let inside = memchr::memchr_iter(b'\n', &batch.bytes[start..out]).count() as u64;
        let line = core.line() - inside - u64::from(ended_by_newline);
        batch.rows.push((line, start, first));
        *filled = Filled {
            bytes: out,
            ends: end,
        };
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every row of `text` as (line, cells), and the refused rows, read in batches of
    /// `size`.
    type Rows = Vec<(u64, Vec<String>)>;

    fn read(text: &[u8], size: usize) -> (Vec<String>, Rows, Vec<BadRow>) {
        read_through(text, size, 1 << 16)
    }

    /// [`read`] through a buffer of `buffer` bytes, so that rows, cells and quotes are
    /// cut across reads.
    fn read_through(text: &[u8], size: usize, buffer: usize) -> (Vec<String>, Rows, Vec<BadRow>) {
        let input = std::io::BufReader::with_capacity(buffer, text);
        let (mut reader, headers) = Reader::new(input, b',').unwrap();
        let (mut rows, mut bad) = (Vec::new(), Vec::new());
        loop {
            let (batch, _, status) = reader.read_batch(size, &mut |b| bad.push(b));
            status.unwrap();
            if batch.is_empty() && reader.done {
                break;
            }
            for (line, row) in batch.rows() {
                let cells = row.cells().map_or_else(
                    || vec!["<not UTF-8>".to_string()],
                    |c| c.map(str::to_string).collect(),
                );
                rows.push((line, cells));
            }
        }
        (headers, rows, bad)
    }

    /// The same through the `csv` crate, the reference.
    fn reference(text: &[u8]) -> (Vec<String>, Rows, Vec<u64>) {
        let mut reader = csv::ReaderBuilder::new().from_reader(text);
        let headers = reader
            .headers()
            .map(|h| h.iter().map(str::to_string).collect())
            .unwrap_or_default();
        let (mut rows, mut bad) = (Vec::new(), Vec::new());
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().unwrap().line();
                    let cells = match csv::StringRecord::from_byte_record(record.clone()) {
                        Ok(r) => r.iter().map(str::to_string).collect(),
                        Err(_) => vec!["<not UTF-8>".to_string()],
                    };
                    rows.push((line, cells));
                }
                Err(e) => bad.push(e.position().unwrap().line()),
            }
        }
        (headers, rows, bad)
    }

    #[test]
    fn rows_are_copied_and_dropped_whole() {
        let text = "id,name\n1,a\n2,\"b\nb\"\n3,c\n";
        let (mut reader, _) = Reader::new(text.as_bytes(), b',').unwrap();
        let (mut batch, _, _) = reader.read_batch(10, &mut |_| {});
        let cells = |b: &Batch| -> Vec<(u64, Vec<String>)> {
            b.rows()
                .map(|(line, row)| (line, row.cells().unwrap().map(String::from).collect()))
                .collect()
        };
        let all = cells(&batch);
        let mut tail = Batch::default();
        tail.push_rows(&batch, 1..3);
        batch.truncate_rows(1);
        assert_eq!(cells(&batch), all[..1]);
        assert_eq!(cells(&tail), all[1..]);
        batch.push_rows(&tail, 0..2);
        assert_eq!(cells(&batch), all);
    }

    #[test]
    fn excel_s_separator_line_names_the_delimiter_and_is_passed_over() {
        for (text, delimiter) in [
            ("sep=;\nid;name\n1;a\n", b';'),
            ("\u{feff}sep=;\r\nid;name\r\n1;a\r\n", b';'),
            ("sep=,\nid,name\n1,a\n", b','),
        ] {
            let (mut reader, headers) = Reader::new(text.as_bytes(), delimiter).unwrap();
            assert_eq!(headers, ["id", "name"], "{text:?}");
            let (batch, _, _) = reader.read_batch(10, &mut |_| {});
            let (line, row) = batch.row(0);
            assert_eq!(line, 3, "the line in the file");
            assert_eq!(row.cells().unwrap().collect::<Vec<_>>(), ["1", "a"]);
        }
        // A first column that merely starts so is a header.
        let (_, headers) = Reader::new(&b"sep=x;y\n1;2\n"[..], b';').unwrap();
        assert_eq!(headers, ["sep=x", "y"]);
    }

    /// Batches of long rows are cut by their bytes; a row longer than the limit (a quote
    /// left open) stops the reader with an error naming its line, after the rows before
    /// it; a row of the wrong width over several lines says it may be one.
    #[test]
    fn long_rows_are_bounded() {
        let long = "x".repeat(100_000);
        let mut text = String::from("a,b\n");
        for i in 0..200 {
            text.push_str(&format!("{i},{long}\n"));
        }
        let (mut reader, _) = Reader::new(text.as_bytes(), b',').unwrap();
        let (batch, count, status) = reader.read_batch(1000, &mut |_| {});
        status.unwrap();
        assert_eq!(count as usize, batch.len());
        assert!(batch.len() < 200 && batch.len() * 100_000 >= MAX_BATCH_BYTES);
        assert!(batch.bytes.len() <= MAX_BATCH_BYTES + 100_010);

        let mut text = b"a,b\n1,2\n\n3,\"open\n4,5\n".to_vec();
        text.extend(std::iter::repeat_n(b'y', MAX_ROW_BYTES));
        let (mut reader, _) = Reader::new(&text[..], b',').unwrap();
        let (batch, count, status) = reader.read_batch(1000, &mut |_| {});
        let err = status.unwrap_err().to_string();
        assert!(
            err.starts_with("the row of line 4 is longer than 16 MiB: is a quote left open?"),
            "{err}"
        );
        assert_eq!((batch.len(), count), (1, 1));
        let (batch, count, _) = reader.read_batch(1000, &mut |_| {});
        assert_eq!((batch.len(), count), (0, 0), "the reader reads no more");

        let (_, rows, bad) = read(b"a,b,c\n1,\"open,x\n2,y,z\n", 10);
        assert!(rows.is_empty());
        assert_eq!(
            bad[0].message,
            "the row has 2 cells where the header has 3 (it runs over lines 2 to 3: is a quote left open? a cell holding a quote is wholly quoted, its quotes doubled)"
        );
    }

    #[test]
    fn rows_cells_lines_and_refusals() {
        let text = "\u{feff}id,name,note\r\n1,\"a, \"\"quoted\"\" name\",x\r\n\r\n2,\"two\nlines\",y\n3,short\n4,é,\"\"";
        let (headers, rows, bad) = read(text.as_bytes(), 2);
        assert_eq!(headers, ["id", "name", "note"]);
        assert_eq!(
            rows,
            [
                (2, vec!["1".into(), "a, \"quoted\" name".into(), "x".into()]),
                (4, vec!["2".into(), "two\nlines".into(), "y".into()]),
                (7, vec!["4".into(), "é".into(), String::new()]),
            ]
        );
        assert_eq!(
            bad,
            [BadRow {
                line: 6,
                code: "malformed_csv",
                message: "the row has 2 cells where the header has 3".into(),
                cells: vec![b"3".to_vec(), b"short".to_vec()],
            }]
        );
        // The csv crate reads the same rows, cells and refusals (but other lines, and
        // it keeps the byte order mark).
        let (ref_headers, ref_rows, ref_bad) = reference(text.as_bytes());
        assert_eq!(ref_headers[1..], headers[1..]);
        let cells = |rows: Rows| rows.into_iter().map(|r| r.1).collect::<Vec<_>>();
        assert_eq!(cells(ref_rows), cells(rows));
        assert_eq!(ref_bad.len(), 1);
    }

    #[test]
    fn a_row_that_is_not_utf8_gives_no_cells() {
        // Each cell alone is not UTF-8, though the two together are ("é").
        let (_, rows, _) = read(b"a,b\n\xc3,\xa9\n\xff,x\nok,y\n", 10);
        let cells: Vec<_> = rows.into_iter().map(|(_, c)| c).collect();
        assert_eq!(
            cells,
            [
                vec!["<not UTF-8>".to_string()],
                vec!["<not UTF-8>".to_string()],
                vec!["ok".to_string(), "y".to_string()]
            ]
        );
    }

    #[test]
    fn long_rows_and_many_cells_are_read_whole() {
        let long = "é\"".repeat(40_000);
        let many = vec!["c"; 300].join(",");
        let text = format!(
            "a,b\n\"{}\",x\nshort,y\n{many}\nlast,z\n",
            long.replace('"', "\"\"")
        );
        let (_, rows, bad) = read(text.as_bytes(), 10);
        let cells: Vec<_> = rows.into_iter().map(|(_, c)| c).collect();
        assert_eq!(
            cells,
            [
                vec![long, "x".into()],
                vec!["short".into(), "y".into()],
                vec!["last".into(), "z".into()]
            ]
        );
        assert_eq!(bad[0].line, 4);
    }

    #[test]
    fn an_empty_input_has_no_header_and_no_rows() {
        let (headers, rows, bad) = read(b"", 10);
        assert!(headers.is_empty() && rows.is_empty() && bad.is_empty());
    }

    proptest! {
        /// Any text made of cells, quotes, separators and line ends reads as the `csv`
        /// crate reads it: the same header, rows and cells, and as many rows refused,
        /// whatever the batch size.
        #[test]
        fn reads_as_the_csv_crate(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("a"), Just("bc"), Just("é"), Just(","), Just("\""), Just("\"\""),
                    Just("\n"), Just("\r\n"), Just("\r"), Just(" "), Just("{\"k\":1}"),
                ],
                0..80,
            ),
            size in 1usize..6,
            buffer in 1usize..9,
        ) {
            let text: String = pieces.concat();
            let (headers, rows, bad) = read_through(text.as_bytes(), size, buffer);
            let (ref_headers, ref_rows, ref_bad) = reference(text.as_bytes());
            prop_assert_eq!(headers, ref_headers);
            let cells = |rows: Rows| rows.into_iter().map(|r| r.1).collect::<Vec<_>>();
            prop_assert_eq!(cells(rows), cells(ref_rows));
            prop_assert_eq!(bad.len(), ref_bad.len());
        }

        /// Rows written by the `csv` crate (cells with quotes, separators and line ends,
        /// `\n` or `\r\n`, blank lines between rows, some rows of another width) are read
        /// back with the line each starts on, and the rows of another width are refused
        /// with theirs.
        #[test]
        fn each_row_has_the_line_it_starts_on(
            rows in proptest::collection::vec(
                (
                    proptest::collection::vec("[a\",\r\né ]{0,6}", 1..4),
                    0usize..3,
                ),
                1..20,
            ),
            crlf in any::<bool>(),
            size in 1usize..6,
            buffer in prop_oneof![1usize..9, Just(1 << 16)],
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let width = rows[0].0.len();
            let mut text = Vec::new();
            let (mut expected, mut refused) = (Vec::new(), Vec::new());
            for (i, (cells, blanks)) in rows.iter().enumerate() {
                let line = 1 + text.iter().filter(|&&b| b == b'\n').count() as u64;
                let mut writer = csv::WriterBuilder::new()
                    .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                    .quote_style(csv::QuoteStyle::Always)
                    .from_writer(Vec::new());
                writer.write_record(cells).unwrap();
                text.extend(writer.into_inner().unwrap());
                text.extend(end.repeat(*blanks).bytes());
                match i {
                    0 => {}
                    _ if cells.len() == width => expected.push((line, cells.clone())),
                    _ => refused.push(line),
                }
            }
            let (headers, read_rows, bad) = read_through(&text, size, buffer);
            prop_assert_eq!(&headers, &rows[0].0);
            prop_assert_eq!(read_rows, expected);
            prop_assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), refused);
        }
    }
}
