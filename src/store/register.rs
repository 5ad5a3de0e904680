//! Keeping the register: reading what is stored and applying an import's plan
//! (`rules::register`), each backend in one transaction of its own. The plan is decided in
//! `rules`; here is only how each database reads and writes it, with every SQL text
//! written once (`sql`) for all of them.
//!
//! Consistency with the service: SQLite's import holds the write lock (`BEGIN IMMEDIATE`)
//! from the first read to the commit (the file is read meanwhile, on its own thread), so
//! payments wait for it; PostgreSQL locks the three
//! register tables against writers (`EXCLUSIVE`: statements are still read, from the
//! register as it was); MariaDB locks the rows it reads (`FOR UPDATE`), which a payment's
//! lock on its taxpayer waits for. A payment therefore never lowers a debt that the
//! import is about to rewrite from a balance read before it.

use std::collections::{HashMap, HashSet};

use crate::rules::register::Set;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{opt_text, text, Backend, Result, Store};
use crate::rules::register::{
    identity, Debt, DebtPlan, Person, PersonPlan, StoredDebt, StoredPerson, StoredTaxType, TaxType,
    TaxTypePlan,
};

/// How long a SQLite import waits for the write lock (a payment being written).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows per multi-row INSERT on PostgreSQL and MariaDB: few round trips, well under their
/// parameter limits.
const BATCH: usize = 500;

/// The register's tables, for what is kept per table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    TaxTypes,
    Taxpayers,
}

/// One import's transaction on the register. Dropped without `commit`, nothing of it is
/// kept.
#[allow(async_fn_in_trait)]
pub trait RegisterTx {
    async fn tax_types(&mut self) -> Result<Vec<StoredTaxType>>;
    async fn persons(&mut self) -> Result<Vec<StoredPerson>>;
    /// The CUIs of the register that are not removed.
    async fn active_cuis(&mut self) -> Result<Set<String>>;
    /// Runs `plan` over every debt, with what unbooked payments put on each, in key order
    /// (`rules::register::identity`, compared as bytes). SQLite hands them over one at a
    /// time as it walks `debts_by_key` (its text order is byte order), so that a city's
    /// register is never held whole; the other databases, whose collations order text
    /// otherwise, read them all and sort them here. Those of removed taxpayers are set
    /// aside by the plan, not by a join that would look each debt's taxpayer up.
    async fn with_debts<R>(
        &mut self,
        plan: impl FnOnce(&mut dyn Iterator<Item = StoredDebt>) -> R,
    ) -> Result<R>;
    /// The newest `data` of `table`.
    async fn newest_data(&mut self, table: Table) -> Result<Option<String>>;
    /// The first taxpayer `cod` never given.
    async fn next_cod(&mut self) -> Result<i64>;
    /// Marks the payments recorded at or before `until` as booked by the tax system.
    async fn mark_booked(&mut self, until: &str, at: &str) -> Result<u64>;
    async fn apply_tax_types(&mut self, plan: &TaxTypePlan, data: &str) -> Result<()>;
    async fn apply_persons(&mut self, plan: &PersonPlan, data: &str) -> Result<()>;
    async fn apply_debts(&mut self, plan: &DebtPlan) -> Result<()>;
    async fn commit(self) -> Result<()>;
}

