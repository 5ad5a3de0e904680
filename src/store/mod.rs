//! Storage: the connection pool, migrations, and every query of the service, on SQLite
//! (the embedded default), PostgreSQL and MariaDB/MySQL through one code path (sqlx's `Any`
//! driver).
//!
//! The queries are written with `$1`-style placeholders, which SQLite and PostgreSQL
//! understand; `Backend::sql` turns them into MySQL's `?` in this one place. Statements
//! built at run time with many values (the import, the audit writer) take their
//! placeholders from `Backend::values_list`. Where the
//! dialects really differ (locking a row, getting the id of a new row, insert-if-absent)
//! the difference is spelled out here.

pub mod audit;
pub mod payout;
pub mod register;
mod sqlite;

use std::borrow::Cow;

use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::any::AnyRow;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::rules::allocation::{Allocation, Component, Outstanding};
use crate::rules::money::Bani;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static MYSQL_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "database URL `{0}` is not supported: use sqlite://FILE, postgres://… or mysql://… (MariaDB/MySQL)"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the folder of the SQLite database {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The SQLite writer thread could not do or confirm a write.
    #[error("SQLite writer: {0}")]
    Writer(String),
}

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MariaDB or MySQL (`mysql://` URLs).
    Mysql,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Some(Backend::Mysql)
        } else {
            None
        }
    }

    /// `(…),(…)`: the placeholders of a multi-row INSERT of `rows` rows of `width` values,
    /// for statements built at run time (the import, the audit writer). They are `$1, $2, …`
    /// on PostgreSQL and anonymous `?` elsewhere: SQLite looks a numbered parameter up by
    /// name in a list, once per bound value, which with thousands of values per statement
    /// is quadratic (it took 75% of an import's time).
    pub fn values_list(self, rows: usize, width: usize) -> String {
        let mut sql = String::with_capacity(rows * (width * 6 + 3));
        let mut n = 1;
        for i in 0..rows {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..width {
                if c > 0 {
                    sql.push(',');
                }
                if self == Backend::Postgres {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                } else {
                    sql.push('?');
                }
                n += 1;
            }
            sql.push(')');
        }
        sql
    }

    /// `sql` as this backend wants it: MySQL numbers no placeholders, so `$1, $2, …` become
    /// `?`. Every query of the program passes through here, so the rewrite is in one place;
    /// the placeholders must therefore appear in order, each once (checked in debug builds).
    pub fn sql(self, sql: &str) -> Cow<'_, str> {
        if self != Backend::Mysql || !sql.contains('$') {
            return Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        let mut expected = 1u32;
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut n = 0u32;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d;
                    chars.next();
                }
                debug_assert_eq!(n, expected, "placeholders out of order in: {sql}");
                expected += 1;
                out.push('?');
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

/// A text column as a `String`. MySQL hands `TEXT` columns to sqlx's `Any` driver as bytes
/// (only `VARCHAR` comes as text), so those are decoded here, as UTF-8, like the others.
pub fn text(row: &AnyRow, index: usize) -> std::result::Result<String, sqlx::Error> {
    match row.try_get::<String, _>(index) {
        Ok(s) => Ok(s),
        Err(text_error) => match row.try_get::<Vec<u8>, _>(index) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| sqlx::Error::ColumnDecode {
                index: index.to_string(),
                source: Box::new(e),
            }),
            Err(_) => Err(text_error),
        },
    }
}

/// Like `text`, for a column that may be NULL.
pub fn opt_text(row: &AnyRow, index: usize) -> std::result::Result<Option<String>, sqlx::Error> {
    match row.try_get::<Option<String>, _>(index) {
        Ok(s) => Ok(s),
        Err(text_error) => match row.try_get::<Option<Vec<u8>>, _>(index) {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => {
                String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|e| sqlx::Error::ColumnDecode {
                        index: index.to_string(),
                        source: Box::new(e),
                    })
            }
            Err(_) => Err(text_error),
        },
    }
}

/// How long to wait for a connection (and, on SQLite, for the write lock) before the
/// service answers fault 3 instead of making ghiseul.ro wait.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub acquire: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            acquire: Duration::from_secs(5),
        }
    }
}

/// The database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's statement reads and payment writes (see `sqlite`): everything else goes
    /// through the pool.
    native: Option<sqlite::Native>,
}

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

