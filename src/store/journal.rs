//! The payment journal beyond the payment path: proving that a payment can be journaled
//! (for `/health` and `check-config`).

use super::{Backend, Error, Result, Store};

/// A journal row that never stays: written and changed inside a transaction (a savepoint
/// on SQLite) that is always rolled back. Its explicit id, -1, is never one the database
/// hands out, so the probe uses up no id (no gaps in the journal's numbering).
pub(super) const PROBE_INSERT: &str = "INSERT INTO payment_journal \
    (id, received_at, order_text, cui_text, data_text, sume_text, outcome) \
    VALUES (-1, '', '', '', '', '', 'probe')";
pub(super) const PROBE_UPDATE: &str =
    "UPDATE payment_journal SET outcome = 'probe', detail = NULL WHERE id = -1";

/// The tables a payment writes and how, for PostgreSQL's own privilege check (the probe
/// row covers the journal; a payment also writes these).
const PAYMENT_WRITES: &[(&str, &str)] = &[
    ("payments", "INSERT"),
    ("payment_items", "INSERT"),
    ("allocations", "INSERT"),
    ("credits", "INSERT"),
    ("debts", "UPDATE"),
    ("audit_log", "INSERT"),
];

impl Store {
    /// Proves that a payment can be journaled now: writes a journal row and changes it, as
    /// the payment path does, in a transaction that is rolled back (nothing stays). On
    /// PostgreSQL also checks the privileges on every other table a payment writes.
    ///
    /// A read-only SQLite file, a login without INSERT rights or a read-only replica
    /// fail here, where a `SELECT 1` would succeed and every payment would get fault 3.
    pub async fn can_record_payments(&self) -> Result<()> {
        if let Some(native) = self.native() {
            return native.probe_write().await;
        }
        let mut tx = self.pool().begin().await?;
        sqlx::query(PROBE_INSERT).execute(&mut *tx).await?;
        sqlx::query(PROBE_UPDATE).execute(&mut *tx).await?;
        if self.backend() == Backend::Postgres {
            for (table, privilege) in PAYMENT_WRITES {
                let granted: bool = sqlx::query_scalar("SELECT has_table_privilege($1, $2)")
                    .bind(*table)
                    .bind(*privilege)
                    .fetch_one(&mut *tx)
                    .await?;
                if !granted {
                    return Err(Error::Database(sqlx::Error::Protocol(format!(
                        "permission denied: no {privilege} on table {table}"
                    ))));
                }
            }
        }
        tx.rollback().await?;
        Ok(())
    }
}

/// Which journal rows `journal` reads; every filter optional.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// ghiseul.ro's order number, exactly as received.
    pub order: Option<String>,
    pub cui: Option<String>,
    /// Received at or after, local time `YYYY-MM-DD HH:MM:SS`.
    pub from: Option<String>,
    /// Received at or before, local time.
    pub to: Option<String>,
    /// `recorded`, `retry`, `conflict`, `unknown_tax_type`.
    pub outcome: Option<String>,
    pub limit: u32,
}

/// One journal row: a verified inregistrareIncasari request and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub id: i64,
    /// Romanian time (Europe/Bucharest), as the service received it.
    pub received_at: String,
    pub order: String,
    pub cui: String,
    /// The payment's `data`, as ghiseul.ro sent it.
    pub data: String,
    /// The amounts, as received: `idTipSuma=valoare;…`.
    pub sume: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// The journal rows matching `filter`, newest first.
pub async fn query(store: &Store, filter: &Filter) -> Result<Vec<Row>> {
    let mut sql = String::from(
        "SELECT id, received_at, order_text, cui_text, data_text, sume_text, outcome, detail \
         FROM payment_journal WHERE 1 = 1",
    );
    let mut values: Vec<String> = Vec::new();
    for (column, op, value) in [
        ("order_text", "=", &filter.order),
        ("cui_text", "=", &filter.cui),
        ("received_at", ">=", &filter.from),
        ("received_at", "<=", &filter.to),
        ("outcome", "=", &filter.outcome),
    ] {
        if let Some(v) = value {
            values.push(v.trim().to_string());
            sql.push_str(&format!(" AND {column} {op} ${}", values.len()));
        }
    }
    sql.push_str(&format!(
        " ORDER BY id DESC LIMIT {}",
        filter.limit.clamp(1, 100_000)
    ));
    let sql = store.backend().sql(&sql);
    let mut q = sqlx::query(&sql);
    for v in &values {
        q = q.bind(v.clone());
    }
    let rows = q.fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        use sqlx::Row as _;
        out.push(Row {
            id: row.try_get(0)?,
            received_at: super::text(&row, 1)?,
            order: super::text(&row, 2)?,
            cui: super::text(&row, 3)?,
            data: super::text(&row, 4)?,
            sume: super::text(&row, 5)?,
            outcome: super::text(&row, 6)?,
            detail: super::opt_text(&row, 7)?,
        });
    }
    Ok(out)
}

/// The register's tax type names by code, for `call get-sume`'s table.
pub async fn tax_type_names(store: &Store) -> Result<std::collections::HashMap<String, String>> {
    let rows = sqlx::query("SELECT id_tip_suma, nume FROM tax_types")
        .fetch_all(store.pool())
        .await?;
    let mut names = std::collections::HashMap::new();
    for row in rows {
        use sqlx::Row as _;
        let id: i64 = row.try_get(0)?;
        names.insert(id.to_string(), super::text(&row, 1)?);
    }
    Ok(names)
}
