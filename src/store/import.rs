//! Loading the register from UTF-8 CSV files (RFC 4180, header row). One file is one
//! transaction: a bad row is reported with its line and reason, and nothing of the file is
//! kept. Rows are read in one streaming pass and written in multi-row statements.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read;

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use super::{Backend, Error as StoreError, Store};
use crate::rules::ident::Cui;
use crate::rules::money::Bani;

/// Rows per INSERT statement: few round trips, well under every backend's parameter limit.
pub(super) const BATCH: usize = 500;
/// After this many bad rows the import stops looking for more.
pub(super) const MAX_REPORTED: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// id_tip_suma,nume,prioritate,iban[,detalii_header]
    TaxTypes,
    /// Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa (Annex 3, contribuabili.csv)
    Persons,
    /// cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta
    Debts,
}

impl Kind {
    pub fn header(self) -> &'static str {
        match self {
            Kind::TaxTypes => "id_tip_suma,nume,prioritate,iban[,detalii_header]",
            Kind::Persons => "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa",
            Kind::Debts => "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta",
        }
    }

    fn columns(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Kind::TaxTypes => 4..=5,
            Kind::Persons => 4..=4,
            Kind::Debts => 8..=8,
        }
    }
}

/// A row that cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}", describe(.0))]
    BadRows(Vec<BadRow>),
    #[error("the file is not valid CSV near line {line}: {reason}")]
    Csv { line: u64, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// From the SQLite write path, which runs on its own connection (rusqlite).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

fn describe(rows: &[BadRow]) -> String {
    let mut s = format!("{} bad row(s); nothing was imported:", rows.len());
    for r in rows {
        s.push_str(&format!("\n  line {}: {}", r.line, r.reason));
    }
    if rows.len() >= MAX_REPORTED {
        s.push_str("\n  (stopped after the first bad rows)");
    }
    s
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(StoreError::Database(e))
    }
}

/// Imports one file of `kind`; returns the number of rows written.
pub async fn import(store: &Store, kind: Kind, input: impl Read) -> Result<u64, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let header_line = reader.headers().map_err(csv_error)?.clone();
    if !kind.columns().contains(&header_line.len()) {
        return Err(ImportError::BadRows(vec![BadRow {
            line: 1,
            reason: format!(
                "the header has {} columns; expected: {}",
                header_line.len(),
                kind.header()
            ),
        }]));
    }
    if let Some(path) = store.sqlite_path() {
        let path = path.to_path_buf();
        return blocking(|| super::import_sqlite::import(&path, kind, &mut reader));
    }
    let mut tx = store.pool().begin().await?;
    let mut importer = Importer::new(kind, store.backend(), &mut tx).await?;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(csv_error)?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // spreadsheets leave empty lines at the end
        }
        importer.push(line, &record, &mut tx).await?;
        if importer.bad.len() >= MAX_REPORTED {
            break;
        }
    }
    importer.flush(&mut tx).await?;
    if !importer.bad.is_empty() {
        tx.rollback().await?;
        return Err(ImportError::BadRows(importer.bad));
    }
    tx.commit().await?;
    Ok(importer.written)
}

/// Runs the blocking SQLite import without stalling the other tasks of a multi-threaded
/// runtime (a server running in the same process). On a current-thread runtime it simply
/// runs here.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

pub(super) fn csv_error(e: csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let reason = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "the file is not UTF-8 (save it as \"CSV UTF-8\")".to_string()
        }
        _ => e.to_string(),
    };
    ImportError::Csv { line, reason }
}

/// Rows checked and waiting to be written in one multi-row statement.
struct Importer {
    kind: Kind,
    backend: Backend,
    tax_types: HashSet<i64>,
    pending: Vec<(u64, Vec<Value>)>,
    bad: Vec<BadRow>,
    written: u64,
}

#[derive(Clone, Debug)]
pub(super) enum Value {
    Int(i64),
    Text(String),
    OptText(Option<String>),
}

