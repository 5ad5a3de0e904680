//! The SQL of payments out (issue 13): the export sequence, consumer cursors, the admin
//! audit, exceptions and console users. Everything goes through the pool, on every backend.

use sqlx::{Any, Row, Transaction};

use super::{opt_text, text, Backend, Result, Store};

/// UTC now, as the admin audit keeps it.
pub fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Gives every payment item not yet numbered the next sequence numbers, in item order,
/// under the lock of `payout_state`'s one row, and returns the last number handed out.
/// Items committed while this runs get their numbers next time, after all of these: so a
/// consumer that took everything up to N never meets an item below N later.
pub async fn stamp(store: &Store) -> Result<i64> {
    let b = store.backend();
    let mut tx = store.pool().begin().await?;
    // The first statement writes, so it takes the lock (a row lock on PostgreSQL and
    // MariaDB, the database's write lock on SQLite) before anything is read.
    sqlx::query("UPDATE payout_state SET last_seq = last_seq WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    let last: i64 = sqlx::query("SELECT last_seq FROM payout_state WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let fresh: Vec<i64> = sqlx::query(
        "SELECT i.id FROM payment_items i \
         WHERE NOT EXISTS (SELECT 1 FROM payout_sequence s WHERE s.item_id = i.id) \
         ORDER BY i.id",
    )
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<std::result::Result<_, _>>()?;
    if fresh.is_empty() {
        tx.commit().await?;
        return Ok(last);
    }
    let now = utc_now();
    let mut seq = last;
    for chunk in fresh.chunks(300) {
        let sql = format!(
            "INSERT INTO payout_sequence (seq, item_id, stamped_at) VALUES {}",
            b.values_list(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for &item in chunk {
            seq += 1;
            q = q.bind(seq).bind(item).bind(now.clone());
        }
        q.execute(&mut *tx).await?;
    }
    sqlx::query(&b.sql("UPDATE payout_state SET last_seq = $1 WHERE id = 1"))
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(seq)
}

/// Which items an export takes.
#[derive(Clone, Debug, Default)]
pub struct Range {
    /// Items with a sequence number above this.
    pub after: i64,
    /// And at most this (the last number stamped when the export started).
    pub upto: i64,
    /// Received at or after this local time ('YYYY-MM-DD HH:MM:SS').
    pub from: Option<String>,
    /// Received before this local time.
    pub before: Option<String>,
}

/// One paid item, as it was recorded.
#[derive(Clone, Debug)]
pub struct ItemRow {
    pub seq: i64,
    pub item_id: i64,
    pub payment_id: i64,
    pub order_no: i64,
    pub recorded_at: String,
    pub data: String,
    pub cui: String,
    pub nume: String,
    pub id_tip_suma: i64,
    pub tax_type: String,
    pub iban: String,
    pub valoare: i64,
}

/// Every item of every payment, for attribution (`payout::attribute`).
#[derive(Clone, Debug)]
pub struct BareItem {
    pub item_id: i64,
    pub payment_id: i64,
    pub id_tip_suma: i64,
    pub valoare: i64,
}

/// One allocation line (or, with `component == "credit"`, one credit), in the order the
/// payment wrote them.
#[derive(Clone, Debug)]
pub struct Applied {
    pub payment_id: i64,
    pub id_tip_suma: i64,
    pub component: String,
    pub amount: i64,
    pub id_debit: Option<String>,
    pub descriere: String,
    pub scadenta: String,
}

const RANGE_FILTER: &str =
    "s.seq > $1 AND s.seq <= $2 AND p.recorded_at >= $3 AND p.recorded_at < $4";

fn bind_range<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    r: &Range,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    q.bind(r.after)
        .bind(r.upto)
        .bind(r.from.clone().unwrap_or_else(|| "0000".into()))
        .bind(r.before.clone().unwrap_or_else(|| "9999".into()))
}

/// The items in `r`, by sequence number, with the payments, persons and tax types.
pub async fn items(store: &Store, r: &Range) -> Result<Vec<ItemRow>> {
    let sql = format!(
        "SELECT s.seq, i.id, i.payment_id, p.order_no, p.recorded_at, p.data, p.cui, t.nume, \
                i.id_tip_suma, tt.nume, tt.iban, i.valoare \
         FROM payout_sequence s \
         JOIN payment_items i ON i.id = s.item_id \
         JOIN payments p ON p.id = i.payment_id \
         JOIN taxpayers t ON t.cui = p.cui \
         JOIN tax_types tt ON tt.id_tip_suma = i.id_tip_suma \
         WHERE {RANGE_FILTER} ORDER BY s.seq"
    );
    let sql = store.backend().sql(&sql);
    let rows = bind_range(sqlx::query(&sql), r)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|row| {
            Ok(ItemRow {
                seq: row.try_get(0)?,
                item_id: row.try_get(1)?,
                payment_id: row.try_get(2)?,
                order_no: row.try_get(3)?,
                recorded_at: text(row, 4)?,
                data: text(row, 5)?,
                cui: text(row, 6)?,
                nume: text(row, 7)?,
                id_tip_suma: row.try_get(8)?,
                tax_type: text(row, 9)?,
                iban: text(row, 10)?,
                valoare: row.try_get(11)?,
            })
        })
        .collect()
}

/// The payments that have an item in `r`, as a sub-select.
fn payments_in_range() -> String {
    format!(
        "SELECT i.payment_id FROM payout_sequence s \
         JOIN payment_items i ON i.id = s.item_id \
         JOIN payments p ON p.id = i.payment_id WHERE {RANGE_FILTER}"
    )
}

/// All items, allocation lines and credits of the payments that have an item in `r`.
pub async fn applied(store: &Store, r: &Range) -> Result<(Vec<BareItem>, Vec<Applied>)> {
    let b = store.backend();
    let sql = format!(
        "SELECT id, payment_id, id_tip_suma, valoare FROM payment_items \
         WHERE payment_id IN ({}) ORDER BY id",
        payments_in_range()
    );
    let sql = b.sql(&sql);
    let items = bind_range(sqlx::query(&sql), r)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(BareItem {
                item_id: row.try_get(0)?,
                payment_id: row.try_get(1)?,
                id_tip_suma: row.try_get(2)?,
                valoare: row.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Allocation lines, then credits; each in the order written (by id).
    let sql = format!(
        "SELECT a.payment_id, d.id_tip_suma, a.component, a.amount, d.id_debit, d.descriere, \
                d.scadenta, a.id \
         FROM allocations a JOIN debts d ON d.id = a.debt_id \
         WHERE a.payment_id IN ({}) ORDER BY a.id",
        payments_in_range()
    );
    let sql = b.sql(&sql);
    let mut applied = Vec::new();
    for row in bind_range(sqlx::query(&sql), r)
        .fetch_all(store.pool())
        .await?
    {
        applied.push(Applied {
            payment_id: row.try_get(0)?,
            id_tip_suma: row.try_get(1)?,
            component: text(&row, 2)?,
            amount: row.try_get(3)?,
            id_debit: opt_text(&row, 4)?,
            descriere: text(&row, 5)?,
            scadenta: text(&row, 6)?,
        });
    }
    let sql = format!(
        "SELECT c.payment_id, c.id_tip_suma, c.amount FROM credits c \
         WHERE c.payment_id IN ({}) ORDER BY c.id",
        payments_in_range()
    );
    let sql = b.sql(&sql);
    for row in bind_range(sqlx::query(&sql), r)
        .fetch_all(store.pool())
        .await?
    {
        applied.push(Applied {
            payment_id: row.try_get(0)?,
            id_tip_suma: row.try_get(1)?,
            component: "credit".into(),
            amount: row.try_get(2)?,
            id_debit: None,
            descriere: String::new(),
            scadenta: String::new(),
        });
    }
    Ok((items, applied))
}

/// A consumer's cursor and, if an export of it stopped between writing and renaming, what
/// that export was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub last_seq: i64,
    pub pending: Option<(i64, String)>,
}

/// The consumer's cursor; a new consumer starts at 0.
pub async fn cursor(store: &Store, name: &str) -> Result<Cursor> {
    let b = store.backend();
    let sql =
        b.sql("SELECT last_seq, pending_seq, pending_tmp FROM payout_consumers WHERE name = $1");
    if let Some(row) = sqlx::query(&sql)
        .bind(name)
        .fetch_optional(store.pool())
        .await?
    {
        let pending_seq: Option<i64> = row.try_get(1)?;
        let pending_tmp = opt_text(&row, 2)?;
        return Ok(Cursor {
            last_seq: row.try_get(0)?,
            pending: pending_seq.zip(pending_tmp),
        });
    }
    let sql = b.sql("INSERT INTO payout_consumers (name, last_seq, updated_at) VALUES ($1, 0, $2)");
    match sqlx::query(&sql)
        .bind(name)
        .bind(utc_now())
        .execute(store.pool())
        .await
    {
        Ok(_) => {}
        // Another export created it at the same moment: fine.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Cursor {
        last_seq: 0,
        pending: None,
    })
}

/// Marks an export of `name` from cursor `from` to `to` as about to be renamed into place.
/// False when the cursor moved or another export is pending: someone else is exporting
/// for this consumer.
pub async fn set_pending(store: &Store, name: &str, from: i64, to: i64, tmp: &str) -> Result<bool> {
    let sql = store.backend().sql(
        "UPDATE payout_consumers SET pending_seq = $1, pending_tmp = $2, updated_at = $3 \
         WHERE name = $4 AND last_seq = $5 AND pending_seq IS NULL",
    );
    let done = sqlx::query(&sql)
        .bind(to)
        .bind(tmp)
        .bind(utc_now())
        .bind(name)
        .bind(from)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a pending export: `advance` moves the cursor to the pending seq (the file is in
/// place), otherwise it stays (the file never was). False when nothing was pending.
pub async fn finish_pending(store: &Store, name: &str, advance: bool) -> Result<bool> {
    let sql = if advance {
        "UPDATE payout_consumers SET last_seq = pending_seq, pending_seq = NULL, \
         pending_tmp = NULL, updated_at = $1 WHERE name = $2 AND pending_seq IS NOT NULL"
    } else {
        "UPDATE payout_consumers SET pending_seq = NULL, pending_tmp = NULL, updated_at = $1 \
         WHERE name = $2 AND pending_seq IS NOT NULL"
    };
    let sql = store.backend().sql(sql);
    let done = sqlx::query(&sql)
        .bind(utc_now())
        .bind(name)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What a person did, for the console's activity page: written on its own (`audit`) or
/// inside the transaction of what was done (handling an exception).
const AUDIT_INSERT: &str =
    "INSERT INTO admin_audit (at, actor, action, detail) VALUES ($1, $2, $3, $4)";

/// Records what a person did.
pub async fn audit(store: &Store, actor: &str, action: &str, detail: &str) -> Result<()> {
    let sql = store.backend().sql(AUDIT_INSERT);
    sqlx::query(&sql)
        .bind(utc_now())
        .bind(actor)
        .bind(action)
        .bind(detail)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// One row of the admin audit.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// The newest `limit` rows of the admin audit.
pub async fn audit_rows(store: &Store, limit: i64) -> Result<Vec<AuditRow>> {
    let sql = store
        .backend()
        .sql("SELECT at, actor, action, detail FROM admin_audit ORDER BY id DESC LIMIT $1");
    let rows = sqlx::query(&sql)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditRow {
                at: text(r, 0)?,
                actor: text(r, 1)?,
                action: text(r, 2)?,
                detail: text(r, 3)?,
            })
        })
        .collect()
}

/// Something a person must look at: a payment journaled but not recorded, or a credit.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Exception {
    /// `journal` or `credit`.
    pub kind: String,
    pub ref_id: i64,
    /// Local time received.
    pub at: String,
    pub order: String,
    pub cui: String,
    /// The journal's outcome (`conflict`, `unknown_cui`, …) or `credit`.
    pub reason: String,
    pub detail: String,
    /// Bani, for credits.
    pub amount: Option<i64>,
    pub handled: Option<(String, String, String)>,
}

/// Exceptions received in [from, before) (local times), oldest first; `open_only` leaves
/// out those handled.
pub async fn exceptions(
    store: &Store,
    from: &str,
    before: &str,
    open_only: bool,
) -> Result<Vec<Exception>> {
    let b = store.backend();
    let open = if open_only {
        " AND h.ref_id IS NULL"
    } else {
        ""
    };
    let sql = format!(
        "SELECT 'journal', j.id, j.received_at, j.order_text, j.cui_text, j.outcome, \
                COALESCE(j.detail, ''), NULL, h.handled_at, h.handled_by, h.note \
         FROM payment_journal j \
         LEFT JOIN exceptions_handled h ON h.kind = 'journal' AND h.ref_id = j.id \
         WHERE j.outcome NOT IN ('recorded', 'retry', 'pending') \
           AND j.received_at >= $1 AND j.received_at < $2{open} \
         UNION ALL \
         SELECT 'credit', c.id, p.recorded_at, {order}, c.cui, 'credit', '', c.amount, \
                h.handled_at, h.handled_by, h.note \
         FROM credits c JOIN payments p ON p.id = c.payment_id \
         LEFT JOIN exceptions_handled h ON h.kind = 'credit' AND h.ref_id = c.id \
         WHERE p.recorded_at >= $3 AND p.recorded_at < $4{open} \
         ORDER BY 3, 2",
        order = match b {
            Backend::Mysql => "CAST(p.order_no AS CHAR)",
            _ => "CAST(p.order_no AS TEXT)",
        },
    );
    let sql = b.sql(&sql);
    let rows = sqlx::query(&sql)
        .bind(from)
        .bind(before)
        .bind(from)
        .bind(before)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let handled_at = opt_text(r, 8)?;
            Ok(Exception {
                kind: text(r, 0)?,
                ref_id: r.try_get(1)?,
                at: text(r, 2)?,
                order: text(r, 3)?,
                cui: text(r, 4)?,
                reason: text(r, 5)?,
                detail: text(r, 6)?,
                amount: r.try_get::<Option<i64>, _>(7)?,
                handled: match handled_at {
                    Some(at) => Some((at, text(r, 9)?, text(r, 10)?)),
                    None => None,
                },
            })
        })
        .collect()
}

