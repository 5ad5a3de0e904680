//! The import's write path on SQLite: one rusqlite connection on the database file, one
//! `BEGIN IMMEDIATE` transaction per file, prepared statements bound with the borrowed text
//! of the records. (Through sqlx every statement is handed to a worker thread and every
//! value copied into its `Any` layer: that, not SQLite, was most of an import.)
//!
//! What is accepted or refused, and how it is reported, is what the sqlx path does
//! (`super::import`): the same `check`, the same messages, the same all-or-nothing.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{ffi, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::import::{
    check, last_per_key, BadRow, Checked, ImportError, Kind, Value, BATCH, MAX_REPORTED,
};

/// How long to wait for the write lock when the server (or another import) holds it.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Imports the rows `reader` has left into the SQLite database at `path`.
pub(super) fn import<R: Read>(
    path: &Path,
    kind: Kind,
    reader: &mut csv::Reader<R>,
) -> Result<u64, ImportError> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The file is in WAL mode (set by the server's connections, kept in the file). FULL
    // syncs the WAL at commit: what the import reports as imported survives a power cut,
    // as a payment does. It costs one fsync per file.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;
         PRAGMA cache_size = -262144;",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let written = match kind {
        Kind::Debts => import_debts(&tx, reader)?,
        Kind::Persons => upsert_persons(&tx, reader)?,
        Kind::TaxTypes => upsert_tax_types(&tx, reader)?,
    };
    // Dropping the transaction without commit rolls it back.
    let started = std::time::Instant::now();
    tx.commit()?;
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "committed");
    let started = std::time::Instant::now();
    conn.close().map_err(|(_, e)| e)?;
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "closed");
    Ok(written)
}

/// Reads the next record that is not blank into `record`; `None` at the end of the file.
fn next_record<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::StringRecord,
) -> Result<Option<u64>, ImportError> {
    loop {
        if !reader
            .read_record(record)
            .map_err(super::import::csv_error)?
        {
            return Ok(None);
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // spreadsheets leave empty lines at the end
        }
        return Ok(Some(line));
    }
}

/// The extended result code of a constraint the import reports as a bad row (as the sqlx
/// path does: unique, check and foreign key), or `None` for any other error.
fn refused(e: &rusqlite::Error) -> Option<i32> {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.extended_code,
                ffi::SQLITE_CONSTRAINT_UNIQUE
                    | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    | ffi::SQLITE_CONSTRAINT_CHECK
                    | ffi::SQLITE_CONSTRAINT_FOREIGNKEY
            ) =>
        {
            Some(f.extended_code)
        }
        _ => None,
    }
}

/// SQLite's own words for a refused row, as sqlx reports them.
fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    }
}

/// The report of a statement the database refused, worded as the sqlx path words it.
fn refused_rows(first: u64, last: u64, e: &rusqlite::Error) -> BadRow {
    BadRow {
        line: first,
        reason: format!(
            "the database refused the rows of lines {first}–{last}: {} (two tax types with the same non-zero prioritate?)",
            message(e)
        ),
    }
}