/// The texts of the register's statements, for every backend (`$1, $2, …` in order;
/// `Backend::sql` turns them into `?` for MariaDB, and SQLite reads them as its first,
/// second, … parameter).
mod sql {
    pub const TAX_TYPES: &str = "SELECT id_tip_suma, nume, prioritate, iban, detalii_header, \
        id_nom_unic, debit, val_initiala, inactiv, platitor, cod_cls_bug, cod_db FROM tax_types";
    pub const TAX_TYPE_IDS: &str = "SELECT id_tip_suma FROM tax_types";
    pub const PERSONS: &str = "SELECT cod, cui, nume, adresa, sters_la FROM taxpayers";
    pub const ACTIVE_CUIS: &str = "SELECT cui FROM taxpayers WHERE sters_la IS NULL";
    pub const DEBTS: &str = "SELECT d.id, d.cui, d.cheie, d.id_debit, d.id_tip_suma, \
        d.descriere, d.debit, d.ramasita, d.majorari, d.penalitati, d.rest_debit, \
        d.rest_ramasita, d.rest_majorari, d.rest_penalitati, d.scadenta FROM debts d \
        ORDER BY d.cui, d.cheie";
    /// Every allocation, with its amount when its payment is not booked yet (else 0): the
    /// debts paid here, and what the tax system's balances do not count yet.
    pub const ALLOCATIONS: &str = "SELECT a.debt_id, a.component, \
        CASE WHEN p.booked_at IS NULL THEN a.amount ELSE 0 END \
        FROM allocations a JOIN payments p ON p.id = a.payment_id";
    pub const NEWEST_TAX_TYPE: &str = "SELECT MAX(data) FROM tax_types";
    pub const NEWEST_TAXPAYER: &str = "SELECT MAX(data) FROM taxpayers";
    pub const MAX_COD: &str = "SELECT COALESCE(MAX(cod), 0) FROM taxpayers";
    pub const MAX_DELETION: &str = "SELECT COALESCE(MAX(cod), 0) FROM deletions";
    pub const MARK_BOOKED: &str =
        "UPDATE payments SET booked_at = $1 WHERE booked_at IS NULL AND recorded_at <= $2";

    pub const INSERT_TAX_TYPE: &str = "INSERT INTO tax_types (nume, prioritate, iban, \
        detalii_header, id_nom_unic, debit, val_initiala, inactiv, platitor, cod_cls_bug, \
        cod_db, data, id_tip_suma) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    pub const UPDATE_TAX_TYPE: &str = "UPDATE tax_types SET nume = $1, prioritate = $2, \
        iban = $3, detalii_header = $4, id_nom_unic = $5, debit = $6, val_initiala = $7, \
        inactiv = $8, platitor = $9, cod_cls_bug = $10, cod_db = $11, data = $12 \
        WHERE id_tip_suma = $13";
    pub const CLEAR_PRIORITY: &str = "UPDATE tax_types SET prioritate = 0 WHERE id_tip_suma = $1";
    pub const DEACTIVATE: &str =
        "UPDATE tax_types SET inactiv = 1, prioritate = 0, data = $1 WHERE id_tip_suma = $2";

    /// The columns of a new taxpayer, in the order `person_values` gives them and then its
    /// cod.
    pub const INSERT_PERSONS: &str = "INSERT INTO taxpayers (nume, adresa, data, cui, cod) VALUES ";
    pub const PERSON_WIDTH: usize = 5;
    pub const UPDATE_PERSON: &str =
        "UPDATE taxpayers SET nume = $1, adresa = $2, data = $3, sters_la = NULL WHERE cui = $4";
    pub const REMOVE_PERSON: &str = "UPDATE taxpayers SET sters_la = $1 WHERE cui = $2";
    pub const INSERT_DELETION: &str =
        "INSERT INTO deletions (cod, cod_obiect, fizjur, cui, data) VALUES ($1, $2, $3, $4, $5)";
    /// A removed person's debts: those never paid here go, the others stay with nothing
    /// left owed.
    pub const DELETE_UNPAID_DEBTS_OF: &str = "DELETE FROM debts WHERE cui = $1 \
        AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.debt_id = debts.id)";
    pub const CLOSE_DEBTS_OF: &str = "UPDATE debts SET rest_debit = 0, rest_ramasita = 0, \
        rest_majorari = 0, rest_penalitati = 0 WHERE cui = $1";

