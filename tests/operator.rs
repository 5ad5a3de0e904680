//! What the operator sees (issue 14): `check-config` that really checks and writes
//! nothing, `/health` that proves a payment can be journaled, `migrate` that says what it
//! did, and messages that say what is wrong once, with what to do. The real binary runs
//! here; the PostgreSQL and MariaDB cases are `--ignored` (see README).

#[macro_use]
mod common;

use std::process::Command;

use common::{Db, TestApp};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GHISEUL_") {
            c.env_remove(k);
        }
    }
    c.env("GHISEUL_LOG", "warn");
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

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("data/g.db").display())
}

#[test]
fn check_config_finds_a_listen_without_port_and_a_url_without_scheme_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(bin()
        .current_dir(dir.path())
        .env("GHISEUL_HMAC_KEY", "cheie-foarte-secreta")
        .env("GHISEUL_LISTEN", "127.0.0.1")
        .env("GHISEUL_PUBLIC_URL", "taxe.primaria-exemplu.ro/soap")
        .env("GHISEUL_DATABASE_URL", sqlite_url(dir.path()))
        .arg("check-config"));
    assert!(!ok, "{out}");
    assert!(err.contains("2 problem(s)"), "{err}");
    let problems: Vec<&str> = err.lines().filter(|l| l.starts_with("  - ")).collect();
    assert_eq!(problems.len(), 2, "{err}");
    assert!(
        problems[0].contains("listen (GHISEUL_LISTEN) = `127.0.0.1`")
            && problems[0].contains("no port")
            && problems[0].contains("127.0.0.1:8080"),
        "{err}"
    );
    assert!(
        problems[1].contains("public_url")
            && problems[1].contains("https://taxe.primaria-exemplu.ro/soap"),
        "{err}"
    );
    assert!(!out.contains("Configuration OK"), "{out}");
}

#[test]
fn check_config_prints_a_readable_masked_listing() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(bin()
        .current_dir(dir.path())
        .env("GHISEUL_HMAC_KEY", "cheie-foarte-secreta")
        .env("GHISEUL_HMAC_KEY_NEXT", "urmatoarea-cheie")
        .env("GHISEUL_DATABASE_URL", sqlite_url(dir.path()))
        .env("GHISEUL_ALLOW", "192.0.2.0/24")
        .arg("check-config"));
    assert!(ok, "{err}");
    assert!(!out.contains("Config {") && !out.contains("Some("), "{out}");
    assert!(
        !out.contains("cheie-foarte-secreta") && !out.contains("urmatoarea-cheie"),
        "{out}"
    );
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line in {out}"))
            .to_string()
    };
    assert!(line("hmac_key").contains("set (***)"), "{out}");
    assert!(line("allow").contains("192.0.2.0/24"), "{out}");
    assert!(line("listen").contains("127.0.0.1:8080"), "{out}");
    assert!(out.contains("Configuration OK."), "{out}");
}

#[test]
fn check_config_masks_a_database_password() {
    let (_, out, err) = run(bin()
        .env("GHISEUL_HMAC_KEY", "k")
        .env("GHISEUL_DB_TIMEOUT_SECS", "1")
        .env(
            "GHISEUL_DATABASE_URL",
            "postgres://app:parola-db@127.0.0.1:1/x",
        )
        .arg("check-config"));
    assert!(!out.contains("parola-db") && !err.contains("parola-db"));
    assert!(out.contains("postgres://app:***@127.0.0.1:1/x"), "{out}");
}

#[test]
fn check_config_creates_no_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(bin()
        .current_dir(dir.path())
        .env("GHISEUL_HMAC_KEY", "k")
        .env("GHISEUL_DATABASE_URL", sqlite_url(dir.path()))
        .arg("check-config"));
    assert!(ok, "{err}");
    assert!(out.contains("does not exist yet"), "{out}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "check-config left {left:?}");
}

/// Runs `c` as another user than the file's owner: `nobody` when the tests run as root
/// (root may write any file), else as is (the file is then made read-only).
fn as_service_user(c: &mut Command) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let program = c.get_program().to_owned();
    let mut out = if root {
        let mut s = Command::new("setpriv");
        s.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program);
        s
    } else {
        Command::new(program)
    };
    out.args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => out.env(k, v),
            None => out.env_remove(k),
        };
    }
    if let Some(d) = c.get_current_dir() {
        out.current_dir(d);
    }
    out
}