/// What the journal keeps of a verified inregistrareIncasari request: the values exactly
/// as received.
#[derive(Clone, Debug)]
pub struct JournalEntry {
    pub received_at: String,
    pub order: String,
    pub cui: String,
    pub data: String,
    pub sume: String,
}

/// A payment about to be recorded.
#[derive(Clone, Debug)]
pub struct NewPayment {
    pub order_no: i64,
    pub cui: String,
    pub data: String,
    pub content: String,
    pub total: Bani,
    pub recorded_at: String,
}

pub enum Inserted {
    New(i64),
    /// The order was recorded before; here is its canonical content.
    Existing(String),
}

impl Store {
    /// Connects to `url`. A `sqlite://` file that does not exist yet is created, with its
    /// folder, so that a first start needs nothing prepared by hand.
    pub async fn connect(url: &str, max_connections: u32, timeouts: Timeouts) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let Some(backend) = Backend::of_url(url) else {
            return Err(Error::UnsupportedUrl(redact_url(url)));
        };
        let sqlite_path = match backend {
            Backend::Sqlite => Some(sqlite_file(url)?),
            _ => None,
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
            // sqlx knows the scheme `mysql` only; MariaDB speaks the same protocol.
            Backend::Mysql => url.replacen("mariadb://", "mysql://", 1),
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            // A SQLite connection is a file handle in this process: it cannot go stale the
            // way a network connection can, so pinging it before every query (one more
            // hand-off to sqlx's worker thread) buys nothing. The bench measured p99 of
            // getSume falling from 29.7 ms to about 5.5 ms without it (docs/performance.md).
            .test_before_acquire(backend != Backend::Sqlite)
            .acquire_timeout(timeouts.acquire)
            .after_connect(move |conn, _| Box::pin(prepare_connection(conn, backend)))
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            backend,
            native: match &sqlite_path {
                Some(path) => Some(sqlite::Native::open(path, timeouts.acquire)?),
                None => None,
            },
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite's reader and writer, on SQLite.
    fn native(&self) -> Option<&sqlite::Native> {
        self.native.as_ref()
    }

    /// The database file, on SQLite.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.native.as_ref().map(sqlite::Native::path)
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
            Backend::Mysql => MYSQL_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// True when a query can be run now.
    pub async fn ping(&self) -> Result<()> {
        if let Some(native) = &self.native {
            return native.ping();
        }
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(native) = &self.native {
            native.close();
        }
        self.pool.close().await;
    }

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

    /// Runs `work` in the one transaction in which a payment request is journaled, checked
    /// against earlier ones and, if new, recorded and allocated; commits it and returns what
    /// `work` returned. An error from `work` rolls all of it back.
    ///
    /// On SQLite the transaction is a savepoint in the writer thread's next group commit
    /// (see `sqlite`), and the answer comes once that group is on disk.
    pub async fn payment<R, W>(&self, work: W) -> Result<R>
    where
        R: Send + 'static,
        W: for<'t, 'c> FnOnce(&'t mut PaymentTx<'c>) -> BoxFuture<'t, Result<R>> + Send + 'static,
    {
        if let Some(native) = &self.native {
            return native
                .write(move |conn| {
                    let mut tx = PaymentTx {
                        inner: Inner::Sqlite(conn),
                    };
                    // Every SQLite step is a synchronous call, so the work is done when
                    // first polled; it must not wait inside the writer thread.
                    work(&mut tx).now_or_never().unwrap_or_else(|| {
                        Err(Error::Writer(
                            "a payment step waited on the writer thread".into(),
                        ))
                    })
                })
                .await;
        }
        // PostgreSQL or MySQL (every SQLite store has its writer, above); MySQL
        // connections run READ COMMITTED (see `prepare_connection`).
        let tx = self.pool.begin().await?;
        let mut tx = PaymentTx {
            inner: Inner::Pooled(Pooled {
                tx,
                backend: self.backend,
            }),
        };
        let answer = work(&mut tx).await?;
        if let Inner::Pooled(p) = tx.inner {
            p.tx.commit().await?;
        }
        Ok(answer)
    }

    /// A plain connection, for imports and tools.
    pub async fn acquire(&self) -> Result<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The payment transaction, handed to the work of `Store::payment`.
pub struct PaymentTx<'c> {
    inner: Inner<'c>,
}

enum Inner<'c> {
    /// PostgreSQL or MySQL: a transaction of the pool.
    Pooled(Pooled),
    /// SQLite: the writer thread's connection, inside the payment's savepoint.
    Sqlite(&'c mut rusqlite::Connection),
}

/// Each step of a payment, on whichever database the store has.
impl PaymentTx<'_> {
    /// Writes the journal row first, with outcome `pending` until `set_outcome`.
    pub async fn journal(&mut self, e: &JournalEntry) -> Result<i64> {
        match &mut self.inner {
            Inner::Pooled(p) => p.journal(e).await,
            Inner::Sqlite(c) => sqlite::journal(c, e),
        }
    }

