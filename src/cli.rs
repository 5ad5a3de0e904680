//! The command line: serve, migrate, import, sign, call and audit.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::client::{format_statement, Answer, Client};
use crate::config::{process_env, Config, FileConfig, LogFormat};
use crate::import::read::Encoding;
use crate::import::{import, ImportError, Kind, Options as ImportOptions, Summary};
use crate::messages::SumaIncasata;
use crate::protocol::SoapVersion;
use crate::rules::check::Signer;
use crate::rules::clock;
use crate::startup::{open_store, shutdown_signal, Application};

#[derive(Parser, Debug)]
#[command(
    name = "ghiseul-connector",
    version,
    about = "The institution's web service for ghiseul.ro (SNEP, MO 75/2011 Annex 1)"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: ghiseul.toml in the current folder, if present.
    /// Environment variables (GHISEUL_*) override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the SOAP server.
    Serve {
        /// Starts with a temporary database holding a small demo register and a demo key.
        #[arg(long)]
        demo: bool,
    },
    /// Applies the database migrations to the configured database.
    Migrate,
    /// Validates the configuration and the database connection, and prints what `serve`
    /// would run with (secrets masked).
    CheckConfig,
    /// Loads a CSV file exported by the tax system into the register, all or nothing.
    ///
    /// Columns are found by their header names, in any order (Romanian spellings with or
    /// without diacritics are accepted). Separator `,` or `;` and encoding (UTF-8 with or
    /// without BOM, Windows-1250, ISO-8859-2) are detected; amounts may use a decimal
    /// comma. A record already in the register is updated in place, never doubled; one
    /// whose content did not change is left alone.
    ///
    /// tax-types: id_tip_suma, nume, iban [, prioritate (0), detalii_header, id_nom_unic,
    ///   debit (1; 0 = amount typed by the payer, 2 = fine), val_initiala, inactiv (0),
    ///   platitor (0 = anyone, 1 = natural persons, 2 = legal persons), cod_cls_bug, cod_db]
    ///
    /// persons: CNP/NIF sau CIF/CUI, Nume [, Adresa, Nr. crt.]   (Annex 3's contribuabili.csv)
    ///
    /// debts: cui, id_tip_suma, debit, ramasita, majorari, penalitati, scadenta
    ///   [, descriere, id_debit]. A debt is identified by its taxpayer and id_debit (the tax
    ///   system's debt id) or, without one, by id_tip_suma + scadenta + descriere.
    #[command(verbatim_doc_comment)]
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: ImportKind,
        /// The CSV file.
        file: PathBuf,
        /// The file is the whole register of its kind: persons and debts absent from it are
        /// removed (persons are queued for deletion at ghiseul.ro; their payments are kept),
        /// tax types absent from it are marked inactive.
        #[arg(long)]
        replace: bool,
        /// Check the whole file and print what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The file's encoding, when detection is not wanted.
        #[arg(long, value_enum)]
        encoding: Option<Encoding>,
        /// Debts only: the payments recorded here at or before TIME ("YYYY-MM-DD" or
        /// "YYYY-MM-DD HH:MM:SS", Romanian time) are already booked in the tax system, so
        /// the file's balances count them. Later payments are still subtracted.
        #[arg(long, value_name = "TIME")]
        booked_until: Option<String>,
    },
    /// Prints the HMAC-SHA1 check of TEXT (hex), for testing by hand, e.g. in SoapUI.
    Sign {
        /// The key shared with ghiseul.ro.
        #[arg(long)]
        key: String,
        /// The exact concatenated text to sign (see docs: which values, in which order).
        text: String,
    },
    /// Prints the audit log of SOAP requests (newest first) from the configured database.
    /// Times are UTC; CNPs are masked but for their last three digits.
    Audit {
        /// Only requests at or after this time: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" (UTC).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only requests at or before this time (a bare date includes the whole day).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only one operation.
        #[arg(long, value_enum)]
        operation: Option<AuditOperation>,
        /// Only requests answered with this fault code (1, 2 or 3).
        #[arg(long, value_name = "CODE", value_parser = clap::value_parser!(u8).range(1..=3))]
        fault: Option<u8>,
        /// At most this many rows.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Writes what was paid, for the tax system or a person.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Printable reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Users of the web console (`/admin/` on admin_listen).
    #[command(subcommand)]
    User(UserCommand),
    /// Calls a running server exactly as ghiseul.ro does and prints the verified answer.
    Call {
        /// The SOAP endpoint. Default: the configured public URL.
        #[arg(long)]
        url: Option<String>,
        /// The shared key. Default: GHISEUL_HMAC_KEY or hmac_key of the configuration.
        #[arg(long)]
        key: Option<String>,
        /// Namespace of the operation element. Default: the configured namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// Speaks SOAP 1.2 instead of SOAP 1.1.
        #[arg(long)]
        soap12: bool,
        #[command(subcommand)]
        operation: CallOperation,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// One row per paid item (or, with --allocations, per debt component touched), each
    /// with a growing sequence number. With --consumer NAME and --out FILE, takes exactly
    /// the items that consumer has not taken yet, and remembers that only once FILE is
    /// completely written, synced and renamed into place.
    Payments(crate::payout::cli::PaymentsArgs),
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// The day's receipts per account and tax type, the total and the exceptions.
    Daily(crate::payout::cli::DailyArgs),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Adds a console user, or sets a new password for one; asks for the password twice
    /// (or reads one line from standard input with --password-stdin).
    Add(crate::payout::cli::UserAddArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditOperation {
    /// getSumeDePlataPePersoana
    #[value(name = "getSume", alias = "getSumeDePlataPePersoana")]
    GetSume,
    /// inregistrareIncasari
    #[value(name = "inregistrare", alias = "inregistrareIncasari")]
    Inregistrare,
}

impl AuditOperation {
    fn name(self) -> &'static str {
        match self {
            AuditOperation::GetSume => "getSumeDePlataPePersoana",
            AuditOperation::Inregistrare => "inregistrareIncasari",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum CallOperation {
    /// getSumeDePlataPePersoana: what does this person owe?
    GetSume {
        /// CNP/NIF or CIF/CUI.
        cui: String,
    },
    /// inregistrareIncasari: record a payment.
    Pay {
        /// ghiseul.ro's payment number.
        #[arg(long)]
        order: String,
        #[arg(long)]
        cui: String,
        /// Payment date "YYYY-MM-DD HH:MM:SS". Default: now (Europe/Bucharest).
        #[arg(long)]
        data: Option<String>,
        /// Amounts paid per tax type, as ID_TIP_SUMA=VALOARE (e.g. 1=150.00 4=96.00).
        #[arg(required = true, value_name = "ID_TIP_SUMA=VALOARE")]
        sume: Vec<String>,
    },
}

/// Logs go to standard error, human-readable or one JSON object a line; `GHISEUL_LOG` sets
/// the level (default `info`).
fn init_logging(file: &FileConfig) {
    let json = match process_env("GHISEUL_LOG_FORMAT") {
        Some(v) => v.eq_ignore_ascii_case("json"),
        None => file.log_format == Some(LogFormat::Json),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GHISEUL_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = FileConfig::load(cli.config.as_deref())?;
    init_logging(&file);
    match cli.command {
        Command::Serve { demo } => serve(file, demo).await,
        Command::Migrate => {
            let config = Config::resolve(file, &process_env, false)?;
            let store = open_store(&config).await?;
            store.migrate().await.context("applying the migrations")?;
            println!(
                "Migrations applied to {}",
                crate::store::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Import {
            kind,
            file: path,
            replace,
            dry_run,
            encoding,
            booked_until,
        } => {
            let kind = kind.into();
            if booked_until.is_some() && kind != Kind::Debts {
                bail!("--booked-until applies to debts only: it says which of our payments the tax system's balances already count");
            }
            let booked_until = booked_until.map(|t| booked_time(&t)).transpose()?;
            let config = Config::resolve(file, &process_env, false)?;
            let store = open_store(&config).await?;
            store.migrate().await.context("applying the migrations")?;
            let input = std::fs::File::open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let options = ImportOptions {
                replace,
                dry_run,
                encoding,
                booked_until,
                size: input.metadata().ok().map(|m| m.len()),
            };
            let started = std::time::Instant::now();
            let input = std::io::BufReader::with_capacity(1 << 20, input);
            match import(&store, kind, input, &options).await {
                Ok(summary) => {
                    println!(
                        "{}",
                        describe_import(&summary, &path, started.elapsed().as_secs_f64())
                    );
                    Ok(())
                }
                Err(e @ ImportError::BadRows { .. }) => {
                    bail!(
                        "{e}\nFix these rows in {} and import the file again (`import {} --help` lists the columns).",
                        path.display(),
                        ImportKind::from(kind).name()
                    )
                }
                Err(e @ ImportError::Read(_)) => {
                    bail!("{}: {e}", path.display())
                }
                Err(e) => Err(e).with_context(|| format!("importing {}", path.display())),
            }
        }
        Command::CheckConfig => check_config(file).await,
        Command::Audit {
            since,
            until,
            operation,
            fault,
            limit,
            json,
        } => {
            let time = |t: Option<String>, end: bool| -> anyhow::Result<_> {
                t.map(|t| {
                    crate::store::audit::parse_time(&t, end).with_context(|| {
                        format!("`{t}` is not a time: use \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\" (UTC)")
                    })
                })
                .transpose()
            };
            let filter = crate::store::audit::Filter {
                since: time(since, false)?,
                until: time(until, true)?,
                operation: operation.map(AuditOperation::name),
                fault_code: fault,
                limit,
            };
            let config = Config::resolve(file, &process_env, false)?;
            let store = open_store(&config).await?;
            let rows = crate::store::audit::query(&store, &filter)
                .await
                .context("reading the audit log (run `ghiseul-connector migrate` if the database predates it)")?;
            let out = if json {
                serde_json::to_string_pretty(&rows)? + "\n"
            } else if rows.is_empty() {
                "No audit rows match.\n".to_string()
            } else {
                crate::store::audit::format_table(&rows)
            };
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(out.as_bytes());
            Ok(())
        }
        Command::Export(ExportCommand::Payments(args)) => {
            crate::payout::cli::export_payments(file, args).await
        }
        Command::Report(ReportCommand::Daily(args)) => {
            crate::payout::cli::report_daily(file, args).await
        }
        Command::User(UserCommand::Add(args)) => crate::payout::cli::user_add(file, args).await,
        Command::Sign { key, text } => {
            println!("{}", Signer::new(key.as_bytes()).sign(&text));
            Ok(())
        }
        Command::Call {
            url,
            key,
            namespace,
            soap12,
            operation,
        } => {
            let config = Config::resolve(file, &process_env, false)?;
            let url = url.unwrap_or_else(|| config.public_url.clone());
            let namespace = namespace.unwrap_or_else(|| config.namespace.clone());
            let key = key.or_else(|| Some(config.hmac_key.clone()).filter(|k| !k.is_empty())).context(
                "no key: pass --key KEY, or set GHISEUL_HMAC_KEY (the key the server was started with)",
            )?;
            let version = if soap12 {
                SoapVersion::V12
            } else {
                SoapVersion::V11
            };
            let client = Client::new(&url, &namespace, &key, version)?;
            call(&client, operation).await
        }
    }
}

async fn call(client: &Client, operation: CallOperation) -> anyhow::Result<()> {
    match operation {
        CallOperation::GetSume { cui } => match client.get_sume(&cui).await? {
            Answer::Ok(resp) => {
                // A closed pipe (`| head`) is not an error worth a panic.
                use std::io::Write as _;
                let _ = std::io::stdout().write_all(format_statement(&cui, &resp).as_bytes());
                Ok(())
            }
            Answer::Fault { code, text } => bail!("fault {code}: {text}"),
        },
        CallOperation::Pay {
            order,
            cui,
            data,
            sume,
        } => {
            let data = data.unwrap_or_else(|| clock::now().format("%Y-%m-%d %H:%M:%S").to_string());
            let mut items = Vec::new();
            for s in &sume {
                let Some((id, valoare)) = s.split_once('=') else {
                    bail!("`{s}` is not ID_TIP_SUMA=VALOARE (e.g. 1=150.00)");
                };
                items.push(SumaIncasata {
                    id_tip_suma: id.trim().to_string(),
                    valoare: valoare.trim().to_string(),
                });
            }
            match client.pay(&order, &cui, &data, items).await? {
                Answer::Ok(true) => {
                    println!("inregistrareIncasariResult: true (order {order} is recorded)");
                    Ok(())
                }
                Answer::Ok(false) => bail!(
                    "inregistrareIncasariResult: false (order {order} was not recorded: it exists with other content, or names an unknown tax type; see the journal)"
                ),
                Answer::Fault { code, text } => bail!("fault {code}: {text}"),
            }
        }
    }
}

async fn serve(file: FileConfig, demo: bool) -> anyhow::Result<()> {
    let mut config = if demo {
        let mut c = Config::resolve(file, &process_env, false)?;
        c.hmac_key = crate::demo::DEMO_KEY.to_string();
        c
    } else {
        Config::resolve(file, &process_env, true)?
    };
    let _demo_dir = if demo {
        let dir = tempfile::Builder::new()
            .prefix("ghiseul-demo-")
            .tempdir()
            .context("creating a temporary folder for the demo database")?;
        config.database_url = format!("sqlite://{}", dir.path().join("demo.db").display());
        Some(dir)
    } else {
        None
    };
    let app = Application::build(&config).await?;
    if demo {
        crate::demo::load(app.store())
            .await
            .context("loading the demo register")?;
    }
    let addr = app.local_addr();
    tracing::info!(%addr, soap_path = %config.soap_path, database = %crate::store::redact_url(&config.database_url), "listening");
    if demo {
        print_demo_help(&config);
    }
    app.run(shutdown_signal()).await
}

fn print_demo_help(config: &Config) {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| {
            let cwd = std::env::current_dir().ok()?;
            Some(p.strip_prefix(&cwd).map(|r| r.to_path_buf()).unwrap_or(p))
        })
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "ghiseul-connector".to_string());
    let (cui, _) = crate::demo::SAMPLE_CUIS[0];
    println!();
    println!(
        "ghiseul-connector demo: {} (WSDL at {}?wsdl)",
        config.public_url, config.public_url
    );
    println!(
        "Demo HMAC key: {}   (demo only; the database is temporary and deleted on exit)",
        crate::demo::DEMO_KEY
    );
    println!("CUIs to try:");
    for (cui, who) in crate::demo::SAMPLE_CUIS {
        println!("  {cui:<14} {who}");
    }
    println!();
    println!("Query one, in another terminal:");
    println!(
        "  {exe} call --url {} --key {} get-sume {cui}",
        config.public_url,
        crate::demo::DEMO_KEY
    );
    println!("Pay part of it:");
    println!(
        "  {exe} call --url {} --key {} pay --order 1001 --cui {cui} 1=200.00",
        config.public_url,
        crate::demo::DEMO_KEY
    );
    println!("Stop with Ctrl-C.");
}

async fn check_config(file: FileConfig) -> anyhow::Result<()> {
    let config = Config::resolve(file, &process_env, true)?;
    println!("{config:#?}");
    if let Some(tls) = &config.tls {
        crate::startup::load_tls(tls).await?;
        println!("TLS: certificate and key load");
    }
    let store = open_store(&config).await?;
    store.ping().await.context("the database does not answer")?;
    println!(
        "Database: reachable ({})",
        crate::store::redact_url(&config.database_url)
    );
    println!("Configuration OK.");
    Ok(())
}

/// The kinds of register file, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    TaxTypes,
    Persons,
    Debts,
}

impl ImportKind {
    fn name(self) -> &'static str {
        match self {
            ImportKind::TaxTypes => "tax-types",
            ImportKind::Persons => "persons",
            ImportKind::Debts => "debts",
        }
    }
}

impl From<ImportKind> for Kind {
    fn from(k: ImportKind) -> Kind {
        match k {
            ImportKind::TaxTypes => Kind::TaxTypes,
            ImportKind::Persons => Kind::Persons,
            ImportKind::Debts => Kind::Debts,
        }
    }
}

impl From<Kind> for ImportKind {
    fn from(k: Kind) -> ImportKind {
        match k {
            Kind::TaxTypes => ImportKind::TaxTypes,
            Kind::Persons => ImportKind::Persons,
            Kind::Debts => ImportKind::Debts,
        }
    }
}

/// `--booked-until`: a date (the whole day) or a time, Romanian local time, in the form
/// payments are recorded in.
fn booked_time(text: &str) -> anyhow::Result<String> {
    let t = text.trim();
    if chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() && t.len() == 10 {
        return Ok(format!("{t} 23:59:59"));
    }
    if chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_ok() && t.len() == 19 {
        return Ok(t.to_string());
    }
    bail!("--booked-until `{text}` is not a time: use \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\" (Romanian time)")
}

/// The one-line summary of an import.
fn describe_import(s: &Summary, path: &std::path::Path, secs: f64) -> String {
    let c = &s.counts;
    let mut line = format!(
        "{} {} from {}: {} row(s) in {secs:.2} s ({:.0} rows/s); {} added, {} changed, {} unchanged, {} removed",
        if s.dry_run { "Dry run:" } else { "Imported" },
        s.kind.name(),
        path.display(),
        s.rows,
        s.rows as f64 / secs.max(1e-9),
        c.added,
        c.changed,
        c.unchanged,
        c.removed,
    );
    if s.booked > 0 {
        line.push_str(&format!("; {} payment(s) marked as booked", s.booked));
    }
    line.push_str(if s.dry_run {
        ". Nothing was written."
    } else {
        "."
    });
    line
}
