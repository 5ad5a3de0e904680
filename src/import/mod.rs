//! Loading the register from the tax system's files: one file is one kind of record (tax
//! types, taxpayers, debts) and one transaction. The file is read and checked whole
//! (on a thread of its own, while the register is read) before anything is written; then
//! what is stored is compared with it (`rules::register`) and only what changed is
//! written. A file with a bad row changes nothing, and every bad row is named by its line.

pub mod progress;
pub mod read;
pub mod rows;

use std::collections::HashSet;
use std::io::Read;

use crate::rules::clock;
use crate::rules::register::{self, Counts, Refusal};
use crate::store::register::{Register, RegisterTx, Table as StoredTable};
use crate::store::{Error as StoreError, Store};
use read::{Encoding, ReadError, Row, Table};
use rows::Rows;

/// The detailed report of bad rows stops after this many; the count is always exact.
pub const MAX_REPORTED: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    TaxTypes,
    Persons,
    Debts,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::TaxTypes => "tax types",
            Kind::Persons => "persons",
            Kind::Debts => "debts",
        }
    }
}

/// How a file is taken.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The file is the whole register of its kind: what it lacks is removed.
    pub replace: bool,
    /// Check and compare only; write nothing.
    pub dry_run: bool,
    /// The file's encoding; `None`: detected.
    pub encoding: Option<Encoding>,
    /// Debts only: the payments recorded at or before this time ('YYYY-MM-DD HH:MM:SS',
    /// Romanian time) are in the tax system's balances (booked).
    pub booked_until: Option<String>,
    /// Size of the input in bytes, for the progress line.
    pub size: Option<u64>,
}

/// What an import did (or, with `dry_run`, would do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub kind: Kind,
    /// Rows of the file (blank lines not counted).
    pub rows: u64,
    pub counts: Counts,
    /// Payments newly marked as booked (`booked_until`).
    pub booked: u64,
    pub dry_run: bool,
}

/// A row that cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Read(#[from] ReadError),
    /// `rows` holds the first `MAX_REPORTED` of `total`.
    #[error("{}", describe(.rows, *.total))]
    BadRows { rows: Vec<BadRow>, total: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(rows: &[BadRow], total: u64) -> String {
    let mut s = format!("{total} bad row(s); nothing was imported:");
    for r in rows {
        s.push_str(&format!("\n  line {}: {}", r.line, r.reason));
    }
    if total > rows.len() as u64 {
        s.push_str(&format!(
            "\n  … and {} more bad row(s) not shown",
            total - rows.len() as u64
        ));
    }
    s
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(StoreError::Database(e))
    }
}

/// Bad rows, counted all and kept up to `MAX_REPORTED`.
#[derive(Default)]
struct Bad {
    rows: Vec<BadRow>,
    total: u64,
}

impl Bad {
    fn push(&mut self, line: u64, reason: String) {
        self.total += 1;
        if self.rows.len() < MAX_REPORTED {
            self.rows.push(BadRow { line, reason });
        }
    }

    /// Adds the refusals of the register's rules, keeping the report in line order.
    fn merge(&mut self, refused: Vec<Refusal>) {
        for r in refused {
            self.push(r.line, r.reason);
        }
        self.rows.sort_by_key(|r| r.line);
    }

    fn into_result(self) -> Result<(), ImportError> {
        if self.total == 0 {
            Ok(())
        } else {
            Err(ImportError::BadRows {
                rows: self.rows,
                total: self.total,
            })
        }
    }
}

/// Imports one file of `kind`.
///
/// The file is read and checked on a thread of its own while the register is read here:
/// on a large `--replace` both take seconds, and neither needs the other until they are
/// compared.
pub async fn import(
    store: &Store,
    kind: Kind,
    input: impl Read + Send + 'static,
    options: &Options,
) -> Result<Summary, ImportError> {
    let mut table = Table::open(Box::new(input), options.encoding, rows::columns(kind))?;
    let tax_types = match kind {
        Kind::Debts => store.tax_type_ids().await?,
        _ => HashSet::new(),
    };
    let size = options.size;
    let (done, reading) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let read = read_rows(kind, &mut table, &tax_types, size);
        tracing::debug!(
            secs = started.elapsed().as_secs_f64(),
            "file read and checked"
        );
        // The receiver is gone only when the import already failed.
        let _ = done.send(read);
    });
    let file = Reading(reading);
    // Even when rows are bad, the good ones are compared with the register, so that one
    // run names every problem (an unknown taxpayer as well as a malformed amount).
    match store.register().await? {
        Register::Sqlite(tx) => apply(tx, kind, file, options).await,
        Register::Pool(tx) => apply(tx, kind, file, options).await,
    }
}

/// The file's rows, being read and checked on their own thread.
struct Reading(tokio::sync::oneshot::Receiver<Result<(Rows, Bad), ImportError>>);

impl Reading {
    async fn rows(self) -> Result<(Rows, Bad), ImportError> {
        // A sender dropped without sending: the reading thread panicked.
        self.0
            .await
            .expect("the file's reading thread ended without an answer")
    }
}