    pub async fn set_outcome(
        &mut self,
        journal_id: i64,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        match &mut self.inner {
            Inner::Pooled(p) => p.set_outcome(journal_id, outcome, detail).await,
            Inner::Sqlite(c) => sqlite::set_outcome(c, journal_id, outcome, detail),
        }
    }

    /// Locks the taxpayer's row for the rest of the transaction, so that payments of one
    /// person are allocated one after the other. False when the person is unknown.
    pub async fn lock_taxpayer(&mut self, cui: &str) -> Result<bool> {
        match &mut self.inner {
            Inner::Pooled(p) => p.lock_taxpayer(cui).await,
            Inner::Sqlite(c) => sqlite::taxpayer_exists(c, cui),
        }
    }

    /// The codes among `ids` that are not tax types of the register.
    pub async fn unknown_tax_types(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        match &mut self.inner {
            Inner::Pooled(p) => p.unknown_tax_types(ids).await,
            Inner::Sqlite(c) => sqlite::unknown_tax_types(c, ids),
        }
    }

    /// Inserts the payment unless its order exists; the database's unique constraint
    /// decides, so two instances sharing one database cannot both record it.
    pub async fn insert_payment(&mut self, p: &NewPayment, journal_id: i64) -> Result<Inserted> {
        match &mut self.inner {
            Inner::Pooled(pooled) => pooled.insert_payment(p, journal_id).await,
            Inner::Sqlite(c) => sqlite::insert_payment(c, p, journal_id),
        }
    }

    pub async fn insert_item(
        &mut self,
        payment_id: i64,
        id_tip_suma: i64,
        valoare: Bani,
    ) -> Result<()> {
        match &mut self.inner {
            Inner::Pooled(p) => p.insert_item(payment_id, id_tip_suma, valoare).await,
            Inner::Sqlite(c) => sqlite::insert_item(c, payment_id, id_tip_suma, valoare),
        }
    }

    /// What `cui` still owes on `id_tip_suma`, oldest first.
    pub async fn outstanding(&mut self, cui: &str, id_tip_suma: i64) -> Result<Vec<Outstanding>> {
        match &mut self.inner {
            Inner::Pooled(p) => p.outstanding(cui, id_tip_suma).await,
            Inner::Sqlite(c) => sqlite::outstanding(c, cui, id_tip_suma),
        }
    }

    /// Applies an allocation: lowers what is owed, writes the allocation lines and the
    /// credit for what was left over.
    pub async fn apply(
        &mut self,
        payment_id: i64,
        cui: &str,
        id_tip_suma: i64,
        a: &Allocation,
    ) -> Result<()> {
        match &mut self.inner {
            Inner::Pooled(p) => p.apply(payment_id, cui, id_tip_suma, a).await,
            Inner::Sqlite(c) => sqlite::apply(c, payment_id, cui, id_tip_suma, a),
        }
    }
}

/// A payment transaction of the pool (PostgreSQL, MySQL).
struct Pooled {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

impl Pooled {
    /// Writes the journal row first, with outcome `pending` until `set_outcome`.
    async fn journal(&mut self, e: &JournalEntry) -> Result<i64> {
        let sql = match self.backend {
            Backend::Mysql => self.backend.sql(queries::JOURNAL),
            _ => Cow::Owned(format!("{} RETURNING id", queries::JOURNAL)),
        };
        let query = sqlx::query(&sql)
            .bind(&e.received_at)
            .bind(&e.order)
            .bind(&e.cui)
            .bind(&e.data)
            .bind(&e.sume);
        let id = match self.backend {
            // MySQL has no RETURNING: the connection remembers the id it generated.
            Backend::Mysql => new_id(query.execute(&mut *self.tx).await?.last_insert_id())?,
            _ => query.fetch_one(&mut *self.tx).await?.try_get(0)?,
        };
        Ok(id)
    }

