//! The logs as an operator reads them: sent to a file or a pipe, not to a terminal.

use std::process::Command;

#[test]
fn logs_written_to_a_pipe_hold_no_colour_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_parcours"))
        .args(["keys", "create", "--workspace", "w", "--scope", "read"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .expect("run parcours");
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("applied schema migration"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape sequences in {stderr:?}");
}
