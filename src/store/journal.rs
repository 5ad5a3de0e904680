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