    /// The columns of a new debt, in the order `debt_values` gives them.
    pub const INSERT_DEBTS: &str = "INSERT INTO debts (cui, cheie, id_debit, id_tip_suma, \
        descriere, debit, ramasita, majorari, penalitati, rest_debit, rest_ramasita, \
        rest_majorari, rest_penalitati, scadenta) VALUES ";
    pub const DEBT_WIDTH: usize = 14;
    pub const UPDATE_DEBT: &str = "UPDATE debts SET cui = $1, cheie = $2, id_debit = $3, \
        id_tip_suma = $4, descriere = $5, debit = $6, ramasita = $7, majorari = $8, \
        penalitati = $9, rest_debit = $10, rest_ramasita = $11, rest_majorari = $12, \
        rest_penalitati = $13, scadenta = $14 WHERE id = $15";
    pub const DELETE_DEBT: &str = "DELETE FROM debts WHERE id = $1";
    pub const CLOSE_DEBT: &str = "UPDATE debts SET rest_debit = 0, rest_ramasita = 0, \
        rest_majorari = 0, rest_penalitati = 0 WHERE id = $1";
}

/// One value bound to a statement: the plan's records become lists of these, once, for
/// both kinds of connection.
#[derive(Clone, Debug)]
enum Value<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
}

/// A tax type's values for `INSERT_TAX_TYPE` and `UPDATE_TAX_TYPE` (the code last).
fn tax_type_values<'a>(t: &'a TaxType, data: &'a str) -> Vec<Value<'a>> {
    vec![
        Value::Text(&t.nume),
        Value::Int(t.prioritate),
        Value::Text(&t.iban),
        Value::OptText(t.detalii_header.as_deref()),
        Value::OptText(t.id_nom_unic.as_deref()),
        Value::Int(t.debit),
        Value::OptInt(t.val_initiala),
        Value::Int(i64::from(t.inactiv)),
        Value::Int(t.platitor),
        Value::OptText(t.cod_cls_bug.as_deref()),
        Value::OptText(t.cod_db.as_deref()),
        Value::Text(data),
        Value::Int(t.id),
    ]
}

fn person_values<'a>(p: &'a Person, data: &'a str) -> Vec<Value<'a>> {
    new_person_values(0, p, data)[..4].to_vec()
}

/// A new taxpayer's values for `INSERT_PERSONS`: an array, so that a first load of a
/// million taxpayers allocates nothing per row.
fn new_person_values<'a>(cod: i64, p: &'a Person, data: &'a str) -> [Value<'a>; 5] {
    [
        Value::Text(&p.nume),
        Value::Text(&p.adresa),
        Value::Text(data),
        Value::Text(&p.cui),
        Value::Int(cod),
    ]
}

/// A debt's values for `INSERT_DEBTS` and `UPDATE_DEBT` (then the id).
/// An array, so that a first load of millions of debts allocates nothing per row.
fn debt_values<'a>(d: &'a Debt, rest: [i64; 4]) -> [Value<'a>; sql::DEBT_WIDTH] {
    let [a0, a1, a2, a3] = d.amounts;
    let [r0, r1, r2, r3] = rest;
    [
        Value::Text(d.cui()),
        Value::Text(d.cheie()),
        Value::OptText(d.id_debit()),
        Value::Int(d.id_tip_suma),
        Value::Text(d.descriere()),
        Value::Int(a0),
        Value::Int(a1),
        Value::Int(a2),
        Value::Int(a3),
        Value::Int(r0),
        Value::Int(r1),
        Value::Int(r2),
        Value::Int(r3),
        Value::Text(d.scadenta()),
    ]
}

/// One statement of a plan: a text of `sql` and its values.
type Statement<'a> = (&'static str, Vec<Value<'a>>);

/// The statements that apply a tax types' plan, in order: priorities cleared first, so
/// that two types can swap theirs.
fn tax_type_statements<'a>(plan: &'a TaxTypePlan, data: &'a str) -> Vec<Statement<'a>> {
    let mut out: Vec<Statement<'a>> = Vec::new();
    out.extend(
        plan.clear_priority
            .iter()
            .map(|id| (sql::CLEAR_PRIORITY, vec![Value::Int(*id)])),
    );
    out.extend(
        plan.deactivate
            .iter()
            .map(|id| (sql::DEACTIVATE, vec![Value::Text(data), Value::Int(*id)])),
    );
    out.extend(
        plan.update
            .iter()
            .map(|t| (sql::UPDATE_TAX_TYPE, tax_type_values(t, data))),
    );
    out.extend(
        plan.insert
            .iter()
            .map(|t| (sql::INSERT_TAX_TYPE, tax_type_values(t, data))),
    );
    out
}

