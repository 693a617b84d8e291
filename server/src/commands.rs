//! What each subcommand does, after the command line is parsed.

use crate::cli::{
    Cli, Command, RunnerArgs, RunnerTokenCommand, SpecCommand, TokenCommand, UserCommand,
};
use crate::spec::AnySpec;
use anyhow::{bail, Context};
use app::db::{self, Db};
use app::model::Name;
use std::io::BufRead;

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The commands that talk to a server need no database.
    match cli.command {
        Command::Apply(args) => return crate::remote::apply(args).await,
        Command::Run(args) => return crate::remote::run(args).await,
        Command::Logs(args) => return crate::remote::logs(args).await,
        Command::Cancel(args) => return crate::remote::cancel(args).await,
        Command::Sweep(args) => return crate::remote::sweeps::run(args).await,
        Command::Pipeline(args) => return crate::remote::pipelines::run(args).await,
        Command::Pool(args) => return crate::remote::pools::run(args).await,
        Command::Project(args) => return crate::remote::projects::run(args).await,
        Command::Artifacts(args) => return crate::remote::artifacts::run(args).await,
        Command::Model(args) => return crate::remote::models::run(args).await,
        Command::Runner(args) => return crate::runner::run(runner_settings(args).await?).await,
        Command::Spec(command) => return spec(command),
        _ => {}
    }
    let db = open(&cli.database).await?;
    let result = match cli.command {
        Command::Serve(args) => crate::startup::serve(db.clone(), args, &cli.database).await,
        Command::Demo(args) => {
            let files = crate::startup::file_store(args.files.as_deref(), &cli.database);
            crate::demo::run(&db, &args, &files?)
                .await
                .map(|summary| println!("{summary}"))
        }
        Command::User(command) => user(&db, command).await,
        Command::Token(command) => token(&db, command).await,
        Command::RunnerToken(command) => runner_token(&db, command).await,
        _ => unreachable!("handled above"),
    };
    db.close().await;
    result
}

/// What must happen while the process has one thread, before [`run`] starts the runtime: the
/// runner settles its token and takes it out of the environment.
pub fn prepare(cli: &mut Cli) -> anyhow::Result<()> {
    if let Command::Runner(args) = &mut cli.command {
        crate::runner::token::secure(args)?;
    }
    Ok(())
}

async fn runner_settings(args: RunnerArgs) -> anyhow::Result<crate::runner::Settings> {
    let token = args
        .token
        .context("give the runner token through MILLRACE_RUNNER_TOKEN or --token-file")?;
    let (gpus, gpu_models) = crate::runner::gpus::choose(args.gpus).await?;
    Ok(crate::runner::Settings {
        server: args.server,
        token,
        name: args.name.unwrap_or_else(crate::runner::hostname),
        gpus,
        gpu_models,
        labels: args.labels.into_iter().filter(|l| !l.is_empty()).collect(),
        workdir: args.workdir,
        max_jobs: usize::from(args.max_jobs),
        grace: args.grace,
        pass_env: args.pass_env,
        system_metrics: Some(args.system_metrics_interval).filter(|every| !every.is_zero()),
    })
}

fn spec(command: SpecCommand) -> anyhow::Result<()> {
    match command {
        SpecCommand::Schema { kind } => print!("{}", crate::spec::json_schema(kind)),
        SpecCommand::Check { file } => match crate::spec::load_any(&file)? {
            AnySpec::Job(spec) => println!(
                "{}: a valid spec for {} in {}",
                file.display(),
                spec.name,
                spec.project
            ),
            AnySpec::Sweep(spec) => println!(
                "{}: a valid sweep spec for {} in {}",
                file.display(),
                spec.sweep,
                spec.project
            ),
            AnySpec::Pool(spec) => {
                println!("{}: a valid pool spec for {}", file.display(), spec.pool)
            }
            AnySpec::Pipeline(spec) => println!(
                "{}: a valid pipeline spec for {} in {}: {} steps, {} jobs",
                file.display(),
                spec.pipeline,
                spec.project,
                spec.steps.len(),
                spec.steps
                    .keys()
                    .map(|s| spec.fan_out(s).len())
                    .sum::<usize>()
            ),
        },
    }
    Ok(())
}

