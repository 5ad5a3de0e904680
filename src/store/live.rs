//! Our side of the live SQL register (src/live/): the payments of a person the tax system
//! may not have booked yet, the person and tax types a payment refers to, and the outbox
//! of payment items to write into the tax system. Every query of it is in this file.

use sqlx::Row;

use super::{opt_text, text, Result, Store};
use crate::rules::money::Bani;

/// What the payment's transaction adds to the outbox, when one is configured: every item
/// of the new payment (`$1`), to be delivered. Run by store/payment.rs.
pub const ENQUEUE: &str = "INSERT INTO live_outbox (item_id, payment_id) \
    SELECT id, payment_id FROM payment_items WHERE payment_id = $1";

/// A person as the tax system has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub cui: String,
    pub nume: String,
    pub adresa: String,
}

/// A tax type as the tax system has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxType {
    pub id_tip_suma: i64,
    pub nume: String,
    pub prioritate: i64,
    pub iban: String,
    pub detalii_header: Option<String>,
}

/// One item of a payment recorded here, as far as the statement cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub order_no: i64,
    pub id_tip_suma: i64,
    pub valoare: Bani,
    /// The outbox wrote it into the tax system.
    pub delivered: bool,
}

/// One payment item still to be written into the tax system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub item_id: i64,
    pub order_no: i64,
    /// The item's place in its order (1, 2, …): with the order, the key of the delivery.
    pub nr_articol: i64,
    pub cui: String,
    pub id_tip_suma: i64,
    pub valoare: Bani,
    /// The payment date as ghiseul.ro sent it.
    pub data: String,
}

/// The items of every payment of `cui` not marked booked here (`booked_at`, set by
/// `import --booked-until`), with whether the outbox delivered them.
pub async fn recorded(store: &Store, cui: &str) -> Result<Vec<Recorded>> {
    let sql = store.backend().sql(queries::RECORDED);
    let rows = sqlx::query(&sql).bind(cui).fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Recorded {
                order_no: r.try_get(0)?,
                id_tip_suma: r.try_get(1)?,
                valoare: Bani(r.try_get(2)?),
                delivered: opt_text(r, 3)?.is_some(),
            })
        })
        .collect()
}

