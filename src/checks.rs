//! `check-config` and `migrate`: what an operator runs before starting the service and
//! after changing anything, with answers a person can act on.
//!
//! `check-config` writes nothing that stays: a SQLite file that does not exist is not
//! created (its folder is tested instead), migrations are not run, and the proof that a
//! payment can be journaled is a journal row written and rolled back.

use anyhow::Context;

use crate::config::Config;
use crate::startup::open_store;
use crate::store::{redact_url, Backend, Store};

/// What `check-config` found: lines to print, and problems, each with what to do.
#[derive(Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub problems: Vec<String>,
}

/// Checks `config` as `serve` would use it, and the database it names.
pub async fn check(config: &Config) -> Report {
    check_with(config, None).await
}

/// `check`, running the live register's queries for `cui` when given (else for nobody).
pub async fn check_with(config: &Config, cui: Option<&str>) -> Report {
    let mut report = Report {
        problems: config.problems(),
        ..Report::default()
    };
    if let Some(tls) = &config.tls {
        match crate::startup::load_tls(tls).await {
            Ok(_) => report
                .lines
                .push("TLS: the certificate and key load".into()),
            Err(e) => report.problems.push(format!(
                "{}",
                ErrorChain(&e.context("TLS (tls_cert, tls_key)"))
            )),
        }
    }
    check_database(config, &mut report).await;
    // The live SQL register (src/live/): each query run once, its columns named.
    if let Some(settings) = &config.register {
        let timeout = std::time::Duration::from_secs(config.db_timeout_secs);
        let found = crate::live::check::check(settings, cui, timeout).await;
        report.lines.extend(found.lines);
        report.problems.extend(found.problems);
    }
    report
}

async fn check_database(config: &Config, report: &mut Report) {
    let shown = redact_url(&config.database_url);
    if Backend::of_url(&config.database_url) == Some(Backend::Sqlite) {
        match crate::store::sqlite_file(&config.database_url) {
            Ok(path) if !path.exists() => {
                sqlite_not_yet_created(&path, report);
                return;
            }
            Ok(path) => {
                // `serve` refuses a file it may not write; say why in the operator's terms.
                if let Err(e) = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                {
                    report
                        .problems
                        .push(sqlite_cannot_write(&path, &e.to_string()));
                    return;
                }
            }
            Err(e) => {
                report
                    .problems
                    .push(format!("database_url (GHISEUL_DATABASE_URL): {e}"));
                return;
            }
        }
    }
    let store = match open_store(config).await {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(format!(
                "{}. Check database_url (GHISEUL_DATABASE_URL), that the database server runs \
                 and that this machine may connect to it",
                ErrorChain(&e)
            ));
            return;
        }
    };
    if let Err(e) = store.ping().await {
        report.problems.push(format!(
            "the database {shown} does not answer: {}",
            ErrorChain(&anyhow::Error::new(e))
        ));
        return;
    }
    report.lines.push(format!("Database: {shown} answers"));
    let migrations = store.migrations().await.unwrap_or_default();
    let pending = migrations.iter().filter(|m| !m.applied).count();
    if migrations.iter().all(|m| !m.applied) {
        report.lines.push(
            "Database: no tables yet; `serve` creates them at start (or run `ghiseul-connector \
             migrate`). Whether payments can be recorded is checked once they exist."
                .into(),
        );
        store.close().await;
        return;
    }
    if pending > 0 {
        report.lines.push(format!(
            "Database: {pending} migration(s) pending; `serve` applies them at start \
             (`ghiseul-connector migrate --status` lists them)"
        ));
    }
    match store.can_record_payments().await {
        Ok(()) => report.lines.push(
            "Database: a payment can be journaled and recorded (a journal row was written \
             and rolled back)"
                .into(),
        ),
        Err(e) => report
            .problems
            .push(cannot_record(config, &store, &anyhow::Error::new(e))),
    }
    // The live register's outbox: what waits to be written into the tax system.
    if config
        .register
        .as_ref()
        .is_some_and(|r| r.payment_statement.is_some())
    {
        if let Ok((waiting, error)) = crate::store::live::backlog(&store).await {
            report.lines.push(match error {
                Some(e) if waiting > 0 => format!(
                    "Outbox: {waiting} payment item(s) wait to be written into the tax                      system; the last attempt failed: {e}"
                ),
                _ => format!("Outbox: {waiting} payment item(s) wait to be written into the tax system"),
            });
        }
    }
    store.close().await;
}

