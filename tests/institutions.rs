//! Several institutions on one server (issue 16): two institutions A and B, each with its
//! own database, path and key, served by one real server. Isolation (A's key on B's path,
//! A's taxpayers on B's path, A's payments in B), Annex 4 choosing the register by
//! `cuiInstitutie`, the CLI's `--institutie`, per-institution metrics and adding an
//! institution on SIGHUP. Run against SQLite and (with `--ignored` and
//! GHISEUL_TEST_POSTGRES_URL / GHISEUL_TEST_MYSQL_URL set) PostgreSQL and MariaDB/MySQL.

#[macro_use]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use ghiseul_connector::client::Client;
use ghiseul_connector::config::Config;
use ghiseul_connector::import::Kind;
use ghiseul_connector::protocol::SoapVersion;
use ghiseul_connector::rules::check::Signer;
use ghiseul_connector::rules::clock;
use ghiseul_connector::startup::{open_store, Application};
use ghiseul_connector::store::Store;

on_every_backend!(
    a_key_on_b_path_is_fault_1,
    a_cui_registered_only_in_a_is_unknown_on_b_path,
    a_payment_on_a_never_shows_in_b,
    annex4_picks_the_register_by_cui_institutie,
    imports_and_exports_follow_institutie,
    metrics_and_health_are_per_institution,
    each_institution_has_its_own_console_and_sessions,
);

const CUI_A: &str = "4351446";
const CUI_B: &str = "4267117";
const KEY_A: &str = "cheie-institutia-a";
const KEY_B: &str = "cheie-institutia-b";

/// B's register: the same tax types, one taxpayer (POPA, also in A's) owing 500.00.
const PERSONS_B: &str = "CNP/NIF sau CIF/CUI,Nume,Adresa\n1750315400014,Popa Ion,Vaslui\n";
const DEBTS_B: &str = "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n1750315400014,1,Casă Vaslui,500.00,0,0,0,2025-03-31\n";

struct Two {
    addr: std::net::SocketAddr,
    a: Config,
    b: Config,
    store_a: Store,
    store_b: Store,
    _dirs: Vec<Option<tempfile::TempDir>>,
}

fn institution(mut c: Config, cui: &str, path: &str, key: &str) -> Config {
    c.institutie.cui = Some(cui.to_string());
    c.soap_path = path.to_string();
    c.hmac_key = key.to_string();
    c.namespace = format!("urn:institutia-{path}");
    c
}

/// A server of A (/a) and B (/b), A with the test register, B with its own.
async fn two(db: Db) -> Two {
    two_on(db, None).await
}

/// `two`, with an admin listener at `admin_listen` (so with the web consoles) when given.
async fn two_on(db: Db, admin_listen: Option<String>) -> Two {
    let (ca, da) = TestApp::fresh_config(db).await;
    let (cb, dbb) = TestApp::fresh_config(db).await;
    let mut a = institution(ca, CUI_A, "/a", KEY_A);
    let mut b = institution(cb, CUI_B, "/b", KEY_B);
    a.institutie.nume = "Primăria A".into();
    b.institutie.nume = "Primăria B".into();
    let mut server = config(a.database_url.clone());
    server.admin_listen = admin_listen;
    let app = Application::build_several(&server, &[a.clone(), b.clone()], None)
        .await
        .expect("the server starts");
    let addr = app.local_addr();
    tokio::spawn(app.run(std::future::pending()));
    let store_a = open_store(&a).await.unwrap();
    let store_b = open_store(&b).await.unwrap();
    load_register(&store_a).await;
    for (kind, csv) in [
        (Kind::TaxTypes, TAX_TYPES),
        (Kind::Persons, PERSONS_B),
        (Kind::Debts, DEBTS_B),
    ] {
        import_csv(&store_b, kind, csv).await.unwrap();
    }
    Two {
        addr,
        a,
        b,
        store_a,
        store_b,
        _dirs: vec![da, dbb],
    }
}