/// The statements that apply a persons' plan but its new taxpayers (inserted in groups):
/// the changed ones, then each removed one with its debts and its deletion, numbered
/// after `last_deletion`.
fn person_statements<'a>(
    plan: &'a PersonPlan,
    data: &'a str,
    last_deletion: i64,
) -> Vec<Statement<'a>> {
    let mut out: Vec<Statement<'a>> = plan
        .update
        .iter()
        .map(|p| (sql::UPDATE_PERSON, person_values(p, data)))
        .collect();
    for (n, (cod, cui)) in plan.remove.iter().enumerate() {
        let cui = cui.as_str();
        out.push((
            sql::REMOVE_PERSON,
            vec![Value::Text(data), Value::Text(cui)],
        ));
        out.push((sql::DELETE_UNPAID_DEBTS_OF, vec![Value::Text(cui)]));
        out.push((sql::CLOSE_DEBTS_OF, vec![Value::Text(cui)]));
        out.push((
            sql::INSERT_DELETION,
            vec![
                Value::Int(last_deletion + 1 + n as i64),
                Value::Int(*cod),
                Value::Int(fizjur(cui)),
                Value::Text(cui),
                Value::Text(data),
            ],
        ));
    }
    out
}

/// The statements that apply a debts' plan but its new debts (inserted in groups).
fn debt_statements(plan: &DebtPlan) -> Vec<Statement<'_>> {
    let mut out: Vec<Statement<'_>> = Vec::new();
    out.extend(
        plan.delete
            .iter()
            .map(|id| (sql::DELETE_DEBT, vec![Value::Int(*id)])),
    );
    out.extend(
        plan.close
            .iter()
            .map(|id| (sql::CLOSE_DEBT, vec![Value::Int(*id)])),
    );
    for (id, d, rest) in &plan.update {
        let mut v = debt_values(d, *rest).to_vec();
        v.push(Value::Int(*id));
        out.push((sql::UPDATE_DEBT, v));
    }
    out
}

/// 1 for a person (CNP/NIF, 13 digits), 2 for a PFA (CIF): Annex 2's `fizjur`.
fn fizjur(cui: &str) -> i64 {
    if cui.len() == 13 {
        1
    } else {
        2
    }
}

/// Adds one allocation row (`ALLOCATIONS`) to the per-debt sums.
fn add_allocation(paid: &mut HashMap<i64, [i64; 4]>, debt_id: i64, component: &str, unbooked: i64) {
    let slot = paid.entry(debt_id).or_insert([0; 4]);
    let i = match component {
        "debit" => 0,
        "ramasita" => 1,
        "majorari" => 2,
        _ => 3,
    };
    slot[i] += unbooked;
}

impl Store {
    /// The codes of the register's tax types (read before an import's transaction: tax
    /// types are never deleted, so a debt file may be checked against them beforehand).
    pub async fn tax_type_ids(&self) -> Result<HashSet<i64>> {
        let rows = sqlx::query(sql::TAX_TYPE_IDS)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<_, _>>()?)
    }

    /// Starts an import's transaction on the register.
    pub async fn register(&self) -> Result<Register> {
        match self.sqlite_path() {
            Some(path) => Ok(Register::Sqlite(SqliteRegister::begin(path)?)),
            None => {
                let mut tx = self.pool().begin().await?;
                if self.backend() == Backend::Postgres {
                    sqlx::query("LOCK TABLE tax_types, taxpayers, debts IN EXCLUSIVE MODE")
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(Register::Pool(PoolRegister {
                    tx,
                    backend: self.backend(),
                }))
            }
        }
    }
}