impl Importer {
    async fn new(
        kind: Kind,
        backend: Backend,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<Importer, ImportError> {
        let mut tax_types = HashSet::new();
        if kind == Kind::Debts {
            for row in sqlx::query("SELECT id_tip_suma FROM tax_types")
                .fetch_all(&mut **tx)
                .await?
            {
                tax_types.insert(row.try_get::<i64, _>(0)?);
            }
        }
        Ok(Importer {
            kind,
            backend,
            tax_types,
            pending: Vec::with_capacity(BATCH),
            bad: Vec::new(),
            written: 0,
        })
    }

    async fn push(
        &mut self,
        line: u64,
        record: &csv::StringRecord,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), ImportError> {
        match self.check(record) {
            Ok(values) => self.pending.push((line, values)),
            Err(reason) => self.bad.push(BadRow { line, reason }),
        }
        if self.pending.len() >= BATCH {
            self.flush(tx).await?;
        }
        Ok(())
    }

    /// Validates one row and turns it into the values of its INSERT.
    fn check(&self, r: &csv::StringRecord) -> Result<Vec<Value>, String> {
        check(self.kind, &self.tax_types, r).map(Checked::into_values)
    }

    async fn flush(&mut self, tx: &mut Transaction<'static, Any>) -> Result<(), ImportError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if !self.bad.is_empty() {
            // The file will be refused anyway: only keep looking for bad rows.
            if self.kind == Kind::Debts {
                self.report_unknown_taxpayers(tx).await?;
            }
            self.pending.clear();
            return Ok(());
        }
        if self.kind == Kind::Debts && self.report_unknown_taxpayers(tx).await? {
            self.pending.clear();
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        // Within one statement a key may appear once for ON CONFLICT DO UPDATE: keep the
        // last row of each key (a later row of the file wins, as it would row by row).
        let rows = match self.kind {
            Kind::Debts => rows,
            _ => last_per_key(rows),
        };
        if self.backend == Backend::Mysql && self.kind == Kind::TaxTypes {
            return self.upsert_tax_types_mysql(rows, tx).await;
        }
        let mysql = self.backend == Backend::Mysql;
        let (columns, conflict) = match self.kind {
            Kind::TaxTypes => (
                "tax_types (id_tip_suma, nume, prioritate, iban, detalii_header)",
                " ON CONFLICT (id_tip_suma) DO UPDATE SET nume = excluded.nume, prioritate = excluded.prioritate, \
                 iban = excluded.iban, detalii_header = excluded.detalii_header",
            ),
            // The primary key is the only unique key of taxpayers, so MySQL's ON DUPLICATE
            // KEY means the same as ON CONFLICT (cui) here.
            Kind::Persons if mysql => (
                "taxpayers (cui, nume, adresa)",
                " ON DUPLICATE KEY UPDATE nume = VALUES(nume), adresa = VALUES(adresa)",
            ),
            Kind::Persons => (
                "taxpayers (cui, nume, adresa)",
                " ON CONFLICT (cui) DO UPDATE SET nume = excluded.nume, adresa = excluded.adresa",
            ),
            Kind::Debts => (
                "debts (cui, id_tip_suma, descriere, debit, ramasita, majorari, penalitati, \
                 rest_debit, rest_ramasita, rest_majorari, rest_penalitati, scadenta)",
                "",
            ),
        };
        let sql = format!(
            "INSERT INTO {columns} VALUES {}{conflict}",
            self.backend.values_list(rows.len(), rows[0].1.len())
        );
        self.write(&sql, &rows, tx).await
    }

    /// Runs `sql` with the values of `rows`; a row the database refuses (a constraint)
    /// becomes a bad row of the report, anything else an error.
    async fn write(
        &mut self,
        sql: &str,
        rows: &[(u64, Vec<Value>)],
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), ImportError> {
        let mut q = sqlx::query(sql);
        for (_, values) in rows {
            for v in values {
                q = match v {
                    Value::Int(i) => q.bind(*i),
                    Value::Text(t) => q.bind(t.clone()),
                    Value::OptText(t) => q.bind(t.clone()),
                };
            }
        }
        match q.execute(&mut **tx).await {
            Ok(_) => {
                self.written += rows.len() as u64;
                Ok(())
            }
            Err(sqlx::Error::Database(e))
                if e.is_unique_violation()
                    || e.is_check_violation()
                    || e.is_foreign_key_violation() =>
            {
                let lines: Vec<String> = rows.iter().map(|(l, _)| l.to_string()).collect();
                self.bad.push(BadRow {
                    line: rows[0].0,
                    reason: format!(
                        "the database refused the rows of lines {}–{}: {} (two tax types with the same non-zero prioritate?)",
                        lines.first().map(String::as_str).unwrap_or("?"),
                        lines.last().map(String::as_str).unwrap_or("?"),
                        e.message()
                    ),
                });
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// MySQL's ON DUPLICATE KEY UPDATE fires on any unique key, and tax_types has two (the
    /// code and the non-zero priority): a new code with a taken priority would silently
    /// overwrite the other type. So the codes already present are updated by code and the
    /// new ones inserted, and a taken priority is refused as on the other databases.
    async fn upsert_tax_types_mysql(
        &mut self,
        rows: Vec<(u64, Vec<Value>)>,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), ImportError> {
        let ids: Vec<i64> = rows
            .iter()
            .filter_map(|(_, v)| match v[0] {
                Value::Int(i) => Some(i),
                _ => None,
            })
            .collect();
        let sql = format!(
            "SELECT id_tip_suma FROM tax_types WHERE id_tip_suma IN ({}) FOR UPDATE",
            vec!["?"; ids.len()].join(",")
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        let existing: HashSet<i64> = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        let (old, new): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|(_, v)| matches!(v[0], Value::Int(i) if existing.contains(&i)));
        for (line, v) in old {
            // The values in the order of the SET list, the code last.
            let row = vec![(
                line,
                vec![
                    v[1].clone(),
                    v[2].clone(),
                    v[3].clone(),
                    v[4].clone(),
                    v[0].clone(),
                ],
            )];
            self.write(
                "UPDATE tax_types SET nume = ?, prioritate = ?, iban = ?, detalii_header = ? WHERE id_tip_suma = ?",
                &row,
                tx,
            )
            .await?;
            if !self.bad.is_empty() {
                return Ok(());
            }
        }
        if !new.is_empty() {
            let sql = format!(
                "INSERT INTO tax_types (id_tip_suma, nume, prioritate, iban, detalii_header) VALUES {}",
                self.backend.values_list(new.len(), new[0].1.len())
            );
            self.write(&sql, &new, tx).await?;
        }
        Ok(())
    }

    /// Adds a bad row for every pending debt whose taxpayer is not in the register.
    /// Returns true when there was one.
    async fn report_unknown_taxpayers(
        &mut self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<bool, ImportError> {
        let mut cuis: Vec<&str> = self
            .pending
            .iter()
            .filter_map(|(_, v)| match &v[0] {
                Value::Text(c) => Some(c.as_str()),
                _ => None,
            })
            .collect();
        cuis.sort_unstable();
        cuis.dedup();
        // One row of as many values as there are CUIs: `($1,$2,…)` or `(?,?,…)`.
        let sql = format!(
            "SELECT cui FROM taxpayers WHERE cui IN {}",
            self.backend.values_list(1, cuis.len())
        );
        let mut q = sqlx::query(&sql);
        for c in &cuis {
            q = q.bind(c.to_string());
        }
        let known: HashSet<String> = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| super::text(r, 0))
            .collect::<Result<_, _>>()?;
        let mut found = false;
        for (line, v) in &self.pending {
            if let Value::Text(c) = &v[0] {
                if !known.contains(c) {
                    found = true;
                    if self.bad.len() < MAX_REPORTED {
                        self.bad.push(BadRow {
                            line: *line,
                            reason: format!(
                                "CUI {c} is not in the register (import persons first)"
                            ),
                        });
                    }
                }
            }
        }
        self.bad.sort_by_key(|b| b.line);
        Ok(found)
    }
}

/// A row that passed `check`, borrowing its text from the record.
pub(super) enum Checked<'r> {
    TaxType {
        id: i64,
        nume: &'r str,
        prioritate: i64,
        iban: String,
        header: Option<&'r str>,
    },
    Person {
        cui: Cui,
        nume: &'r str,
        adresa: &'r str,
    },
    Debt {
        cui: Cui,
        id_tip_suma: i64,
        descriere: &'r str,
        /// debit, ramasita, majorari, penalitati, in bani (also the initial rest_*).
        amounts: [i64; 4],
        scadenta: Cow<'r, str>,
    },
}

impl Checked<'_> {
    /// The values of the row's INSERT, in the order of the columns the statement lists.
    pub(super) fn into_values(self) -> Vec<Value> {
        match self {
            Checked::TaxType {
                id,
                nume,
                prioritate,
                iban,
                header,
            } => vec![
                Value::Int(id),
                Value::Text(nume.to_string()),
                Value::Int(prioritate),
                Value::Text(iban),
                Value::OptText(header.map(str::to_string)),
            ],
            Checked::Person { cui, nume, adresa } => vec![
                Value::Text(cui.as_str().to_string()),
                Value::Text(nume.to_string()),
                Value::Text(adresa.to_string()),
            ],
            Checked::Debt {
                cui,
                id_tip_suma,
                descriere,
                amounts,
                scadenta,
            } => {
                let mut values = vec![
                    Value::Text(cui.as_str().to_string()),
                    Value::Int(id_tip_suma),
                    Value::Text(descriere.to_string()),
                ];
                // The original amounts, then the same as what is still owed.
                values.extend(amounts.map(Value::Int));
                values.extend(amounts.map(Value::Int));
                values.push(Value::Text(scadenta.into_owned()));
                values
            }
        }
    }
}

/// Validates one row of a `kind` file. `tax_types` holds the known tax type codes (only
/// read for debts).
pub(super) fn check<'r>(
    kind: Kind,
    tax_types: &HashSet<i64>,
    r: &'r csv::StringRecord,
) -> Result<Checked<'r>, String> {
    if !kind.columns().contains(&r.len()) {
        return Err(format!("{} columns; expected: {}", r.len(), kind.header()));
    }
    let field = |i: usize| r.get(i).unwrap_or("").trim();
    match kind {
        Kind::TaxTypes => {
            let id: i32 = field(0)
                .parse()
                .map_err(|_| format!("id_tip_suma `{}` is not a whole number", field(0)))?;
            let nume = non_empty(field(1), "nume")?;
            let prioritate: i32 = field(2).parse().ok().filter(|p| *p >= 0).ok_or_else(|| {
                format!(
                    "prioritate `{}` must be 0 (not prioritised) or 1, 2, …",
                    field(2)
                )
            })?;
            let header = match r.get(4).map(str::trim).filter(|h| !h.is_empty()) {
                Some(h) if h.split(';').count() != 5 => {
                    return Err(format!(
                        "detalii_header `{h}` must have 5 titles separated by `;`"
                    ))
                }
                other => other,
            };
            Ok(Checked::TaxType {
                id: id.into(),
                nume,
                prioritate: prioritate.into(),
                iban: field(3).replace(' ', ""),
                header,
            })
        }
        Kind::Persons => {
            let cui = Cui::parse(field(1)).map_err(|e| format!("CUI `{}`: {e}", field(1)))?;
            Ok(Checked::Person {
                cui,
                nume: non_empty(field(2), "Nume")?,
                adresa: field(3),
            })
        }
        Kind::Debts => {
            let cui = Cui::parse(field(0)).map_err(|e| format!("CUI `{}`: {e}", field(0)))?;
            let id: i64 = field(1)
                .parse()
                .map_err(|_| format!("id_tip_suma `{}` is not a whole number", field(1)))?;
            if !tax_types.contains(&id) {
                return Err(format!(
                    "id_tip_suma {id} is not a tax type (import tax-types first)"
                ));
            }
            let mut amounts = [0i64; 4];
            for (slot, (i, name)) in amounts.iter_mut().zip([
                (3, "debit"),
                (4, "ramasita"),
                (5, "majorari"),
                (6, "penalitati"),
            ]) {
                let text = if field(i).is_empty() { "0" } else { field(i) };
                let b = Bani::parse_lei(text).map_err(|e| format!("{name}: {e}"))?;
                if b.0 < 0 {
                    return Err(format!("{name} `{text}` must not be negative"));
                }
                *slot = b.0;
            }
            let scadenta = date(field(7))
                .ok_or_else(|| format!("scadenta `{}` must be a date YYYY-MM-DD", field(7)))?;
            Ok(Checked::Debt {
                cui,
                id_tip_suma: id,
                descriere: field(2),
                amounts,
                scadenta,
            })
        }
    }
}