/// The problem line for a database that answers but cannot take a payment, with what the
/// operator can do about it on each database.
fn cannot_record(config: &Config, store: &Store, e: &anyhow::Error) -> String {
    let cause = ErrorChain(e);
    let login = reqwest::Url::parse(&config.database_url)
        .ok()
        .map(|u| u.username().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "LOGIN".into());
    match store.backend() {
        Backend::Sqlite => sqlite_cannot_write(
            store.sqlite_path().unwrap_or(".".as_ref()),
            &cause.to_string(),
        ),
        Backend::Postgres => format!(
            "payments cannot be recorded: the login `{login}` may read but not write ({cause}); \
             every payment would get fault 3. As the database's owner run: GRANT SELECT, \
             INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA <schema> TO {login}; GRANT USAGE \
             ON ALL SEQUENCES IN SCHEMA <schema> TO {login};"
        ),
        Backend::Mysql => format!(
            "payments cannot be recorded: the login `{login}` may read but not write ({cause}); \
             every payment would get fault 3. As an administrator run: GRANT SELECT, INSERT, \
             UPDATE, DELETE ON <database>.* TO '{login}'@'<host>';"
        ),
    }
}

fn sqlite_cannot_write(path: &std::path::Path, cause: &str) -> String {
    let folder = path
        .parent()
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| ".".into());
    format!(
        "payments cannot be recorded: the database file {} cannot be written by this user \
         ({cause}); every payment would get fault 3 and not be journaled. Give the file, its \
         -wal and -shm files and the folder to the user the service runs as, e.g. \
         `chown -R ghiseul: {folder}`",
        path.display()
    )
}

/// A SQLite file that `serve` would create: its folder (or the nearest existing one, where
/// `serve` would create the rest) must be writable. Tested by a temporary file, removed at
/// once.
fn sqlite_not_yet_created(path: &std::path::Path, report: &mut Report) {
    let mut folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    while !folder.exists() {
        match folder.parent() {
            Some(p) if !p.as_os_str().is_empty() => folder = p.to_path_buf(),
            _ => {
                folder = ".".into();
                break;
            }
        }
    }
    match tempfile::Builder::new()
        .prefix(".ghiseul-check-")
        .tempfile_in(&folder)
    {
        Ok(_) => report.lines.push(format!(
            "Database: {} does not exist yet; `serve` (or `migrate`) will create it",
            path.display()
        )),
        Err(e) => report.problems.push(format!(
            "the database file {} cannot be created: the folder {} is not writable by this \
             user ({e}). Create the folder and give it to the user the service runs as, e.g. \
             `install -d -o ghiseul {}`",
            path.display(),
            folder.display(),
            path.parent().unwrap_or(&folder).display()
        )),
    }
}

/// `migrate`: applies what is pending and says what that was; `--status` only lists.
pub async fn migrate(config: &Config, status_only: bool) -> anyhow::Result<String> {
    let store = open_store(config).await?;
    let before = store
        .migrations()
        .await
        .context("reading the applied migrations")?;
    let shown = redact_url(&config.database_url);
    let mut out = String::new();
    if status_only {
        out.push_str(&format!("Migrations of {shown}:\n"));
        for m in &before {
            let state = if m.applied { "applied" } else { "pending" };
            out.push_str(&format!("  {}  {state:<8} {}\n", m.version, m.description));
        }
        let pending = before.iter().filter(|m| !m.applied).count();
        out.push_str(&match pending {
            0 => "Nothing pending.\n".to_string(),
            n => format!(
                "{n} pending: run `ghiseul-connector migrate` (serve applies them at start too).\n"
            ),
        });
        store.close().await;
        return Ok(out);
    }
    store.migrate().await.context("applying the migrations")?;
    let applied: Vec<_> = before.iter().filter(|m| !m.applied).collect();
    if applied.is_empty() {
        out.push_str(&format!(
            "Nothing to apply: {shown} has all {} migration(s).\n",
            before.len()
        ));
    } else {
        out.push_str(&format!("Applied to {shown}:\n"));
        for m in applied {
            out.push_str(&format!("  {}  {}\n", m.version, m.description));
        }
    }
    store.close().await;
    Ok(out)
}

/// An error and its causes, each said once: `a: b: c`. A cause whose text its parent's
/// message already includes (`cannot read FILE: No such file…` over `No such file…`) is
/// not repeated.
pub struct ErrorChain<'a>(pub &'a anyhow::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut said = String::new();
        for cause in self.0.chain() {
            let text = cause.to_string();
            // Compared without case, by the cause's last part: SQLite's "Error code 8:
            // Attempt to write a readonly database" under "attempt to write a readonly
            // database" says nothing new.
            let lower = text.trim().to_lowercase();
            let last = lower.rsplit(": ").next().unwrap_or(&lower);
            if said.to_lowercase().contains(last) {
                continue;
            }
            if !said.is_empty() {
                said.push_str(": ");
            }
            said.push_str(&text);
        }
        f.write_str(&said)
    }
}
