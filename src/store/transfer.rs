//! The queries of `sync` (Annex 2): reading the register in the order it is sent, and the
//! `sync_runs`, `sync_acks` and `sync_lock` tables. Every query goes through the pool, on
//! every backend, with `$n` placeholders (`Backend::sql` makes them `?` for MySQL).
//!
//! Persons and PFA are read in pages ordered by (`data`, `cod`) from a cursor, so a run
//! never holds a long read transaction, and so that everything before ghiseul.ro's
//! high-water mark is known to have been sent (see `transfer::sync`).

use sqlx::Row;

use super::{opt_text, text, Backend, Result, Store};

/// A tax type as the register has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxTypeRow {
    pub id_tip_suma: i64,
    pub id_nom_unic: Option<String>,
    pub nume: String,
    pub iban: String,
    pub debit: i64,
    pub val_initiala: Option<i64>,
    pub inactiv: i64,
    pub data: String,
    pub platitor: i64,
}

/// A taxpayer still in the register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxpayerRow {
    pub cod: i64,
    pub cui: String,
    pub nume: String,
    pub adresa: String,
    pub data: String,
}

/// A queued deletion; `live` when the object is in the register again (re-added after it
/// was removed), which makes the deletion obsolete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionRow {
    pub cod: i64,
    pub cod_obiect: i64,
    pub fizjur: i64,
    pub cui: String,
    pub live: bool,
}

/// Tax types with `data >= since`, in (`data`, code) order.
pub async fn tax_types_since(store: &Store, since: &str) -> Result<Vec<TaxTypeRow>> {
    let sql = store.backend().sql(
        "SELECT id_tip_suma, id_nom_unic, nume, iban, debit, val_initiala, inactiv, data, platitor \
         FROM tax_types WHERE data >= $1 ORDER BY data, id_tip_suma",
    );
    let rows = sqlx::query(&sql)
        .bind(since)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TaxTypeRow {
                id_tip_suma: r.try_get(0)?,
                id_nom_unic: opt_text(r, 1)?,
                nume: text(r, 2)?,
                iban: text(r, 3)?,
                debit: r.try_get(4)?,
                val_initiala: r.try_get(5)?,
                inactiv: r.try_get(6)?,
                data: text(r, 7)?,
                platitor: r.try_get(8)?,
            })
        })
        .collect()
}

/// Up to `limit` taxpayers of one kind (persons: a 13-digit CNP/NIF; PFA: a CIF) still in
/// the register, after the cursor (`data`, `cod`) in that order. The cursor (`D`, -1) starts
/// at `data >= D`. Each page starts its index scan at the cursor, so it costs its own rows,
/// not all those before it.
pub async fn taxpayers_after(
    store: &Store,
    persons: bool,
    after_data: &str,
    after_cod: i64,
    limit: i64,
) -> Result<Vec<TaxpayerRow>> {
    let kind = if persons {
        "LENGTH(cui) = 13"
    } else {
        "LENGTH(cui) <> 13"
    };
    // SQLite and PostgreSQL seek the (data, cod) index to a row value; adding `data >= $1`
    // makes SQLite seek on `data` alone and walk every row of that `data` before the cursor
    // (a whole register imported at once shares one: quadratic). MariaDB does not seek on
    // row values but builds index ranges from the expanded form.
    let b = store.backend();
    let sql = match b {
        Backend::Mysql => format!(
            "SELECT cod, cui, nume, adresa, data FROM taxpayers \
             WHERE sters_la IS NULL AND {kind} AND (data > ? OR (data = ? AND cod > ?)) \
             ORDER BY data, cod LIMIT ?"
        ),
        _ => format!(
            "SELECT cod, cui, nume, adresa, data FROM taxpayers \
             WHERE sters_la IS NULL AND {kind} AND (data, cod) > ($1, $2) \
             ORDER BY data, cod LIMIT $3"
        ),
    };
    let mut query = sqlx::query(&sql).bind(after_data);
    if b == Backend::Mysql {
        query = query.bind(after_data);
    }
    let rows = query
        .bind(after_cod)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TaxpayerRow {
                cod: r.try_get(0)?,
                cui: text(r, 1)?,
                nume: text(r, 2)?,
                adresa: text(r, 3)?,
                data: text(r, 4)?,
            })
        })
        .collect()
}