impl Two {
    fn client(&self, c: &Config, key: &str) -> Client {
        let url = format!("http://{}{}", self.addr, c.soap_path);
        Client::new(&url, &c.namespace, key, SoapVersion::V11).unwrap()
    }

    /// POSTs an Annex 4 request to /zf: the status and the body.
    async fn zf(&self, cui_institutie: &str, cui: &str, key: &str) -> (u16, String) {
        let ts = clock::timestamp(&clock::now());
        let check = Signer::new(key.as_bytes()).sign(cui);
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:z="urn:zf"><soap:Body><z:getSumeDePlataPePersoana><cuiInstitutie>{cui_institutie}</cuiInstitutie><cui>{cui}</cui><timestamp>{ts}</timestamp><check>{check}</check></z:getSumeDePlataPePersoana></soap:Body></soap:Envelope>"#
        );
        let r = reqwest::Client::new()
            .post(format!("http://{}/zf", self.addr))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("http://{}{path}", self.addr))
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .unwrap()
}

fn owed(r: &ghiseul_connector::messages::SumeResponse) -> Vec<(String, String)> {
    r.sume
        .iter()
        .map(|t| (t.id_tip_suma.clone(), t.valoare.clone()))
        .collect()
}

async fn a_key_on_b_path_is_fault_1(db: Db) {
    let t = two(db).await;
    let (code, text) = expect_fault(t.client(&t.b, KEY_A).get_sume(POPA).await.unwrap());
    assert_eq!(code, "1", "{text}");
    let paid = t
        .client(&t.b, KEY_A)
        .pay("77", POPA, "2025-05-20 10:11:12", items(&[("1", "10.00")]))
        .await
        .unwrap();
    assert_eq!(expect_fault(paid).0, "1");
    // And B's own key is answered on B's path, from B's register.
    let r = expect_ok(t.client(&t.b, KEY_B).get_sume(POPA).await.unwrap());
    assert_eq!(owed(&r), vec![("1".to_string(), "500.00".to_string())]);
}

async fn a_cui_registered_only_in_a_is_unknown_on_b_path(db: Db) {
    let t = two(db).await;
    expect_ok(t.client(&t.a, KEY_A).get_sume(POPESCU).await.unwrap());
    let (code, _) = expect_fault(t.client(&t.b, KEY_B).get_sume(POPESCU).await.unwrap());
    assert_eq!(code, "2");
}

async fn a_payment_on_a_never_shows_in_b(db: Db) {
    let t = two(db).await;
    let paid = t
        .client(&t.a, KEY_A)
        .pay(
            "1001",
            POPA,
            "2025-05-20 10:11:12",
            items(&[("1", "100.00")]),
        )
        .await
        .unwrap();
    assert!(expect_ok(paid));
    let a = expect_ok(t.client(&t.a, KEY_A).get_sume(POPA).await.unwrap());
    assert_eq!(owed(&a), vec![("1".to_string(), "900.00".to_string())]);
    let b = expect_ok(t.client(&t.b, KEY_B).get_sume(POPA).await.unwrap());
    assert_eq!(owed(&b), vec![("1".to_string(), "500.00".to_string())]);
    assert_eq!(count(&t.store_a, "payments").await, 1);
    assert_eq!(count(&t.store_b, "payments").await, 0);
    // The same order number on B is B's own payment, not a retry of A's.
    let paid = t
        .client(&t.b, KEY_B)
        .pay(
            "1001",
            POPA,
            "2025-05-20 10:11:12",
            items(&[("1", "50.00")]),
        )
        .await
        .unwrap();
    assert!(expect_ok(paid));
    assert_eq!(count(&t.store_b, "payments").await, 1);
    assert_eq!(count(&t.store_a, "payments").await, 1);
}