/// A migrated SQLite database in a folder the service's user may write, whose file
/// belongs to someone else and is not writable by others (as after `import` run by root).
fn database_owned_by_someone_else() -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let (ok, _, err) = run(bin().env("GHISEUL_DATABASE_URL", &url).arg("migrate"));
    assert!(ok, "{err}");
    let data = dir.path().join("data");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    (dir, url)
}

#[test]
fn check_config_says_when_the_sqlite_file_cannot_be_written() {
    let (dir, url) = database_owned_by_someone_else();
    let (ok, out, err) = run(&mut as_service_user(
        bin()
            .current_dir(dir.path())
            .env("GHISEUL_HMAC_KEY", "k")
            .env("GHISEUL_DATABASE_URL", &url)
            .arg("check-config"),
    ));
    assert!(!ok, "{out}");
    assert!(err.contains("payments cannot be recorded"), "{err}");
    assert!(err.contains("data/g.db cannot be written"), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.contains("chown"), "{err}");
}

/// `serve` does not start on a SQLite file it may not write, and says why.
#[test]
fn serve_refuses_a_sqlite_file_it_cannot_write() {
    let (dir, url) = database_owned_by_someone_else();
    let (ok, _, err) = run(&mut as_service_user(
        bin()
            .current_dir(dir.path())
            .env("GHISEUL_HMAC_KEY", "k")
            .env("GHISEUL_DATABASE_URL", &url)
            .env("GHISEUL_LISTEN", "127.0.0.1:0")
            .arg("serve"),
    ));
    assert!(!ok);
    assert!(
        err.contains("Permission denied") && err.contains("data/g.db"),
        "{err}"
    );
}

/// A database that answers queries but refuses to journal (here a trigger, as a read-only
/// file or a full disk would once the server runs): /health says 503, and 200 again once
/// it can.
#[tokio::test]
async fn health_says_503_while_sqlite_refuses_to_journal() {
    let app = TestApp::spawn(Db::Sqlite).await;
    assert_eq!(app.get("/health").await.0, 200);
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON payment_journal \
         BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END",
    )
    .execute(app.store.pool())
    .await
    .unwrap();
    let (status, body) = app.get("/health").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cannot record payments"), "{body}");
    sqlx::query("DROP TRIGGER refuse")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(app.get("/health").await.0, 200);
}

#[test]
fn migrate_says_what_it_applied_then_that_nothing_was_pending() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let (ok, out, err) = run(bin()
        .env("GHISEUL_DATABASE_URL", &url)
        .args(["migrate", "--status"]));
    assert!(ok, "{err}");
    assert!(out.contains("pending"), "{out}");
    assert!(!out.contains("applied "), "{out}");
    let (ok, first, err) = run(bin().env("GHISEUL_DATABASE_URL", &url).arg("migrate"));
    assert!(ok, "{err}");
    assert!(
        first.contains("Applied to") && first.contains("register and payments"),
        "{first}"
    );
    let (ok, second, err) = run(bin().env("GHISEUL_DATABASE_URL", &url).arg("migrate"));
    assert!(ok, "{err}");
    assert!(second.contains("Nothing to apply"), "{second}");
    let (_, status, _) = run(bin()
        .env("GHISEUL_DATABASE_URL", &url)
        .args(["migrate", "--status"]));
    assert!(status.contains("Nothing pending"), "{status}");
    assert!(
        status.contains("applied  register and payments"),
        "{status}"
    );
}

#[test]
fn an_unknown_ghiseul_variable_is_warned_about_without_colours() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, err) = run(bin()
        .current_dir(dir.path())
        .env("GHISEUL_LISTN", "0.0.0.0:8080")
        .env("GHISEUL_DATABASE_URL", sqlite_url(dir.path()))
        .args(["migrate", "--status"]));
    assert!(
        err.contains("GHISEUL_LISTN is not a setting") && err.contains("GHISEUL_LISTEN"),
        "{err}"
    );
    // Standard error is a pipe here, as it is for a file or the journal.
    assert!(!err.contains('\u{1b}'), "ANSI codes in {err:?}");
}

#[test]
fn a_cause_is_said_once() {
    let (ok, _, err) = run(bin().args(["--config", "/nonexistent/ghiseul.toml", "migrate"]));
    assert!(!ok);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.toml"), "lisen = \"127.0.0.1:8080\"\n").unwrap();
    let (ok, _, err) = run(bin()
        .arg("--config")
        .arg(dir.path().join("g.toml"))
        .arg("migrate"));
    assert!(!ok);
    assert_eq!(err.matches("unknown field").count(), 1, "{err}");
}

