//! The GDPR audit log: one row per SOAP request (time in UTC, operation, masked CUI, source
//! address, outcome, fault code, duration), never a full CNP and never a message body.
//!
//! Writing must not slow the answers down, so a request only puts its record into a bounded
//! channel (`AuditLog::record`, never waits); a background `Writer` inserts the records in
//! batches. When the channel is full the record is dropped and counted
//! (`ghiseul_audit_dropped_total`): the audit log is a record of access, not the ledger,
//! and ghiseul.ro's answer matters more. On shutdown the writer writes what is pending.
//! Rows older than the retention period are deleted by `delete_older_than`.

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use sqlx::Row as _;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{text, Backend, Result, Store};

/// The format of `audit_log.at`: UTC with milliseconds, so that text order is time order
/// on every backend.
pub const AT_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3f";

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered normally.
    Ok,
    /// Answered with a SOAP fault (its code is in `fault_code`).
    Fault,
    /// Turned away before the message was read (not on the allow list, too large, too
    /// slow, or too many requests in flight; operation `-`), or a payment answered `false`
    /// and not recorded (an order already recorded with other content, an unknown tax
    /// type; operation `inregistrareIncasari`).
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fault => "fault",
            Outcome::Refused => "refused",
        }
    }
}

/// One request, as the audit log keeps it. `cui` must already be masked.
#[derive(Clone, Debug)]
pub struct Record {
    pub at: NaiveDateTime,
    pub operation: &'static str,
    pub cui: String,
    pub source: String,
    pub outcome: Outcome,
    pub fault_code: Option<u8>,
    pub duration_ms: i64,
}

impl Record {
    /// A record stamped now (UTC).
    pub fn now(operation: &'static str, cui: String, source: String) -> Record {
        Record {
            at: Utc::now().naive_utc(),
            operation,
            cui,
            source,
            outcome: Outcome::Ok,
            fault_code: None,
            duration_ms: 0,
        }
    }
}

/// The sending side, shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: mpsc::Sender<Record>,
    dropped: Counter,
}

impl AuditLog {
    /// Queues `record` for the writer without waiting; drops and counts it when the queue
    /// is full (or the writer has stopped).
    pub fn record(&self, record: Record) {
        if self.tx.try_send(record).is_err() {
            self.dropped.inc();
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }
}

/// A queue of `capacity` records; `dropped` counts the records that did not fit.
pub fn channel(capacity: usize, dropped: Counter) -> (AuditLog, mpsc::Receiver<Record>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (AuditLog { tx, dropped }, rx)
}

/// How the writer batches.
#[derive(Clone, Copy, Debug)]
pub struct WriterSettings {
    /// Most rows in one INSERT.
    pub batch: usize,
    /// How long the writer waits for a batch to fill once a record has arrived.
    pub linger: Duration,
}

/// On SQLite every commit empties every reader's page cache (WAL mode), so a busy server
/// commits its audit rows rarely: at 12,000 requests/s, 200 rows / 200 ms meant 60 commits
/// a second. A batch of 2,000 rows is one INSERT job of a few milliseconds on the writer;
/// a crash loses at most the last second of audit rows (shutdown writes them).
impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            batch: 2000,
            linger: Duration::from_secs(1),
        }
    }
}

impl WriterSettings {
    /// SQLite's batches are large for its page caches (see `Default`). PostgreSQL and
    /// MariaDB have no such cost, and there a 2,000-row INSERT (14,000 bound values, sent
    /// in one message) left the allocator holding enough memory to take the server past
    /// its 64 MiB target: 67–74 MiB at peak under statements, 57 MiB when the allocator
    /// returned freed memory at once (issue 15). 200 rows / 200 ms there.
    pub fn for_store(store: &Store) -> WriterSettings {
        match store.backend() {
            Backend::Sqlite => WriterSettings::default(),
            Backend::Postgres | Backend::Mysql => WriterSettings {
                batch: 200,
                linger: Duration::from_millis(200),
            },
        }
    }
}