async fn annex4_picks_the_register_by_cui_institutie(db: Db) {
    let t = two(db).await;
    let (status, a) = t.zf(CUI_A, POPA, KEY_A).await;
    assert_eq!(status, 200, "{a}");
    assert!(a.contains("<valoare>1000.00</valoare>"), "{a}");
    let (status, b) = t.zf(&format!("RO{CUI_B}"), POPA, KEY_B).await;
    assert_eq!(status, 200, "{b}");
    assert!(b.contains("<valoare>500.00</valoare>"), "{b}");
    // Answered in the Annex 4 WSDL's namespace, not the institution's.
    assert!(b.contains("/zf") && !b.contains("urn:institutia"), "{b}");
    // B's cuiInstitutie signed with A's key: the key is the institution's (D20).
    let (status, wrong_key) = t.zf(CUI_B, POPA, KEY_A).await;
    assert_eq!(status, 500);
    assert!(wrong_key.contains("Mesaj invalid"), "{wrong_key}");
    // An institution this server does not serve: fault 2 (annexes-2-5.md §3).
    let (status, unknown) = t.zf("31245671", POPA, KEY_A).await;
    assert_eq!(status, 500);
    assert!(unknown.contains("CUI invalid sau inexistent"), "{unknown}");
    // A person only in A's register, asked for B.
    let (_, only_a) = t.zf(CUI_B, POPESCU, KEY_B).await;
    assert!(only_a.contains("CUI invalid sau inexistent"), "{only_a}");
    let (status, wsdl) = t.get("/zf?wsdl").await;
    assert_eq!(status, 200);
    assert!(wsdl.contains("cuiInstitutie"));
}

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"));
    c.current_dir(dir)
        .env_remove("GHISEUL_HMAC_KEY")
        .env_remove("GHISEUL_DATABASE_URL")
        .env_remove("GHISEUL_INSTITUTIE_CUI")
        .env_remove("GHISEUL_SOAP_PATH")
        .env("GHISEUL_LOG", "warn");
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A configuration file of the two institutions (plus `extra` sections).
fn config_file(dir: &Path, listen: &str, sections: &[(&str, &str, &str, &str)]) -> String {
    config_file_with(dir, &format!("listen = \"{listen}\"\n"), sections)
}

