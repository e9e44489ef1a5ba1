//! Fuzz target: a bulk import's dry run (`parcours import --dry-run`, the same reading,
//! parsing and checks as an import, storing nothing) must never panic on any file, with
//! any of the options that change how a file is read, and what it reports must add up.
//!
//! The first two bytes choose the options; the rest is the file. With the format bit
//! set, the file's first line is the `--date-format` (a strftime pattern written by a
//! person) and the file is what follows it.
#![no_main]

use std::io::Write;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use parcours::dates::DateReader;
use parcours::encoding::Encoding;
use parcours::import::{check_file, Format, Kind, Mapping, Options, Summary};

fn path() -> PathBuf {
    std::env::temp_dir().join(format!("parcours-fuzz-import-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else { return };
    let (mut content, mut date_format) = (rest, None);
    if b & 0x40 != 0 {
        let end = content
            .iter()
            .position(|&c| c == b'\n')
            .unwrap_or(content.len());
        let Ok(format) = std::str::from_utf8(&content[..end]) else {
            return;
        };
        date_format = Some(format.to_string());
        content = content.get(end + 1..).unwrap_or_default();
    }
    let order = [None, Some("dmy"), Some("mdy")][((b & 3) % 3) as usize];
    let zone = ["UTC", "Europe/Paris", "+05:30", "America/New_York"][((b >> 2) % 4) as usize];
    let Ok(dates) = DateReader::new(date_format, order, zone) else {
        return;
    };
    let mut mapping = Mapping::default();
    if b & 0x10 != 0 {
        mapping
            .constants
            .insert("event".into(), "Order Completed".into());
    }
    if b & 0x20 != 0 {
        mapping.columns.insert("Email".into(), "email".into());
        mapping.columns.insert("Date".into(), "timestamp".into());
    }
    let options = Options {
        format: [Format::Auto, Format::Csv, Format::Jsonl][(a % 3) as usize],
        kind: [Kind::Auto, Kind::Events, Kind::Costs][((a >> 2) % 3) as usize],
        delimiter: [None, None, Some(b';'), Some(b'\t')][((a >> 4) % 4) as usize],
        dates,
        decimal_comma: a & 0x40 != 0,
        encoding: if a & 0x80 != 0 {
            Encoding::Windows1252
        } else {
            Encoding::Utf8
        },
        group_by: (b & 0x80 != 0).then(|| "Name".to_string()),
        rejects: None,
        progress: false,
    };
    let path = path();
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(content))
        .expect("the fuzz file is written");
    let first = check_file(None, &path, &mapping, &options);
    let Ok(summary) = first else { return };
    let valid = summary.valid.expect("a dry run counts its valid rows");
    let lines = content.iter().filter(|&&c| c == b'\n').count() as u64 + 1;
    for r in summary.rejected.kept() {
        assert!(!r.message.is_empty() && !r.code.is_empty(), "{r:?}");
        assert!(
            r.line >= 1 && r.line <= lines,
            "line {} of {lines}: {r:?}",
            r.line
        );
    }
    // Each row read is valid or rejected once; rows grouped into one event are valid
    // together (`--group-by`, or `product.X` columns), so there may be fewer events.
    assert!(
        valid + summary.rejected.rows() <= summary.rows,
        "{valid} valid and {} rejected of {} rows",
        summary.rejected.rows(),
        summary.rows
    );
    for e in &summary.examples {
        assert!(e.user_id.is_some() || e.anonymous_id.is_some(), "{e:?}");
        assert!(!e.message_id.is_empty() && !e.touch.channel.is_empty());
    }
    // The same file read again reports the same, whatever the parsing threads did, and
    // writing its rejected rows out (`--rejects`) changes nothing of that.
    let rejects = path.with_extension("rejects");
    let with_rejects = Options {
        rejects: Some(rejects.clone()),
        ..options
    };
    let again: Summary =
        check_file(None, &path, &mapping, &with_rejects).expect("it read the first time");
    assert_eq!((again.rows, again.valid), (summary.rows, summary.valid));
    assert_eq!(again.rejected.rows(), summary.rejected.rows());
    // Every rejected row is written: a JSON line each, or a CSV record each (with the
    // header, when it has one) where the file is known to be of one or the other.
    let written = std::fs::read(&rejects).expect("the rejects file is written");
    let rejected = again.rejected.rows();
    match (
        with_rejects.format,
        with_rejects.kind,
        with_rejects.delimiter,
    ) {
        (Format::Jsonl, _, _) => {
            let lines = written.iter().filter(|&&c| c == b'\n').count() as u64;
            assert_eq!(lines, rejected, "{}", String::from_utf8_lossy(&written));
        }
        (Format::Csv, Kind::Events, Some(delimiter)) if with_rejects.group_by.is_none() => {
            let records = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(false)
                .flexible(true)
                .from_reader(&written[..])
                .into_byte_records()
                .count() as u64;
            assert!(
                records == rejected || records == rejected + 1,
                "{records} records for {rejected} rejected rows"
            );
        }
        _ => {}
    }
    let lines_of = |s: &Summary| {
        (s.rejected.kept().iter())
            .map(|r| (r.line, r.message.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(lines_of(&again), lines_of(&summary));
});