/// Persons: upserts, the last row of a CUI winning, written as they are read. The only
/// constraint of `taxpayers` is its key, which the upsert resolves, so writing each row in
/// file order keeps the same rows as the sqlx path's groups reduced to their last row per
/// CUI. The count printed is that path's too: the rows of each group of `BATCH` valid rows,
/// a CUI repeated within a group counted once.
fn upsert_persons<R: Read>(
    tx: &rusqlite::Transaction<'_>,
    reader: &mut csv::Reader<R>,
) -> Result<u64, ImportError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO taxpayers (cui, nume, adresa) VALUES (?1, ?2, ?3) \
         ON CONFLICT (cui) DO UPDATE SET nume = excluded.nume, adresa = excluded.adresa",
    )?;
    let no_types = HashSet::new();
    let mut record = csv::StringRecord::new();
    let mut bad: Vec<BadRow> = Vec::new();
    let mut written = 0u64;
    // The CUIs of the current group, as numbers: a stored CUI is 2 to 13 digits.
    let mut group: HashSet<u64> = HashSet::with_capacity(BATCH);
    let mut in_group = 0;
    while let Some(line) = next_record(reader, &mut record)? {
        let (cui, nume, adresa) = match check(Kind::Persons, &no_types, &record) {
            Ok(Checked::Person { cui, nume, adresa }) => (cui, nume, adresa),
            Ok(_) => unreachable!("a persons row checks as a person"),
            Err(reason) => {
                bad.push(BadRow { line, reason });
                if bad.len() >= MAX_REPORTED {
                    break;
                }
                continue;
            }
        };
        if !bad.is_empty() {
            continue; // the file is refused anyway: only keep looking for bad rows
        }
        let cui = cui.as_str();
        match stmt.execute([cui, nume, adresa]) {
            Ok(_) => {}
            Err(e) if refused(&e).is_some() => {
                bad.push(refused_rows(line, line, &e));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let number = cui.bytes().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        group.insert(number << 4 | cui.len() as u64);
        in_group += 1;
        if in_group == BATCH {
            written += group.len() as u64;
            group.clear();
            in_group = 0;
        }
    }
    if !bad.is_empty() {
        return Err(ImportError::BadRows(bad));
    }
    Ok(written + group.len() as u64)
}

/// Tax types: upserts, the last row of a key winning. Rows are taken in the
/// same groups of `BATCH` valid rows as the sqlx path's multi-row statements, each group
/// reduced to the last row of each key and written row by row in order, which is what
/// SQLite does with one multi-row INSERT … ON CONFLICT: the same rows are kept or refused,
/// and the same count and messages come out.
fn upsert_tax_types<R: Read>(
    tx: &rusqlite::Transaction<'_>,
    reader: &mut csv::Reader<R>,
) -> Result<u64, ImportError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO tax_types (id_tip_suma, nume, prioritate, iban, detalii_header) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id_tip_suma) DO UPDATE SET \
         nume = excluded.nume, prioritate = excluded.prioritate, iban = excluded.iban, \
         detalii_header = excluded.detalii_header",
    )?;
    let no_types = HashSet::new();
    let mut record = csv::StringRecord::new();
    let mut pending: Vec<(u64, Vec<Value>)> = Vec::with_capacity(BATCH);
    let mut bad: Vec<BadRow> = Vec::new();
    let mut written = 0u64;
    let mut flush = |pending: &mut Vec<(u64, Vec<Value>)>, bad: &mut Vec<BadRow>| {
        if pending.is_empty() {
            return Ok(());
        }
        let rows = last_per_key(std::mem::take(pending));
        if !bad.is_empty() {
            return Ok(()); // the file is refused anyway
        }
        for (_, values) in &rows {
            let result = stmt.execute(rusqlite::params_from_iter(values.iter().map(|v| match v {
                Value::Int(i) => rusqlite::types::ToSqlOutput::from(*i),
                Value::Text(t) => rusqlite::types::ToSqlOutput::from(t.as_str()),
                Value::OptText(t) => match t {
                    Some(t) => rusqlite::types::ToSqlOutput::from(t.as_str()),
                    None => rusqlite::types::ToSqlOutput::from(rusqlite::types::Null),
                },
            })));
            match result {
                Ok(_) => {}
                Err(e) if refused(&e).is_some() => {
                    let (first, last) = (rows[0].0, rows[rows.len() - 1].0);
                    bad.push(refused_rows(first, last, &e));
                    return Ok(());
                }
                Err(e) => return Err(ImportError::from(e)),
            }
        }
        written += rows.len() as u64;
        Ok(())
    };
    while let Some(line) = next_record(reader, &mut record)? {
        match check(Kind::TaxTypes, &no_types, &record) {
            Ok(row) => pending.push((line, row.into_values())),
            Err(reason) => bad.push(BadRow { line, reason }),
        }
        if pending.len() >= BATCH {
            flush(&mut pending, &mut bad)?;
        }
        if bad.len() >= MAX_REPORTED {
            break;
        }
    }
    flush(&mut pending, &mut bad)?;
    if !bad.is_empty() {
        return Err(ImportError::BadRows(bad));
    }
    Ok(written)
}

/// Debts per INSERT statement when they are all valid: fewer statements to start and end
/// (and one update of the AUTOINCREMENT counter per statement, not per row).
const GROUP: usize = 32;
/// The values bound for one debt: cui, id_tip_suma, descriere, the four amounts (bound once,
/// used for the original amounts and for what is still owed) and scadenta.
const DEBT_VALUES: usize = 8;

/// `INSERT INTO debts … VALUES (…), …` for `rows` rows of `DEBT_VALUES` numbered values.
fn insert_debts_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO debts (cui, id_tip_suma, descriere, debit, ramasita, majorari, penalitati, \
         rest_debit, rest_ramasita, rest_majorari, rest_penalitati, scadenta) VALUES ",
    );
    for row in 0..rows {
        let b = row * DEBT_VALUES;
        if row > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8
        ));
    }
    sql
}

/// Binds the values of `debt` from parameter `offset + 1` on.
fn bind_debt(
    stmt: &mut rusqlite::CachedStatement<'_>,
    offset: usize,
    debt: &Checked<'_>,
) -> rusqlite::Result<()> {
    let Checked::Debt {
        cui,
        id_tip_suma,
        descriere,
        amounts,
        scadenta,
    } = debt
    else {
        unreachable!("only debts are bound as debts")
    };
    stmt.raw_bind_parameter(offset + 1, cui.as_str())?;
    stmt.raw_bind_parameter(offset + 2, id_tip_suma)?;
    stmt.raw_bind_parameter(offset + 3, descriere)?;
    for (i, amount) in amounts.iter().enumerate() {
        stmt.raw_bind_parameter(offset + 4 + i, amount)?;
    }
    stmt.raw_bind_parameter(offset + 8, scadenta.as_ref())
}