/// `config_file` with `top` (the top-level settings) written before the sections.
fn config_file_with(dir: &Path, top: &str, sections: &[(&str, &str, &str, &str)]) -> String {
    let mut text = top.to_string();
    for (cui, path, key, database_url) in sections {
        text.push_str(&format!(
            "\n[[institutie]]\ninstitutie_cui = \"{cui}\"\ninstitutie_nume = \"Instituția {cui}\"\nsoap_path = \"{path}\"\nhmac_key = \"{key}\"\ndatabase_url = \"{database_url}\"\n"
        ));
    }
    let file = dir.join("ghiseul.toml");
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

async fn imports_and_exports_follow_institutie(db: Db) {
    let (ca, _da) = TestApp::fresh_config(db).await;
    let (cb, _db) = TestApp::fresh_config(db).await;
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(
        dir.path(),
        "127.0.0.1:0",
        &[
            (CUI_A, "/a", KEY_A, &ca.database_url),
            (CUI_B, "/b", KEY_B, &cb.database_url),
        ],
    );
    let persons = dir.path().join("persons.csv");
    std::fs::write(&persons, PERSONS).unwrap();
    // Without --institutie a command does not guess.
    let (ok, _, err) = run(bin(dir.path())
        .args(["--config", &file, "import", "persons"])
        .arg(&persons));
    assert!(!ok);
    assert!(err.contains("--institutie") && err.contains(CUI_B), "{err}");
    let (ok, out, err) = run(bin(dir.path())
        .args([
            "--config",
            &file,
            "--institutie",
            CUI_A,
            "import",
            "persons",
        ])
        .arg(&persons));
    assert!(ok, "{out}{err}");
    let b_persons = dir.path().join("persons-b.csv");
    std::fs::write(&b_persons, PERSONS_B).unwrap();
    let (ok, out, err) = run(bin(dir.path())
        .args([
            "--config",
            &file,
            "import",
            "persons",
            "--institutie",
            &format!("RO{CUI_B}"),
        ])
        .arg(&b_persons));
    assert!(ok, "{out}{err}");
    let store_a = open_store(&ca).await.unwrap();
    let store_b = open_store(&cb).await.unwrap();
    assert_eq!(count(&store_a, "taxpayers").await, 4);
    assert_eq!(count(&store_b, "taxpayers").await, 1);
    for (cui, present, absent) in [(CUI_A, "Popescu", "Vaslui"), (CUI_B, "Vaslui", "Popescu")] {
        let out_file = dir.path().join(format!("contribuabili-{cui}.csv"));
        let (ok, out, err) = run(bin(dir.path())
            .args([
                "--config",
                &file,
                "--institutie",
                cui,
                "export",
                "contribuabili",
                "--out",
            ])
            .arg(&out_file));
        assert!(ok, "{out}{err}");
        let text = std::fs::read_to_string(&out_file).unwrap();
        assert!(
            text.contains(present) && !text.contains(absent),
            "{cui}: {text}"
        );
    }
    // `sign` uses no register and needs no --institutie.
    let (ok, out, err) =
        run(bin(dir.path()).args(["--config", &file, "sign", "--key", KEY_A, POPA]));
    assert!(ok, "{err}");
    assert_eq!(out.trim(), Signer::new(KEY_A.as_bytes()).sign(POPA));
    let (ok, _, err) =
        run(bin(dir.path()).args(["--config", &file, "--institutie", "31245671", "journal"]));
    assert!(!ok);
    assert!(err.contains("no such institution"), "{err}");
}

async fn metrics_and_health_are_per_institution(db: Db) {
    let t = two(db).await;
    expect_ok(t.client(&t.a, KEY_A).get_sume(POPA).await.unwrap());
    let (status, health) = t.get("/health").await;
    assert_eq!(status, 200, "{health}");
    let (status, metrics) = t.get("/metrics").await;
    assert_eq!(status, 200);
    let line = |cui: &str| {
        format!("ghiseul_requests_total{{institutie=\"{cui}\",operation=\"getSumeDePlataPePersoana\",outcome=\"ok\",fault=\"\"}} 1")
    };
    assert!(metrics.contains(&line(CUI_A)), "{metrics}");
    assert!(!metrics.contains(&line(CUI_B)), "{metrics}");
    assert_eq!(
        metrics.matches("# TYPE ghiseul_requests counter").count(),
        1,
        "{metrics}"
    );
    assert!(metrics.ends_with("# EOF\n"));
}

const PASSWORD: &str = "parola-lunga-de-test";

fn cookie_of(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.to_string())
}

