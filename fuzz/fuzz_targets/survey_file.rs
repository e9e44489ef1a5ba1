//! Fuzz target: a survey export's dry run (`parcours surveys import --dry-run`: the
//! export read, its header rows and columns told, every row checked, nothing stored)
//! must never panic on any file, for any of the standard surveys and the options that
//! change how a file is read, and what it reports must add up.
//!
//! The first byte chooses the options; the rest is the file.
#![no_main]

use std::io::Write;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use parcours::dates::DateArgs;
use parcours::encoding::Encoding;
use parcours::survey_import::{import, SurveyImportArgs};
use parcours_store::{SqliteStore, Store, StoreOptions, WorkspaceId};

/// A store with one empty workspace, made once per process (a dry run only reads it).
static STORE: LazyLock<(SqliteStore, WorkspaceId)> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("parcours-fuzz-survey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir, StoreOptions::default()).expect("a store opens");
    let ws = store.create_workspace("fuzz").expect("a workspace").id;
    (store, ws)
});

fuzz_target!(|data: &[u8]| {
    let [a, content @ ..] = data else { return };
    let file =
        std::env::temp_dir().join(format!("parcours-fuzz-survey-{}.csv", std::process::id()));
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(content))
        .expect("the fuzz file is written");
    let args = SurveyImportArgs {
        file,
        survey: ["nps", "csat", "ces"][((a & 3) % 3) as usize].to_string(),
        workspace: "fuzz".into(),
        dates: DateArgs {
            date_format: None,
            date_order: [None, Some("dmy"), Some("mdy")][(((a >> 2) & 3) % 3) as usize]
                .map(str::to_string),
            timezone: (a & 0x10 != 0).then(|| "Europe/Paris".to_string()),
        },
        encoding: if a & 0x20 != 0 {
            Encoding::Windows1252
        } else {
            Encoding::Utf8
        },
        delimiter: (a & 0x40 != 0).then_some(';'),
        dry_run: true,
        ..SurveyImportArgs::default()
    };
    let (store, ws) = &*STORE;
    let Ok((headers, columns, report)) = import(store, *ws, &args) else {
        return;
    };
    let s = &report.summary;
    let lines = content.iter().filter(|&&c| c == b'\n').count() as u64 + 1;
    for r in s.rejected.kept() {
        assert!(!r.message.is_empty() && !r.code.is_empty(), "{r:?}");
        assert!(r.line <= lines, "line {} of {lines}: {r:?}", r.line);
    }
    // A row is a header row, unanswered, rejected or a response, once.
    let accounted = report.header_rows + report.unanswered + s.rejected.rows() + report.responses;
    assert!(
        accounted <= s.rows,
        "{accounted} rows accounted for of {}: {report:?}",
        s.rows
    );
    // Each response is tied to a person by one of these, or by its userId.
    assert!(
        report.known_emails + report.new_emails + report.anonymous <= report.responses,
        "{report:?}"
    );
    assert!(columns.date < headers.len());
    for c in [columns.score, columns.comment].into_iter().flatten() {
        assert!(c < headers.len());
    }
});
