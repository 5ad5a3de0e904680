//! The live SQL register (issue 11): getSumeDePlataPePersoana answered from the tax
//! system's own database, through queries the institution writes in its own table and
//! column names (`register_taxpayer_query`, `register_debts_query`,
//! `register_tax_types_query`), with nothing copied into our tables.
//!
//! The register only supplies data; the rules stay ours: the statement order is
//! `rules::order`, and how our recorded payments lower what is shown is `rules::allocation`.
//!
//! **Must not ask the person to pay twice.** Until the tax system has booked a payment we
//! recorded, its balances do not count it. So each statement subtracts, per tax type, the
//! amounts of our recorded payments of that person not yet booked, spread over the live
//! debts of that type by the same art. 165 allocation a payment uses (never below zero).
//! A payment counts as booked when `register_booked_query` lists its order (`nr_comanda`)
//! for the person; without that query, when the outbox has delivered it (the tax system's
//! `register_payment_statement` is then expected to book it, balances included, in the
//! same transaction). One of the two must be configured.
//!
//! **Payments** are journaled and recorded in our database as always (idempotency and
//! journal unchanged); the person must be in the live register (else fault 2). Their
//! debts are not in our tables, so a payment is kept per tax type (`payment_items`), not
//! allocated to debt rows: the tax system allocates when it books it. The person and the
//! paid tax types are kept in our `taxpayers` and `tax_types` (name, address, IBAN), which
//! the payment rows refer to and the exports and the daily report print.

pub mod check;
pub mod outbox;
pub mod query;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;

use crate::config::reading::{ConfigError, Env};
use crate::rules::allocation::{allocate, Outstanding};
use crate::rules::money::Bani;
use crate::rules::order::tax_type_rank;
use crate::store::{self, Backend, DueRow, Store};
// What the tax system says, as our storage keeps it (defined there: storage is below).
pub use crate::store::live::{Person, Recorded, TaxType};
use query::{Columns, Query, ShapeError};

/// How long the tax types read from the tax system are used before being read again:
/// they change a few times a year, and every statement needs them.
pub const TAX_TYPES_TTL: Duration = Duration::from_secs(60);

/// The parameters each query may use.
pub const CUI_PARAMS: &[&str] = &["cui"];
pub const PAYMENT_PARAMS: &[&str] = &[
    "nr_comanda",
    "nr_articol",
    "cui",
    "id_tip_suma",
    "suma",
    "data",
];

/// The columns each query returns: (required, all known). Any other column is refused by
/// `check-config`, so that a misspelt alias is noticed.
pub const TAXPAYER_COLUMNS: (&[&str], &[&str]) = (&["cui", "nume"], &["cui", "nume", "adresa"]);
pub const DEBT_COLUMNS: (&[&str], &[&str]) = (
    &[
        "id_tip_suma",
        "descriere",
        "debit",
        "ramasita",
        "majorari",
        "penalitati",
        "scadenta",
    ],
    &[
        "id_tip_suma",
        "descriere",
        "debit",
        "ramasita",
        "majorari",
        "penalitati",
        "scadenta",
    ],
);
pub const TAX_TYPE_COLUMNS: (&[&str], &[&str]) = (
    &["id_tip_suma", "nume", "prioritate"],
    &[
        "id_tip_suma",
        "nume",
        "prioritate",
        "iban",
        "detalii_header",
    ],
);
pub const BOOKED_COLUMNS: (&[&str], &[&str]) = (&["nr_comanda"], &["nr_comanda"]);

/// The configuration file's keys of the live register.
#[derive(Default)]
pub struct FileKeys {
    pub url: Option<String>,
    pub taxpayer_query: Option<String>,
    pub debts_query: Option<String>,
    pub tax_types_query: Option<String>,
    pub booked_query: Option<String>,
    pub payment_statement: Option<String>,
}

/// Where the tax system's database is and how to read it.
#[derive(Clone)]
pub struct Settings {
    pub url: String,
    pub taxpayer_query: String,
    pub debts_query: String,
    pub tax_types_query: String,
    pub booked_query: Option<String>,
    pub payment_statement: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url", &store::redact_url(&self.url))
            .field("taxpayer_query", &self.taxpayer_query)
            .field("debts_query", &self.debts_query)
            .field("tax_types_query", &self.tax_types_query)
            .field("booked_query", &self.booked_query)
            .field("payment_statement", &self.payment_statement)
            .finish()
    }
}

