//! What the Annex 3 and Annex 5 files read from the register: the taxpayers still in it and
//! their debts, streamed row by row in the files' order (a register of a million taxpayers
//! is never held in memory). One text per query for every backend, as elsewhere.
//!
//! On SQLite the rows are read through rusqlite on a read-only connection of their own, as
//! the service's statements are: sqlx's `Any` rows cost about ten times more per row, which
//! on a register of millions of debts is most of an export's time. That read blocks its
//! thread: a caller inside the server would run it with `spawn_blocking`.

use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt;
use rusqlite::{Connection, OpenFlags};
use sqlx::Row;

use super::{opt_text, text, Result, Store};

mod sql {
    /// Taxpayers not removed, in the order of their `cod` (the order of their first import).
    pub const PERSONS: &str = "SELECT cui, nume, adresa FROM taxpayers \
        WHERE sters_la IS NULL ORDER BY cod, cui";
    /// The tax types that have a debt of a taxpayer not removed, with an amount.
    pub const TAX_TYPES_IN_USE: &str = "SELECT t.id_tip_suma, t.nume, t.cod_cls_bug, t.cod_db \
        FROM tax_types t WHERE EXISTS (SELECT 1 FROM debts d JOIN taxpayers p ON p.cui = d.cui \
            WHERE d.id_tip_suma = t.id_tip_suma AND p.sters_la IS NULL \
              AND d.debit + d.ramasita + d.majorari + d.penalitati > 0) \
        ORDER BY t.id_tip_suma";
    /// The debts of taxpayers not removed, grouped by taxpayer (in `cod` order), then by
    /// tax type, oldest due date first.
    pub const DEBTS: &str = "SELECT p.cui, d.id, d.id_tip_suma, d.debit, d.ramasita, \
        d.majorari, d.penalitati, d.rest_debit, d.rest_ramasita, d.rest_majorari, \
        d.rest_penalitati FROM debts d JOIN taxpayers p ON p.cui = d.cui \
        WHERE p.sters_la IS NULL AND d.debit + d.ramasita + d.majorari + d.penalitati > 0 \
        ORDER BY p.cod, p.cui, d.id_tip_suma, d.scadenta, d.id";
}

/// A taxpayer as Annex 3 lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRow {
    pub cui: String,
    pub nume: String,
    pub adresa: String,
}

/// A tax type's Annex 5 codes, as stored (not checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxTypeCodes {
    pub id_tip_suma: i64,
    pub nume: String,
    pub cod_cls_bug: Option<String>,
    pub cod_db: Option<String>,
}

/// One debt row, amounts in bani: as imported (`amounts`) and still owed (`rest`), each
/// in the order debit, ramasita, majorari, penalitati.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebtRow {
    pub cui: String,
    pub id: i64,
    pub id_tip_suma: i64,
    pub amounts: [i64; 4],
    pub rest: [i64; 4],
}

impl Store {
    /// Calls `each` with every taxpayer still in the register, in `cod` order; stops at
    /// the first error `each` returns.
    pub async fn each_person<E>(
        &self,
        mut each: impl FnMut(PersonRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E>
    where
        E: From<super::Error>,
    {
        if let Some(path) = self.sqlite_path() {
            return sqlite_rows(
                path,
                sql::PERSONS,
                |row| {
                    Ok(PersonRow {
                        cui: row.get(0)?,
                        nume: row.get(1)?,
                        adresa: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    })
                },
                each,
            );
        }
        let sql = self.backend().sql(sql::PERSONS);
        let mut rows = sqlx::query(&sql).fetch(self.pool());
        while let Some(row) = rows.try_next().await.map_err(super::Error::from)? {
            let person = PersonRow {
                cui: text(&row, 0).map_err(super::Error::from)?,
                nume: text(&row, 1).map_err(super::Error::from)?,
                adresa: opt_text(&row, 2)
                    .map_err(super::Error::from)?
                    .unwrap_or_default(),
            };
            each(person)?;
        }
        Ok(())
    }

    /// The tax types that Annex 5 lines will name, with their codes as stored.
    pub async fn tax_types_in_use(&self) -> Result<Vec<TaxTypeCodes>> {
        let sql = self.backend().sql(sql::TAX_TYPES_IN_USE);
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(TaxTypeCodes {
                    id_tip_suma: row.try_get(0)?,
                    nume: text(row, 1)?,
                    cod_cls_bug: opt_text(row, 2)?,
                    cod_db: opt_text(row, 3)?,
                })
            })
            .collect()
    }

    /// Calls `each` with every debt of the taxpayers still in the register that has an
    /// amount, in Annex 5's order; stops at the first error `each` returns.
    pub async fn each_debt<E>(
        &self,
        mut each: impl FnMut(DebtRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E>
    where
        E: From<super::Error>,
    {
        if let Some(path) = self.sqlite_path() {
            return sqlite_rows(
                path,
                sql::DEBTS,
                |row| {
                    Ok(DebtRow {
                        cui: row.get(0)?,
                        id: row.get(1)?,
                        id_tip_suma: row.get(2)?,
                        amounts: [row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?],
                        rest: [row.get(7)?, row.get(8)?, row.get(9)?, row.get(10)?],
                    })
                },
                each,
            );
        }
        let sql = self.backend().sql(sql::DEBTS);
        let mut rows = sqlx::query(&sql).fetch(self.pool());
        while let Some(row) = rows.try_next().await.map_err(super::Error::from)? {
            let debt = (|| -> std::result::Result<DebtRow, sqlx::Error> {
                Ok(DebtRow {
                    cui: text(&row, 0)?,
                    id: row.try_get(1)?,
                    id_tip_suma: row.try_get(2)?,
                    amounts: [
                        row.try_get(3)?,
                        row.try_get(4)?,
                        row.try_get(5)?,
                        row.try_get(6)?,
                    ],
                    rest: [
                        row.try_get(7)?,
                        row.try_get(8)?,
                        row.try_get(9)?,
                        row.try_get(10)?,
                    ],
                })
            })()
            .map_err(super::Error::from)?;
            each(debt)?;
        }
        Ok(())
    }
}

/// Runs `sql` (no parameters) on a read-only connection to the SQLite file at `path` and
/// calls `each` with every row as `map` makes it. One statement: one consistent snapshot,
/// while the server writes beside it (WAL).
fn sqlite_rows<T, E>(
    path: &Path,
    sql: &str,
    map: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    mut each: impl FnMut(T) -> std::result::Result<(), E>,
) -> std::result::Result<(), E>
where
    E: From<super::Error>,
{
    let failed = |e: rusqlite::Error| E::from(super::Error::from(e));
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(failed)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(failed)?;
    let mut statement = conn.prepare(sql).map_err(failed)?;
    let mut rows = statement.query([]).map_err(failed)?;
    while let Some(row) = rows.next().map_err(failed)? {
        each(map(row).map_err(failed)?)?;
    }
    Ok(())
}
