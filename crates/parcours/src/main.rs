use clap::Parser;

// The import and ingest paths allocate events on one thread and free them on the store's
// writer thread; glibc's allocator serialises that on its arena locks. mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    parcours::cli::run(parcours::cli::Cli::parse())
}