/// PostgreSQL: refreshes the planner's statistics of `taxpayers`. Right after a bulk
/// import (the nightly routine runs sync straight after it) they are stale, and the
/// planner then scans the whole table for every page instead of seeking the (data, cod)
/// index: measured 279 ms a page before, 2–7 ms after. ANALYZE samples, so it takes a
/// fraction of a second on 1M rows. Elsewhere nothing to do.
pub async fn refresh_statistics(store: &Store) -> Result<()> {
    if store.backend() == Backend::Postgres {
        sqlx::query("ANALYZE taxpayers")
            .execute(store.pool())
            .await?;
    }
    Ok(())
}

/// Up to `limit` deletions with `cod > after`, in code order.
pub async fn deletions_after(store: &Store, after: i64, limit: i64) -> Result<Vec<DeletionRow>> {
    let sql = store.backend().sql(
        "SELECT d.cod, d.cod_obiect, d.fizjur, d.cui, \
                CASE WHEN EXISTS (SELECT 1 FROM taxpayers t \
                                  WHERE t.cod = d.cod_obiect AND t.sters_la IS NULL) \
                     THEN 1 ELSE 0 END \
         FROM deletions d WHERE d.cod > $1 ORDER BY d.cod LIMIT $2",
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DeletionRow {
                cod: r.try_get(0)?,
                cod_obiect: r.try_get(1)?,
                fizjur: r.try_get(2)?,
                cui: text(r, 3)?,
                live: integer(r, 4)? != 0,
            })
        })
        .collect()
}

/// An integer column that some backends type as INT/NUMERIC (a CASE, a COUNT, a SUM).
fn integer(r: &sqlx::any::AnyRow, i: usize) -> std::result::Result<i64, sqlx::Error> {
    r.try_get::<i64, _>(i)
        .or_else(|_| r.try_get::<i32, _>(i).map(i64::from))
        .or_else(|_| r.try_get::<bool, _>(i).map(i64::from))
}

/// UTC now as the sync tables keep it.
pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Counts of one run, per register.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub sent: i64,
    pub left_out: i64,
}

/// Records a run that starts now; its id.
pub async fn start_run(store: &Store, outcome: &str) -> Result<i64> {
    let b = store.backend();
    let sql = "INSERT INTO sync_runs (started_at, outcome) VALUES ($1, $2)";
    let now = now_utc();
    match b {
        Backend::Mysql => {
            let done = sqlx::query(&b.sql(sql))
                .bind(&now)
                .bind(outcome)
                .execute(store.pool())
                .await?;
            Ok(done.last_insert_id().unwrap_or_default())
        }
        _ => {
            let row = sqlx::query(&format!("{sql} RETURNING id"))
                .bind(&now)
                .bind(outcome)
                .fetch_one(store.pool())
                .await?;
            Ok(row.try_get(0)?)
        }
    }
}

/// Closes a run: its outcome, a line about it, and the counts per register (in the order
/// tax types, persons, PFA, deletions).
pub async fn finish_run(
    store: &Store,
    id: i64,
    outcome: &str,
    detail: Option<&str>,
    counts: [Counts; 4],
    retries: i64,
) -> Result<()> {
    let b = store.backend();
    let sql = b.sql(
        "UPDATE sync_runs SET finished_at = $1, outcome = $2, detail = $3, \
         tax_types_sent = $4, tax_types_left_out = $5, persons_sent = $6, persons_left_out = $7, \
         pfa_sent = $8, pfa_left_out = $9, deletions_sent = $10, deletions_left_out = $11, \
         retries = $12 WHERE id = $13",
    );
    let mut q = sqlx::query(&sql).bind(now_utc()).bind(outcome).bind(detail);
    for c in counts {
        q = q.bind(c.sent).bind(c.left_out);
    }
    q.bind(retries).bind(id).execute(store.pool()).await?;
    Ok(())
}

/// What ghiseul.ro acknowledged last of one register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub kind: String,
    /// The `data` of the last record acknowledged (deletions: its code).
    pub mark: String,
    /// The `cod` of that record.
    pub cursor_cod: i64,
    pub operation: String,
    pub items: i64,
    pub acknowledged_at: String,
    /// The same moment in Romanian local time, the clock `data` is stamped with.
    pub acknowledged_local: String,
    pub run_id: i64,
}