/// The background task that writes the queued records.
pub struct Writer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Writer {
    /// Writes every record queued so far, then ends. Called on graceful shutdown, after
    /// the requests in flight have been answered.
    pub async fn flush_and_stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the audit writer failed");
        }
    }
}

/// Starts the writer. Rows that cannot be written (database down) are logged, counted in
/// `dropped` and not retried: the requests go on being answered.
pub fn spawn_writer(
    store: Store,
    mut rx: mpsc::Receiver<Record>,
    settings: WriterSettings,
    dropped: Counter,
) -> Writer {
    let (stop_tx, mut stop) = oneshot::channel::<()>();
    let batch = settings.batch.max(1);
    let task = tokio::spawn(async move {
        let mut buf: Vec<Record> = Vec::with_capacity(batch);
        let mut stopping = false;
        while !stopping {
            tokio::select! {
                _ = &mut stop => stopping = true,
                n = rx.recv_many(&mut buf, batch) => if n == 0 { stopping = true },
            }
            // Let a batch fill for a moment instead of one INSERT per request.
            let deadline = tokio::time::Instant::now() + settings.linger;
            while !stopping && buf.len() < batch {
                let room = batch - buf.len();
                tokio::select! {
                    _ = &mut stop => stopping = true,
                    _ = tokio::time::sleep_until(deadline) => break,
                    n = rx.recv_many(&mut buf, room) => if n == 0 { stopping = true },
                }
            }
            write(&store, &mut buf, &dropped).await;
        }
        // Whatever was queued before the stop.
        rx.close();
        while let Some(r) = rx.recv().await {
            buf.push(r);
            if buf.len() >= batch {
                write(&store, &mut buf, &dropped).await;
            }
        }
        write(&store, &mut buf, &dropped).await;
    });
    Writer {
        stop: stop_tx,
        task,
    }
}

async fn write(store: &Store, buf: &mut Vec<Record>, dropped: &Counter) {
    if buf.is_empty() {
        return;
    }
    if let Err(e) = insert(store, buf).await {
        tracing::error!(error = %e, rows = buf.len(), "audit rows could not be written");
        dropped.inc_by(buf.len() as u64);
    }
    buf.clear();
}

/// Inserts `records` in one statement.
pub async fn insert(store: &Store, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    if let Some(native) = store.native() {
        // On SQLite through the writer thread, so that audit rows never hold the write
        // lock that a payment is waiting for.
        let rows: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.at.format(AT_FORMAT).to_string(),
                    r.operation,
                    r.cui.clone(),
                    r.source.clone(),
                    r.outcome.as_str(),
                    r.fault_code.map(i64::from),
                    r.duration_ms,
                )
            })
            .collect();
        return native
            .write(move |conn| {
                let mut insert = conn.prepare_cached(
                    "INSERT INTO audit_log (at, operation, cui, source, outcome, fault_code, duration_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for (at, operation, cui, source, outcome, fault, ms) in &rows {
                    insert.execute(rusqlite::params![at, operation, cui, source, outcome, fault, ms])?;
                }
                Ok(())
            })
            .await;
    }
    let mut sql = String::from(
        "INSERT INTO audit_log (at, operation, cui, source, outcome, fault_code, duration_ms) VALUES ",
    );
    sql.push_str(&store.backend().values_list(records.len(), 7));
    let mut q = sqlx::query(&sql);
    for r in records {
        q = q
            .bind(r.at.format(AT_FORMAT).to_string())
            .bind(r.operation)
            .bind(r.cui.clone())
            .bind(r.source.clone())
            .bind(r.outcome.as_str())
            .bind(r.fault_code.map(i64::from))
            .bind(r.duration_ms);
    }
    q.execute(store.pool()).await?;
    Ok(())
}