impl Settings {
    /// The live register's settings, or `None` when `register_url` is unset (the register
    /// is then ours). Refuses half a configuration, an unsupported URL, and a parameter a
    /// query may not use.
    pub fn resolve(env: Env<'_>, keys: FileKeys) -> Result<Option<Settings>, ConfigError> {
        let get = |var: &str, file: Option<String>| env(var).or(file).filter(|v| !v.is_empty());
        let url = get("GHISEUL_REGISTER_URL", keys.url);
        let taxpayer = get("GHISEUL_REGISTER_TAXPAYER_QUERY", keys.taxpayer_query);
        let debts = get("GHISEUL_REGISTER_DEBTS_QUERY", keys.debts_query);
        let tax_types = get("GHISEUL_REGISTER_TAX_TYPES_QUERY", keys.tax_types_query);
        let booked = get("GHISEUL_REGISTER_BOOKED_QUERY", keys.booked_query);
        let payment = get("GHISEUL_REGISTER_PAYMENT_STATEMENT", keys.payment_statement);
        let Some(url) = url else {
            if taxpayer.is_some()
                || debts.is_some()
                || tax_types.is_some()
                || booked.is_some()
                || payment.is_some()
            {
                return Err(ConfigError::Invalid {
                    name: "register_url (GHISEUL_REGISTER_URL)",
                    what: "set when any register_* query is set (the tax system's database: \
                           postgres://, mysql:// or sqlite://)",
                    value: "unset".into(),
                });
            }
            return Ok(None);
        };
        let Some(backend) = Backend::of_url(&url) else {
            return Err(ConfigError::Invalid {
                name: "register_url (GHISEUL_REGISTER_URL)",
                what: "a postgres://, mysql:// (MariaDB/MySQL) or sqlite:// URL",
                value: store::redact_url(&url),
            });
        };
        let need = |name: &'static str, v: Option<String>| {
            v.ok_or(ConfigError::Invalid {
                name,
                what: "set when register_url is set (see the README, \"Answering from the tax \
                       system's database\")",
                value: "unset".into(),
            })
        };
        let settings = Settings {
            taxpayer_query: need(
                "register_taxpayer_query (GHISEUL_REGISTER_TAXPAYER_QUERY)",
                taxpayer,
            )?,
            debts_query: need("register_debts_query (GHISEUL_REGISTER_DEBTS_QUERY)", debts)?,
            tax_types_query: need(
                "register_tax_types_query (GHISEUL_REGISTER_TAX_TYPES_QUERY)",
                tax_types,
            )?,
            booked_query: booked,
            payment_statement: payment,
            url,
        };
        if settings.booked_query.is_none() && settings.payment_statement.is_none() {
            return Err(ConfigError::Invalid {
                name: "register_booked_query or register_payment_statement",
                what: "set (at least one): without either, nothing tells when the tax system \
                       has booked a payment, and it would be subtracted from the statement \
                       for ever",
                value: "both unset".into(),
            });
        }
        for (name, text, allowed) in settings.queries() {
            let unknown = Query::parse(text, backend).unknown_params(allowed);
            if !unknown.is_empty() {
                return Err(ConfigError::Invalid {
                    name,
                    what: "a query using only its own named parameters (:cui; the payment \
                           statement :nr_comanda, :nr_articol, :cui, :id_tip_suma, :suma, :data)",
                    value: format!("uses :{}", unknown.join(", :")),
                });
            }
        }
        Ok(Some(settings))
    }

    /// Each configured query with its key and the parameters it may use.
    fn queries(&self) -> Vec<(&'static str, &str, &'static [&'static str])> {
        let mut q = vec![
            (
                "register_taxpayer_query",
                self.taxpayer_query.as_str(),
                CUI_PARAMS,
            ),
            (
                "register_debts_query",
                self.debts_query.as_str(),
                CUI_PARAMS,
            ),
            (
                "register_tax_types_query",
                self.tax_types_query.as_str(),
                &[][..],
            ),
        ];
        if let Some(b) = &self.booked_query {
            q.push(("register_booked_query", b.as_str(), CUI_PARAMS));
        }
        if let Some(p) = &self.payment_statement {
            q.push(("register_payment_statement", p.as_str(), PAYMENT_PARAMS));
        }
        q
    }

    /// The lines `check-config` prints about the live register.
    pub fn listing(s: Option<&Settings>) -> Vec<(&'static str, String)> {
        let Some(s) = s else {
            return vec![(
                "register_url",
                "unset (the register is ours: import)".into(),
            )];
        };
        let set = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".into());
        vec![
            ("register_url", store::redact_url(&s.url)),
            ("register_taxpayer_query", s.taxpayer_query.clone()),
            ("register_debts_query", s.debts_query.clone()),
            ("register_tax_types_query", s.tax_types_query.clone()),
            ("register_booked_query", set(&s.booked_query)),
            ("register_payment_statement", set(&s.payment_statement)),
        ]
    }
}