/// Notes that ghiseul.ro answered 0 to a packet of `kind` whose last record has `data`
/// `mark` (deletions: the code) and `cod` `cursor_cod`, and extends the sync lock of
/// `token` to `expires_at`, in one transaction (one commit a packet). False, with nothing
/// written, when the lock is no longer this run's.
#[allow(clippy::too_many_arguments)]
pub async fn record_ack(
    store: &Store,
    kind: &str,
    mark: &str,
    cursor_cod: i64,
    operation: &str,
    items: i64,
    run_id: i64,
    lock: (&str, &str),
) -> Result<bool> {
    let (token, expires_at) = lock;
    let mut tx = store.pool().begin().await?;
    let b = store.backend();
    let now = now_utc();
    let local = crate::rules::clock::now()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let renew = b.sql("UPDATE sync_lock SET expires_at = $1 WHERE id = 1 AND token = $2");
    let done = sqlx::query(&renew)
        .bind(expires_at)
        .bind(token)
        .execute(&mut *tx)
        .await?;
    // MySQL counts only changed rows: a renewal within the same second changes nothing.
    if done.rows_affected() == 0 {
        let ours = b.sql("SELECT 1 FROM sync_lock WHERE id = 1 AND token = $1");
        if sqlx::query(&ours)
            .bind(token)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Ok(false);
        }
    }
    // One statement either way: MySQL reports an UPDATE that changes nothing as 0 rows,
    // so "update, else insert" could insert twice.
    let sql = match b {
        Backend::Mysql => {
            "INSERT INTO sync_acks (kind, mark, cursor_cod, operation, items, acknowledged_at, \
             acknowledged_local, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE mark = VALUES(mark), cursor_cod = VALUES(cursor_cod), \
             operation = VALUES(operation), items = VALUES(items), \
             acknowledged_at = VALUES(acknowledged_at), \
             acknowledged_local = VALUES(acknowledged_local), run_id = VALUES(run_id)"
        }
        _ => {
            "INSERT INTO sync_acks (kind, mark, cursor_cod, operation, items, acknowledged_at, \
             acknowledged_local, run_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (kind) DO UPDATE SET mark = excluded.mark, \
             cursor_cod = excluded.cursor_cod, operation = excluded.operation, \
             items = excluded.items, acknowledged_at = excluded.acknowledged_at, \
             acknowledged_local = excluded.acknowledged_local, run_id = excluded.run_id"
        }
    };
    sqlx::query(sql)
        .bind(kind)
        .bind(mark)
        .bind(cursor_cod)
        .bind(operation)
        .bind(items)
        .bind(&now)
        .bind(&local)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn acks(store: &Store) -> Result<Vec<Ack>> {
    let rows = sqlx::query(
        "SELECT kind, mark, cursor_cod, operation, items, acknowledged_at, acknowledged_local, \
         run_id FROM sync_acks ORDER BY kind",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Ack {
                kind: text(r, 0)?,
                mark: text(r, 1)?,
                cursor_cod: r.try_get(2)?,
                operation: text(r, 3)?,
                items: r.try_get(4)?,
                acknowledged_at: text(r, 5)?,
                acknowledged_local: text(r, 6)?,
                run_id: r.try_get(7)?,
            })
        })
        .collect()
}

/// A recorded run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
    /// tax types, persons, PFA, deletions.
    pub counts: [Counts; 4],
    pub retries: i64,
}

/// The last `limit` runs, newest first.
pub async fn recent_runs(store: &Store, limit: i64) -> Result<Vec<Run>> {
    let sql = store.backend().sql(
        "SELECT id, started_at, finished_at, outcome, detail, tax_types_sent, tax_types_left_out, \
                persons_sent, persons_left_out, pfa_sent, pfa_left_out, deletions_sent, \
                deletions_left_out, retries \
         FROM sync_runs ORDER BY id DESC LIMIT $1",
    );
    let rows = sqlx::query(&sql)
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let c = |i: usize| -> std::result::Result<Counts, sqlx::Error> {
                Ok(Counts {
                    sent: r.try_get(i)?,
                    left_out: r.try_get(i + 1)?,
                })
            };
            Ok(Run {
                id: r.try_get(0)?,
                started_at: text(r, 1)?,
                finished_at: opt_text(r, 2)?,
                outcome: text(r, 3)?,
                detail: opt_text(r, 4)?,
                counts: [c(5)?, c(7)?, c(9)?, c(11)?],
                retries: r.try_get(13)?,
            })
        })
        .collect()
}

/// Who holds the sync lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockHolder {
    pub holder: String,
    pub since: String,
    pub expires_at: String,
}

