//! The live SQL register (issue 11): getSume answered from a tax system's own database
//! through the configured queries alone. The tax system here is a plausible foreign schema
//! with Romanian table and column names and amounts in NUMERIC(12,2) (DECIMAL on
//! MariaDB), holding the same register as tests/common's CSV files, so that every answer
//! can be compared with the same register imported into our tables. It lives in its own
//! database of the same kind as ours (a second SQLite file, PostgreSQL schema or MariaDB
//! database).

mod common;

use std::time::Duration;

use common::*;
use ghiseul_connector::client::Answer;
use ghiseul_connector::live::Settings;
use ghiseul_connector::store::Backend;
use sqlx::AnyConnection;
use sqlx::Connection as _;

/// The tax system's tables, in its own names, holding tests/common's register.
const SCHEMA: &[&str] = &[
    "CREATE TABLE contribuabili (cod_fiscal VARCHAR(20) PRIMARY KEY, \
        denumire VARCHAR(200) NOT NULL, domiciliu VARCHAR(200))",
    "CREATE TABLE nomenclator_taxe (cod_taxa INTEGER PRIMARY KEY, \
        denumire VARCHAR(100) NOT NULL, ordine_plata INTEGER NOT NULL, \
        cont_iban VARCHAR(34), antet_coloane VARCHAR(200))",
    "CREATE TABLE debite (nr_debit INTEGER PRIMARY KEY, cod_fiscal VARCHAR(20) NOT NULL, \
        cod_taxa INTEGER NOT NULL, explicatie VARCHAR(200), \
        suma_debit NUMERIC(12,2) NOT NULL, suma_ramasita NUMERIC(12,2) NOT NULL, \
        suma_majorari NUMERIC(12,2) NOT NULL, suma_penalitati NUMERIC(12,2) NOT NULL, \
        data_scadenta DATE NOT NULL)",
    // Where the outbox writes our payments; `inregistrata` = 1 once the tax system booked
    // one (lowered its debts).
    "CREATE TABLE incasari_ghiseul (nr_comanda BIGINT NOT NULL, nr_articol INTEGER NOT NULL, \
        cod_fiscal VARCHAR(20) NOT NULL, cod_taxa INTEGER NOT NULL, \
        suma NUMERIC(12,2) NOT NULL, data_plata VARCHAR(19) NOT NULL, \
        inregistrata INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (nr_comanda, nr_articol))",
    "INSERT INTO contribuabili VALUES \
        ('1800101221111', 'Popescu Ștefan', 'Str. Lungă nr. 1, Iași'), \
        ('2820704120023', 'Ionescu Maria', 'Str. Scurtă nr. 2'), \
        ('31245671', 'SC Exemplu SRL', 'Șos. Păcurari 101'), \
        ('1750315400014', 'Popa Ion', 'Iași')",
    "INSERT INTO nomenclator_taxe VALUES \
        (7, 'Taxă salubrizare', 0, 'RO66TREZ2165070XXX012348', NULL), \
        (1, 'Impozit pe clădiri', 1, 'RO50TREZ2165070XXX012345', NULL), \
        (5, 'Amenzi', 0, 'RO39TREZ2165070XXX012349', \
            'Proces-verbal;Debit;Rămășiță;Majorări;Penalități'), \
        (2, 'Impozit pe teren', 2, 'RO23TREZ2165070XXX012346', NULL), \
        (9, 'Taxă fără datornici', 3, 'RO47TREZ2165070XXX012399', NULL)",
    "INSERT INTO debite VALUES \
        (1, '1800101221111', 7, 'Salubrizare 2025', 50.00, 0, 0, 0, '2025-03-31'), \
        (2, '1800101221111', 1, 'Casă, Str. Lungă nr. 1', 200.00, 0, 0, 0, '2025-03-31'), \
        (3, '1800101221111', 1, 'Casă, Str. Lungă nr. 1', 100.00, 20.00, 5.00, 1.00, '2024-03-31'), \
        (4, '1800101221111', 2, 'Teren', 30.50, 0, 0, 0, '2025-03-31'), \
        (5, '1800101221111', 5, 'PV 123/2024', 100, 0, 0, 0, '2024-12-01'), \
        (6, '31245671', 1, 'Hală', 1000.00, 0, 0, 0, '2025-03-31'), \
        (7, '1750315400014', 1, 'Apartament', 1000.00, 0, 0, 0, '2025-03-31')",
];

