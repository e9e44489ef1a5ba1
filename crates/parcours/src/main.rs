use clap::Parser;

// The import and ingest paths allocate events on one thread and free them on the store's
// writer thread; glibc's allocator serialises that on its arena locks. mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = parcours::cli::Cli::parse();
    let serves = matches!(
        cli.command,
        parcours::cli::Command::Serve { .. } | parcours::cli::Command::Demo(_)
    );
    if !serves {
        quiet_on_closed_pipe();
    }
    parcours::cli::run(cli)
}

/// A command whose output is piped into `head` ends quietly when the reader goes away,
/// as other command-line tools do, instead of panicking in `println!`. Not for the
/// server: a client closing its socket must not end it.
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    // SAFETY: runs first thing in `main`, before any other thread exists; it only puts
    // back the default disposition of SIGPIPE (which Rust's runtime set to ignore).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}