/// Takes the sync lock for `token` until `expires_at` (UTC), or says who holds it. A lock
/// whose time has passed (its run died) is taken over.
pub async fn try_lock(
    store: &Store,
    token: &str,
    holder: &str,
    expires_at: &str,
) -> Result<std::result::Result<(), LockHolder>> {
    let b = store.backend();
    let now = now_utc();
    let insert = match b {
        Backend::Mysql => "INSERT IGNORE INTO sync_lock (id, token, holder, since, expires_at) \
                           VALUES (1, ?, ?, ?, ?)"
            .to_string(),
        _ => "INSERT INTO sync_lock (id, token, holder, since, expires_at) \
              VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING"
            .to_string(),
    };
    let done = sqlx::query(&insert)
        .bind(token)
        .bind(holder)
        .bind(&now)
        .bind(expires_at)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 1 {
        return Ok(Ok(()));
    }
    let take_over = b.sql(
        "UPDATE sync_lock SET token = $1, holder = $2, since = $3, expires_at = $4 \
         WHERE id = 1 AND expires_at < $5",
    );
    let done = sqlx::query(&take_over)
        .bind(token)
        .bind(holder)
        .bind(&now)
        .bind(expires_at)
        .bind(&now)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 1 {
        tracing::warn!("took over a sync lock whose run stopped without releasing it");
        return Ok(Ok(()));
    }
    let row = sqlx::query("SELECT holder, since, expires_at FROM sync_lock WHERE id = 1")
        .fetch_optional(store.pool())
        .await?;
    match row {
        Some(r) => Ok(Err(LockHolder {
            holder: text(&r, 0)?,
            since: text(&r, 1)?,
            expires_at: text(&r, 2)?,
        })),
        // Released in between: try once more.
        None => Box::pin(try_lock(store, token, holder, expires_at)).await,
    }
}

pub async fn unlock(store: &Store, token: &str) -> Result<()> {
    let sql = store
        .backend()
        .sql("DELETE FROM sync_lock WHERE id = 1 AND token = $1");
    sqlx::query(&sql).bind(token).execute(store.pool()).await?;
    Ok(())
}

/// The sync figures for /metrics, in the Prometheus text format.
pub async fn metrics_text(store: &Store) -> Result<String> {
    use std::fmt::Write as _;
    let b = store.backend();
    let bigint = if b == Backend::Mysql {
        "SIGNED"
    } else {
        "BIGINT"
    };
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(tax_types_sent), 0) AS {bigint}), \
                CAST(COALESCE(SUM(persons_sent), 0) AS {bigint}), \
                CAST(COALESCE(SUM(pfa_sent), 0) AS {bigint}), \
                CAST(COALESCE(SUM(deletions_sent), 0) AS {bigint}), \
                CAST(COALESCE(SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END), 0) AS {bigint}), \
                CAST(COALESCE(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), 0) AS {bigint}), \
                CAST(COALESCE(SUM(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END), 0) AS {bigint}), \
                MAX(CASE WHEN outcome = 'ok' THEN finished_at END) \
         FROM sync_runs"
    );
    let r = sqlx::query(&sql).fetch_one(store.pool()).await?;
    let mut out = String::new();
    out.push_str("# HELP ghiseul_sync_items_sent Records sent to ghiseul.ro by sync (Annex 2) and acknowledged, by register.\n");
    out.push_str("# TYPE ghiseul_sync_items_sent counter\n");
    for (i, kind) in ["tax_types", "persons", "pfa", "deletions"]
        .iter()
        .enumerate()
    {
        let n: i64 = r.try_get(i)?;
        let _ = writeln!(out, "ghiseul_sync_items_sent_total{{kind=\"{kind}\"}} {n}");
    }
    out.push_str("# HELP ghiseul_sync_runs sync runs by outcome.\n");
    out.push_str("# TYPE ghiseul_sync_runs counter\n");
    for (i, outcome) in ["ok", "failed", "refused"].iter().enumerate() {
        let n: i64 = r.try_get(4 + i)?;
        let _ = writeln!(out, "ghiseul_sync_runs_total{{outcome=\"{outcome}\"}} {n}");
    }
    let last = opt_text(&r, 7)?
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S").ok())
        .map_or(0, |t| t.and_utc().timestamp());
    out.push_str("# HELP ghiseul_sync_last_success_timestamp_seconds When the last sync that ended well finished (0: never).\n");
    out.push_str("# TYPE ghiseul_sync_last_success_timestamp_seconds gauge\n");
    let _ = writeln!(out, "ghiseul_sync_last_success_timestamp_seconds {last}");
    Ok(out)
}