#[test]
fn a_read_only_folder_is_permission_denied_with_its_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let url = format!("sqlite://{}", ro.join("g.db").display());
    let (ok, _, err) = run(&mut as_service_user(
        bin().env("GHISEUL_DATABASE_URL", &url).arg("migrate"),
    ));
    assert!(!ok);
    assert!(err.contains("Permission denied"), "{err}");
    assert!(
        err.contains(&ro.join("g.db").display().to_string()),
        "{err}"
    );
    assert!(!err.contains("code: 14"), "{err}");
}

#[test]
fn a_refused_connection_is_said_not_only_a_pool_timeout() {
    let (ok, _, err) = run(bin()
        .env("GHISEUL_DB_TIMEOUT_SECS", "1")
        .env("GHISEUL_DATABASE_URL", "postgres://x@127.0.0.1:1/x")
        .arg("migrate"));
    assert!(!ok);
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
}

// ---- PostgreSQL and MariaDB: a login that may read but not write ----

/// A migrated database and a second login that may read it (and create tables, as the
/// migrations' bookkeeping wants) but not write a row; both URLs.
async fn read_only_login(db: Db) -> (String, String, String) {
    let (config, _) = TestApp::fresh_config(db).await;
    let owner_url = config.database_url.clone();
    let store = ghiseul_connector::store::Store::connect(&owner_url, 1, Default::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let name = format!(
        "ghiseul_ro_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let reader_url = match db {
        Db::Postgres => {
            let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
                .fetch_one(store.pool())
                .await
                .unwrap();
            for sql in [
                format!("CREATE ROLE {name} LOGIN"),
                format!("GRANT USAGE, CREATE ON SCHEMA {schema} TO {name}"),
                format!("GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {name}"),
            ] {
                sqlx::query(&sql).execute(store.pool()).await.unwrap();
            }
            let (_, rest) = owner_url.split_once('@').unwrap();
            format!("postgres://{name}@{rest}")
        }
        Db::Mysql => {
            let database: String = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
                .fetch_one(store.pool())
                .await
                .unwrap();
            for sql in [
                format!("CREATE USER '{name}'@'%'"),
                format!("GRANT SELECT, CREATE ON {database}.* TO '{name}'@'%'"),
            ] {
                sqlx::query(&sql).execute(store.pool()).await.unwrap();
            }
            let (_, rest) = owner_url.split_once('@').unwrap();
            format!("mysql://{name}@{rest}")
        }
        Db::Sqlite => unreachable!(),
    };
    store.close().await;
    (owner_url, reader_url, name)
}

/// Drops the login `read_only_login` made (best effort: the test's verdict is made).
async fn drop_login(db: Db, owner_url: &str, name: &str) {
    let Ok(store) =
        ghiseul_connector::store::Store::connect(owner_url, 1, Default::default()).await
    else {
        return;
    };
    let statements = match db {
        Db::Postgres => vec![format!("DROP OWNED BY {name}"), format!("DROP ROLE {name}")],
        _ => vec![format!("DROP USER '{name}'@'%'")],
    };
    for sql in statements {
        let _ = sqlx::query(&sql).execute(store.pool()).await;
    }
    store.close().await;
}

async fn check_config_says_when_the_login_cannot_write(db: Db) {
    let (owner, reader, name) = read_only_login(db).await;
    let (ok, out, err) = run(bin()
        .env("GHISEUL_HMAC_KEY", "k")
        .env("GHISEUL_DATABASE_URL", &reader)
        .arg("check-config"));
    assert!(!ok, "{out}");
    assert!(out.contains("answers"), "{out}");
    assert!(err.contains("payments cannot be recorded"), "{err}");
    assert!(err.to_lowercase().contains("denied"), "{err}");
    assert!(
        err.contains("GRANT SELECT, INSERT, UPDATE, DELETE"),
        "{err}"
    );
    drop_login(db, &owner, &name).await;
}

/// A server on a login that may read but not write: it starts and answers, and /health
/// says 503 (where the same database under its owner's login says 200).
async fn health_says_503_when_the_login_cannot_write(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, _) = app.get("/health").await;
    assert_eq!(status, 200);
    let (owner, reader, name) = read_only_login(db).await;
    let (mut config, dir) = TestApp::fresh_config(db).await;
    config.database_url = reader;
    // A server on the read-only login (migrations already applied by the owner): it
    // starts, answers statements, and its /health says that payments cannot be recorded.
    let app = ghiseul_connector::startup::Application::build(&config)
        .await
        .expect("the server starts on a login that may read");
    let addr = app.local_addr();
    tokio::spawn(app.run(std::future::pending()));
    drop(dir);
    let r = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.text().await.unwrap().contains("cannot record payments"));
    drop_login(db, &owner, &name).await;
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: set GHISEUL_TEST_POSTGRES_URL and run with --ignored"]
    async fn check_config_says_when_the_login_cannot_write() {
        super::check_config_says_when_the_login_cannot_write(Db::Postgres).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: set GHISEUL_TEST_POSTGRES_URL and run with --ignored"]
    async fn health_says_503_when_the_login_cannot_write() {
        super::health_says_503_when_the_login_cannot_write(Db::Postgres).await
    }
}

