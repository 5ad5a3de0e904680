//! The command line: serve, migrate, import, sign, call, audit, sync and simulate-transfer.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

pub use crate::checks::ErrorChain;
use crate::client::{format_statement, Answer, Client};
use crate::config::{process_env, Config, FileConfig, LogFormat};
use crate::import::read::Encoding;
use crate::import::{import, ImportError, Kind, Options as ImportOptions, Summary};
use crate::messages::SumaIncasata;
use crate::protocol::SoapVersion;
use crate::rules::check::Signer;
use crate::rules::clock;
use crate::startup::{open_store, shutdown_signal, Application};
use crate::terminal;

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
    /// With several institutions in the configuration ([[institutie]] sections): the CUI
    /// of the one a command works on (import, export, sync, journal, audit, call, ...).
    /// Required when there are several, optional with one.
    #[arg(long, global = true, value_name = "CUI")]
    pub institutie: Option<String>,
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
    /// Applies the database migrations that are pending and lists what was applied (or
    /// says that nothing was pending).
    Migrate {
        /// Only lists each migration as applied or pending; changes nothing.
        #[arg(long)]
        status: bool,
    },
    /// Checks the configuration as `serve` would use it — addresses, public URL, TLS files,
    /// the database, and that a payment can be journaled there (a journal row written and
    /// rolled back) — prints the settings in force (secrets masked) and one line per
    /// problem with what to do. Leaves nothing behind: no database file is created.
    CheckConfig {
        /// With a live register (register_url): run its queries for this CNP/CUI (by
        /// default for a value that finds nobody, which checks the columns only).
        #[arg(long)]
        cui: Option<String>,
    },
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
    /// Writes a file: what was paid (for the tax system), or the register (Annexes 3, 5).
    Export {
        #[command(subcommand)]
        what: ExportCommand,
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
    /// Times are shown and read in Romanian time (the table gives each one's UTC offset;
    /// `--json` keeps them as stored, in UTC). CNPs are masked but for their last three
    /// digits.
    Audit {
        /// Only requests at or after this time: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"
        /// (Romanian time).
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
    /// Prints the payment journal (newest first): every verified inregistrareIncasari
    /// request with what became of it. Times are shown and read in Romanian time (the
    /// table gives each one's UTC offset; `--json` keeps them as stored).
    Journal {
        /// Only this ghiseul.ro order number.
        #[arg(long, value_name = "N")]
        order: Option<String>,
        /// Only this CNP/CIF, as sent by ghiseul.ro.
        #[arg(long)]
        cui: Option<String>,
        /// Only requests received at or after this time: "YYYY-MM-DD" or
        /// "YYYY-MM-DD HH:MM:SS" (Romanian time).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Only requests received at or before this time (a bare date includes the day).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Only this outcome.
        #[arg(long, value_enum)]
        outcome: Option<JournalOutcome>,
        /// At most this many rows.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
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
        /// The shared key. Default: the configured one (GHISEUL_HMAC_KEY, hmac_key,
        /// GHISEUL_HMAC_KEY_FILE or hmac_key_file, in that order).
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
    /// Brings ghiseul.ro's copy of the register up to date through its Transfer service
    /// (Annex 2): tax types, persons, PFA, deletions. Needs the transfer_* settings.
    Sync {
        /// Prints what would be sent (counts per register and the first records), calling
        /// nothing, from what ghiseul.ro last acknowledged.
        #[arg(long, conflicts_with = "status")]
        dry_run: bool,
        /// Prints what ghiseul.ro last acknowledged per register and when, and the last runs.
        #[arg(long)]
        status: bool,
    },
    /// Runs a simulator of ghiseul.ro's Transfer service (Annex 2) to rehearse `sync`:
    /// verifies checks, idClient, userClient, identifiers, IBANs, duplicates and the 1000
    /// limit, keeps what it accepts in memory and prints each packet.
    SimulateTransfer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// The key the checks are made with (transfer_key of the institution).
        #[arg(long)]
        key: String,
        /// The idClient to accept.
        #[arg(long)]
        id_client: u64,
        /// The userClient to accept.
        #[arg(long)]
        user_client: String,
        /// Answer fault CODE instead: `N:CODE` on the N-th request, `OPERATION:CODE` on
        /// every call of an operation, `OPERATION#N:CODE` on its N-th call. Repeatable.
        #[arg(long, value_name = "CALL:CODE")]
        fault_on: Vec<crate::transfer::simulator::FaultRule>,
        /// Waits this long before answering each packet (a slow ghiseul.ro).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Prints nothing per accepted packet.
        #[arg(long)]
        quiet: bool,
    },
}

/// What became of a journaled payment request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JournalOutcome {
    /// Recorded now (answered true).
    Recorded,
    /// The same order with the same content again: nothing changed (answered true).
    Retry,
    /// The order exists with other content: not recorded (answered false).
    Conflict,
    /// An amount for a tax type not in the register: not recorded (answered false).
    #[value(name = "unknown_tax_type", alias = "unknown-tax-type")]
    UnknownTaxType,
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// What was paid, for the tax system: one row per paid item (or, with --allocations,
    /// per debt component touched), each with a growing sequence number. With --consumer
    /// NAME and --out FILE, takes exactly the items that consumer has not taken yet, and
    /// remembers that only once FILE is completely written, synced and renamed into place.
    Payments(crate::payout::cli::PaymentsArgs),
    /// Annex 3's contribuabili.csv (for institutions without a tax system of their own):
    /// every taxpayer of the register, columns Nr. crt.; CNP/NIF sau CIF/CUI; Nume;
    /// Adresa, separated by `;`, UTF-8 with a byte-order mark, CRLF line ends.
    Contribuabili {
        /// The file to write (replaced whole, never left half-written). Default: standard
        /// output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Annex 5's AdminCreante.xml for ANAF: every debt of the register, one line per debt
    /// and category (R rămășiță, C curent, A accesorii), valid against AdminCreante.xsd.
    /// Needs institutie_cui / GHISEUL_INSTITUTIE_CUI, and cod_cls_bug and cod_db on every
    /// tax type with debts.
    AdminCreante {
        /// The file to write (replaced whole, never left half-written). Default: standard
        /// output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The unit of sumaI and sumaR, which the norm does not give: whole lei (each
        /// amount rounded to the nearest leu, 50 bani up) or bani.
        #[arg(long, value_enum, default_value_t = crate::export::Unit::Lei)]
        unit: crate::export::Unit,
    },
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
        /// Prints the answer's fields as the protocol names them (idTipSuma, prioritate,
        /// valoare, dataCalcul, timestamp, check) instead of the table.
        #[arg(long)]
        raw: bool,
    },
    /// inregistrareIncasari: record a payment.
    Pay {
        /// ghiseul.ro's payment number.
        #[arg(long)]
        order: String,
        #[arg(long)]
        cui: String,
        /// Payment date "YYYY-MM-DD HH:MM:SS". Default: now (Europe/Bucharest). To repeat
        /// a payment as ghiseul.ro retries it, give the same --data as the first time: it
        /// is part of the payment's content.
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
    // Colours only for a person at a terminal: not in a file, a pipe or the journal.
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
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
    let variables: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    for warning in crate::config::unknown_environment(variables.iter().map(String::as_str)) {
        tracing::warn!("{warning}");
    }
    // Several institutions: `serve` and `check-config` take them all, every other command
    // the one `--institutie` names (src/tenancy).
    let file = match &cli.command {
        Command::Serve { demo: false } | Command::CheckConfig { .. }
            if !file.institutions.is_empty() =>
        {
            file
        }
        // They use no register.
        Command::Sign { .. } | Command::SimulateTransfer { .. } => file,
        _ => crate::tenancy::select(file, cli.institutie.as_deref(), &process_env)?,
    };
    match cli.command {
        Command::Serve { demo: false } if !file.institutions.is_empty() => {
            serve_several(file, cli.config.clone()).await
        }
        Command::CheckConfig { cui } if !file.institutions.is_empty() => {
            check_several(file, cui.as_deref()).await
        }
        Command::Serve { demo } => serve(file, demo).await,
        Command::Migrate { status } => {
            let config = Config::resolve(file, &process_env, false)?;
            print!("{}", crate::checks::migrate(&config, status).await?);
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
        Command::CheckConfig { cui } => check_config(file, cui.as_deref()).await,
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
                    crate::store::audit::parse_time(&t, end)
                        .map(crate::rules::clock::local_to_utc)
                        .with_context(|| {
                            format!("`{t}` is not a time: use \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\" (Romanian time)")
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
            terminal::print_listing(&rows, json, "No audit rows match.", terminal::audit_table)
        }
        Command::Export {
            what: ExportCommand::Payments(args),
        } => crate::payout::cli::export_payments(file, args).await,
        Command::Report(ReportCommand::Daily(args)) => {
            crate::payout::cli::report_daily(file, args).await
        }
        Command::User(UserCommand::Add(args)) => crate::payout::cli::user_add(file, args).await,
        Command::Sync { dry_run, status } => {
            let config = Config::resolve(file, &process_env, false)?;
            let store = open_store(&config).await?;
            store.migrate().await.context("applying the migrations")?;
            use std::io::Write as _;
            if status {
                let text = crate::transfer::sync::status(&store).await?;
                let _ = std::io::stdout().write_all(text.as_bytes());
                return Ok(());
            }
            let report = crate::transfer::sync::run(
                &store,
                &config.transfer,
                crate::transfer::sync::Options {
                    dry_run,
                    ..Default::default()
                },
            )
            .await;
            let _ = std::io::stdout().write_all(report.render().as_bytes());
            let _ = std::io::stdout().flush();
            store.close().await;
            match report.error {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        Command::SimulateTransfer {
            listen,
            key,
            id_client,
            user_client,
            fault_on,
            delay_ms,
            quiet,
        } => {
            let sim = crate::transfer::simulator::Simulator::start(
                crate::transfer::simulator::SimConfig {
                    key,
                    id_client,
                    user_client,
                    faults: fault_on,
                    delay: std::time::Duration::from_millis(delay_ms),
                    print: !quiet,
                },
                &listen,
            )
            .await
            .with_context(|| format!("listening on {listen}"))?;
            println!(
                "Transfer simulator on {} (WSDL at {}?wsdl); set transfer_url to it. Stop with Ctrl-C.",
                sim.url(),
                sim.url()
            );
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = sim.wait() => {}
            }
            Ok(())
        }
        Command::Journal {
            order,
            cui,
            from,
            to,
            outcome,
            limit,
            json,
        } => {
            let time = |t: Option<String>, end: bool| -> anyhow::Result<_> {
                t.map(|t| {
                    crate::store::audit::parse_time(&t, end)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .with_context(|| {
                            format!("`{t}` is not a time: use \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\" (Romanian time)")
                        })
                })
                .transpose()
            };
            let filter = crate::store::journal::Filter {
                order,
                cui,
                from: time(from, false)?,
                to: time(to, true)?,
                outcome: outcome.map(|o| {
                    use clap::ValueEnum as _;
                    o.to_possible_value()
                        .map(|v| v.get_name().to_string())
                        .unwrap_or_default()
                }),
                limit,
            };
            let config = Config::resolve(file, &process_env, false)?;
            let store = open_store(&config).await?;
            let rows = crate::store::journal::query(&store, &filter)
                .await
                .context("reading the payment journal (run `ghiseul-connector migrate` if the database has no tables yet)")?;
            terminal::print_listing(
                &rows,
                json,
                "No journal rows match.",
                terminal::journal_table,
            )
        }

        Command::Export { what } => {
            let config = Config::resolve(file, &process_env, false)?;
            export(&config, what).await
        }
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
            let no_key = match &config.hmac_key_problem {
                Some(problem) => format!("no key: {problem}; or pass --key KEY"),
                None => "no key: pass --key KEY, or configure the key the server was started \
                         with (hmac_key_file / GHISEUL_HMAC_KEY_FILE naming a file that holds \
                         it, or hmac_key / GHISEUL_HMAC_KEY)"
                    .to_string(),
            };
            let key = key
                .or_else(|| Some(config.hmac_key.clone()).filter(|k| !k.is_empty()))
                .context(no_key)?;
            let version = if soap12 {
                SoapVersion::V12
            } else {
                SoapVersion::V11
            };
            let client = Client::new(&url, &namespace, &key, version)?;
            call(&client, &config, operation).await
        }
    }
}

/// The tax types' names from the configured database, when it can be read from here (on
/// the server itself); none otherwise. Never creates a database.
async fn tax_type_names(config: &Config) -> std::collections::HashMap<String, String> {
    let url = &config.database_url;
    if crate::store::Backend::of_url(url) == Some(crate::store::Backend::Sqlite)
        && !crate::store::sqlite_file(url).is_ok_and(|p| p.exists())
    {
        return Default::default();
    }
    let timeouts = crate::store::Timeouts {
        acquire: std::time::Duration::from_secs(2),
    };
    let Ok(store) = crate::store::Store::connect(url, 1, timeouts).await else {
        return Default::default();
    };
    let names = crate::store::journal::tax_type_names(&store)
        .await
        .unwrap_or_default();
    store.close().await;
    names
}

async fn call(client: &Client, config: &Config, operation: CallOperation) -> anyhow::Result<()> {
    match operation {
        CallOperation::GetSume { cui, raw } => match client.get_sume(&cui).await? {
            Answer::Ok(resp) => {
                let text = if raw {
                    format_statement(&cui, &resp)
                } else {
                    let names = tax_type_names(config).await;
                    crate::client::format_statement_for_people(&cui, &resp, &names)
                };
                // A closed pipe (`| head`) is not an error worth a panic.
                use std::io::Write as _;
                let _ = std::io::stdout().write_all(text.as_bytes());
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
            let (answer, told) = client.pay_telling(&order, &cui, &data, items).await?;
            let see = format!("see `ghiseul-connector journal --order {order}`");
            match (answer, told.as_deref()) {
                (Answer::Ok(true), Some("recorded")) => {
                    println!("inregistrareIncasariResult: true — order {order} is a new payment, recorded now");
                    Ok(())
                }
                (Answer::Ok(true), Some("retry")) => {
                    println!("inregistrareIncasariResult: true — order {order} was already recorded with the same content; nothing changed (a retry)");
                    Ok(())
                }
                (Answer::Ok(true), _) => {
                    println!("inregistrareIncasariResult: true (order {order} is recorded)");
                    Ok(())
                }
                (Answer::Ok(false), Some("conflict")) => bail!(
                    "inregistrareIncasariResult: false — order {order} was NOT recorded: it was recorded before with other content ({see})"
                ),
                (Answer::Ok(false), Some("unknown_tax_type")) => bail!(
                    "inregistrareIncasariResult: false — order {order} was NOT recorded: an amount names a tax type that is not in the register ({see})"
                ),
                (Answer::Ok(false), _) => bail!(
                    "inregistrareIncasariResult: false (order {order} was not recorded: it exists with other content, or names an unknown tax type; {see})"
                ),
                (Answer::Fault { code, text }, _) => bail!("fault {code}: {text}"),
            }
        }
    }
}

async fn export(config: &Config, what: ExportCommand) -> anyhow::Result<()> {
    use crate::export::{admin_creante, contribuabili, Output};
    let out = match &what {
        ExportCommand::Contribuabili { out } | ExportCommand::AdminCreante { out, .. } => out,
        ExportCommand::Payments(_) => unreachable!("run by payout::cli::export_payments"),
    };
    let store = open_store(config).await?;
    store.migrate().await.context("applying the migrations")?;
    let mut output = Output::create(out.as_deref())?;
    let name = output.name();
    let summary = match what {
        ExportCommand::Payments(_) => unreachable!("run by payout::cli::export_payments"),
        ExportCommand::Contribuabili { .. } => {
            let n = contribuabili(&store, &mut output).await?;
            format!("Wrote contribuabili.csv (Annex 3) to {name}: {n} taxpayer(s).")
        }
        ExportCommand::AdminCreante { unit, .. } => {
            let today = crate::export::admin_creante::date(&clock::now());
            let t = admin_creante(&store, &config.institutie, unit, &today, &mut output).await?;
            let lei = |b: i64| crate::rules::money::Bani(b).to_string();
            let mut s = format!(
                "Wrote AdminCreante.xml (Annex 5) to {name}: {} line(s), {} debt(s) of {} taxpayer(s); amounts in {}.",
                t.lines(),
                t.debts,
                t.taxpayers,
                match unit {
                    crate::export::Unit::Lei => "whole lei",
                    crate::export::Unit::Bani => "bani",
                }
            );
            for (cat, (lines, initial, rest)) in ["R", "C", "A"].iter().zip(t.by_category) {
                s.push_str(&format!(
                    "\n  {cat}: {lines} line(s), sumaI {} lei, sumaR {} lei (exact, before rounding)",
                    lei(initial),
                    lei(rest)
                ));
            }
            s
        }
    };
    output.finish()?;
    // On standard output the file is the output: the summary goes to standard error.
    if out.is_some() {
        println!("{summary}");
    } else {
        eprintln!("{summary}");
    }
    Ok(())
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

/// `serve` with several institutions: each on its own path and database, Annex 4 on
/// `/zf`; SIGHUP adds the institutions added to the file.
async fn serve_several(file: FileConfig, path: Option<PathBuf>) -> anyhow::Result<()> {
    let (server, institutions) = crate::tenancy::resolve_all(file, &process_env, true)?;
    let reloader: crate::tenancy::server::Reloader = Box::new(move || {
        let file = FileConfig::load(path.as_deref())?;
        Ok(crate::tenancy::resolve_all(file, &process_env, true)?.1)
    });
    let app = Application::build_several(&server, &institutions, Some(reloader)).await?;
    let addr = app.local_addr();
    for c in &institutions {
        tracing::info!(%addr, institutie = c.institutie.cui.as_deref().unwrap_or(""), soap_path = %c.soap_path, database = %crate::store::redact_url(&c.database_url), "listening");
    }
    tracing::info!(%addr, path = crate::tenancy::ZF_PATH, "Annex 4 (cuiInstitutie) listening");
    app.run(shutdown_signal()).await
}

/// `check-config` with several institutions: the server's settings, then each
/// institution's, each checked as one would be (`taxpayer`: the CUI `--cui` gives the live
/// register's queries).
async fn check_several(file: FileConfig, taxpayer: Option<&str>) -> anyhow::Result<()> {
    let (_, institutions) = crate::tenancy::resolve_all(file, &process_env, true)?;
    let mut problems = Vec::new();
    for config in &institutions {
        let cui = config.institutie.cui.clone().unwrap_or_default();
        println!("Institution {cui} (settings in force, secrets masked):");
        print!("{}", config.listing());
        let report = crate::checks::check_with(config, taxpayer).await;
        for line in &report.lines {
            println!("{line}");
        }
        problems.extend(
            report
                .problems
                .iter()
                .map(|p| format!("institution {cui}: {p}")),
        );
    }
    if problems.is_empty() {
        println!("Configuration OK ({} institutions).", institutions.len());
        return Ok(());
    }
    Err(problems_found(&problems))
}

/// check-config's failure: every problem on a line of its own.
fn problems_found(problems: &[String]) -> anyhow::Error {
    let mut text = format!("{} problem(s) in the configuration:", problems.len());
    for p in problems {
        text.push_str("\n  - ");
        text.push_str(p);
    }
    anyhow::anyhow!(text)
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

async fn check_config(file: FileConfig, cui: Option<&str>) -> anyhow::Result<()> {
    let config = Config::resolve(file, &process_env, true)?;
    println!("Settings in force (file, then GHISEUL_* variables; secrets masked):");
    print!("{}", config.listing());
    let report = crate::checks::check_with(&config, cui).await;
    for line in &report.lines {
        println!("{line}");
    }
    if report.problems.is_empty() {
        println!("Configuration OK.");
        return Ok(());
    }
    Err(problems_found(&report.problems))
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

#[cfg(test)]
mod tests {
    use super::ErrorChain;

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::new(io).context("cannot read f.toml: No such file or directory");
        assert_eq!(
            ErrorChain(&e).to_string(),
            "cannot read f.toml: No such file or directory"
        );
        let e = anyhow::anyhow!("connection refused").context("cannot open the database");
        assert_eq!(
            ErrorChain(&e).to_string(),
            "cannot open the database: connection refused"
        );
    }
}