/// `column` as text, as the institution writes it for its database (sqlx's `Any` driver
/// reads no NUMERIC, DECIMAL or DATE: they come as text and are converted exactly).
fn as_text(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Postgres => format!("{column}::text"),
        Backend::Mysql => format!("CAST({column} AS CHAR)"),
        Backend::Sqlite => format!("CAST({column} AS TEXT)"),
    }
}

/// The queries an institution with this schema configures.
fn settings(url: &str) -> Settings {
    let b = Backend::of_url(url).unwrap();
    let t = |c: &str| as_text(b, c);
    let insert = match b {
        Backend::Mysql => "INSERT IGNORE INTO incasari_ghiseul \
            (nr_comanda, nr_articol, cod_fiscal, cod_taxa, suma, data_plata) \
            VALUES (:nr_comanda, :nr_articol, :cui, :id_tip_suma, CAST(:suma AS DECIMAL(12,2)), :data)"
            .to_string(),
        _ => "INSERT INTO incasari_ghiseul \
            (nr_comanda, nr_articol, cod_fiscal, cod_taxa, suma, data_plata) \
            VALUES (:nr_comanda, :nr_articol, :cui, :id_tip_suma, CAST(:suma AS NUMERIC(12,2)), :data) \
            ON CONFLICT DO NOTHING"
            .to_string(),
    };
    Settings {
        url: url.to_string(),
        taxpayer_query: "SELECT cod_fiscal AS cui, denumire AS nume, domiciliu AS adresa \
            FROM contribuabili WHERE cod_fiscal = :cui"
            .into(),
        debts_query: format!(
            "SELECT cod_taxa AS id_tip_suma, explicatie AS descriere, {} AS debit, \
             {} AS ramasita, {} AS majorari, {} AS penalitati, {} AS scadenta \
             FROM debite WHERE cod_fiscal = :cui ORDER BY nr_debit",
            t("suma_debit"),
            t("suma_ramasita"),
            t("suma_majorari"),
            t("suma_penalitati"),
            t("data_scadenta")
        ),
        tax_types_query: "SELECT cod_taxa AS id_tip_suma, denumire AS nume, \
            ordine_plata AS prioritate, cont_iban AS iban, antet_coloane AS detalii_header \
            FROM nomenclator_taxe"
            .into(),
        booked_query: Some(
            "SELECT nr_comanda FROM incasari_ghiseul WHERE cod_fiscal = :cui AND inregistrata = 1"
                .into(),
        ),
        payment_statement: Some(insert),
    }
}

/// The tax system's database, filled, and a connection to it for the test to act as the
/// tax system.
struct TaxSystem {
    url: String,
    conn: AnyConnection,
    _dir: Option<tempfile::TempDir>,
}

