//! The `millrace` binary: parse the command line and run the chosen command.

use server::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|error| error.exit());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, causes joined: the person at the terminal needs the reason, not a trace.
            eprintln!("millrace: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut cli: Cli) -> anyhow::Result<()> {
    // Before the runtime starts its threads: the runner takes its token out of the environment.
    server::commands::prepare(&mut cli)?;
    server::telemetry::init(cli.log_format);
    let runtime = tokio::runtime::Runtime::new().expect("the OS lets us start a tokio runtime");
    runtime.block_on(server::commands::run(cli))
}