/// The backend of one import: the caller runs its steps through `RegisterTx`.
pub enum Register {
    Sqlite(SqliteRegister),
    Pool(PoolRegister),
}

/// SQLite: its own connection on the file (rusqlite), as the service's writer has.
pub struct SqliteRegister {
    conn: Connection,
    done: bool,
}

impl SqliteRegister {
    fn begin(path: &Path) -> Result<SqliteRegister> {
        let path: PathBuf = path.to_path_buf();
        blocking(|| {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // FULL: what the import reports as imported survives a power cut, as a payment
            // does. The file is already in WAL mode (set by the server, kept in the file).
            // Foreign keys are not checked by SQLite here: every reference the import
            // writes is checked by the plan under this same write lock (a debt's CUI
            // against the taxpayers read in this transaction, its tax type against the
            // tax types, which are never deleted), and it deletes only debts that no
            // allocation refers to. Checking them again cost two index lookups per
            // inserted debt: more than half of the insert time of a first load.
            conn.execute_batch(
                "PRAGMA foreign_keys = OFF;
                 PRAGMA synchronous = FULL;
                 PRAGMA cache_size = -262144;
                 BEGIN IMMEDIATE;",
            )?;
            Ok(SqliteRegister { conn, done: false })
        })
    }

    fn run(&self, sql: &str, values: &[Value<'_>]) -> rusqlite::Result<usize> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        for (i, v) in values.iter().enumerate() {
            match v {
                Value::Int(n) => stmt.raw_bind_parameter(i + 1, n)?,
                Value::OptInt(n) => stmt.raw_bind_parameter(i + 1, n)?,
                Value::Text(t) => stmt.raw_bind_parameter(i + 1, t)?,
                Value::OptText(t) => stmt.raw_bind_parameter(i + 1, t)?,
            }
        }
        stmt.raw_execute()
    }

    /// Inserts `rows` of `width` values with `insert` (`INSERT INTO t (…) VALUES `), 32
    /// rows per statement: fewer statements to start and end.
    fn insert_many<'v>(
        &self,
        insert: &str,
        width: usize,
        rows: impl Iterator<Item = impl IntoIterator<Item = Value<'v>>>,
    ) -> rusqlite::Result<()> {
        const GROUP: usize = 32;
        let many = format!("{insert}{}", Backend::Sqlite.values_list(GROUP, width));
        let one = format!("{insert}{}", Backend::Sqlite.values_list(1, width));
        let mut values: Vec<Value<'v>> = Vec::with_capacity(GROUP * width);
        for row in rows {
            values.extend(row);
            if values.len() == GROUP * width {
                self.run(&many, &values)?;
                values.clear();
            }
        }
        for row in values.chunks(width) {
            self.run(&one, row)?;
        }
        Ok(())
    }

    fn run_all(&self, statements: &[Statement<'_>]) -> Result<()> {
        for (sql, values) in statements {
            self.run(sql, values)?;
        }
        Ok(())
    }

    fn scalar_i64(&self, sql: &str) -> rusqlite::Result<i64> {
        self.conn.query_row(sql, [], |r| r.get(0))
    }
}

