//! Loading the register from UTF-8 CSV files (RFC 4180, header row). One file is one
//! transaction: a bad row is reported with its line and reason, and nothing of the file is
//! kept. Rows are read in one streaming pass and written in multi-row statements.

use std::collections::HashSet;
use std::io::Read;

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use super::{Backend, Error as StoreError, Store};
use crate::rules::ident::Cui;
use crate::rules::money::Bani;

/// Rows per INSERT statement: few round trips, well under every backend's parameter limit.
const BATCH: usize = 500;
/// After this many bad rows the import stops looking for more.
const MAX_REPORTED: usize = 20;

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
    let mut tx = store.pool().begin().await?;
    if store.backend() == Backend::Sqlite {
        // The debts index is filled in taxpayer order, not file order: with SQLite's
        // default 2 MiB page cache most of an import is spent re-reading pages from the
        // OS. 256 MiB (an upper bound, taken only as pages are read) holds the working set of a
        // city's register.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *tx)
            .await?;
    }
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

fn csv_error(e: csv::Error) -> ImportError {
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
enum Value {
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
        if !self.kind.columns().contains(&r.len()) {
            return Err(format!(
                "{} columns; expected: {}",
                r.len(),
                self.kind.header()
            ));
        }
        let field = |i: usize| r.get(i).unwrap_or("").trim();
        match self.kind {
            Kind::TaxTypes => {
                let id: i32 = field(0)
                    .parse()
                    .map_err(|_| format!("id_tip_suma `{}` is not a whole number", field(0)))?;
                let nume = non_empty(field(1), "nume")?;
                let prioritate: i32 =
                    field(2).parse().ok().filter(|p| *p >= 0).ok_or_else(|| {
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
                    Some(h) => Some(h.to_string()),
                    None => None,
                };
                Ok(vec![
                    Value::Int(id.into()),
                    Value::Text(nume),
                    Value::Int(prioritate.into()),
                    Value::Text(field(3).replace(' ', "")),
                    Value::OptText(header),
                ])
            }
            Kind::Persons => {
                let cui = Cui::parse(field(1)).map_err(|e| format!("CUI `{}`: {e}", field(1)))?;
                Ok(vec![
                    Value::Text(cui.as_str().to_string()),
                    Value::Text(non_empty(field(2), "Nume")?),
                    Value::Text(field(3).to_string()),
                ])
            }
            Kind::Debts => {
                let cui = Cui::parse(field(0)).map_err(|e| format!("CUI `{}`: {e}", field(0)))?;
                let id: i64 = field(1)
                    .parse()
                    .map_err(|_| format!("id_tip_suma `{}` is not a whole number", field(1)))?;
                if !self.tax_types.contains(&id) {
                    return Err(format!(
                        "id_tip_suma {id} is not a tax type (import tax-types first)"
                    ));
                }
                let mut values = vec![
                    Value::Text(cui.as_str().to_string()),
                    Value::Int(id),
                    Value::Text(field(2).to_string()),
                ];
                let mut amounts = Vec::with_capacity(4);
                for (i, name) in [
                    (3, "debit"),
                    (4, "ramasita"),
                    (5, "majorari"),
                    (6, "penalitati"),
                ] {
                    let text = if field(i).is_empty() { "0" } else { field(i) };
                    let b = Bani::parse_lei(text).map_err(|e| format!("{name}: {e}"))?;
                    if b.0 < 0 {
                        return Err(format!("{name} `{text}` must not be negative"));
                    }
                    amounts.push(Value::Int(b.0));
                }
                let scadenta = NaiveDate::parse_from_str(field(7), "%Y-%m-%d")
                    .map_err(|_| format!("scadenta `{}` must be a date YYYY-MM-DD", field(7)))?;
                values.extend(amounts.iter().cloned());
                values.extend(amounts);
                values.push(Value::Text(scadenta.format("%Y-%m-%d").to_string()));
                Ok(values)
            }
        }
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

fn last_per_key(rows: Vec<(u64, Vec<Value>)>) -> Vec<(u64, Vec<Value>)> {
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

fn non_empty(s: &str, name: &str) -> Result<String, String> {
    if s.is_empty() {
        Err(format!("{name} is empty"))
    } else {
        Ok(s.to_string())
    }
}
