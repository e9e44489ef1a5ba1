use clap::Parser;

fn main() -> std::process::ExitCode {
    parcours::cli::run(parcours::cli::Cli::parse())
}
