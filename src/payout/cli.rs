//! The command-line side of payments out: `export payments`, `report daily`, `user add`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::NaiveDate;

use super::{export, report, ExportRequest, Format};
use crate::config::{process_env, Config, FileConfig};
use crate::startup::open_store;

#[derive(clap::Args, Debug)]
pub struct PaymentsArgs {
    /// csv (the default) or json (one object a line).
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// CSV for Romanian Excel: `;`-separated, UTF-8 with BOM, decimal comma, CNPs as text.
    #[arg(long)]
    pub excel: bool,
    /// One row per debt component touched (with the tax system's id_debit), and one per
    /// credit, instead of one per paid item.
    #[arg(long)]
    pub allocations: bool,
    /// Only payments received on or after this day (YYYY-MM-DD, Romanian time).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Only payments received on or before this day (YYYY-MM-DD, Romanian time).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Only items with a sequence number above SEQ.
    #[arg(long, value_name = "SEQ")]
    pub after: Option<i64>,
    /// Take only what consumer NAME has not taken yet, and remember it once FILE is in
    /// place (needs --out).
    #[arg(long, value_name = "NAME")]
    pub consumer: Option<String>,
    /// Write to FILE (through a temporary file, synced and renamed) instead of standard
    /// output. With --consumer, FILE must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct DailyArgs {
    /// The day, YYYY-MM-DD (Romanian time). Default: today.
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// csv, html (printable, A4) or pdf (A4; needs --out).
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Html,
    Pdf,
}

#[derive(clap::Args, Debug)]
pub struct UserAddArgs {
    /// The user's login name.
    pub name: String,
    /// Read the password from the first line of standard input instead of asking.
    #[arg(long)]
    pub password_stdin: bool,
}

fn date(text: &str, flag: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").with_context(|| {
        format!("{flag} `{text}` is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01")
    })
}

/// Who runs the command, for the audit.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "?".into());
    format!("cli:{user}")
}

async fn store_for(file: FileConfig) -> anyhow::Result<(Config, crate::store::Store)> {
    let config = Config::resolve(file, &process_env, false)?;
    let store = open_store(&config).await?;
    store.migrate().await.context("applying the migrations")?;
    Ok((config, store))
}

pub async fn export_payments(file: FileConfig, a: PaymentsArgs) -> anyhow::Result<()> {
    if a.excel && a.format != Format::Csv {
        bail!("--excel is a form of CSV: drop --format json, or drop --excel");
    }
    let req = ExportRequest {
        format: a.format,
        excel: a.excel,
        allocations: a.allocations,
        from: a.from.as_deref().map(|d| date(d, "--from")).transpose()?,
        to: a.to.as_deref().map(|d| date(d, "--to")).transpose()?,
        after: a.after,
        consumer: a.consumer.map(|c| c.trim().to_string()),
        out: a.out,
        actor: actor(),
    };
    if req.consumer.as_deref() == Some("") {
        bail!("--consumer needs a name, e.g. --consumer contabilitate");
    }
    let (_, store) = store_for(file).await?;
    let mut stdout = std::io::stdout().lock();
    let done = export(&store, &req, &mut stdout).await?;
    if let Some(note) = &done.recovered {
        eprintln!("{note}");
    }
    if let Some(out) = &req.out {
        eprintln!(
            "Exported {} row(s) ({} item(s), {} lei, sequence {}..{}) to {}",
            done.rows,
            done.items,
            done.total,
            done.seq.0 + 1,
            done.seq.1,
            out.display()
        );
    }
    Ok(())
}

pub async fn report_daily(file: FileConfig, a: DailyArgs) -> anyhow::Result<()> {
    if a.format == ReportFormat::Pdf && a.out.is_none() {
        use std::io::IsTerminal as _;
        if std::io::stdout().is_terminal() {
            bail!("a PDF on the terminal is unreadable: add --out borderou.pdf");
        }
    }
    let day = match &a.date {
        Some(d) => date(d, "--date")?,
        None => crate::rules::clock::now().date_naive(),
    };
    let (config, store) = store_for(file).await?;
    let d = report::daily(&store, day, &config.institutie.nume)
        .await
        .context("reading the day's payments (run `ghiseul-connector migrate` if the database predates reports)")?;
    let bytes = match a.format {
        ReportFormat::Csv => report::csv(&d)?.into_bytes(),
        ReportFormat::Html => report::html(&d).into_bytes(),
        ReportFormat::Pdf => super::pdf::render(&d)?,
    };
    match &a.out {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&bytes);
        }
    }
    Ok(())
}

pub const MIN_PASSWORD: usize = 10;

pub async fn user_add(file: FileConfig, a: UserAddArgs) -> anyhow::Result<()> {
    let name = a.name.trim();
    if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
        bail!("the user name must be 1 to 64 printable characters, e.g. `user add ana.pop`");
    }
    let password = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let p = rpassword::prompt_password(format!("Password for {name}: "))
            .context("reading the password (no terminal? use --password-stdin)")?;
        let again = rpassword::prompt_password("Again: ")?;
        if p != again {
            bail!("the two passwords differ; nothing was changed, run the command again");
        }
        p
    };
    if password.chars().count() < MIN_PASSWORD {
        bail!("the password must have at least {MIN_PASSWORD} characters; nothing was changed");
    }
    let hash = crate::console::hash_password(&password)?;
    let (_, store) = store_for(file).await?;
    crate::store::payout::set_user(&store, name, &hash).await?;
    crate::store::payout::audit(&store, &actor(), "user add", name).await?;
    println!("User `{name}` can now log in to the console at /admin/ on admin_listen.");
    Ok(())
}
