//! The command line: one clap struct, every flag with an environment fallback where it helps.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// millrace runs ML training jobs on your GPU machines, tracks their parameters, metrics,
/// logs and cost, and shows them in a fast web app.
#[derive(Debug, Parser)]
#[command(name = "millrace", version, about, long_about = None)]
pub struct Cli {
    /// Database URL: sqlite://millrace.db (a file, created if missing) or
    /// postgres://USER@HOST:PORT/DATABASE.
    #[arg(
        long,
        global = true,
        env = "MILLRACE_DATABASE_URL",
        default_value = "sqlite://millrace.db"
    )]
    pub database: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and the APIs (migrates the database first).
    Serve(ServeArgs),
    /// Fill the database with a realistic demo workspace.
    Demo(DemoArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens (for scripts, the MLflow client and runners).
    #[command(subcommand)]
    Token(TokenCommand),
}

/// Flags of `millrace serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MILLRACE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory with the built site (pkg/ with wasm, JS and CSS); default from Leptos.toml.
    #[arg(long, env = "MILLRACE_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Create the demo workspace first if the database has no users.
    #[arg(long)]
    pub demo: bool,
}

/// Flags of `millrace demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Number of users.
    #[arg(long, default_value_t = 12)]
    pub users: u32,
    /// Number of projects, spread over the users.
    #[arg(long, default_value_t = 40)]
    pub projects: u32,
    /// Number of jobs, spread over the projects (some projects are much busier).
    #[arg(long, default_value_t = 2000)]
    pub jobs: u32,
    /// Steps logged per metric of a finished job.
    #[arg(long, default_value_t = 200)]
    pub points: u32,
    /// Points in the one very long series (a job that logged every step).
    #[arg(long, default_value_t = 1_000_000)]
    pub long_series: u32,
    /// Seed: the same seed gives the same workspace.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Time the demo's history ends at, in ms since the Unix epoch (default: now).
    #[arg(long, hide = true)]
    pub anchor_ms: Option<i64>,
}

/// `millrace user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin it can sign in only with API tokens.
    Create {
        /// Login and URL name: letters, digits, '-', '_' and '.'.
        name: String,
        /// Name shown to people (default: NAME).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `millrace token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (it is shown only this once).
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label to recognise it by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a user's tokens.
    List {
        /// Whose tokens.
        #[arg(long)]
        user: String,
    },
    /// Revoke a token at once.
    Revoke {
        /// Whose token.
        #[arg(long)]
        user: String,
        /// Its id, as `token list` shows.
        id: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_database_flag_works_after_any_subcommand() {
        let cli = Cli::parse_from([
            "millrace",
            "token",
            "create",
            "--user",
            "ann",
            "--database",
            "sqlite://x.db",
        ]);
        assert_eq!(cli.database, "sqlite://x.db");
    }
}