/// Keeps the person and the paid tax types in our tables, which a payment's rows refer to
/// and the exports print: the person added if absent (with the next `cod`), a tax type added
/// or its name and IBAN brought up to date. Its priority stays 0 here: the statement
/// reads priorities live.
pub async fn keep_referenced(
    store: &Store,
    person: &Person,
    types: &[&TaxType],
    now: &str,
) -> Result<()> {
    let b = store.backend();
    let pool = store.pool();
    for attempt in 0.. {
        let state = sqlx::query(&b.sql(queries::PERSON_STATE))
            .bind(&person.cui)
            .fetch_optional(pool)
            .await?;
        match state {
            Some(row) if opt_text(&row, 0)?.is_none() => break,
            Some(_) => {
                // Removed by an earlier `import --replace`, but the tax system has them.
                sqlx::query(&b.sql(queries::PERSON_BACK))
                    .bind(&person.cui)
                    .execute(pool)
                    .await?;
                break;
            }
            None => {
                let added = sqlx::query(&b.sql(queries::PERSON_ADD))
                    .bind(&person.cui)
                    .bind(&person.nume)
                    .bind(&person.adresa)
                    .bind(now)
                    .execute(pool)
                    .await;
                // Another payment may have added them, or taken the same `cod`: look again.
                if let Err(e) = added {
                    if attempt >= 3 {
                        return Err(e.into());
                    }
                }
            }
        }
    }
    for t in types {
        let row = sqlx::query(&b.sql(queries::TAX_TYPE_STATE))
            .bind(t.id_tip_suma)
            .fetch_optional(pool)
            .await?;
        let sql = match row {
            Some(r) if text(&r, 0)? == t.nume && text(&r, 1)? == t.iban => continue,
            Some(_) => queries::TAX_TYPE_UPDATE,
            None => queries::TAX_TYPE_ADD,
        };
        let done = sqlx::query(&b.sql(sql))
            .bind(&t.nume)
            .bind(&t.iban)
            .bind(t.id_tip_suma)
            .execute(pool)
            .await;
        if let Err(e) = done {
            // A concurrent payment added it first; anything else is an error.
            let there = sqlx::query(&b.sql(queries::TAX_TYPE_STATE))
                .bind(t.id_tip_suma)
                .fetch_optional(pool)
                .await?;
            if there.is_none() {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Up to `limit` items still to deliver, oldest first.
pub async fn pending(store: &Store, limit: i64) -> Result<Vec<Pending>> {
    let sql = store.backend().sql(queries::PENDING);
    let rows = sqlx::query(&sql)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Pending {
                item_id: r.try_get(0)?,
                order_no: r.try_get(1)?,
                cui: text(r, 2)?,
                id_tip_suma: r.try_get(3)?,
                valoare: Bani(r.try_get(4)?),
                data: text(r, 5)?,
                nr_articol: r.try_get(6)?,
            })
        })
        .collect()
}

/// Marks an item delivered at `at` (Romanian time).
pub async fn delivered(store: &Store, item_id: i64, at: &str) -> Result<()> {
    sqlx::query(&store.backend().sql(queries::DELIVERED))
        .bind(at)
        .bind(item_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Counts a failed attempt and keeps why.
pub async fn failed(store: &Store, item_id: i64, error: &str) -> Result<()> {
    sqlx::query(&store.backend().sql(queries::FAILED))
        .bind(error)
        .bind(item_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// How many items wait to be delivered, and the last error of the oldest one.
pub async fn backlog(store: &Store) -> Result<(i64, Option<String>)> {
    let count: i64 = sqlx::query_scalar(queries::BACKLOG)
        .fetch_one(store.pool())
        .await?;
    let error = match sqlx::query(queries::OLDEST_ERROR)
        .fetch_optional(store.pool())
        .await?
    {
        Some(row) => opt_text(&row, 0)?,
        None => None,
    };
    Ok((count, error))
}

/// The texts of the live register's queries on our database (`Backend::sql` numbers them
/// for MariaDB; SQLite reads `$1`, `$2`, … in order).
mod queries {
    pub const RECORDED: &str = "\
        SELECT p.order_no, i.id_tip_suma, i.valoare, o.delivered_at \
        FROM payments p JOIN payment_items i ON i.payment_id = p.id \
        LEFT JOIN live_outbox o ON o.item_id = i.id \
        WHERE p.cui = $1 AND p.booked_at IS NULL";
    pub const PERSON_STATE: &str = "SELECT sters_la FROM taxpayers WHERE cui = $1";
    pub const PERSON_BACK: &str = "UPDATE taxpayers SET sters_la = NULL WHERE cui = $1";
    pub const PERSON_ADD: &str = "\
        INSERT INTO taxpayers (cui, nume, adresa, cod, data) \
        SELECT $1, $2, $3, COALESCE(MAX(cod), 0) + 1, $4 FROM taxpayers";
    pub const TAX_TYPE_STATE: &str = "SELECT nume, iban FROM tax_types WHERE id_tip_suma = $1";
    pub const TAX_TYPE_UPDATE: &str =
        "UPDATE tax_types SET nume = $1, iban = $2 WHERE id_tip_suma = $3";
    pub const TAX_TYPE_ADD: &str =
        "INSERT INTO tax_types (nume, iban, id_tip_suma) VALUES ($1, $2, $3)";
    pub const PENDING: &str = "\
        SELECT o.item_id, p.order_no, p.cui, i.id_tip_suma, i.valoare, p.data, \
               (SELECT COUNT(*) FROM payment_items j \
                WHERE j.payment_id = i.payment_id AND j.id <= i.id) AS nr_articol \
        FROM live_outbox o JOIN payment_items i ON i.id = o.item_id \
        JOIN payments p ON p.id = o.payment_id \
        WHERE o.delivered_at IS NULL ORDER BY o.item_id LIMIT $1";
    pub const DELIVERED: &str = "UPDATE live_outbox SET delivered_at = $1, \
        attempts = attempts + 1, last_error = NULL WHERE item_id = $2";
    pub const FAILED: &str =
        "UPDATE live_outbox SET attempts = attempts + 1, last_error = $1 WHERE item_id = $2";
    pub const BACKLOG: &str = "SELECT COUNT(*) FROM live_outbox WHERE delivered_at IS NULL";
    pub const OLDEST_ERROR: &str = "SELECT last_error FROM live_outbox \
        WHERE delivered_at IS NULL ORDER BY item_id LIMIT 1";
}