/// One debt row as the tax system has it (its balance).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Debt {
    pub id_tip_suma: i64,
    pub descriere: String,
    pub debit: Bani,
    pub ramasita: Bani,
    pub majorari: Bani,
    pub penalitati: Bani,
    /// `YYYY-MM-DD`, which sorts as text.
    pub scadenta: String,
}

/// The tax types by code, shared between statements while cached.
pub type TaxTypes = Arc<HashMap<i64, TaxType>>;

/// The tax system's database, read through the configured queries. Cheap to share.
pub struct Register {
    pool: AnyPool,
    backend: Backend,
    taxpayer: Query,
    debts: Query,
    tax_types: Query,
    booked: Option<Query>,
    payment: Option<Query>,
    cache: Mutex<Option<(Instant, TaxTypes)>>,
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// A shape error as the store's error, so that the service answers fault 3 and logs why.
fn shape(e: ShapeError) -> store::Error {
    store::Error::Database(sqlx::Error::Protocol(format!(
        "the tax system's register: {e}"
    )))
}

impl Register {
    /// A pool on the tax system's database. It connects lazily, so that `serve` starts
    /// (and recovers) whatever that database is doing; `check` proves it answers.
    pub fn open(
        settings: &Settings,
        max_connections: u32,
        timeout: Duration,
    ) -> store::Result<Register> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(&settings.url)
            .ok_or_else(|| store::Error::UnsupportedUrl(store::redact_url(&settings.url)))?;
        let url = settings.url.replacen("mariadb://", "mysql://", 1);
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(timeout)
            .connect_lazy(&url)?;
        let parse = |t: &str| Query::parse(t, backend);
        Ok(Register {
            pool,
            backend,
            taxpayer: parse(&settings.taxpayer_query),
            debts: parse(&settings.debts_query),
            tax_types: parse(&settings.tax_types_query),
            booked: settings.booked_query.as_deref().map(parse),
            payment: settings.payment_statement.as_deref().map(parse),
            cache: Mutex::new(None),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when payments are written into the tax system by the outbox.
    pub fn has_outbox(&self) -> bool {
        self.payment.is_some()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs a configured query with the CUI bound to every `:cui`.
    async fn rows_by_cui(&self, q: &Query, cui: &str) -> store::Result<Vec<AnyRow>> {
        let mut query = sqlx::query(&q.sql);
        for _ in &q.params {
            query = query.bind(cui.to_string());
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// The person, or `None` when the tax system does not know them.
    pub async fn person(&self, cui: &str) -> store::Result<Option<Person>> {
        let rows = self.rows_by_cui(&self.taxpayer, cui).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        read_person(row).map(Some).map_err(shape)
    }

    /// The person's debt rows, as the debts query returns them.
    pub async fn debts(&self, cui: &str) -> store::Result<Vec<Debt>> {
        let rows = self.rows_by_cui(&self.debts, cui).await?;
        read_debts(&rows).map_err(shape)
    }

    /// The tax types, read again when older than `TAX_TYPES_TTL`.
    pub async fn tax_types(&self) -> store::Result<TaxTypes> {
        if let Some((at, types)) = &*self.cache.lock().expect("not poisoned") {
            if at.elapsed() < TAX_TYPES_TTL {
                return Ok(types.clone());
            }
        }
        let rows = sqlx::query(&self.tax_types.sql)
            .fetch_all(&self.pool)
            .await?;
        let types = Arc::new(read_tax_types(&rows).map_err(shape)?);
        *self.cache.lock().expect("not poisoned") = Some((Instant::now(), types.clone()));
        Ok(types)
    }

    /// The orders of `cui` the tax system has booked (`register_booked_query`), if configured.
    pub async fn booked(&self, cui: &str) -> store::Result<Option<HashSet<i64>>> {
        let Some(q) = &self.booked else {
            return Ok(None);
        };
        let rows = self.rows_by_cui(q, cui).await?;
        read_booked(&rows).map(Some).map_err(shape)
    }

    /// What `cui` still owes, in statement order, less our payments not yet booked; `None`
    /// when the tax system does not know the person.
    pub async fn statement(&self, store: &Store, cui: &str) -> store::Result<Option<Vec<DueRow>>> {
        let (person, debts, types, booked, recorded) = tokio::try_join!(
            self.person(cui),
            self.debts(cui),
            self.tax_types(),
            self.booked(cui),
            store::live::recorded(store, cui),
        )?;
        if person.is_none() {
            return Ok(None);
        }
        let unbooked: Vec<(i64, Bani)> = recorded
            .iter()
            .filter(|r| match &booked {
                Some(orders) => !orders.contains(&r.order_no),
                None => !r.delivered,
            })
            .map(|r| (r.id_tip_suma, r.valoare))
            .collect();
        Ok(Some(statement(debts, &types, &unbooked)))
    }

    /// Writes one outbox item into the tax system (`register_payment_statement`).
    pub async fn deliver(&self, item: &store::live::Pending) -> store::Result<()> {
        let Some(q) = &self.payment else {
            return Ok(());
        };
        let mut query = sqlx::query(&q.sql);
        for p in &q.params {
            query = match p.as_str() {
                "nr_comanda" => query.bind(item.order_no),
                "nr_articol" => query.bind(item.nr_articol),
                "cui" => query.bind(item.cui.clone()),
                "id_tip_suma" => query.bind(item.id_tip_suma),
                "suma" => query.bind(item.valoare.to_string()),
                _ => query.bind(item.data.clone()),
            };
        }
        query.execute(&self.pool).await?;
        Ok(())
    }
}

fn read_person(row: &AnyRow) -> Result<Person, ShapeError> {
    let (required, all) = TAXPAYER_COLUMNS;
    let c = Columns::find("register_taxpayer_query", row, required, all)?;
    Ok(Person {
        cui: c.text(row, "cui")?,
        nume: c.text(row, "nume")?,
        adresa: c.opt_text(row, "adresa")?.unwrap_or_default(),
    })
}

fn read_debts(rows: &[AnyRow]) -> Result<Vec<Debt>, ShapeError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let (required, all) = DEBT_COLUMNS;
    let c = Columns::find("register_debts_query", first, required, all)?;
    rows.iter()
        .map(|row| {
            Ok(Debt {
                id_tip_suma: c.int(row, "id_tip_suma")?,
                descriere: c.opt_text(row, "descriere")?.unwrap_or_default(),
                debit: c.lei(row, "debit")?,
                ramasita: c.lei(row, "ramasita")?,
                majorari: c.lei(row, "majorari")?,
                penalitati: c.lei(row, "penalitati")?,
                scadenta: c.text(row, "scadenta")?,
            })
        })
        .collect()
}

fn read_tax_types(rows: &[AnyRow]) -> Result<HashMap<i64, TaxType>, ShapeError> {
    let Some(first) = rows.first() else {
        return Ok(HashMap::new());
    };
    let (required, all) = TAX_TYPE_COLUMNS;
    let c = Columns::find("register_tax_types_query", first, required, all)?;
    rows.iter()
        .map(|row| {
            let t = TaxType {
                id_tip_suma: c.int(row, "id_tip_suma")?,
                nume: c.text(row, "nume")?,
                prioritate: c.int(row, "prioritate")?,
                iban: c.opt_text(row, "iban")?.unwrap_or_default(),
                detalii_header: c.opt_text(row, "detalii_header")?.filter(|h| !h.is_empty()),
            };
            Ok((t.id_tip_suma, t))
        })
        .collect()
}

fn read_booked(rows: &[AnyRow]) -> Result<HashSet<i64>, ShapeError> {
    let Some(first) = rows.first() else {
        return Ok(HashSet::new());
    };
    let (required, all) = BOOKED_COLUMNS;
    let c = Columns::find("register_booked_query", first, required, all)?;
    rows.iter().map(|row| c.int(row, "nr_comanda")).collect()
}

/// The statement from the tax system's balances: its debts in statement order
/// (`rules::order`; within a type oldest due date first, then as the query returned them),
/// each type lowered by the amounts `unbooked` of that type through `rules::allocation`,
/// rows owing nothing left out. A debt of a tax type the tax types query does not list is
/// left out too, with a warning in the log (our own register cannot hold one).
pub fn statement(
    debts: Vec<Debt>,
    types: &HashMap<i64, TaxType>,
    unbooked: &[(i64, Bani)],
) -> Vec<DueRow> {
    let mut rows: Vec<(&TaxType, Debt)> = Vec::with_capacity(debts.len());
    for d in debts {
        match types.get(&d.id_tip_suma) {
            Some(t) => rows.push((t, d)),
            None => tracing::warn!(
                id_tip_suma = d.id_tip_suma,
                "the tax system's debts query returned a tax type its tax types query does \
                 not list; the debt is left out of the statement"
            ),
        }
    }
    rows.sort_by(|(ta, a), (tb, b)| {
        tax_type_rank(ta.prioritate, ta.id_tip_suma)
            .cmp(&tax_type_rank(tb.prioritate, tb.id_tip_suma))
            .then_with(|| a.scadenta.cmp(&b.scadenta))
    });
    // The rows of a type are now consecutive and oldest first: lower each type's by what
    // is paid on it and not yet booked.
    let mut start = 0;
    while start < rows.len() {
        let id = rows[start].1.id_tip_suma;
        let end = start
            + rows[start..]
                .iter()
                .take_while(|(_, d)| d.id_tip_suma == id)
                .count();
        let paid: Bani = unbooked
            .iter()
            .filter(|(t, _)| *t == id)
            .map(|(_, v)| *v)
            .sum();
        if paid.is_positive() {
            let owed: Vec<Outstanding> = (start..end)
                .map(|i| {
                    let d = &rows[i].1;
                    Outstanding {
                        debt_id: i as i64,
                        debit: d.debit,
                        ramasita: d.ramasita,
                        majorari: d.majorari,
                        penalitati: d.penalitati,
                    }
                })
                .collect();
            for line in allocate(paid, &owed).lines {
                let d = &mut rows[line.debt_id as usize].1;
                let c = match line.component {
                    crate::rules::allocation::Component::Debit => &mut d.debit,
                    crate::rules::allocation::Component::Ramasita => &mut d.ramasita,
                    crate::rules::allocation::Component::Majorari => &mut d.majorari,
                    crate::rules::allocation::Component::Penalitati => &mut d.penalitati,
                };
                *c = *c - line.amount;
            }
        }
        start = end;
    }
    rows.into_iter()
        .filter(|(_, d)| (d.debit + d.ramasita + d.majorari + d.penalitati).is_positive())
        .map(|(t, d)| DueRow {
            id_tip_suma: d.id_tip_suma,
            prioritate: t.prioritate,
            detalii_header: t.detalii_header.clone(),
            descriere: d.descriere,
            debit: d.debit,
            ramasita: d.ramasita,
            majorari: d.majorari,
            penalitati: d.penalitati,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debt(id: i64, scadenta: &str, debit: i64, ramasita: i64) -> Debt {
        Debt {
            id_tip_suma: id,
            descriere: scadenta.into(),
            debit: Bani(debit),
            ramasita: Bani(ramasita),
            majorari: Bani(0),
            penalitati: Bani(0),
            scadenta: scadenta.into(),
        }
    }

    fn types() -> HashMap<i64, TaxType> {
        [(7, 0), (1, 1), (2, 2)]
            .into_iter()
            .map(|(id, p)| {
                (
                    id,
                    TaxType {
                        id_tip_suma: id,
                        nume: format!("t{id}"),
                        prioritate: p,
                        iban: String::new(),
                        detalii_header: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn live_rows_come_in_statement_order_oldest_first_within_a_type() {
        let rows = statement(
            vec![
                debt(7, "2025-03-31", 100, 0),
                debt(1, "2025-03-31", 100, 0),
                debt(2, "2025-03-31", 100, 0),
                debt(1, "2024-03-31", 100, 0),
            ],
            &types(),
            &[],
        );
        let order: Vec<(i64, &str)> = rows
            .iter()
            .map(|r| (r.id_tip_suma, r.descriere.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (1, "2024-03-31"),
                (1, "2025-03-31"),
                (2, "2025-03-31"),
                (7, "2025-03-31")
            ]
        );
    }

    #[test]
    fn unbooked_payments_lower_their_type_by_art_165_never_below_zero() {
        let rows = statement(
            vec![
                debt(1, "2025-03-31", 200, 0),
                debt(1, "2024-03-31", 100, 50),
                debt(2, "2025-03-31", 30, 0),
            ],
            &types(),
            &[(1, Bani(120)), (1, Bani(40)), (2, Bani(500))],
        );
        // 160 on type 1: the older row's rămășiță 50, then debit 100 oldest first, then 10
        // of the newer row's debit. Type 2 is paid whole and disappears.
        let left: Vec<(i64, i64, i64)> = rows
            .iter()
            .map(|r| (r.id_tip_suma, r.debit.0, r.ramasita.0))
            .collect();
        assert_eq!(left, [(1, 190, 0)]);
    }

    #[test]
    fn a_debt_of_an_unlisted_tax_type_is_left_out() {
        let rows = statement(vec![debt(99, "2025-01-01", 5, 0)], &types(), &[]);
        assert!(rows.is_empty());
    }
}