/// `text` as a date `YYYY-MM-DD` in its stored form, or `None` when it is not one.
/// Whatever chrono's `%Y-%m-%d` accepts is accepted, and stored as chrono writes it back;
/// the usual exact form (4-digit year, 2-digit month and day) is checked here without
/// chrono, since it comes back unchanged.
fn date(text: &str) -> Option<Cow<'_, str>> {
    match text.as_bytes() {
        &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1]
            if [y0, y1, y2, y3, m0, m1, d0, d1]
                .iter()
                .all(u8::is_ascii_digit) =>
        {
            let n = |a: u8, b: u8| u32::from(a - b'0') * 10 + u32::from(b - b'0');
            let (year, month, day) = (n(y0, y1) * 100 + n(y2, y3), n(m0, m1), n(d0, d1));
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let days = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => return None,
            };
            (1..=days).contains(&day).then_some(Cow::Borrowed(text))
        }
        _ => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| Cow::Owned(d.format("%Y-%m-%d").to_string())),
    }
}

pub(super) fn last_per_key(rows: Vec<(u64, Vec<Value>)>) -> Vec<(u64, Vec<Value>)> {
    let key = |v: &[Value]| match &v[0] {
        Value::Int(i) => i.to_string(),
        Value::Text(t) => t.clone(),
        Value::OptText(t) => t.clone().unwrap_or_default(),
    };
    let mut seen = HashSet::new();
    let mut kept: Vec<(u64, Vec<Value>)> = rows
        .into_iter()
        .rev()
        .filter(|(_, v)| seen.insert(key(v)))
        .collect();
    kept.reverse();
    kept
}