impl Drop for SqliteRegister {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Runs blocking SQLite work without stalling the other tasks of a multi-threaded runtime
/// (a server in the same process); on a current-thread runtime it simply runs here.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl RegisterTx for SqliteRegister {
    async fn tax_types(&mut self) -> Result<Vec<StoredTaxType>> {
        blocking(|| {
            let mut stmt = self.conn.prepare(sql::TAX_TYPES)?;
            let rows = stmt.query_map([], |r| {
                Ok(StoredTaxType {
                    row: TaxType {
                        id: r.get(0)?,
                        nume: r.get(1)?,
                        prioritate: r.get(2)?,
                        iban: r.get(3)?,
                        detalii_header: r.get(4)?,
                        id_nom_unic: r.get(5)?,
                        debit: r.get(6)?,
                        val_initiala: r.get(7)?,
                        inactiv: r.get::<_, i64>(8)? != 0,
                        platitor: r.get(9)?,
                        cod_cls_bug: r.get(10)?,
                        cod_db: r.get(11)?,
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn persons(&mut self) -> Result<Vec<StoredPerson>> {
        blocking(|| {
            let mut stmt = self.conn.prepare(sql::PERSONS)?;
            let rows = stmt.query_map([], |r| {
                Ok(StoredPerson {
                    cod: r.get(0)?,
                    row: Person {
                        cui: r.get(1)?,
                        nume: r.get(2)?,
                        adresa: r.get(3)?,
                    },
                    removed: r.get::<_, Option<String>>(4)?.is_some(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn active_cuis(&mut self) -> Result<Set<String>> {
        blocking(|| {
            let mut stmt = self.conn.prepare(sql::ACTIVE_CUIS)?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    async fn with_debts<R>(
        &mut self,
        plan: impl FnOnce(&mut dyn Iterator<Item = StoredDebt>) -> R,
    ) -> Result<R> {
        blocking(|| {
            let mut paid = HashMap::new();
            let mut stmt = self.conn.prepare(sql::ALLOCATIONS)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let component: String = r.get(1)?;
                add_allocation(&mut paid, r.get(0)?, &component, r.get(2)?);
            }
            let mut stmt = self.conn.prepare(sql::DEBTS)?;
            let rows = stmt.query_map([], |r| {
                let id: i64 = r.get(0)?;
                Ok(StoredDebt {
                    id,
                    row: Debt::new(
                        r.get_ref(1)?.as_str()?,
                        r.get_ref(2)?.as_str()?,
                        r.get_ref(3)?.as_str_or_null()?,
                        r.get(4)?,
                        r.get_ref(5)?.as_str()?,
                        [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
                        r.get_ref(14)?.as_str()?,
                    ),
                    rest: [r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?],
                    unbooked: paid.get(&id).copied(),
                })
            })?;
            // The first failed read ends the stream; it is the answer once the plan is done.
            let mut failed = None;
            let mut stream = rows.map_while(|r| r.map_err(|e| failed = Some(e)).ok());
            let out = plan(&mut stream);
            match failed {
                Some(e) => Err(e.into()),
                None => Ok(out),
            }
        })
    }

    async fn newest_data(&mut self, table: Table) -> Result<Option<String>> {
        let sql = match table {
            Table::TaxTypes => sql::NEWEST_TAX_TYPE,
            Table::Taxpayers => sql::NEWEST_TAXPAYER,
        };
        Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
    }

    async fn next_cod(&mut self) -> Result<i64> {
        Ok(self.scalar_i64(sql::MAX_COD)? + 1)
    }

    async fn mark_booked(&mut self, until: &str, at: &str) -> Result<u64> {
        Ok(self.conn.execute(sql::MARK_BOOKED, params![at, until])? as u64)
    }

    async fn apply_tax_types(&mut self, plan: &TaxTypePlan, data: &str) -> Result<()> {
        blocking(|| self.run_all(&tax_type_statements(plan, data)))
    }

    async fn apply_persons(&mut self, plan: &PersonPlan, data: &str) -> Result<()> {
        blocking(|| {
            self.insert_many(
                sql::INSERT_PERSONS,
                sql::PERSON_WIDTH,
                plan.insert
                    .iter()
                    .map(|(cod, p)| new_person_values(*cod, p, data)),
            )?;
            let deletion = self.scalar_i64(sql::MAX_DELETION)?;
            self.run_all(&person_statements(plan, data, deletion))
        })
    }

    async fn apply_debts(&mut self, plan: &DebtPlan) -> Result<()> {
        blocking(|| {
            self.run_all(&debt_statements(plan))?;
            // The plan gives new debts in key order: each lands at the end of the
            // `debts_by_key` index (and near its taxpayer's others in the table), which is
            // faster than dropping the indexes and building them again afterwards.
            Ok(self.insert_many(
                sql::INSERT_DEBTS,
                sql::DEBT_WIDTH,
                plan.insert.iter().map(|d| debt_values(d, d.amounts)),
            )?)
        })
    }

    async fn commit(mut self) -> Result<()> {
        blocking(|| self.conn.execute_batch("COMMIT"))?;
        self.done = true;
        Ok(())
    }
}

/// PostgreSQL and MariaDB: a transaction of the pool.
pub struct PoolRegister {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

impl PoolRegister {
    /// A read of the rows the import will rewrite: on MariaDB, locked (see the module).
    fn locking(&self, sql: &str) -> String {
        match self.backend {
            Backend::Mysql => format!("{sql} FOR UPDATE"),
            _ => sql.to_string(),
        }
    }

    async fn fetch(&mut self, sql: &str) -> Result<Vec<AnyRow>> {
        let sql = self.locking(sql);
        Ok(sqlx::query(&sql).fetch_all(&mut *self.tx).await?)
    }

    /// Runs one of the texts of `sql`, numbered for this backend.
    async fn run(&mut self, sql: &str, values: &[Value<'_>]) -> Result<()> {
        let sql = self.backend.sql(sql).into_owned();
        self.run_numbered(&sql, values).await
    }

    /// Runs `sql` whose placeholders are already this backend's.
    async fn run_numbered(&mut self, sql: &str, values: &[Value<'_>]) -> Result<()> {
        let mut q = sqlx::query(sql);
        for v in values {
            q = match v {
                Value::Int(n) => q.bind(*n),
                Value::OptInt(n) => q.bind(*n),
                Value::Text(t) => q.bind(t.to_string()),
                Value::OptText(t) => q.bind(t.map(str::to_string)),
            };
        }
        q.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Inserts `rows` of `width` values with `insert` (`INSERT INTO t (…) VALUES `),
    /// `BATCH` rows per statement: few round trips.
    async fn insert_many(
        &mut self,
        insert: &str,
        width: usize,
        rows: Vec<Vec<Value<'_>>>,
    ) -> Result<()> {
        for chunk in rows.chunks(BATCH) {
            let sql = format!("{insert}{}", self.backend.values_list(chunk.len(), width));
            let values: Vec<Value<'_>> = chunk.iter().flatten().cloned().collect();
            self.run_numbered(&sql, &values).await?;
        }
        Ok(())
    }

    async fn run_all(&mut self, statements: &[Statement<'_>]) -> Result<()> {
        for (sql, values) in statements {
            self.run(sql, values).await?;
        }
        Ok(())
    }

    async fn scalar_i64(&mut self, sql: &str) -> Result<i64> {
        Ok(sqlx::query(sql)
            .fetch_one(&mut *self.tx)
            .await?
            .try_get::<i64, _>(0)?)
    }
}

impl RegisterTx for PoolRegister {
    async fn tax_types(&mut self) -> Result<Vec<StoredTaxType>> {
        let rows = self.fetch(sql::TAX_TYPES).await?;
        rows.iter()
            .map(|r| {
                Ok(StoredTaxType {
                    row: TaxType {
                        id: r.try_get(0)?,
                        nume: text(r, 1)?,
                        prioritate: r.try_get(2)?,
                        iban: text(r, 3)?,
                        detalii_header: opt_text(r, 4)?,
                        id_nom_unic: opt_text(r, 5)?,
                        debit: r.try_get(6)?,
                        val_initiala: r.try_get(7)?,
                        inactiv: r.try_get::<i64, _>(8)? != 0,
                        platitor: r.try_get(9)?,
                        cod_cls_bug: opt_text(r, 10)?,
                        cod_db: opt_text(r, 11)?,
                    },
                })
            })
            .collect()
    }

    async fn persons(&mut self) -> Result<Vec<StoredPerson>> {
        let rows = self.fetch(sql::PERSONS).await?;
        rows.iter()
            .map(|r| {
                Ok(StoredPerson {
                    cod: r.try_get(0)?,
                    row: Person {
                        cui: text(r, 1)?,
                        nume: text(r, 2)?,
                        adresa: text(r, 3)?,
                    },
                    removed: opt_text(r, 4)?.is_some(),
                })
            })
            .collect()
    }

    async fn active_cuis(&mut self) -> Result<Set<String>> {
        let rows = self.fetch(sql::ACTIVE_CUIS).await?;
        Ok(rows
            .iter()
            .map(|r| text(r, 0))
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn with_debts<R>(
        &mut self,
        plan: impl FnOnce(&mut dyn Iterator<Item = StoredDebt>) -> R,
    ) -> Result<R> {
        let mut paid = HashMap::new();
        for r in sqlx::query(sql::ALLOCATIONS)
            .fetch_all(&mut *self.tx)
            .await?
        {
            add_allocation(&mut paid, r.try_get(0)?, &text(&r, 1)?, r.try_get(2)?);
        }
        let rows = self.fetch(sql::DEBTS).await?;
        let mut debts: Vec<StoredDebt> = rows
            .iter()
            .map(|r| {
                let id: i64 = r.try_get(0)?;
                Ok(StoredDebt {
                    id,
                    row: Debt::new(
                        &text(r, 1)?,
                        &text(r, 2)?,
                        opt_text(r, 3)?.as_deref(),
                        r.try_get(4)?,
                        &text(r, 5)?,
                        [r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?],
                        &text(r, 14)?,
                    ),
                    rest: [
                        r.try_get(10)?,
                        r.try_get(11)?,
                        r.try_get(12)?,
                        r.try_get(13)?,
                    ],
                    unbooked: paid.get(&id).copied(),
                })
            })
            .collect::<Result<_>>()?;
        drop(rows);
        debts.sort_unstable_by(|a, b| identity(&a.row).cmp(&identity(&b.row)));
        Ok(plan(&mut debts.into_iter()))
    }

    async fn newest_data(&mut self, table: Table) -> Result<Option<String>> {
        let sql = match table {
            Table::TaxTypes => sql::NEWEST_TAX_TYPE,
            Table::Taxpayers => sql::NEWEST_TAXPAYER,
        };
        let row = sqlx::query(sql).fetch_one(&mut *self.tx).await?;
        Ok(opt_text(&row, 0)?)
    }

    async fn next_cod(&mut self) -> Result<i64> {
        Ok(self.scalar_i64(sql::MAX_COD).await? + 1)
    }

    async fn mark_booked(&mut self, until: &str, at: &str) -> Result<u64> {
        let sql = self.backend.sql(sql::MARK_BOOKED);
        let done = sqlx::query(&sql)
            .bind(at.to_string())
            .bind(until.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn apply_tax_types(&mut self, plan: &TaxTypePlan, data: &str) -> Result<()> {
        self.run_all(&tax_type_statements(plan, data)).await
    }

    async fn apply_persons(&mut self, plan: &PersonPlan, data: &str) -> Result<()> {
        let rows: Vec<Vec<Value<'_>>> = plan
            .insert
            .iter()
            .map(|(cod, p)| new_person_values(*cod, p, data).to_vec())
            .collect();
        self.insert_many(sql::INSERT_PERSONS, sql::PERSON_WIDTH, rows)
            .await?;
        let deletion = self.scalar_i64(sql::MAX_DELETION).await?;
        self.run_all(&person_statements(plan, data, deletion)).await
    }

    async fn apply_debts(&mut self, plan: &DebtPlan) -> Result<()> {
        self.run_all(&debt_statements(plan)).await?;
        let rows: Vec<Vec<Value<'_>>> = plan
            .insert
            .iter()
            .map(|d| debt_values(d, d.amounts).to_vec())
            .collect();
        self.insert_many(sql::INSERT_DEBTS, sql::DEBT_WIDTH, rows)
            .await
    }

    async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}