    async fn set_outcome(
        &mut self,
        journal_id: i64,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        let sql = self.backend.sql(queries::SET_OUTCOME);
        sqlx::query(&sql)
            .bind(outcome)
            .bind(detail)
            .bind(journal_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Locks the taxpayer's row for the rest of the transaction, so that payments of one
    /// person are allocated one after the other. False when the person is unknown.
    async fn lock_taxpayer(&mut self, cui: &str) -> Result<bool> {
        let sql = match self.backend {
            // The whole database is already locked for writing (BEGIN IMMEDIATE).
            Backend::Sqlite => Cow::Borrowed(queries::TAXPAYER),
            Backend::Postgres | Backend::Mysql => {
                Cow::Owned(format!("{} FOR UPDATE", queries::TAXPAYER))
            }
        };
        let sql = self.backend.sql(&sql);
        let found = sqlx::query(&sql)
            .bind(cui)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    /// The codes among `ids` that are not tax types of the register.
    async fn unknown_tax_types(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        let sql = self.backend.sql(queries::TAX_TYPE);
        let mut unknown = Vec::new();
        for &id in ids {
            let found = sqlx::query(&sql)
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?;
            if found.is_none() && !unknown.contains(&id) {
                unknown.push(id);
            }
        }
        Ok(unknown)
    }

    /// Inserts the payment unless its order exists; the database's unique constraint
    /// decides, so two instances sharing one database cannot both record it.
    async fn insert_payment(&mut self, p: &NewPayment, journal_id: i64) -> Result<Inserted> {
        let sql = match self.backend {
            Backend::Mysql => self.backend.sql(queries::PAYMENT),
            _ => Cow::Owned(format!("{}{}", queries::PAYMENT, queries::IF_NEW_ORDER)),
        };
        let query = sqlx::query(&sql)
            .bind(p.order_no)
            .bind(&p.cui)
            .bind(&p.data)
            .bind(&p.content)
            .bind(p.total.0)
            .bind(journal_id)
            .bind(&p.recorded_at);
        let id: Option<i64> = match self.backend {
            // MySQL has no ON CONFLICT DO NOTHING RETURNING. A plain INSERT that hits the
            // unique order_no fails with a duplicate-key error, which (unlike PostgreSQL)
            // leaves the transaction usable; INSERT IGNORE would also hide other errors.
            // A concurrent insert of the same order waits for the other transaction and
            // then fails here, so the database still decides.
            Backend::Mysql => match query.execute(&mut *self.tx).await {
                Ok(done) => Some(new_id(done.last_insert_id())?),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => None,
                Err(e) => return Err(e.into()),
            },
            _ => match query.fetch_optional(&mut *self.tx).await? {
                Some(row) => Some(row.try_get(0)?),
                None => None,
            },
        };
        if let Some(id) = id {
            return Ok(Inserted::New(id));
        }
        // READ COMMITTED (MySQL) and PostgreSQL's default both see the row the other
        // transaction committed.
        let sql = self.backend.sql(queries::PAYMENT_CONTENT);
        let row = sqlx::query(&sql)
            .bind(p.order_no)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(Inserted::Existing(text(&row, 0)?))
    }

    async fn insert_item(
        &mut self,
        payment_id: i64,
        id_tip_suma: i64,
        valoare: Bani,
    ) -> Result<()> {
        let sql = self.backend.sql(queries::ITEM);
        sqlx::query(&sql)
            .bind(payment_id)
            .bind(id_tip_suma)
            .bind(valoare.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// What `cui` still owes on `id_tip_suma`, oldest first.
    async fn outstanding(&mut self, cui: &str, id_tip_suma: i64) -> Result<Vec<Outstanding>> {
        let sql = self.backend.sql(queries::OUTSTANDING);
        let rows = sqlx::query(&sql)
            .bind(cui)
            .bind(id_tip_suma)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Outstanding {
                    debt_id: r.try_get(0)?,
                    debit: Bani(r.try_get(1)?),
                    ramasita: Bani(r.try_get(2)?),
                    majorari: Bani(r.try_get(3)?),
                    penalitati: Bani(r.try_get(4)?),
                })
            })
            .collect()
    }

    /// Applies an allocation: lowers what is owed, writes the allocation lines and the
    /// credit for what was left over.
    async fn apply(
        &mut self,
        payment_id: i64,
        cui: &str,
        id_tip_suma: i64,
        a: &Allocation,
    ) -> Result<()> {
        let b = self.backend;
        if b == Backend::Postgres {
            return self
                .apply_in_one_statement(payment_id, cui, id_tip_suma, a)
                .await;
        }
        for line in &a.lines {
            let update = lower_debt_sql(line.component);
            sqlx::query(&b.sql(update))
                .bind(line.amount.0)
                .bind(line.debt_id)
                .execute(&mut *self.tx)
                .await?;
            sqlx::query(&b.sql(queries::ALLOCATION))
                .bind(payment_id)
                .bind(line.debt_id)
                .bind(line.component.as_str())
                .bind(line.amount.0)
                .execute(&mut *self.tx)
                .await?;
        }
        if a.credit.is_positive() {
            sqlx::query(&b.sql(queries::CREDIT))
                .bind(payment_id)
                .bind(cui)
                .bind(id_tip_suma)
                .bind(a.credit.0)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// PostgreSQL: the whole allocation (every debt lowered, every allocation line, the
    /// credit) in one statement instead of two per line, since each statement is a round
    /// trip. The lines go as three comma-separated lists, which the `Any` driver can bind
    /// (it has no arrays).
    async fn apply_in_one_statement(
        &mut self,
        payment_id: i64,
        cui: &str,
        id_tip_suma: i64,
        a: &Allocation,
    ) -> Result<()> {
        let list = |f: &dyn Fn(&crate::rules::allocation::Line) -> String| {
            a.lines.iter().map(f).collect::<Vec<_>>().join(",")
        };
        let debt_ids = list(&|l| l.debt_id.to_string());
        let components = list(&|l| l.component.as_str().to_string());
        let amounts = list(&|l| l.amount.0.to_string());
        sqlx::query(
            "WITH l (debt_id, component, amount) AS ( \
                 SELECT * FROM unnest(string_to_array($1, ',')::bigint[], \
                                      string_to_array($2, ','), \
                                      string_to_array($3, ',')::bigint[])), \
             per_debt AS ( \
                 SELECT debt_id, \
                        COALESCE(SUM(amount) FILTER (WHERE component = 'debit'), 0) AS debit, \
                        COALESCE(SUM(amount) FILTER (WHERE component = 'ramasita'), 0) AS ramasita, \
                        COALESCE(SUM(amount) FILTER (WHERE component = 'majorari'), 0) AS majorari, \
                        COALESCE(SUM(amount) FILTER (WHERE component = 'penalitati'), 0) AS penalitati \
                 FROM l GROUP BY debt_id), \
             lowered AS ( \
                 UPDATE debts d SET rest_debit = d.rest_debit - p.debit, \
                                    rest_ramasita = d.rest_ramasita - p.ramasita, \
                                    rest_majorari = d.rest_majorari - p.majorari, \
                                    rest_penalitati = d.rest_penalitati - p.penalitati \
                 FROM per_debt p WHERE d.id = p.debt_id), \
             credited AS ( \
                 INSERT INTO credits (payment_id, cui, id_tip_suma, amount) \
                 SELECT $4::bigint, $5::text, $6::bigint, $7::bigint WHERE $7::bigint > 0) \
             INSERT INTO allocations (payment_id, debt_id, component, amount) \
             SELECT $4::bigint, debt_id, component, amount FROM l",
        )
        .bind(debt_ids)
        .bind(components)
        .bind(amounts)
        .bind(payment_id)
        .bind(cui)
        .bind(id_tip_suma)
        .bind(a.credit.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

/// The statement that lowers what is still owed on one component of a debt row (`$2`) by
/// an allocated amount (`$1`). SQLite reads `$1` and `$2` as its first and second
/// parameters, so every backend uses the same text.
fn lower_debt_sql(c: Component) -> &'static str {
    match c {
        Component::Debit => "UPDATE debts SET rest_debit = rest_debit - $1 WHERE id = $2",
        Component::Ramasita => "UPDATE debts SET rest_ramasita = rest_ramasita - $1 WHERE id = $2",
        Component::Majorari => "UPDATE debts SET rest_majorari = rest_majorari - $1 WHERE id = $2",
        Component::Penalitati => {
            "UPDATE debts SET rest_penalitati = rest_penalitati - $1 WHERE id = $2"
        }
    }
}

/// The texts of the service's queries, shared by the pool (PostgreSQL, MySQL through
/// `Backend::sql`) and SQLite's own connections (`sqlite`), which read `$1`, `$2`, … as
/// their first, second, … parameter.
mod queries {
    /// The taxpayer's row joined with each debt still owed, in statement order. No row: the
    /// person is not in the register; one row of NULLs: nothing is owed.
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
    pub const JOURNAL: &str = "INSERT INTO payment_journal \
        (received_at, order_text, cui_text, data_text, sume_text, outcome) \
        VALUES ($1, $2, $3, $4, $5, 'pending')";
    pub const SET_OUTCOME: &str =
        "UPDATE payment_journal SET outcome = $1, detail = $2 WHERE id = $3";
    pub const TAXPAYER: &str = "SELECT cui FROM taxpayers WHERE cui = $1 AND sters_la IS NULL";
    pub const TAX_TYPE: &str = "SELECT 1 FROM tax_types WHERE id_tip_suma = $1";
    pub const PAYMENT: &str = "INSERT INTO payments \
        (order_no, cui, data, content, total, journal_id, recorded_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7)";
    /// What PostgreSQL and SQLite add to `PAYMENT`: the unique order decides.
    pub const IF_NEW_ORDER: &str = " ON CONFLICT (order_no) DO NOTHING RETURNING id";
    pub const PAYMENT_CONTENT: &str = "SELECT content FROM payments WHERE order_no = $1";
    pub const ITEM: &str =
        "INSERT INTO payment_items (payment_id, id_tip_suma, valoare) VALUES ($1, $2, $3)";
    pub const OUTSTANDING: &str = "\
        SELECT id, rest_debit, rest_ramasita, rest_majorari, rest_penalitati FROM debts \
        WHERE cui = $1 AND id_tip_suma = $2 \
          AND rest_debit + rest_ramasita + rest_majorari + rest_penalitati > 0 \
        ORDER BY scadenta, id";
    pub const ALLOCATION: &str =
        "INSERT INTO allocations (payment_id, debt_id, component, amount) \
        VALUES ($1, $2, $3, $4)";
    pub const CREDIT: &str =
        "INSERT INTO credits (payment_id, cui, id_tip_suma, amount) VALUES ($1, $2, $3, $4)";
}

/// The id MySQL generated for the row just inserted.
fn new_id(last_insert_id: Option<i64>) -> Result<i64> {
    last_insert_id.filter(|id| *id > 0).ok_or_else(|| {
        Error::Database(sqlx::Error::Protocol(
            "the database did not report the id of the new row".into(),
        ))
    })
}

async fn prepare_connection(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
) -> std::result::Result<(), sqlx::Error> {
    let settings: &[&str] = match backend {
        // WAL lets readers run beside the writer; FULL makes every committed payment
        // survive a power cut; busy_timeout covers other processes (an import) holding
        // the write lock.
        Backend::Sqlite => &[
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 5000",
        ],
        Backend::Postgres => &[],
        // READ COMMITTED as on PostgreSQL: a transaction sees what others committed (the
        // payment path relies on it after a duplicate order), and InnoDB takes no gap
        // locks, so a payment for an unknown CUI blocks no import. Strict mode turns a
        // value that does not fit into an error instead of a silent truncation.
        Backend::Mysql => &[
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
        ],
    };
    for statement in settings {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The file a `sqlite:` URL names. The fast paths open it directly, so an in-memory
/// database (one per connection, invisible to the others) is refused.
fn sqlite_file(url: &str) -> Result<std::path::PathBuf> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Err(Error::UnsupportedUrl(format!(
            "{url} (SQLite needs a file: sqlite://PATH/ghiseul.db)"
        )));
    }
    Ok(std::path::PathBuf::from(path))
}

/// Makes sure a SQLite file can be created: its folder exists and `mode=rwc` is set.
fn prepare_sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_string());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|source| Error::CreateFolder {
                path: parent.display().to_string(),
                source,
            })?;
        }
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => url.to_string(),
        Some(q) => format!("sqlite://{path}?{q}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    })
}

/// A URL fit for a log or an error message: any password is replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_a_printed_url() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact_url("sqlite://data/g.db"), "sqlite://data/g.db");
    }

    #[test]
    fn mysql_gets_question_marks_in_order_and_others_keep_numbers() {
        let sql = "UPDATE t SET a = $1, b = $2 WHERE id = $10";
        assert_eq!(Backend::Sqlite.sql(sql), sql);
        assert_eq!(Backend::Postgres.sql(sql), sql);
        let many: Vec<String> = (1..=12).map(|i| format!("${i}")).collect();
        assert_eq!(
            Backend::Mysql.sql(&format!("VALUES ({}) -- $x", many.join(","))),
            format!("VALUES ({}) -- $x", ["?"; 12].join(","))
        );
    }

    #[test]
    fn url_scheme_decides_the_backend() {
        assert_eq!(Backend::of_url("sqlite://a.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgresql://h/x"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://root@h/x"), Some(Backend::Mysql));
        assert_eq!(Backend::of_url("mariadb://root@h/x"), Some(Backend::Mysql));
        assert_eq!(Backend::of_url("oracle://h/x"), None);
    }

    /// A verified payment must be on disk before the answer leaves: the payment
    /// transaction runs in WAL mode with synchronous = FULL (2), on the writer's connection.
    #[tokio::test]
    async fn sqlite_payment_path_runs_in_wal_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let store = Store::connect(&url, 2, Timeouts::default()).await.unwrap();
        store.migrate().await.unwrap();
        let (mode, synchronous) = store
            .payment(|tx| {
                Box::pin(async move {
                    let Inner::Sqlite(conn) = &mut tx.inner else {
                        panic!("a SQLite store pays on the writer's connection");
                    };
                    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                    let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
                    Ok((mode, sync))
                })
            })
            .await
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        assert_eq!(synchronous, 2, "synchronous must be FULL");
    }

    /// Payments are committed in groups, but a payment whose work fails is rolled back
    /// alone: the others of its group are kept.
    #[tokio::test]
    async fn a_failed_payment_rolls_back_alone_within_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let store = Store::connect(&url, 2, Timeouts::default()).await.unwrap();
        store.migrate().await.unwrap();
        let entry = |order: &str| JournalEntry {
            received_at: "2025-05-20 10:11:12".into(),
            order: order.into(),
            cui: "1800101221111".into(),
            data: "2025-05-20 10:11:12".into(),
            sume: "1=1.00".into(),
        };
        let mut waiting = Vec::new();
        for i in 0..40 {
            let e = entry(&i.to_string());
            let store = store.clone();
            waiting.push(tokio::spawn(async move {
                store
                    .payment(move |tx| {
                        Box::pin(async move {
                            tx.journal(&e).await?;
                            if i % 4 == 0 {
                                return Err(Error::Writer("refused on purpose".into()));
                            }
                            Ok(i)
                        })
                    })
                    .await
            }));
        }
        let mut kept = 0;
        for (i, w) in waiting.into_iter().enumerate() {
            match w.await.unwrap() {
                Ok(n) => {
                    assert_eq!(n, i);
                    kept += 1;
                }
                Err(_) => assert_eq!(i % 4, 0, "only the failing payments fail"),
            }
        }
        let journaled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_journal")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let failed_left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM payment_journal WHERE CAST(order_text AS INTEGER) % 4 = 0",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(kept, 30);
        assert_eq!(journaled, 30);
        assert_eq!(failed_left, 0);
    }

    /// SQLite's own checkpoint is off on the writer (it ran inside COMMIT); the writer
    /// checkpoints between groups instead. Without that the WAL grows with every commit.
    #[tokio::test]
    async fn the_wal_is_copied_back_while_payments_keep_coming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let store = Store::connect(
            &format!("sqlite://{}", path.display()),
            2,
            Timeouts::default(),
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let wal = dir.path().join("g.db-wal");
        let big = "1=1.00;".repeat(150); // about 1 KB a row
        for i in 0..3000 {
            let e = JournalEntry {
                received_at: "2025-05-20 10:11:12".into(),
                order: i.to_string(),
                cui: "1800101221111".into(),
                data: "2025-05-20 10:11:12".into(),
                sume: big.clone(),
            };
            store
                .payment(move |tx| Box::pin(async move { tx.journal(&e).await }))
                .await
                .unwrap();
        }
        // 3,000 commits of at least two 4 KiB pages each: 24 MB of WAL if nothing copied
        // it back.
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert!(size < 8 << 20, "the WAL grew to {size} bytes");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_journal")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows, 3000);
    }

    #[test]
    fn sqlite_url_gets_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/g.db");
        let url = format!("sqlite://{}", path.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.path().join("a/b").is_dir());
    }
}