/// Logs `user` in to the console at `base` (`http://ADDR/admin/CUI`); the session cookie
/// as sent back (`name=value`) and its whole Set-Cookie line.
async fn console_login(http: &reqwest::Client, base: &str, user: &str) -> (String, String) {
    let form = http
        .get(format!("{base}/autentificare"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200, "{base}");
    let pre = cookie_of(&form, "ghiseul_autentificare").unwrap();
    let pre = pre.split(';').next().unwrap().to_string();
    let csrf = pre.split_once('=').unwrap().1.to_string();
    let r = http
        .post(format!("{base}/autentificare"))
        .header("cookie", &pre)
        .form(&[("utilizator", user), ("parola", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{base}");
    let line = cookie_of(&r, "ghiseul_sesiune").unwrap();
    (line.split(';').next().unwrap().to_string(), line)
}

/// With several institutions each one's console is at /admin/{CUI}/ with its own users
/// and sessions: /admin/ lists them; ana of A sees A's payment; her session cookie is
/// scoped to A's console, and presented on B's it leads to B's login page; B's console
/// never shows A's payment; a user of A cannot log in to B.
async fn each_institution_has_its_own_console_and_sessions(db: Db) {
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let t = two_on(db, Some(admin.to_string())).await;
    let hash = ghiseul_connector::console::hash_password(PASSWORD).unwrap();
    ghiseul_connector::store::payout::set_user(&t.store_a, "ana", &hash)
        .await
        .unwrap();
    ghiseul_connector::store::payout::set_user(&t.store_b, "bogdan", &hash)
        .await
        .unwrap();
    let paid = t
        .client(&t.a, KEY_A)
        .pay(
            "1001",
            POPA,
            "2025-05-20 10:11:12",
            items(&[("1", "100.00")]),
        )
        .await
        .unwrap();
    assert!(expect_ok(paid));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |url: String, cookie: Option<String>| {
        let mut r = http.get(url);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        async move {
            let r = r.send().await.unwrap();
            let location = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), location, r.text().await.unwrap())
        }
    };
    // Never beside the SOAP endpoint.
    let (status, _) = t.get(&format!("/admin/{CUI_A}/")).await;
    assert_eq!(status, 404);
    let root = format!("http://{admin}/admin");
    let (status, _, list) = get(format!("{root}/"), None).await;
    assert_eq!(status, 200);
    for (name, cui) in [("Primăria A", CUI_A), ("Primăria B", CUI_B)] {
        assert!(
            list.contains(&format!("<a href=\"/admin/{cui}/\">{name}</a>")),
            "{list}"
        );
    }
    let (status, _, _) = get(format!("{root}/1234567/"), None).await;
    assert_eq!(status, 404);

    let (base_a, base_b) = (format!("{root}/{CUI_A}"), format!("{root}/{CUI_B}"));
    let (session_a, line) = console_login(&http, &base_a, "ana").await;
    assert!(line.contains(&format!("Path=/admin/{CUI_A};")), "{line}");
    let search = format!("/plati?cui={POPA}");
    let (status, _, page) = get(format!("{base_a}{search}"), Some(session_a.clone())).await;
    assert_eq!(status, 200);
    assert!(page.contains("<p id=\"rezultate\">1 plăți"), "{page}");
    assert!(
        page.contains(&format!("href=\"/admin/{CUI_A}/plati/")),
        "{page}"
    );
    assert!(page.contains("Primăria A"), "{page}");

    // A's session is not B's: to B's login page.
    for path in ["/", "/plati"] {
        let (status, location, _) = get(format!("{base_b}{path}"), Some(session_a.clone())).await;
        assert_eq!(status, 303, "{path}");
        assert_eq!(
            location.as_deref(),
            Some(format!("/admin/{CUI_B}/autentificare").as_str())
        );
    }
    // A's user does not exist in B.
    let form = http
        .get(format!("{base_b}/autentificare"))
        .send()
        .await
        .unwrap();
    let pre = cookie_of(&form, "ghiseul_autentificare").unwrap();
    let pre = pre.split(';').next().unwrap().to_string();
    let csrf = pre.split_once('=').unwrap().1.to_string();
    let r = http
        .post(format!("{base_b}/autentificare"))
        .header("cookie", &pre)
        .form(&[("utilizator", "ana"), ("parola", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // B's own user sees B's payments: none.
    let (session_b, _) = console_login(&http, &base_b, "bogdan").await;
    let (status, _, page) = get(format!("{base_b}{search}"), Some(session_b.clone())).await;
    assert_eq!(status, 200);
    assert!(page.contains("<p id=\"rezultate\">0 plăți"), "{page}");
    assert!(page.contains("Primăria B"), "{page}");
    let (_, _, today) = get(format!("{base_b}/"), Some(session_b.clone())).await;
    assert!(today.contains("<b id=\"azi\">0 ·"), "{today}");
    let (_, _, today_a) = get(format!("{base_a}/"), Some(session_a)).await;
    assert!(today_a.contains("<b id=\"azi\">1 ·"), "{today_a}");
    // And B's session is not A's.
    let (status, location, _) = get(format!("{base_a}/"), Some(session_b)).await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/admin/{CUI_A}/autentificare").as_str())
    );
}

/// A configuration without `[[institutie]]` is the server it always was: no Annex 4
/// endpoint beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_institution_configs_unchanged() {
    let app = TestApp::spawn(Db::Sqlite).await;
    assert_eq!(app.get("/zf?wsdl").await.0, 404);
    assert_eq!(
        app.owed(POPA).await,
        vec![("1".to_string(), "1000.00".to_string())]
    );
}

/// SIGHUP starts an institution added to the file, without a restart; the ones already
/// served keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_an_institution_with_its_console() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let top = format!("listen = \"{listen}\"\nadmin_listen = \"{admin}\"\n");
    let db_a = format!("sqlite://{}", dir.path().join("a.db").display());
    let db_b = format!("sqlite://{}", dir.path().join("b.db").display());
    let file = config_file_with(dir.path(), &top, &[(CUI_A, "/a", KEY_A, &db_a)]);
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = bin(dir.path())
        .env("GHISEUL_LOG", "info")
        .args(["--config", &file, "serve"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = Kill(child);
    let pid = server.0.id();
    let answers = |path: &str| {
        let url = format!("http://{listen}{path}?wsdl");
        async move { matches!(reqwest::get(&url).await, Ok(r) if r.status() == 200) }
    };
    let log_text = || std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    let mut up = false;
    for _ in 0..600 {
        if answers("/a").await {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server did not start: {}", log_text());
    assert!(!answers("/b").await);
    let console_b = format!("http://{admin}/admin/{CUI_B}/autentificare");
    let status = |url: String| async move { reqwest::get(&url).await.unwrap().status().as_u16() };
    assert_eq!(status(console_b.clone()).await, 404);
    config_file_with(
        dir.path(),
        &top,
        &[(CUI_A, "/a", KEY_A, &db_a), (CUI_B, "/b", KEY_B, &db_b)],
    );
    let ok = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut added = false;
    for _ in 0..600 {
        if answers("/b").await {
            added = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(added, "B was not added: {}", log_text());
    assert!(answers("/a").await);
    // B answers from its own (new, empty) register with its own key.
    let client = Client::new(
        &format!("http://{listen}/b"),
        "urn:b",
        KEY_B,
        SoapVersion::V11,
    )
    .unwrap();
    let (code, _) = expect_fault(client.get_sume(POPA).await.unwrap());
    assert_eq!(code, "2");
    // And B's web console is served on the admin listener, beside A's.
    assert_eq!(status(console_b).await, 200);
    assert_eq!(
        status(format!("http://{admin}/admin/{CUI_A}/autentificare")).await,
        200
    );
}

/// `check-config` checks every institution, and refuses two on one database before
/// anything is started.
#[test]
fn check_config_checks_every_institution_and_refuses_a_shared_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_a = format!("sqlite://{}", dir.path().join("a.db").display());
    let db_b = format!("sqlite://{}", dir.path().join("b.db").display());
    let file = config_file(
        dir.path(),
        "127.0.0.1:0",
        &[(CUI_A, "/a", KEY_A, &db_a), (CUI_B, "/b", KEY_B, &db_b)],
    );
    let (ok, out, err) = run(bin(dir.path()).args(["--config", &file, "check-config"]));
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!("Institution {CUI_A}"))
            && out.contains(&format!("Institution {CUI_B}")),
        "{out}"
    );
    assert!(out.contains("Configuration OK (2 institutions)."), "{out}");
    assert!(
        !out.contains(KEY_A) && !out.contains(KEY_B),
        "a key was printed"
    );
    let file = config_file(
        dir.path(),
        "127.0.0.1:0",
        &[(CUI_A, "/a", KEY_A, &db_a), (CUI_B, "/b", KEY_B, &db_a)],
    );
    let (ok, _, err) = run(bin(dir.path()).args(["--config", &file, "check-config"]));
    assert!(!ok);
    assert!(err.contains("same database_url"), "{err}");
}
