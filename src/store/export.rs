//! What the Annex 3 and Annex 5 files read from the register: the taxpayers still in it and
//! their debts, streamed row by row in the files' order (a register of a million taxpayers
//! is never held in memory). One text per query for every backend, as elsewhere.

use futures_util::TryStreamExt;
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