/// Marks an exception handled; false when it already was.
pub async fn mark_handled(
    store: &Store,
    kind: &str,
    ref_id: i64,
    who: &str,
    note: &str,
) -> Result<bool> {
    let b = store.backend();
    let mut tx: Transaction<'_, Any> = store.pool().begin().await?;
    let sql = b.sql(
        "INSERT INTO exceptions_handled (kind, ref_id, handled_at, handled_by, note) \
         VALUES ($1, $2, $3, $4, $5)",
    );
    match sqlx::query(&sql)
        .bind(kind)
        .bind(ref_id)
        .bind(utc_now())
        .bind(who)
        .bind(note)
        .execute(&mut *tx)
        .await
    {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let sql = b.sql(AUDIT_INSERT);
    sqlx::query(&sql)
        .bind(utc_now())
        .bind(who)
        .bind("exception handled")
        .bind(format!("{kind} {ref_id}: {note}"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Adds a console user or replaces its password hash.
pub async fn set_user(store: &Store, name: &str, hash: &str) -> Result<()> {
    let b = store.backend();
    let mut tx = store.pool().begin().await?;
    sqlx::query(&b.sql("DELETE FROM console_users WHERE name = $1"))
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        &b.sql("INSERT INTO console_users (name, password_hash, created_at) VALUES ($1, $2, $3)"),
    )
    .bind(name)
    .bind(hash)
    .bind(utc_now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A console user's password hash.
pub async fn user_hash(store: &Store, name: &str) -> Result<Option<String>> {
    let sql = store
        .backend()
        .sql("SELECT password_hash FROM console_users WHERE name = $1");
    match sqlx::query(&sql)
        .bind(name)
        .fetch_optional(store.pool())
        .await?
    {
        Some(r) => Ok(Some(text(&r, 0)?)),
        None => Ok(None),
    }
}

/// `CAST(x AS BIGINT)` in the backend's spelling (SUMs are NUMERIC on PostgreSQL and
/// DECIMAL on MySQL, which the `Any` driver cannot decode).
fn bigint(b: Backend, expr: &str) -> String {
    match b {
        Backend::Mysql => format!("CAST({expr} AS SIGNED)"),
        _ => format!("CAST({expr} AS BIGINT)"),
    }
}

/// Payments recorded at or after `since` (local time): how many and their sum in bani.
pub async fn payments_since(store: &Store, since: &str) -> Result<(i64, i64)> {
    let b = store.backend();
    let sql = format!(
        "SELECT COUNT(*), {} FROM payments WHERE recorded_at >= $1",
        bigint(b, "COALESCE(SUM(total), 0)")
    );
    let row = sqlx::query(&b.sql(&sql))
        .bind(since)
        .fetch_one(store.pool())
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The time (UTC, 'YYYY-MM-DD HH:MM:SS.mmm') of the last SOAP request that passed the
/// guards, from the audit table.
pub async fn last_request(store: &Store) -> Result<Option<String>> {
    let row = sqlx::query("SELECT MAX(at) FROM audit_log WHERE outcome <> 'refused'")
        .fetch_one(store.pool())
        .await?;
    Ok(opt_text(&row, 0)?)
}

/// SOAP requests answered with a fault since `since` (UTC).
pub async fn faults_since(store: &Store, since: &str) -> Result<i64> {
    let sql = store
        .backend()
        .sql("SELECT COUNT(*) FROM audit_log WHERE outcome = 'fault' AND at >= $1");
    Ok(sqlx::query(&sql)
        .bind(since)
        .fetch_one(store.pool())
        .await?
        .try_get(0)?)
}

/// How many exceptions nobody has handled yet.
pub async fn open_exceptions(store: &Store) -> Result<i64> {
    let sql = "SELECT \
        (SELECT COUNT(*) FROM payment_journal j \
          WHERE j.outcome NOT IN ('recorded', 'retry', 'pending') AND NOT EXISTS \
            (SELECT 1 FROM exceptions_handled h WHERE h.kind = 'journal' AND h.ref_id = j.id)) \
      + (SELECT COUNT(*) FROM credits c WHERE NOT EXISTS \
            (SELECT 1 FROM exceptions_handled h WHERE h.kind = 'credit' AND h.ref_id = c.id))";
    let row = sqlx::query(sql).fetch_one(store.pool()).await?;
    // PostgreSQL adds two bigints to a bigint, MySQL to a DECIMAL-free BIGINT too.
    Ok(row.try_get::<i64, _>(0)?)
}

/// A payment as the console lists it.
#[derive(Clone, Debug)]
pub struct PaymentRow {
    pub id: i64,
    pub order_no: i64,
    pub recorded_at: String,
    pub data: String,
    pub cui: String,
    pub nume: String,
    pub total: i64,
    pub journal_id: i64,
}

/// What the console searches by; every part optional.
#[derive(Clone, Debug, Default)]
pub struct Search {
    pub order_no: Option<i64>,
    pub cui: Option<String>,
    /// Local times.
    pub from: Option<String>,
    pub before: Option<String>,
}

const PAYMENT_COLUMNS: &str =
    "p.id, p.order_no, p.recorded_at, p.data, p.cui, t.nume, p.total, p.journal_id \
     FROM payments p JOIN taxpayers t ON t.cui = p.cui";

fn payment_row(r: &sqlx::any::AnyRow) -> Result<PaymentRow> {
    Ok(PaymentRow {
        id: r.try_get(0)?,
        order_no: r.try_get(1)?,
        recorded_at: text(r, 2)?,
        data: text(r, 3)?,
        cui: text(r, 4)?,
        nume: text(r, 5)?,
        total: r.try_get(6)?,
        journal_id: r.try_get(7)?,
    })
}

/// The newest 200 payments matching `s`.
pub async fn search(store: &Store, s: &Search) -> Result<Vec<PaymentRow>> {
    let b = store.backend();
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} \
         WHERE ($1 = 0 OR p.order_no = $2) AND ($3 = '' OR p.cui = $4) \
           AND p.recorded_at >= $5 AND p.recorded_at < $6 \
         ORDER BY p.recorded_at DESC, p.id DESC LIMIT 200"
    );
    let order = s.order_no.unwrap_or(0);
    let cui = s.cui.clone().unwrap_or_default();
    let rows = sqlx::query(&b.sql(&sql))
        .bind(order)
        .bind(order)
        .bind(cui.clone())
        .bind(cui)
        .bind(s.from.clone().unwrap_or_else(|| "0000".into()))
        .bind(s.before.clone().unwrap_or_else(|| "9999".into()))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(payment_row).collect()
}

/// One payment with everything about it.
#[derive(Clone, Debug)]
pub struct PaymentDetail {
    pub payment: PaymentRow,
    /// (id_tip_suma, tax type, iban, valoare)
    pub items: Vec<(i64, String, String, i64)>,
    pub applied: Vec<Applied>,
    /// The journal row: received_at, order, cui, data, sume, outcome, detail.
    pub journal: Vec<(String, String)>,
}

pub async fn payment_detail(store: &Store, id: i64) -> Result<Option<PaymentDetail>> {
    let b = store.backend();
    let sql = format!("SELECT {PAYMENT_COLUMNS} WHERE p.id = $1");
    let Some(row) = sqlx::query(&b.sql(&sql))
        .bind(id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let payment = payment_row(&row)?;
    let items = sqlx::query(&b.sql(
        "SELECT i.id_tip_suma, t.nume, t.iban, i.valoare FROM payment_items i \
         JOIN tax_types t ON t.id_tip_suma = i.id_tip_suma WHERE i.payment_id = $1 ORDER BY i.id",
    ))
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, text(r, 1)?, text(r, 2)?, r.try_get(3)?)))
    .collect::<Result<Vec<_>>>()?;
    let mut applied = Vec::new();
    for r in sqlx::query(&b.sql(
        "SELECT d.id_tip_suma, a.component, a.amount, d.id_debit, d.descriere, d.scadenta \
         FROM allocations a JOIN debts d ON d.id = a.debt_id WHERE a.payment_id = $1 ORDER BY a.id",
    ))
    .bind(id)
    .fetch_all(store.pool())
    .await?
    {
        applied.push(Applied {
            payment_id: id,
            id_tip_suma: r.try_get(0)?,
            component: text(&r, 1)?,
            amount: r.try_get(2)?,
            id_debit: opt_text(&r, 3)?,
            descriere: text(&r, 4)?,
            scadenta: text(&r, 5)?,
        });
    }
    for r in sqlx::query(
        &b.sql("SELECT id_tip_suma, amount FROM credits WHERE payment_id = $1 ORDER BY id"),
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?
    {
        applied.push(Applied {
            payment_id: id,
            id_tip_suma: r.try_get(0)?,
            component: "credit".into(),
            amount: r.try_get(1)?,
            id_debit: None,
            descriere: String::new(),
            scadenta: String::new(),
        });
    }
    let journal = match sqlx::query(&b.sql(
        "SELECT received_at, order_text, cui_text, data_text, sume_text, outcome, \
                COALESCE(detail, '') FROM payment_journal WHERE id = $1",
    ))
    .bind(payment.journal_id)
    .fetch_optional(store.pool())
    .await?
    {
        Some(r) => [
            "received_at",
            "order",
            "cui",
            "data",
            "sume",
            "outcome",
            "detail",
        ]
        .iter()
        .enumerate()
        .map(|(i, k)| Ok((k.to_string(), text(&r, i)?)))
        .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    Ok(Some(PaymentDetail {
        payment,
        items,
        applied,
        journal,
    }))
}

/// Payments per day (local date 'YYYY-MM-DD') since `since`: (day, count, sum in bani).
pub async fn per_day(store: &Store, since: &str) -> Result<Vec<(String, i64, i64)>> {
    let b = store.backend();
    let sql = format!(
        "SELECT SUBSTR(recorded_at, 1, 10) AS zi, COUNT(*), {} FROM payments \
         WHERE recorded_at >= $1 GROUP BY SUBSTR(recorded_at, 1, 10) ORDER BY 1",
        bigint(b, "SUM(total)")
    );
    let rows = sqlx::query(&b.sql(&sql))
        .bind(since)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((text(r, 0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}