/// Fewer bytes than the shortest likely row of a persons or debts file (a debt of the
/// bench register takes about 90): the guess of `read_rows` is rather too large than too
/// small.
const LIKELY_ROW_BYTES: u64 = 60;

/// Reads and checks every row of the file: the good rows, and the bad ones.
fn read_rows(
    kind: Kind,
    table: &mut Table,
    tax_types: &HashSet<i64>,
    size: Option<u64>,
) -> Result<(Rows, Bad), ImportError> {
    let mut progress = progress::Progress::new(&format!("reading {}", kind.name()), size);
    // Room for the rows a file of this size likely holds, reserved at once: growing a
    // vector of millions of rows by doubling copies it again and again. Memory reserved
    // and not used is never touched, so a generous guess costs nothing.
    let likely = size.map_or(0, |bytes| (bytes / LIKELY_ROW_BYTES) as usize);
    let mut rows = match kind {
        Kind::TaxTypes => Rows::TaxTypes(Vec::new()),
        Kind::Persons => Rows::Persons(Vec::with_capacity(likely)),
        Kind::Debts => Rows::Debts(Vec::with_capacity(likely)),
    };
    let mut bad = Bad::default();
    let mut row = Row::default();
    let mut n = 0u64;
    while table.next_row(&mut row)? {
        n += 1;
        let line = row.line();
        let checked = match &mut rows {
            Rows::TaxTypes(v) => rows::check_tax_type(table, &row).map(|t| v.push((line, t))),
            Rows::Persons(v) => rows::check_person(&row).map(|p| v.push((line, p))),
            Rows::Debts(v) => rows::check_debt(&row, tax_types).map(|d| v.push((line, d))),
        };
        if let Err(reason) = checked {
            bad.push(line, reason);
        }
        progress.update(n, table.bytes_read());
    }
    progress.finish();
    Ok((rows, bad))
}

/// The plan of the register's rules, or every bad row of the file and of the rules.
fn checked<P>(plan: Result<P, Vec<Refusal>>, mut bad: Bad) -> Result<P, ImportError> {
    match plan {
        Ok(plan) => bad.into_result().map(|()| plan),
        Err(refused) => {
            bad.merge(refused);
            Err(bad.into_result().expect_err("a refusal is a bad row"))
        }
    }
}

/// Compares the file with the register and writes the difference, in one transaction.
async fn apply<T: RegisterTx>(
    mut tx: T,
    kind: Kind,
    file: Reading,
    options: &Options,
) -> Result<Summary, ImportError> {
    let started = std::time::Instant::now();
    let now = clock::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let mut booked = 0;
    if let (Kind::Debts, Some(until)) = (kind, &options.booked_until) {
        booked = tx.mark_booked(until, &now).await?;
    }
    let n;
    let counts = match kind {
        Kind::TaxTypes => {
            let stored = tx.tax_types().await?;
            let (Rows::TaxTypes(file), bad) = file.rows().await? else {
                unreachable!("a tax types file is read as tax types")
            };
            n = file.len();
            let plan = checked(register::plan_tax_types(file, stored, options.replace), bad)?;
            let newest = tx.newest_data(StoredTable::TaxTypes).await?;
            let data = register::stamp(&now, newest.as_deref());
            if !options.dry_run {
                tx.apply_tax_types(&plan, &data).await?;
            }
            plan.counts
        }
        Kind::Persons => {
            let stored = tx.persons().await?;
            let next_cod = tx.next_cod().await?;
            let (Rows::Persons(file), bad) = file.rows().await? else {
                unreachable!("a persons file is read as persons")
            };
            n = file.len();
            let plan = checked(
                register::plan_persons(file, stored, options.replace, next_cod),
                bad,
            )?;
            let newest = tx.newest_data(StoredTable::Taxpayers).await?;
            let data = register::stamp(&now, newest.as_deref());
            if !options.dry_run {
                tx.apply_persons(&plan, &data).await?;
            }
            plan.counts
        }
        Kind::Debts => {
            let active = tx.active_cuis().await?;
            tracing::debug!(
                secs = started.elapsed().as_secs_f64(),
                taxpayers = active.len(),
                "taxpayers read"
            );
            let (Rows::Debts(file), bad) = file.rows().await? else {
                unreachable!("a debts file is read as debts")
            };
            n = file.len();
            // The stored debts are read as the plan goes through them.
            let plan = tx
                .with_debts(|stored| register::plan_debts(file, stored, &active, options.replace))
                .await?;
            tracing::debug!(secs = started.elapsed().as_secs_f64(), "debts compared");
            let plan = checked(plan, bad)?;
            if !options.dry_run {
                tx.apply_debts(&plan).await?;
            }
            plan.counts
        }
    };
    tracing::debug!(
        secs = started.elapsed().as_secs_f64(),
        "register compared and written"
    );
    // A dry run's transaction is dropped: nothing of it is kept.
    if !options.dry_run {
        tx.commit().await?;
    }
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "committed");
    Ok(Summary {
        kind,
        rows: n as u64,
        counts,
        booked,
        dry_run: options.dry_run,
    })
}
