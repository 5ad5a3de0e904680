//! Recording a payment: the one transaction in which a verified inregistrareIncasari
//! request is journaled, checked against earlier ones and, if new, recorded and allocated
//! (journal, idempotency, allocation, credit). Everything that writes a payment is in this
//! file.
//!
//! The sequence is written once (`record`), over the steps each backend provides
//! (`Steps`); how a paid amount is spread over debts is `rules::allocation`'s. Each backend
//! runs the whole sequence inside its own transaction: SQLite on the writer thread, in a
//! savepoint of the next group commit (its steps are plain calls, so the sequence is
//! simply driven to its end there); PostgreSQL and MariaDB in a transaction of the pool.
//! The service hands over a whole request and awaits one answer.

use std::borrow::Cow;

use rusqlite::{params, Connection, OptionalExtension};
use sqlx::{Any, Row, Transaction};

use super::{text, Backend, Error, Result, Store};
use crate::rules::allocation::{allocate, Allocation, Outstanding};
use crate::rules::money::Bani;

/// A verified inregistrareIncasari request: journaled whatever it holds, recorded if its
/// values are valid.
#[derive(Clone, Debug)]
pub struct PaymentRequest {
    pub entry: JournalEntry,
    /// The payment, or why its values are not valid (journaled as the outcome).
    pub payment: std::result::Result<NewPayment, Rejected>,
}

/// Why a request's values cannot be recorded, as the journal keeps it.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub outcome: PaymentOutcome,
    pub detail: String,
}

/// What an inregistrareIncasari request led to, as the journal records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    Recorded,
    Retry,
    Conflict,
    UnknownTaxType,
    InvalidMessage,
    InvalidCui,
    UnknownCui,
}

impl PaymentOutcome {
    /// The answer inregistrareIncasariResult carries: true when the payment is recorded,
    /// now or by an earlier identical request.
    pub fn answer(self) -> bool {
        matches!(self, PaymentOutcome::Recorded | PaymentOutcome::Retry)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentOutcome::Recorded => "recorded",
            PaymentOutcome::Retry => "retry",
            PaymentOutcome::Conflict => "conflict",
            PaymentOutcome::UnknownTaxType => "unknown_tax_type",
            PaymentOutcome::InvalidMessage => "invalid_message",
            PaymentOutcome::InvalidCui => "invalid_cui",
            PaymentOutcome::UnknownCui => "unknown_cui",
        }
    }
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
    /// Canonical content (cui, data, amounts per type) that a retry must match.
    pub content: String,
    pub total: Bani,
    /// The amounts paid per tax type, in the order received.
    pub items: Vec<(i64, Bani)>,
    pub recorded_at: String,
}

enum Inserted {
    New(i64),
    /// The order was recorded before; here is its canonical content.
    Existing(String),
}

/// A payment when the register is the tax system's database (src/live/): what the live
/// register said, since the person and the debts are not ours. The payment is journaled and
/// recorded per tax type exactly as otherwise, but not allocated to debt rows (there are
/// none here; the tax system allocates when it books it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Live {
    /// The tax system knows the person (else the answer is fault 2, as for our register).
    pub known_person: bool,
    /// Queue the items for `register_payment_statement` in the same transaction.
    pub outbox: bool,
}

impl Store {
    /// Journals `req` and, if its values are valid and its order new, records and
    /// allocates it, all in one transaction; returns what happened once it is committed.
    pub async fn record_payment(&self, req: PaymentRequest) -> Result<PaymentOutcome> {
        self.record(req, None).await
    }

    /// Like `record_payment`, for the live register (see `Live`).
    pub async fn record_live_payment(
        &self,
        req: PaymentRequest,
        live: Live,
    ) -> Result<PaymentOutcome> {
        self.record(req, Some(live)).await
    }

    async fn record(&self, req: PaymentRequest, live: Option<Live>) -> Result<PaymentOutcome> {
        if let Some(native) = self.native() {
            return native
                .write(move |conn| {
                    futures_executor::block_on(record(&mut Sqlite { conn }, &req, live))
                })
                .await;
        }
        // MariaDB connections run READ COMMITTED (see `prepare_connection`).
        let mut tx = Pooled {
            tx: self.pool().begin().await?,
            backend: self.backend(),
        };
        let outcome = record(&mut tx, &req, live).await?;
        tx.tx.commit().await?;
        Ok(outcome)
    }
}