/// Deletes the rows older than `days` days; returns how many. `days == 0` keeps everything.
pub async fn delete_older_than(store: &Store, days: u32) -> Result<u64> {
    if days == 0 {
        return Ok(0);
    }
    let cutoff = Utc::now().naive_utc() - chrono::Duration::days(i64::from(days));
    let sql = store.backend().sql("DELETE FROM audit_log WHERE at < $1");
    let done = sqlx::query(&sql)
        .bind(cutoff.format(AT_FORMAT).to_string())
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Deletes expired rows now and then every hour, until aborted.
pub fn spawn_retention(store: Store, days: u32) -> Option<JoinHandle<()>> {
    if days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match delete_older_than(&store, days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, days, "expired audit rows deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting expired audit rows failed"),
            }
        }
    }))
}

/// What `ghiseul-connector audit` asks for. Times are UTC.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub operation: Option<&'static str>,
    pub fault_code: Option<u8>,
    pub limit: u32,
}

/// An audit row as read back.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub at: String,
    pub operation: String,
    pub cui: String,
    pub source: String,
    pub outcome: String,
    pub fault_code: Option<i64>,
    pub duration_ms: i64,
}

/// The rows matching `filter`, newest first.
pub async fn query(store: &Store, filter: &Filter) -> Result<Vec<Row>> {
    let mut sql = String::from(
        "SELECT at, operation, cui, source, outcome, fault_code, duration_ms FROM audit_log WHERE 1 = 1",
    );
    let mut texts: Vec<String> = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if let Some(since) = filter.since {
        sql.push_str(&format!(" AND at >= {}", next()));
        texts.push(since.format(AT_FORMAT).to_string());
    }
    if let Some(until) = filter.until {
        sql.push_str(&format!(" AND at <= {}", next()));
        texts.push(until.format(AT_FORMAT).to_string());
    }
    if let Some(op) = filter.operation {
        sql.push_str(&format!(" AND operation = {}", next()));
        texts.push(op.to_string());
    }
    let fault = filter.fault_code.map(|c| {
        sql.push_str(&format!(" AND fault_code = {}", next()));
        i64::from(c)
    });
    sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT {}", next()));
    let sql = store.backend().sql(&sql);
    let mut q = sqlx::query(&sql);
    for t in texts {
        q = q.bind(t);
    }
    if let Some(f) = fault {
        q = q.bind(f);
    }
    q = q.bind(i64::from(filter.limit));
    let rows = q.fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Row {
                at: text(r, 0)?,
                operation: text(r, 1)?,
                cui: text(r, 2)?,
                source: text(r, 3)?,
                outcome: text(r, 4)?,
                fault_code: r.try_get(5)?,
                duration_ms: r.try_get(6)?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Reads `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (UTC). A bare date is the start of that day,
/// or its end when `end_of_day` (so `--until 2025-05-20` includes the 20th); a time without
/// milliseconds is that whole second at the end.
pub fn parse_time(text: &str, end_of_day: bool) -> Option<NaiveDateTime> {
    let t = text.trim();
    if let Ok(dt) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S") {
        return Some(if end_of_day {
            dt + chrono::Duration::milliseconds(999)
        } else {
            dt
        });
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    if end_of_day {
        d.and_hms_milli_opt(23, 59, 59, 999)
    } else {
        d.and_hms_opt(0, 0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record::now(
            "getSumeDePlataPePersoana",
            "**********014".into(),
            "127.0.0.1".into(),
        )
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let dropped = Counter::default();
        let (log, _rx) = channel(2, dropped.clone());
        for _ in 0..5 {
            log.record(record());
        }
        assert_eq!(dropped.get(), 3);
        assert_eq!(log.dropped(), 3);
    }

    #[test]
    fn times_read_as_utc_with_until_covering_its_day_or_second() {
        let t = |s: &str, end| parse_time(s, end).map(|d| d.format(AT_FORMAT).to_string());
        assert_eq!(
            t("2025-05-20", false).as_deref(),
            Some("2025-05-20 00:00:00.000")
        );
        assert_eq!(
            t("2025-05-20", true).as_deref(),
            Some("2025-05-20 23:59:59.999")
        );
        assert_eq!(
            t("2025-05-20 10:11:12", true).as_deref(),
            Some("2025-05-20 10:11:12.999")
        );
        assert_eq!(t("20.05.2025", false), None);
    }
}