async fn runner_token(db: &Db, command: RunnerTokenCommand) -> anyhow::Result<()> {
    match command {
        RunnerTokenCommand::Create { name } => {
            let secret = app::auth::new_secret();
            let id = db::runners::create_token(db, &name, &app::auth::hash_secret(&secret)).await?;
            eprintln!("runner token {id} created; it is shown only now:");
            println!("{secret}");
        }
        RunnerTokenCommand::List => {
            for token in db::runners::tokens(db).await? {
                let state = if token.revoked_ms.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!("{}\t{}\t{state}", token.id, token.name);
            }
        }
        RunnerTokenCommand::Revoke { id } => {
            if !db::runners::revoke_token(db, id).await? {
                bail!("there is no live runner token {id}");
            }
            println!("runner token {id} revoked");
        }
    }
    Ok(())
}

/// Opens and migrates the store, with a one-line reason when it cannot.
pub async fn open(url: &str) -> anyhow::Result<Db> {
    let db = Db::open(url).await?;
    db.migrate().await?;
    Ok(db)
}

async fn user(db: &Db, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            name,
            display_name,
            password_stdin,
            admin,
        } => {
            let name = Name::parse(&name, Name::MAX_USER)
                .with_context(|| format!("user name '{name}'"))?;
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            if db::users::find_by_name(db, name.as_str()).await?.is_some() {
                bail!("a user called '{name}' already exists");
            }
            let display = display_name.unwrap_or_else(|| name.to_string());
            // The first user sets the instance up, so they administer it.
            let admin = admin || !db::users::any(db).await?;
            let user = db::users::create(db, name.as_str(), &display).await?;
            if admin {
                db::users::set_admin(db, user.id, true).await?;
                println!("{name} is an instance admin");
            }
            if let Some(password) = password {
                db::users::set_password_hash(db, user.id, &app::auth::hash_password(&password))
                    .await?;
                println!("created user {name}; they can sign in with their password");
            } else {
                println!("created user {name} without a password; give them a token: millrace token create --user {name}");
            }
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < 8 {
        bail!("the password on standard input must have at least 8 characters");
    }
    Ok(password)
}

async fn token(db: &Db, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            user,
            name,
            scope,
            expires,
        } => {
            let user = find_user(db, &user).await?;
            let expires_ms = expires
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .map(|ms| db::now_ms().saturating_add(ms));
            let (id, secret) =
                app::auth::create_token(db, user.id, &name, scope, expires_ms).await?;
            eprintln!(
                "{} token {id} for {} created; it is shown only now:",
                scope.as_str(),
                user.name
            );
            println!("{secret}");
        }
        TokenCommand::List { user } => {
            let user = find_user(db, &user).await?;
            let now = db::now_ms();
            for token in db::tokens::list(db, user.id).await? {
                let state = match (token.revoked_ms, token.expires_ms) {
                    (Some(_), _) => "revoked".to_owned(),
                    (None, Some(end)) if end <= now => "expired".to_owned(),
                    (None, Some(end)) => format!("live, {} days left", (end - now) / 86_400_000),
                    (None, None) => "live".to_owned(),
                };
                println!("{}\t{}\t{}\t{state}", token.id, token.name, token.scope);
            }
        }
        TokenCommand::Revoke { user, id } => {
            let user = find_user(db, &user).await?;
            if !db::tokens::revoke(db, user.id, id).await? {
                bail!("{} has no live token {id}", user.name);
            }
            println!("token {id} revoked");
        }
    }
    Ok(())
}

async fn find_user(db: &Db, name: &str) -> anyhow::Result<db::users::User> {
    db::users::find_by_name(db, name)
        .await?
        .with_context(|| format!("no user called '{name}'"))
}