/// The sequence of a payment: the journal row first, then the checks, then the payment
/// and its allocation. A refused request is journaled and committed too.
async fn record<S: Steps>(
    s: &mut S,
    req: &PaymentRequest,
    live: Option<Live>,
) -> Result<PaymentOutcome> {
    let journal_id = s.journal(&req.entry).await?;
    let payment = match &req.payment {
        Ok(p) => p,
        Err(rejected) => {
            s.set_outcome(
                journal_id,
                rejected.outcome.as_str(),
                Some(&rejected.detail),
            )
            .await?;
            return Ok(rejected.outcome);
        }
    };
    let unknown_live = live.is_some_and(|l| !l.known_person);
    if unknown_live || !s.lock_taxpayer(&payment.cui).await? {
        s.set_outcome(journal_id, PaymentOutcome::UnknownCui.as_str(), None)
            .await?;
        return Ok(PaymentOutcome::UnknownCui);
    }
    let ids: Vec<i64> = payment.items.iter().map(|(id, _)| *id).collect();
    let unknown = s.unknown_tax_types(&ids).await?;
    if !unknown.is_empty() {
        let detail = format!("tipuri de sumă necunoscute: {unknown:?}");
        let outcome = PaymentOutcome::UnknownTaxType;
        s.set_outcome(journal_id, outcome.as_str(), Some(&detail))
            .await?;
        return Ok(outcome);
    }
    let outcome = match s.insert_payment(payment, journal_id).await? {
        Inserted::New(payment_id) => {
            for &(id_tip_suma, valoare) in &payment.items {
                s.insert_item(payment_id, id_tip_suma, valoare).await?;
                if live.is_some() {
                    continue; // the debts are the tax system's (see `Live`)
                }
                let owed = s.outstanding(&payment.cui, id_tip_suma).await?;
                s.apply(
                    payment_id,
                    &payment.cui,
                    id_tip_suma,
                    &allocate(valoare, &owed),
                )
                .await?;
            }
            if live.is_some_and(|l| l.outbox) {
                s.enqueue(payment_id).await?;
            }
            PaymentOutcome::Recorded
        }
        Inserted::Existing(content) if content == payment.content => PaymentOutcome::Retry,
        Inserted::Existing(_) => PaymentOutcome::Conflict,
    };
    let detail = (outcome == PaymentOutcome::Conflict)
        .then_some("ordinul a fost înregistrat deja cu alt conținut");
    s.set_outcome(journal_id, outcome.as_str(), detail).await?;
    Ok(outcome)
}

/// The steps of a payment on one kind of connection.
trait Steps {
    /// Writes the journal row, with outcome `pending` until `set_outcome`.
    async fn journal(&mut self, e: &JournalEntry) -> Result<i64>;
    async fn set_outcome(
        &mut self,
        journal_id: i64,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<()>;
    /// Locks the taxpayer for the rest of the transaction, so that payments of one person
    /// are allocated one after the other. False when the person is not in the register.
    async fn lock_taxpayer(&mut self, cui: &str) -> Result<bool>;
    /// The codes among `ids` that are not tax types of the register.
    async fn unknown_tax_types(&mut self, ids: &[i64]) -> Result<Vec<i64>>;
    /// Inserts the payment unless its order exists; the database's unique constraint
    /// decides, so two instances sharing one database cannot both record it.
    async fn insert_payment(&mut self, p: &NewPayment, journal_id: i64) -> Result<Inserted>;
    async fn insert_item(&mut self, payment_id: i64, id_tip_suma: i64, valoare: Bani)
        -> Result<()>;
    /// What `cui` still owes on `id_tip_suma`, oldest first.
    async fn outstanding(&mut self, cui: &str, id_tip_suma: i64) -> Result<Vec<Outstanding>>;
    /// Lowers what is owed, writes the allocation lines and the credit for what was left
    /// over.
    async fn apply(
        &mut self,
        payment_id: i64,
        cui: &str,
        id_tip_suma: i64,
        a: &Allocation,
    ) -> Result<()>;
    /// Queues the payment's items for the live register's outbox (`store::live::ENQUEUE`).
    async fn enqueue(&mut self, payment_id: i64) -> Result<()>;
}

/// SQLite: the writer thread's connection, inside the payment's savepoint. The writer is
/// the only writer, so nothing changes under it and no step waits.
struct Sqlite<'c> {
    conn: &'c Connection,
}

