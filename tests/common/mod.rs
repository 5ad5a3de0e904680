//! Starts the real server on a random port against a fresh database (a new SQLite file, a
//! new PostgreSQL schema or a new MariaDB/MySQL database), with a small register loaded
//! through the CSV importer.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use ghiseul_connector::client::{Answer, Client};
use ghiseul_connector::config::{Config, FileConfig};
use ghiseul_connector::import::{import, ImportError, Kind, Options, Summary};
use ghiseul_connector::messages::{SumaIncasata, SumeResponse};
use ghiseul_connector::protocol::SoapVersion;
use ghiseul_connector::startup::Application;
use ghiseul_connector::store::{Backend, Store};

/// The key of the known-answer vectors (`openssl dgst -sha1 -hmac cheie-secreta-test`).
pub const KEY: &str = "cheie-secreta-test";

/// Owes on four tax types (see DEBTS).
pub const POPESCU: &str = "1800101221111";
/// In the register, owes nothing.
pub const IONESCU: &str = "2820704120023";
/// A firm, by CIF.
pub const FIRMA: &str = "31245671";
/// One debt of 1000.00 on type 1, for concurrent payments.
pub const POPA: &str = "1750315400014";
/// A valid CNP that is not in the register.
pub const NECUNOSCUT: &str = "1600101220035";

pub const TAX_TYPES: &str = "\
id_tip_suma,nume,prioritate,iban,detalii_header
7,Taxă salubrizare,0,RO66TREZ2165070XXX012348,
1,Impozit pe clădiri,1,RO50TREZ2165070XXX012345,
5,Amenzi,0,RO39TREZ2165070XXX012349,Proces-verbal;Debit;Rămășiță;Majorări;Penalități
2,Impozit pe teren,2,RO23TREZ2165070XXX012346,
9,Taxă fără datornici,3,RO47TREZ2165070XXX012399,
";

pub const PERSONS: &str = "\
Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa
1,1800101221111,Popescu Ștefan,\"Str. Lungă nr. 1, Iași\"
2,2820704120023,Ionescu Maria,\"Str. Scurtă nr. 2\"
3,RO31245671,SC Exemplu SRL,\"Șos. Păcurari 101\"
4,1750315400014,Popa Ion,Iași
";

pub const DEBTS: &str = "\
cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta
1800101221111,7,Salubrizare 2025,50.00,0,0,0,2025-03-31
1800101221111,1,\"Casă, Str. Lungă nr. 1\",200.00,0,0,0,2025-03-31
1800101221111,1,\"Casă, Str. Lungă nr. 1\",100.00,20.00,5.00,1.00,2024-03-31
1800101221111,2,Teren,30.50,0,0,0,2025-03-31
1800101221111,5,PV 123/2024,100,0,0,0,2024-12-01
31245671,1,Hală,1000.00,0,0,0,2025-03-31
1750315400014,1,Apartament,1000.00,0,0,0,2025-03-31
";

#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
    Mysql,
}

pub struct TestApp {
    pub url: String,
    /// The database the server runs on, for a second server or the CLI.
    pub database_url: String,
    pub addr: std::net::SocketAddr,
    pub store: Store,
    pub http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

fn unique_name() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("t{}_{}_{}", std::process::id(), nanos, n)
}

/// The URL of a database nobody else uses.
async fn fresh_database(db: Db) -> (String, Option<tempfile::TempDir>) {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (url, Some(dir))
        }
        Db::Postgres => {
            let base = std::env::var("GHISEUL_TEST_POSTGRES_URL").expect(
                "GHISEUL_TEST_POSTGRES_URL must be set to run the PostgreSQL tests, \
                 e.g. postgres://postgres@127.0.0.1:5432/test",
            );
            let schema = unique_name();
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
                .await
                .unwrap();
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            (
                format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                None,
            )
        }
        Db::Mysql => {
            let base = std::env::var("GHISEUL_TEST_MYSQL_URL").expect(
                "GHISEUL_TEST_MYSQL_URL must be set to run the MariaDB/MySQL tests, \
                 e.g. mysql://root@127.0.0.1:3306/test",
            );
            // A MySQL schema is a database: make one per test, named after the one in the
            // URL so that a CI run can drop its own afterwards (`<db>_%`).
            let (server, rest) = base.rsplit_once('/').expect("a URL with a database name");
            let (db, query) = match rest.split_once('?') {
                Some((d, q)) => (d, format!("?{q}")),
                None => (rest, String::new()),
            };
            let name = format!("{db}_{}", unique_name());
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
                .await
                .unwrap();
            sqlx::query(&format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .execute(&mut conn)
            .await
            .unwrap();
            (format!("{server}/{name}{query}"), None)
        }
    }
}

pub fn config(database_url: String) -> Config {
    let env = |name: &str| match name {
        "GHISEUL_HMAC_KEY" => Some(KEY.to_string()),
        "GHISEUL_LISTEN" => Some("127.0.0.1:0".to_string()),
        _ => None,
    };
    let mut c = Config::resolve(FileConfig::default(), &env, true).unwrap();
    c.database_url = database_url;
    c
}

impl TestApp {
    /// A running server with the test register.
    pub async fn spawn(db: Db) -> TestApp {
        let app = TestApp::spawn_empty(db).await;
        load_register(&app.store).await;
        app
    }

    /// A running server with an empty (migrated) database.
    pub async fn spawn_empty(db: Db) -> TestApp {
        let (database_url, dir) = fresh_database(db).await;
        TestApp::spawn_with(config(database_url), dir).await
    }