mod mysql {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs MariaDB/MySQL: set GHISEUL_TEST_MYSQL_URL and run with --ignored"]
    async fn check_config_says_when_the_login_cannot_write() {
        super::check_config_says_when_the_login_cannot_write(Db::Mysql).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs MariaDB/MySQL: set GHISEUL_TEST_MYSQL_URL and run with --ignored"]
    async fn health_says_503_when_the_login_cannot_write() {
        super::health_says_503_when_the_login_cannot_write(Db::Mysql).await
    }
}

/// A payment answered `false` (here an unknown tax type) took money at ghiseul.ro and
/// recorded nothing: the audit says `refused`, not `ok`, and the log says it at WARN.
#[tokio::test]
async fn a_refused_payment_is_refused_in_the_audit() {
    use ghiseul_connector::store::audit;
    let app = TestApp::spawn(Db::Sqlite).await;
    assert!(!common::expect_ok(
        app.pay("7001", common::POPA, &[("99", "10.00")]).await
    ));
    assert!(common::expect_ok(
        app.pay("7002", common::POPA, &[("1", "10.00")]).await
    ));
    let filter = audit::Filter {
        operation: Some("inregistrareIncasari"),
        limit: 10,
        ..audit::Filter::default()
    };
    let mut rows = Vec::new();
    for _ in 0..200 {
        rows = audit::query(&app.store, &filter).await.unwrap();
        if rows.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
    outcomes.sort();
    assert_eq!(outcomes, ["ok", "refused"], "{rows:?}");
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("ghiseul_payments_total{result=\"unknown_tax_type\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_missing_key_file_does_not_block_import_but_call_says_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "id_tip_suma,nume,prioritate,iban\n1,Impozit,1,RO28TREZ2165070000000001\n",
    )
    .unwrap();
    let (ok, out, err) = run(bin()
        .current_dir(dir.path())
        .env("GHISEUL_HMAC_KEY_FILE", "/nonexistent/hmac.key")
        .env("GHISEUL_DATABASE_URL", sqlite_url(dir.path()))
        .args(["import", "tax-types", "t.csv"]));
    assert!(ok, "{err}");
    assert!(out.contains("1 row(s)") && out.contains("1 added"), "{out}");
    let (ok, _, err) = run(bin()
        .current_dir(dir.path())
        .env("GHISEUL_HMAC_KEY_FILE", "/nonexistent/hmac.key")
        .args(["call", "--url", "http://127.0.0.1:1/soap", "get-sume", "1"]));
    assert!(!ok);
    assert!(err.contains("/nonexistent/hmac.key"), "{err}");
}

#[test]
fn an_empty_key_file_has_its_own_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hmac.key"), "\n").unwrap();
    let (ok, _, err) = run(bin()
        .current_dir(dir.path())
        .env("GHISEUL_HMAC_KEY_FILE", dir.path().join("hmac.key"))
        .env("GHISEUL_DATABASE_URL", sqlite_url(dir.path()))
        .arg("check-config"));
    assert!(!ok);
    assert!(err.contains("hmac.key is empty"), "{err}");
    assert!(!err.contains("no HMAC key is configured"), "{err}");
}

#[test]
fn call_help_and_the_no_key_error_name_hmac_key_file() {
    let (ok, help, _) = run(bin().args(["call", "--help"]));
    assert!(ok);
    assert!(help.contains("hmac_key_file"), "{help}");
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(bin().current_dir(dir.path()).args([
        "call",
        "--url",
        "http://127.0.0.1:1/soap",
        "get-sume",
        "1",
    ]));
    assert!(!ok);
    assert!(err.contains("hmac_key_file"), "{err}");
}

/// Tests run once per database (`on_every_backend!`): `every_backend::sqlite::…`,
/// `every_backend::postgres::…`, `every_backend::mysql::…`.
mod every_backend {
    use super::*;