impl Steps for Sqlite<'_> {
    async fn enqueue(&mut self, payment_id: i64) -> Result<()> {
        self.conn
            .prepare_cached(super::live::ENQUEUE)?
            .execute([payment_id])?;
        Ok(())
    }

    async fn journal(&mut self, e: &JournalEntry) -> Result<i64> {
        self.conn
            .prepare_cached(queries::JOURNAL)?
            .execute(params![e.received_at, e.order, e.cui, e.data, e.sume])?;
        Ok(self.conn.last_insert_rowid())
    }

    async fn set_outcome(
        &mut self,
        journal_id: i64,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(queries::SET_OUTCOME)?
            .execute(params![outcome, detail, journal_id])?;
        Ok(())
    }

    async fn lock_taxpayer(&mut self, cui: &str) -> Result<bool> {
        Ok(self.conn.prepare_cached(queries::TAXPAYER)?.exists([cui])?)
    }

    async fn unknown_tax_types(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(queries::TAX_TYPE)?;
        let mut unknown = Vec::new();
        for &id in ids {
            if !stmt.exists([id])? && !unknown.contains(&id) {
                unknown.push(id);
            }
        }
        Ok(unknown)
    }

    async fn insert_payment(&mut self, p: &NewPayment, journal_id: i64) -> Result<Inserted> {
        let id: Option<i64> = self
            .conn
            .prepare_cached(&format!("{}{}", queries::PAYMENT, queries::IF_NEW_ORDER))?
            .query_row(
                params![
                    p.order_no,
                    p.cui,
                    p.data,
                    p.content,
                    p.total.0,
                    journal_id,
                    p.recorded_at
                ],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = id {
            return Ok(Inserted::New(id));
        }
        let content: String = self
            .conn
            .prepare_cached(queries::PAYMENT_CONTENT)?
            .query_row([p.order_no], |r| r.get(0))?;
        Ok(Inserted::Existing(content))
    }

    async fn insert_item(
        &mut self,
        payment_id: i64,
        id_tip_suma: i64,
        valoare: Bani,
    ) -> Result<()> {
        self.conn.prepare_cached(queries::ITEM)?.execute(params![
            payment_id,
            id_tip_suma,
            valoare.0
        ])?;
        Ok(())
    }

    async fn outstanding(&mut self, cui: &str, id_tip_suma: i64) -> Result<Vec<Outstanding>> {
        let mut stmt = self.conn.prepare_cached(queries::OUTSTANDING)?;
        let rows = stmt.query_map(params![cui, id_tip_suma], |r| {
            Ok(Outstanding {
                debt_id: r.get(0)?,
                debit: Bani(r.get(1)?),
                ramasita: Bani(r.get(2)?),
                majorari: Bani(r.get(3)?),
                penalitati: Bani(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    async fn apply(
        &mut self,
        payment_id: i64,
        cui: &str,
        id_tip_suma: i64,
        a: &Allocation,
    ) -> Result<()> {
        for (debt_id, [debit, ramasita, majorari, penalitati]) in a.per_debt() {
            self.conn
                .prepare_cached(queries::LOWER_DEBT)?
                .execute(params![
                    debit.0,
                    ramasita.0,
                    majorari.0,
                    penalitati.0,
                    debt_id
                ])?;
        }
        for line in &a.lines {
            self.conn
                .prepare_cached(queries::ALLOCATION)?
                .execute(params![
                    payment_id,
                    line.debt_id,
                    line.component.as_str(),
                    line.amount.0
                ])?;
        }
        if a.credit.is_positive() {
            self.conn.prepare_cached(queries::CREDIT)?.execute(params![
                payment_id,
                cui,
                id_tip_suma,
                a.credit.0
            ])?;
        }
        Ok(())
    }
}

/// A payment's transaction of the pool (PostgreSQL, MariaDB).
struct Pooled {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

impl Steps for Pooled {
    async fn enqueue(&mut self, payment_id: i64) -> Result<()> {
        sqlx::query(&self.backend.sql(super::live::ENQUEUE))
            .bind(payment_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

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
        for (debt_id, [debit, ramasita, majorari, penalitati]) in a.per_debt() {
            sqlx::query(&b.sql(queries::LOWER_DEBT))
                .bind(debit.0)
                .bind(ramasita.0)
                .bind(majorari.0)
                .bind(penalitati.0)
                .bind(debt_id)
                .execute(&mut *self.tx)
                .await?;
        }
        for line in &a.lines {
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
}

impl Pooled {
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

/// The texts of a payment's statements, for every backend: `Backend::sql` numbers them
/// for MariaDB, and SQLite reads `$1`, `$2`, … as its first, second, … parameter.
mod queries {
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
    /// Lowers what is still owed on a debt row (`$5`) by the amounts allocated to its
    /// debit, rămășiță, majorări and penalități (`$1`..`$4`): one write per row.
    pub const LOWER_DEBT: &str = "UPDATE debts SET rest_debit = rest_debit - $1, \
        rest_ramasita = rest_ramasita - $2, rest_majorari = rest_majorari - $3, \
        rest_penalitati = rest_penalitati - $4 WHERE id = $5";
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