fn non_empty<'r>(s: &'r str, name: &str) -> Result<&'r str, String> {
    if s.is_empty() {
        Err(format!("{name} is empty"))
    } else {
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The date check without chrono accepts exactly what chrono's `%Y-%m-%d` accepts and
    /// stores it as chrono writes it back.
    #[test]
    fn scadenta_is_checked_exactly_as_chrono_checks_it() {
        let chrono = |t: &str| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .map(|d| d.format("%Y-%m-%d").to_string())
        };
        let mut texts = Vec::new();
        for year in [
            "0000", "0004", "1900", "1999", "2000", "2024", "2025", "2100", "9999",
        ] {
            for month in 0..=13 {
                for day in 0..=32 {
                    texts.push(format!("{year}-{month:02}-{day:02}"));
                }
            }
        }
        texts.extend(
            [
                "2025-3-31",
                "2025-03-1",
                "25-03-31",
                "2025/03/31",
                "2025-03-31 ",
                " 2025-03-31",
                "+2025-03-31",
                "2025-0a-31",
                "20250331",
                "",
                "31.03.2025",
                "2025-03-31T00",
            ]
            .map(String::from),
        );
        for t in &texts {
            assert_eq!(date(t).map(Cow::into_owned), chrono(t), "{t:?}");
        }
    }
}