    /// A configuration on a fresh database, for a test that changes options or runs the
    /// server itself; the folder (SQLite) must live as long as the database is used.
    pub async fn fresh_config(db: Db) -> (Config, Option<tempfile::TempDir>) {
        let (database_url, dir) = fresh_database(db).await;
        (config(database_url), dir)
    }

    pub async fn spawn_with(config: Config, dir: Option<tempfile::TempDir>) -> TestApp {
        let app = Application::build(&config)
            .await
            .expect("the server starts");
        let addr = app.local_addr();
        let store = app.store().clone();
        tokio::spawn(app.run(std::future::pending()));
        TestApp {
            url: format!("http://{addr}{}", config.soap_path),
            database_url: config.database_url.clone(),
            addr,
            store,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub fn client(&self, version: SoapVersion) -> Client {
        Client::new(&self.url, "urn:test", KEY, version).unwrap()
    }

    pub async fn get_sume(&self, cui: &str) -> Answer<SumeResponse> {
        self.client(SoapVersion::V11).get_sume(cui).await.unwrap()
    }

    /// What `cui` owes per type, as (idTipSuma, valoare) strings.
    pub async fn owed(&self, cui: &str) -> Vec<(String, String)> {
        match self.get_sume(cui).await {
            Answer::Ok(r) => r
                .sume
                .iter()
                .map(|t| (t.id_tip_suma.clone(), t.valoare.clone()))
                .collect(),
            Answer::Fault { code, text } => panic!("fault {code}: {text}"),
        }
    }

    pub async fn pay(&self, order: &str, cui: &str, sume: &[(&str, &str)]) -> Answer<bool> {
        self.client(SoapVersion::V11)
            .pay(order, cui, "2025-05-20 10:11:12", items(sume))
            .await
            .unwrap()
    }

    /// GETs a path of the server (`/metrics`, `/soap?wsdl`, …): the status and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// POSTs raw bytes; returns the status, the content type and the body.
    pub async fn post(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (u16, String, String) {
        let r = self
            .http
            .post(&self.url)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    /// One whole number from the database (SUMs are NUMERIC on PostgreSQL and DECIMAL on
    /// MySQL, hence the cast; MySQL spells BIGINT `SIGNED` in a cast).
    pub async fn scalar(&self, sql: &str) -> i64 {
        let bigint = match self.store.backend() {
            Backend::Mysql => "SIGNED",
            _ => "BIGINT",
        };
        sqlx::query_scalar::<_, i64>(&format!("SELECT CAST(({sql}) AS {bigint})"))
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }
}

pub fn items(sume: &[(&str, &str)]) -> Vec<SumaIncasata> {
    sume.iter()
        .map(|(id, v)| SumaIncasata {
            id_tip_suma: id.to_string(),
            valoare: v.to_string(),
        })
        .collect()
}

pub fn expect_fault<T>(a: Answer<T>) -> (String, String) {
    match a {
        Answer::Fault { code, text } => (code, text),
        Answer::Ok(_) => panic!("expected a fault"),
    }
}

pub fn expect_ok<T>(a: Answer<T>) -> T {
    match a {
        Answer::Ok(v) => v,
        Answer::Fault { code, text } => panic!("unexpected fault {code}: {text}"),
    }
}

/// Loads the test register (TAX_TYPES, PERSONS, DEBTS) into `store`.
pub async fn load_register(store: &Store) {
    for (kind, csv) in [
        (Kind::TaxTypes, TAX_TYPES),
        (Kind::Persons, PERSONS),
        (Kind::Debts, DEBTS),
    ] {
        import_csv(store, kind, csv).await.unwrap();
    }
}

/// Imports `csv` as a file of `kind` would be (upsert, detected format).
pub async fn import_csv(store: &Store, kind: Kind, csv: &str) -> Result<Summary, ImportError> {
    import_with(store, kind, csv, &Options::default()).await
}

pub async fn import_with(
    store: &Store,
    kind: Kind,
    csv: &str,
    options: &Options,
) -> Result<Summary, ImportError> {
    let input = std::io::Cursor::new(csv.as_bytes().to_vec());
    import(store, kind, input, options).await
}

/// Every payment's total is what its items say, and what was allocated plus credited:
/// nothing half-written.
pub async fn assert_no_payment_half_written(store: &Store) {
    let broken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments p WHERE p.total <> \
           (SELECT COALESCE(SUM(i.valoare), 0) FROM payment_items i WHERE i.payment_id = p.id) \
        OR p.total <> \
           (SELECT COALESCE(SUM(a.amount), 0) FROM allocations a WHERE a.payment_id = p.id) \
         + (SELECT COALESCE(SUM(c.amount), 0) FROM credits c WHERE c.payment_id = p.id)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        broken, 0,
        "payments whose items or allocation do not add up"
    );
}

/// Runs each named `async fn(Db)` as one test per backend: SQLite always, PostgreSQL and
/// MariaDB when their URLs are set (`--ignored`). Tests of module `mysql::` are the
/// MariaDB ones, so CI can give them their own database.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: set GHISEUL_TEST_POSTGRES_URL and run with --ignored"]
                async fn $name() {
                    super::$name(super::Db::Postgres).await
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs MariaDB/MySQL: set GHISEUL_TEST_MYSQL_URL and run with --ignored"]
                async fn $name() {
                    super::$name(super::Db::Mysql).await
                }
            )*
        }
    };
}
