//! The `millrace` binary: parse the command line and run the chosen command.

use clap::Parser;
use server::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    server::telemetry::init();
    let runtime = tokio::runtime::Runtime::new().expect("the OS lets us start a tokio runtime");
    match runtime.block_on(server::commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, causes joined: the person at the terminal needs the reason, not a trace.
            eprintln!("millrace: {error:#}");
            ExitCode::FAILURE
        }
    }
}
