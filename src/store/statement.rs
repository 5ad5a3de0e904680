//! Reading a person's statement: everything still owed, per tax type, in the order
//! getSumeDePlataPePersoana lists it. Everything that reads a statement is in this file:
//! one query text for every backend, read on the calling thread from SQLite's read
//! connections (`sqlite::Native`), through the pool elsewhere.

use sqlx::Row;

use super::sqlite::Native;
use super::{opt_text, text, Result, Store};
use crate::rules::money::Bani;

/// One debt row with something still owed, in the order the statement lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueRow {
    pub id_tip_suma: i64,
    pub prioritate: i64,
    pub detalii_header: Option<String>,
    pub descriere: String,
    pub debit: Bani,
    pub ramasita: Bani,
    pub majorari: Bani,
    pub penalitati: Bani,
}

impl Store {
    /// Everything still owed by `cui`, grouped by tax type in statement order (prioritised
    /// types ascending, then priority 0, ties by code; within a type oldest first).
    /// `None` when the person is not in the register.
    pub async fn statement(&self, cui: &str) -> Result<Option<Vec<DueRow>>> {
        if let Some(native) = &self.native {
            return native.statement(cui);
        }
        let sql = self.backend.sql(queries::STATEMENT);
        let rows = sqlx::query(&sql).bind(cui).fetch_all(&self.pool).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(id_tip_suma) = row.try_get::<Option<i64>, _>(0)? else {
                continue; // the person's own row, with no debt joined
            };
            due.push(DueRow {
                id_tip_suma,
                prioritate: row.try_get(1)?,
                detalii_header: opt_text(&row, 2)?,
                descriere: text(&row, 3)?,
                debit: Bani(row.try_get(4)?),
                ramasita: Bani(row.try_get(5)?),
                majorari: Bani(row.try_get(6)?),
                penalitati: Bani(row.try_get(7)?),
            });
        }
        Ok(Some(due))
    }
}

impl Native {
    /// Everything still owed by `cui`, read on this thread (see `Store::statement`).
    pub fn statement(&self, cui: &str) -> Result<Option<Vec<DueRow>>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(queries::STATEMENT)?;
            let mut rows = stmt.query([cui])?;
            let mut due = Vec::new();
            let mut known = false;
            while let Some(r) = rows.next()? {
                known = true;
                let Some(id_tip_suma) = r.get::<_, Option<i64>>(0)? else {
                    continue; // the person's own row, with no debt joined
                };
                due.push(DueRow {
                    id_tip_suma,
                    prioritate: r.get(1)?,
                    detalii_header: r.get(2)?,
                    descriere: r.get(3)?,
                    debit: Bani(r.get(4)?),
                    ramasita: Bani(r.get(5)?),
                    majorari: Bani(r.get(6)?),
                    penalitati: Bani(r.get(7)?),
                });
            }
            Ok(known.then_some(due))
        })
    }
}

/// The texts of the statement's query, shared by the pool (PostgreSQL, MySQL through
/// `Backend::sql`) and SQLite's own read connections (`sqlite`), which read `$1` as their
/// first parameter.
mod queries {
    /// The taxpayer's row joined with each debt still owed, in statement order. No row: the
    /// person is not in the register; one row of NULLs: nothing is owed.
    /// Everything it reads is in two indexes (migration 20261204000001): `taxpayers_known`,
    /// which SQLite uses because the WHERE clause holds its condition `sters_la IS NULL`,
    /// and `debts_owed`; a column added here that they lack sends each statement back to
    /// the tables' rows (issue 15 measured that at 16–18% of the server's CPU).
    /// The ORDER BY is `rules::order`'s rule written in SQL (the live register sorts in
    /// Rust by `tax_type_rank`; tests/live_register.rs compares the two answers).
    pub const STATEMENT: &str = "\
        SELECT d.id_tip_suma, t.prioritate, t.detalii_header, d.descriere, \
               d.rest_debit, d.rest_ramasita, d.rest_majorari, d.rest_penalitati \
        FROM taxpayers p \
        LEFT JOIN debts d ON d.cui = p.cui \
             AND d.rest_debit + d.rest_ramasita + d.rest_majorari + d.rest_penalitati > 0 \
        LEFT JOIN tax_types t ON t.id_tip_suma = d.id_tip_suma \
        WHERE p.cui = $1 AND p.sters_la IS NULL \
        ORDER BY CASE WHEN t.prioritate > 0 THEN 0 ELSE 1 END, t.prioritate, \
                 d.id_tip_suma, d.scadenta, d.id";
}