impl TaxSystem {
    async fn new(db: Db) -> TaxSystem {
        let (config, dir) = TestApp::fresh_config(db).await;
        let url = config.database_url;
        let connect_url = match Backend::of_url(&url) {
            Some(Backend::Sqlite) => format!("{url}?mode=rwc"),
            _ => url.clone(),
        };
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(&connect_url).await.unwrap();
        for sql in SCHEMA {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        TaxSystem {
            url,
            conn,
            _dir: dir,
        }
    }

    async fn run(&mut self, sql: &str) {
        sqlx::query(sql).execute(&mut self.conn).await.unwrap();
    }

    async fn count(&mut self, sql: &str) -> i64 {
        let b = match Backend::of_url(&self.url) {
            Some(Backend::Mysql) => "SIGNED",
            _ => "BIGINT",
        };
        sqlx::query_scalar(&format!("SELECT CAST(({sql}) AS {b})"))
            .fetch_one(&mut self.conn)
            .await
            .unwrap()
    }
}

/// Our server answering from `tax`'s database.
async fn live_app(db: Db, tax: &TaxSystem) -> TestApp {
    let (mut config, dir) = TestApp::fresh_config(db).await;
    config.register = Some(settings(&tax.url));
    config.db_timeout_secs = 2;
    TestApp::spawn_with(config, dir).await
}

/// The answer to getSume without its time and check: what is owed, or the fault code.
async fn answer(
    app: &TestApp,
    cui: &str,
) -> Result<Vec<ghiseul_connector::messages::TipSuma>, String> {
    match app.get_sume(cui).await {
        Answer::Ok(r) => Ok(r.sume),
        Answer::Fault { code, .. } => Err(code),
    }
}

async fn pay_answer(
    app: &TestApp,
    order: &str,
    cui: &str,
    sume: &[(&str, &str)],
) -> Result<bool, String> {
    match app.pay(order, cui, sume).await {
        Answer::Ok(b) => Ok(b),
        Answer::Fault { code, .. } => Err(code),
    }
}

/// An order, a person and the amounts per tax type.
type Payment<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

const EVERYONE: &[&str] = &[POPESCU, IONESCU, FIRMA, "RO31245671", POPA, NECUNOSCUT];

/// Waits (without a time limit of its own: the test harness has one) until `f` holds.
/// Waits for `f` to hold; a condition that never comes fails the test after 60 s rather
/// than hanging it.
async fn until<F: std::future::Future<Output = bool>>(mut f: impl FnMut() -> F) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(
            std::time::Instant::now() < deadline,
            "the awaited condition did not come within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn live_answers_equal_those_of_the_same_register_imported(db: Db) {
    let imported = TestApp::spawn(db).await;
    let tax = TaxSystem::new(db).await;
    let live = live_app(db, &tax).await;
    for cui in EVERYONE {
        assert_eq!(
            answer(&live, cui).await,
            answer(&imported, cui).await,
            "getSume {cui}"
        );
    }
    let payments: &[Payment] = &[
        ("101", POPESCU, &[("1", "150.00"), ("7", "50.00")]),
        ("102", POPA, &[("1", "1200.00")]),
        ("103", FIRMA, &[("1", "0.01")]),
        ("104", IONESCU, &[("9", "10.00")]),
        ("105", POPESCU, &[("42", "1.00")]),
        ("106", NECUNOSCUT, &[("1", "1.00")]),
        ("101", POPESCU, &[("1", "150.00"), ("7", "50.00")]),
        ("101", POPESCU, &[("1", "151.00"), ("7", "50.00")]),
    ];
    for (order, cui, sume) in payments {
        assert_eq!(
            pay_answer(&live, order, cui, sume).await,
            pay_answer(&imported, order, cui, sume).await,
            "payment {order} of {cui}"
        );
    }
    for cui in EVERYONE {
        assert_eq!(
            answer(&live, cui).await,
            answer(&imported, cui).await,
            "getSume {cui} after the payments"
        );
    }
}

async fn a_payment_is_recorded_once_and_lowers_the_statement_until_the_tax_system_books_it(db: Db) {
    let mut tax = TaxSystem::new(db).await;
    let live = live_app(db, &tax).await;
    let before = live.owed(POPESCU).await;
    assert!(
        before.contains(&("1".into(), "326.00".into())),
        "{before:?}"
    );
    assert_eq!(
        pay_answer(&live, "201", POPESCU, &[("1", "150.00")]).await,
        Ok(true)
    );
    assert_eq!(
        pay_answer(&live, "201", POPESCU, &[("1", "150.00")]).await,
        Ok(true)
    );
    assert_eq!(live.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(live.scalar("SELECT COUNT(*) FROM payment_items").await, 1);
    let lowered = live.owed(POPESCU).await;
    assert!(
        lowered.contains(&("1".into(), "176.00".into())),
        "{lowered:?}"
    );
    // The tax system books it: lowers its balances (rămășița 20, debit 100, then 30 of the
    // newer debit) and says so; the statement must not subtract it a second time.
    until(|| async {
        live.scalar("SELECT COUNT(*) FROM live_outbox WHERE delivered_at IS NULL")
            .await
            == 0
    })
    .await;
    tax.run("UPDATE debite SET suma_ramasita = 0, suma_debit = 0 WHERE nr_debit = 3")
        .await;
    tax.run("UPDATE debite SET suma_debit = 170.00 WHERE nr_debit = 2")
        .await;
    tax.run("UPDATE incasari_ghiseul SET inregistrata = 1 WHERE nr_comanda = 201")
        .await;
    assert_eq!(live.owed(POPESCU).await, lowered);
}

async fn the_outbox_writes_each_item_once_through_an_outage_of_the_tax_systems_database(db: Db) {
    let mut tax = TaxSystem::new(db).await;
    let live = live_app(db, &tax).await;
    tax.run("ALTER TABLE incasari_ghiseul RENAME TO incasari_ghiseul_x")
        .await;
    assert_eq!(
        pay_answer(&live, "301", POPESCU, &[("1", "10.00"), ("7", "5.50")]).await,
        Ok(true)
    );
    assert_eq!(
        pay_answer(&live, "302", POPA, &[("1", "100.00")]).await,
        Ok(true)
    );
    assert_eq!(
        pay_answer(&live, "301", POPESCU, &[("1", "10.00"), ("7", "5.50")]).await,
        Ok(true)
    );
    // Refused while the table is gone, and counted, and shown as backlog.
    until(|| async { live.scalar("SELECT MAX(attempts) FROM live_outbox").await >= 2 }).await;
    // The gauge is set after each pass, just after that pass's attempts are written: wait
    // for the pass that has seen all three items rather than read it once.
    until(|| async {
        let (_, metrics) = live.get("/metrics").await;
        metrics.contains("ghiseul_register_outbox_backlog 3")
    })
    .await;
    tax.run("ALTER TABLE incasari_ghiseul_x RENAME TO incasari_ghiseul")
        .await;
    until(|| async {
        live.scalar("SELECT COUNT(*) FROM live_outbox WHERE delivered_at IS NULL")
            .await
            == 0
    })
    .await;
    assert_eq!(tax.count("SELECT COUNT(*) FROM incasari_ghiseul").await, 3);
    assert_eq!(
        tax.count("SELECT COUNT(*) FROM incasari_ghiseul WHERE nr_comanda = 301 AND nr_articol = 2 AND cod_taxa = 7 AND suma = 5.50").await,
        1
    );
    // A delivery repeated (as after a crash between their commit and ours) writes nothing.
    sqlx::query("UPDATE live_outbox SET delivered_at = NULL")
        .execute(live.store.pool())
        .await
        .unwrap();
    until(|| async {
        live.scalar("SELECT COUNT(*) FROM live_outbox WHERE delivered_at IS NULL")
            .await
            == 0
    })
    .await;
    assert_eq!(tax.count("SELECT COUNT(*) FROM incasari_ghiseul").await, 3);
}

async fn the_tax_system_down_gives_fault_3_and_recovers_without_a_restart(db: Db) {
    let mut tax = TaxSystem::new(db).await;
    let live = live_app(db, &tax).await;
    let before = answer(&live, POPESCU).await;
    assert!(before.is_ok());
    tax.run("ALTER TABLE debite RENAME TO debite_x").await;
    assert_eq!(answer(&live, POPESCU).await, Err("3".into()));
    tax.run("ALTER TABLE debite_x RENAME TO debite").await;
    assert_eq!(answer(&live, POPESCU).await, before);
}

async fn check_config_names_a_missing_mistyped_or_extra_column(db: Db) {
    let tax = TaxSystem::new(db).await;
    let b = Backend::of_url(&tax.url).unwrap();
    let good = settings(&tax.url);
    let timeout = Duration::from_secs(5);
    let found = ghiseul_connector::live::check::check(&good, Some(POPESCU), timeout).await;
    assert!(found.problems.is_empty(), "{:?}", found.problems);

    let mut missing = good.clone();
    missing.debts_query = missing.debts_query.replace(" AS scadenta", " AS scad");
    let found = ghiseul_connector::live::check::check(&missing, None, timeout).await;
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.contains("`scadenta` is missing")),
        "{:?}",
        found.problems
    );
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.contains("`scad` is not one of ours")),
        "{:?}",
        found.problems
    );

    let float = match b {
        Backend::Postgres => "suma_debit::float8",
        Backend::Mysql => "CAST(suma_debit AS DOUBLE)",
        Backend::Sqlite => "CAST(suma_debit AS REAL)",
    };
    let mut mistyped = good.clone();
    mistyped.debts_query = mistyped.debts_query.replace(
        &format!("{} AS debit", as_text(b, "suma_debit")),
        &format!("{float} AS debit"),
    );
    let found = ghiseul_connector::live::check::check(&mistyped, Some(POPESCU), timeout).await;
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.contains("`debit`") && p.contains("floating-point")),
        "{:?}",
        found.problems
    );

    // `serve` refuses to start with it.
    let (mut config, _dir) = TestApp::fresh_config(db).await;
    config.register = Some(missing);
    let refused = ghiseul_connector::startup::Application::build(&config).await;
    assert!(refused.is_err());
}

on_every_backend!(
    live_answers_equal_those_of_the_same_register_imported,
    a_payment_is_recorded_once_and_lowers_the_statement_until_the_tax_system_books_it,
    the_outbox_writes_each_item_once_through_an_outage_of_the_tax_systems_database,
    the_tax_system_down_gives_fault_3_and_recovers_without_a_restart,
    check_config_names_a_missing_mistyped_or_extra_column,
);