/// Debts: plain INSERTs, `GROUP` rows per statement while every row is valid, one by one
/// where the database refuses a group or a row is bad, so that each bad row is named. An
/// unknown tax type is found by `check` (the codes are read once); an unknown taxpayer by
/// the foreign key itself, which SQLite checks on every INSERT anyway.
fn import_debts<R: Read>(
    tx: &rusqlite::Transaction<'_>,
    reader: &mut csv::Reader<R>,
) -> Result<u64, ImportError> {
    let started = std::time::Instant::now();
    let tax_types: HashSet<i64> = {
        let mut stmt = tx.prepare("SELECT id_tip_suma FROM tax_types")?;
        let ids = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        ids.collect::<Result<_, _>>()?
    };
    // Into an empty table, building the indexes once from sorted keys beats inserting
    // every row at a random place of them. DDL is transactional in SQLite: if the file is
    // refused, the rollback puts the indexes back as they were.
    let empty: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM debts)", [], |r| r.get(0))?;
    let mut rebuild: Vec<(String, String)> = Vec::new();
    if empty {
        let mut stmt = tx.prepare(
            "SELECT name, sql FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = 'debts' AND sql IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rebuild = rows.collect::<Result<_, _>>()?;
        for (name, _) in &rebuild {
            tx.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
        }
    }
    let mut insert = tx.prepare_cached(&insert_debts_sql(1))?;
    let mut insert_group = tx.prepare_cached(&insert_debts_sql(GROUP))?;
    let mut known = tx.prepare_cached("SELECT 1 FROM taxpayers WHERE cui = ?1")?;
    let mut is_known = |cui: &str| -> rusqlite::Result<bool> {
        Ok(known.query_row([cui], |_| Ok(())).optional()?.is_some())
    };
    let unknown = |line: u64, cui: &str| BadRow {
        line,
        reason: format!("CUI {cui} is not in the register (import persons first)"),
    };
    let mut records = vec![csv::StringRecord::new(); GROUP];
    let mut lines = [0u64; GROUP];
    let mut bad: Vec<BadRow> = Vec::new();
    let mut written = 0u64;
    'file: loop {
        let mut n = 0;
        while n < GROUP {
            match next_record(reader, &mut records[n])? {
                Some(line) => lines[n] = line,
                None => break,
            }
            n += 1;
        }
        // A whole group of valid rows goes in one statement. If the database refuses it
        // (nothing of it is kept), the rows are taken again one by one below.
        if n == GROUP && bad.is_empty() {
            let group: Result<Vec<Checked>, String> = records
                .iter()
                .map(|r| check(Kind::Debts, &tax_types, r))
                .collect();
            if let Ok(group) = group {
                for (i, debt) in group.iter().enumerate() {
                    bind_debt(&mut insert_group, i * DEBT_VALUES, debt)?;
                }
                match insert_group.raw_execute() {
                    Ok(_) => {
                        written += GROUP as u64;
                        continue;
                    }
                    Err(e) if refused(&e).is_some() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        for (record, &line) in records[..n].iter().zip(&lines) {
            let debt = match check(Kind::Debts, &tax_types, record) {
                Ok(debt) => debt,
                Err(reason) => {
                    bad.push(BadRow { line, reason });
                    if bad.len() >= MAX_REPORTED {
                        break 'file;
                    }
                    continue;
                }
            };
            let Checked::Debt { cui, .. } = &debt else {
                unreachable!("a debts row checks as a debt")
            };
            let cui = cui.as_str();
            if !bad.is_empty() {
                // The file is refused anyway: only keep looking for bad rows.
                if !is_known(cui)? {
                    bad.push(unknown(line, cui));
                }
            } else {
                bind_debt(&mut insert, 0, &debt)?;
                match insert.raw_execute() {
                    Ok(_) => written += 1,
                    Err(e) => match refused(&e) {
                        // The tax type is known (checked above): the taxpayer is not,
                        // unless something else is wrong, which is then reported as such.
                        Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) if !is_known(cui)? => {
                            bad.push(unknown(line, cui))
                        }
                        Some(_) => bad.push(refused_rows(line, line, &e)),
                        None => return Err(e.into()),
                    },
                }
            }
            if bad.len() >= MAX_REPORTED {
                break 'file;
            }
        }
        if n < GROUP {
            break;
        }
    }
    if !bad.is_empty() {
        return Err(ImportError::BadRows(bad));
    }
    drop((insert, insert_group));
    tracing::debug!(
        rows = written,
        secs = started.elapsed().as_secs_f64(),
        "debts inserted"
    );
    if !rebuild.is_empty() {
        // The sort of CREATE INDEX keeps its runs in memory up to the page cache's size.
        // The cache has done its work (what it holds is in the WAL or about to be), and
        // with 8 MiB runs merged from temporary files the index was built as fast or
        // faster, the whole import's peak memory falling from 449 MB to 294 MB (1 M
        // register).
        tx.execute_batch("PRAGMA cache_size = -8192")?;
    }
    for (_, sql) in &rebuild {
        tx.execute_batch(sql)?;
    }
    tracing::debug!(
        indexes = rebuild.len(),
        secs = started.elapsed().as_secs_f64(),
        "indexes rebuilt"
    );
    Ok(written)
}
