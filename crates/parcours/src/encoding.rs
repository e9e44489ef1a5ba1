//! The character encodings an import reads: UTF-8, and Windows-1252, in which
//! spreadsheets of Western European locales save "CSV" (Excel's plain "CSV" format in
//! France, Germany, Spain…). A Windows-1252 input is turned into UTF-8 as it is read, so
//! that everything after sees UTF-8.

use std::io::Read;

/// The byte order mark of UTF-8, which some tools (Excel's "CSV UTF-8") write first.
pub const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// The character encoding of an input.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// Windows-1252, which also reads ISO-8859-1 (Latin-1) as browsers do.
    #[value(
        name = "windows-1252",
        alias = "cp1252",
        alias = "latin1",
        alias = "latin-1",
        alias = "iso-8859-1"
    )]
    Windows1252,
}

impl Encoding {
    /// `input` read as UTF-8.
    pub fn decoder<'a>(self, input: Box<dyn Read + Send + 'a>) -> Box<dyn Read + Send + 'a> {
        match self {
            Encoding::Utf8 => input,
            Encoding::Windows1252 => Box::new(Windows1252 {
                inner: input,
                raw: Vec::new(),
                pending: Vec::new(),
            }),
        }
    }
}

/// The characters of Windows-1252's bytes 0x80 to 0x9F (the others are the Unicode code
/// points of the same number). The five bytes it leaves undefined are read as the C1
/// controls of their number, as the WHATWG Encoding Standard does.
const HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// The character of one Windows-1252 byte.
pub fn windows_1252(byte: u8) -> char {
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        b => char::from(b),
    }
}

/// Text written back in Windows-1252 (what [`windows_1252`] read it from); a character
/// Windows-1252 has no byte for, which a text read from it cannot hold, is written `?`.
pub fn to_windows_1252(text: &str, out: &mut Vec<u8>) {
    out.extend(text.chars().map(|c| {
        match u32::from(c) {
            0..=0x7f | 0xa0..=0xff => c as u8,
            _ => HIGH
                .iter()
                .position(|&h| h == c)
                .map_or(b'?', |i| 0x80 + i as u8),
        }
    }));
}

/// A Windows-1252 reader that yields UTF-8.
struct Windows1252<R> {
    inner: R,
    /// The bytes read from `inner` at a time.
    raw: Vec<u8>,
    /// UTF-8 already decoded that did not fit in the caller's buffer.
    pending: Vec<u8>,
}

impl<R: Read> Read for Windows1252<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pending.is_empty() {
            // A byte becomes at most 3 bytes of UTF-8 (the euro sign).
            self.raw.resize(buf.len().div_ceil(3).clamp(1, 1 << 16), 0);
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            if self.raw[..n].is_ascii() {
                // Most bytes of most files: copied as they are.
                let fits = n.min(buf.len());
                buf[..fits].copy_from_slice(&self.raw[..fits]);
                self.pending.extend_from_slice(&self.raw[fits..n]);
                return Ok(fits);
            }
            let mut utf8 = [0u8; 4];
            for &b in &self.raw[..n] {
                self.pending
                    .extend_from_slice(windows_1252(b).encode_utf8(&mut utf8).as_bytes());
            }
        }
        let fits = self.pending.len().min(buf.len());
        buf[..fits].copy_from_slice(&self.pending[..fits]);
        self.pending.drain(..fits);
        Ok(fits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte reads as a character that is written back as that byte.
    #[test]
    fn every_byte_is_written_back_as_read() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text: String = bytes.iter().map(|&b| windows_1252(b)).collect();
        let mut out = Vec::new();
        to_windows_1252(&text, &mut out);
        assert_eq!(out, bytes);
        out.clear();
        to_windows_1252("€ ✓", &mut out);
        assert_eq!(out, b"\x80 ?");
    }

    fn decode(bytes: &[u8], chunk: usize) -> String {
        let mut reader = Encoding::Windows1252.decoder(Box::new(bytes));
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn windows_1252_reads_as_utf8_whatever_the_reads() {
        // "Réf;Montant €;Œuvre “x”" as Excel saves it in Western Europe.
        let bytes = b"R\xe9f;Montant \x80;\x8cuvre \x93x\x94\n";
        for chunk in [1, 2, 3, 4, 7, 64, 1 << 16] {
            assert_eq!(decode(bytes, chunk), "Réf;Montant €;Œuvre “x”\n", "{chunk}");
        }
        // Every byte is a character; the undefined ones are C1 controls.
        let all: Vec<u8> = (0..=255).collect();
        let text = decode(&all, 10);
        assert_eq!(text.chars().count(), 256);
        assert_eq!(text.chars().nth(0x81), Some('\u{81}'));
        assert_eq!(text.chars().nth(0xff), Some('ÿ'));
        // UTF-8 passes through untouched.
        let mut plain = Encoding::Utf8.decoder(Box::new(&b"R\xc3\xa9f"[..]));
        let mut out = String::new();
        plain.read_to_string(&mut out).unwrap();
        assert_eq!(out, "Réf");
    }
}
