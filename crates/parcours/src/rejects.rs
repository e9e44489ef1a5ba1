//! `parcours import --rejects FILE`: the rejected rows of an import, written out as the
//! input has them, each with why, to be fixed and imported again with the same options.
//!
//! A CSV file's rejects are its header, then each rejected row (its cells as read, in
//! the input's delimiter and encoding), with one more column, [`COLUMN`], saying why; a
//! JSON Lines file's are its rejected lines, each with [`COLUMN`] as its first key (a
//! line that is not a JSON object is written as it is). Importing them ignores that
//! column or key. Rows come in the order of the input file; a group of `--group-by` is
//! written whole, each of its rows saying why.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::encoding::{to_windows_1252, Encoding};
use crate::import::Rejection;

/// The column (CSV) or key (JSON Lines) that says why a row was rejected.
pub const COLUMN: &str = "parcours_rejected";

/// How a rejected row is written.
#[derive(Debug, Clone, Copy)]
pub enum Render {
    /// `why` is the column at `why_at` when the input has one already (the rejects of
    /// an earlier import, imported again), else a last column.
    Csv {
        delimiter: u8,
        why_at: Option<usize>,
    },
    Jsonl,
}

/// Why a row was rejected, as [`COLUMN`] says it: its line in the input, code, field
/// and message.
pub fn why(r: &Rejection) -> String {
    let field = (r.field.as_deref())
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    format!("line {}: {}{field}: {}", r.line, r.code, r.message)
}

impl Render {
    /// The CSV rendering of an input with this header and delimiter.
    pub fn csv(headers: &[String], delimiter: u8) -> Render {
        let why_at = headers.iter().position(|h| h.trim() == COLUMN);
        Render::Csv { delimiter, why_at }
    }

    /// Writes a CSV row to `out`: `cells` (bytes as read, UTF-8 or not) and `why`.
    pub fn csv_row<'c>(self, cells: impl Iterator<Item = &'c [u8]>, why: &str, out: &mut Vec<u8>) {
        let (delimiter, why_at) = match self {
            Render::Csv { delimiter, why_at } => (delimiter, why_at),
            Render::Jsonl => (b',', None),
        };
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_writer(out);
        // Writing into a vector cannot fail.
        let mut told = false;
        for (i, cell) in cells.enumerate() {
            let cell = match why_at == Some(i) {
                true => {
                    told = true;
                    why.as_bytes()
                }
                false => cell,
            };
            let _ = writer.write_field(cell);
        }
        if !told {
            let _ = writer.write_field(why);
        }
        let _ = writer.write_record(None::<&[u8]>);
        let _ = writer.flush();
    }

    /// Writes a JSON line to `out`: `line` with [`COLUMN`] as its first key when it is
    /// an object, else as it is; then a line end.
    pub fn json_line(line: &[u8], why: &str, out: &mut Vec<u8>) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let start = line.iter().position(|b| !b.is_ascii_whitespace());
        match start.filter(|&i| line[i] == b'{') {
            Some(open) => {
                let rest = &line[open + 1..];
                let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
                out.extend_from_slice(&line[..=open]);
                // A string serialises.
                let _ = serde_json::to_writer(&mut *out, COLUMN);
                out.push(b':');
                let _ = serde_json::to_writer(&mut *out, why);
                if !empty {
                    out.push(b',');
                }
                out.extend_from_slice(rest);
            }
            None => out.extend_from_slice(line),
        }
        out.push(b'\n');
    }
}

/// A JSON line as it was before [`Render::json_line`] gave it [`COLUMN`] (as it is when
/// it does not start so): what its message id is derived from, so that a line fixed in
/// the rejects file and the same line fixed in the original are one event.
pub fn without_why(line: &str) -> std::borrow::Cow<'_, str> {
    let key = format!("{{\"{COLUMN}\":");
    let Some(rest) = line.strip_prefix(key.as_str()) else {
        return line.into();
    };
    let mut why = serde_json::Deserializer::from_str(rest).into_iter::<String>();
    if !matches!(why.next(), Some(Ok(_))) {
        return line.into();
    }
    let after = &rest[why.byte_offset()..];
    format!("{{{}", after.strip_prefix(',').unwrap_or(after)).into()
}