    /// `journal` reads the payment journal on every database: newest first, filtered.
    async fn journal_lists_payments_newest_first_with_filters(db: Db) {
        let app = TestApp::spawn(db).await;
        assert!(common::expect_ok(
            app.pay("8001", common::POPA, &[("1", "10.00")]).await
        ));
        assert!(common::expect_ok(
            app.pay("8001", common::POPA, &[("1", "10.00")]).await
        ));
        assert!(!common::expect_ok(
            app.pay("8001", common::POPA, &[("1", "11.00")]).await
        ));
        assert!(common::expect_ok(
            app.pay("8002", common::FIRMA, &[("1", "5.00")]).await
        ));
        let journal = |args: &[&str]| -> Vec<serde_json::Value> {
            let (ok, out, err) = run(bin()
                .env("GHISEUL_DATABASE_URL", &app.database_url)
                .arg("journal")
                .args(args)
                .arg("--json"));
            assert!(ok, "{err}");
            serde_json::from_str(&out).unwrap()
        };
        let field = |rows: &[serde_json::Value], f: &str| -> Vec<String> {
            rows.iter()
                .map(|r| r[f].as_str().unwrap().to_string())
                .collect()
        };
        let all = journal(&[]);
        assert_eq!(
            field(&all, "outcome"),
            ["recorded", "conflict", "retry", "recorded"]
        );
        assert_eq!(field(&all, "order"), ["8002", "8001", "8001", "8001"]);
        let one = journal(&["--order", "8001", "--outcome", "conflict"]);
        assert_eq!(field(&one, "sume"), ["1=11.00"], "{one:?}");
        assert_eq!(
            field(&journal(&["--cui", common::FIRMA]), "order"),
            ["8002"]
        );
        assert!(journal(&["--to", "2000-01-01"]).is_empty());
        assert_eq!(journal(&["--from", "2000-01-01"]).len(), 4);
        // The table says the zone of its times.
        let (ok, table, err) = run(bin()
            .env("GHISEUL_DATABASE_URL", &app.database_url)
            .arg("journal"));
        assert!(ok, "{err}");
        assert!(table.starts_with("received (Europe/Bucharest)"), "{table}");
    }

    on_every_backend!(journal_lists_payments_newest_first_with_filters);
}

/// `call get-sume` prints what a clerk reads — tax type names, amounts, total — and the
/// protocol's fields with `--raw`; `call pay` tells a new payment from a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_speaks_to_a_clerk() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let call = |args: &[&str]| {
        let mut c = bin();
        c.env("GHISEUL_DATABASE_URL", &app.database_url)
            .args(["call", "--url", &app.url, "--key", common::KEY])
            .args(args);
        c
    };
    let (ok, table, err) =
        tokio::task::block_in_place(|| run(&mut call(&["get-sume", common::POPESCU])));
    assert!(ok, "{err}");
    assert!(table.contains("1 Impozit pe clădiri"), "{table}");
    assert!(table.contains("7 Taxă salubrizare"), "{table}");
    let total = table
        .lines()
        .find(|l| l.trim_start().starts_with("Total"))
        .unwrap_or_else(|| panic!("no total in {table}"));
    assert!(total.trim_end().ends_with("506.50"), "{table}");
    assert!(!table.contains("idTipSuma"), "{table}");
    let (ok, raw, _) =
        tokio::task::block_in_place(|| run(&mut call(&["get-sume", "--raw", common::POPESCU])));
    assert!(ok);
    assert!(raw.contains("idTipSuma 1"), "{raw}");

    let pay = |order: &str, amount: &str| {
        tokio::task::block_in_place(|| {
            run(&mut call(&[
                "pay",
                "--order",
                order,
                "--cui",
                common::POPA,
                // A retry is the same request again, date included: without --data each
                // call would carry the second it was made in, and two calls a second apart
                // would be two different payments of one order (a conflict).
                "--data",
                "2025-05-20 10:11:12",
                &format!("1={amount}"),
            ]))
        })
    };
    let (ok, first, err) = pay("9101", "10.00");
    assert!(ok, "{err}");
    assert!(first.contains("new payment"), "{first}");
    let (ok, again, err) = pay("9101", "10.00");
    assert!(ok, "{err}");
    assert!(
        again.contains("already recorded") && again.contains("retry"),
        "{again}"
    );
    let (ok, _, err) = pay("9101", "12.00");
    assert!(!ok);
    assert!(
        err.contains("NOT recorded") && err.contains("other content"),
        "{err}"
    );
    assert!(err.contains("journal --order 9101"), "{err}");
}