/// The file the rejected rows of an import go to.
pub struct Rejects {
    path: PathBuf,
    out: BufWriter<File>,
    encoding: Encoding,
    /// The first failure to write; nothing is written after it.
    failure: Option<std::io::Error>,
    /// A row written back in the input's encoding.
    encoded: Vec<u8>,
}

impl Rejects {
    /// Creates (or empties) the file; nothing is written yet.
    pub fn create(path: &Path, encoding: Encoding) -> anyhow::Result<Rejects> {
        let file = File::create(path)
            .with_context(|| format!("--rejects: creating {}", path.display()))?;
        Ok(Rejects {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            encoding,
            failure: None,
            encoded: Vec::new(),
        })
    }

    /// Writes a CSV header: `headers`, then [`COLUMN`].
    pub fn header(&mut self, headers: &[String], delimiter: u8) {
        let mut row = Vec::new();
        let cells = headers.iter().map(|h| h.as_bytes());
        Render::csv(headers, delimiter).csv_row(cells, COLUMN, &mut row);
        self.bytes(&row);
    }

    /// Writes the rendered rows of one rejected row (a group's are several).
    pub fn row(&mut self, rendered: &[u8]) {
        self.bytes(rendered);
    }

    fn bytes(&mut self, text: &[u8]) {
        if self.failure.is_some() {
            return;
        }
        let bytes = match (self.encoding, std::str::from_utf8(text)) {
            (Encoding::Windows1252, Ok(text)) => {
                self.encoded.clear();
                to_windows_1252(text, &mut self.encoded);
                &self.encoded[..]
            }
            _ => text,
        };
        if let Err(e) = self.out.write_all(bytes) {
            self.failure = Some(e);
        }
    }

    /// Flushes the file; its path, or why the rejected rows could not all be written.
    pub fn finish(mut self) -> anyhow::Result<PathBuf> {
        let flushed = self.out.flush();
        match self.failure.take().map_or(flushed, Err) {
            Ok(()) => Ok(self.path),
            Err(e) => Err(anyhow::anyhow!(e).context(format!(
                "writing the rejected rows to {} (the import itself went on: its summary is above)",
                self.path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_row_keeps_its_cells_and_says_why() {
        let mut out = Vec::new();
        let cells: [&[u8]; 3] = [b"a;b", b"say \"hi\"", b"\xe9t\xe9"];
        let render = Render::csv(&["a".into(), "b".into(), "c".into()], b';');
        render.csv_row(cells.into_iter(), "line 3: why", &mut out);
        assert_eq!(out, b"\"a;b\";\"say \"\"hi\"\"\";\xe9t\xe9;line 3: why\n");
        // Rejected again: why replaces the earlier why.
        out.clear();
        let render = Render::csv(&["a".into(), COLUMN.into(), "c".into()], b',');
        render.csv_row(cells.into_iter(), "line 2: now", &mut out);
        assert_eq!(out, b"a;b,line 2: now,\xe9t\xe9\n");
    }

    #[test]
    fn a_json_line_gets_why_as_its_first_key() {
        let line = |text: &str| {
            let mut out = Vec::new();
            Render::json_line(text.as_bytes(), "line 2: \"bad\"", &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            line(" {\"a\": 1}\r\n"),
            " {\"parcours_rejected\":\"line 2: \\\"bad\\\"\",\"a\": 1}\n"
        );
        assert_eq!(
            line("{ }"),
            "{\"parcours_rejected\":\"line 2: \\\"bad\\\"\" }\n"
        );
        assert_eq!(line("[1, 2]"), "[1, 2]\n");
        // Without it again, as its message id reads it.
        for original in ["{\"a\": 1}", "{ }", "{\"a\":"] {
            let written = line(original);
            assert_eq!(without_why(written.trim_end()), original);
        }
        assert_eq!(without_why("{\"a\": 1}"), "{\"a\": 1}");
        assert_eq!(
            line("{\"a\": "),
            "{\"parcours_rejected\":\"line 2: \\\"bad\\\"\",\"a\": \n"
        );
    }
}
