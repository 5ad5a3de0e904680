//! The server as an operator runs it — the real binary in its own process — for what only
//! a whole process shows: what it writes to its logs, and how it stops.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;
use ghiseul_connector::client::{Answer, Client};
use ghiseul_connector::protocol::SoapVersion;
use ghiseul_connector::store::{Store, Timeouts};

/// A register imported through the CLI into a fresh SQLite file.
fn register(dir: &Path) -> String {
    let db = format!("sqlite://{}", dir.join("ghiseul.db").display());
    for (kind, csv) in [
        ("tax-types", TAX_TYPES),
        ("persons", PERSONS),
        ("debts", DEBTS),
    ] {
        let file = dir.join(format!("{kind}.csv"));
        std::fs::write(&file, csv).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"))
            .env("GHISEUL_DATABASE_URL", &db)
            .env("GHISEUL_LOG", "warn")
            .args(["import", kind])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    db
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Server {
    /// `serve` with its stdout and stderr captured to a file; returns once it answers.
    async fn start(dir: &Path, db: &str, envs: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = dir.join(format!("server-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"));
        cmd.arg("serve")
            .current_dir(dir)
            .env("GHISEUL_LISTEN", format!("127.0.0.1:{port}"))
            .env("GHISEUL_DATABASE_URL", db)
            .env("GHISEUL_HMAC_KEY", KEY)
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}/soap"),
            log,
        };
        let health = format!("http://127.0.0.1:{port}/health");
        // Up to 30 s: a debug build on a loaded machine starts slowly; a healthy start
        // takes a fraction of that, and only a failure waits it out.
        for _ in 0..600 {
            if let Ok(r) = reqwest::get(&health).await {
                if r.status() == 200 {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start: {}", server.log_text());
    }

    fn client(&self) -> Client {
        Client::new(&self.url, "urn:test", KEY, SoapVersion::V11).unwrap()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits for the process to end on its own.
    async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the server did not exit within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every CNP the log test sends, in full.
const CNPS: [&str; 4] = [POPESCU, IONESCU, NECUNOSCUT, "1800101221112"];

async fn exercise_every_path_with_cnps(server: &Server) {
    let c = server.client();
    for cnp in CNPS {
        let _ = c.get_sume(cnp).await.unwrap();
        let _ = c
            .pay("77", cnp, "2025-05-20 10:11:12", items(&[("1", "10.00")]))
            .await
            .unwrap();
    }
    // A wrong check, and a malformed message that carries a CNP.
    let wrong = Client::new(&server.url, "urn:test", "alta-cheie", SoapVersion::V11).unwrap();
    let _ = wrong.get_sume(POPESCU).await.unwrap();
    let _ = reqwest::Client::new()
        .post(&server.url)
        .header("Content-Type", "text/xml")
        .body(format!(
            "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><getSumeDePlataPePersoana><cui>{POPESCU}</cui></getSumeDePlataPePersoana></soap:Body></soap:Envelope>"
        ))
        .send()
        .await
        .unwrap();
}

async fn cnps_never_appear_in_logs(format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = register(dir.path());
    let mut server = Server::start(
        dir.path(),
        &db,
        &[("GHISEUL_LOG", "debug"), ("GHISEUL_LOG_FORMAT", format)],
    )
    .await;
    exercise_every_path_with_cnps(&server).await;
    server.signal("TERM");
    server.wait(Duration::from_secs(35)).await;
    let log = server.log_text();
    assert!(
        log.contains("**********111"),
        "the requests were logged, masked:\n{log}"
    );
    for cnp in CNPS {
        assert!(
            !log.contains(cnp),
            "{cnp} appears in the {format} log:\n{log}"
        );
    }
    assert!(!log.contains(KEY), "the key appears in the log");
}

#[tokio::test]
async fn cnp_never_appears_in_full_in_human_logs_even_at_debug_level() {
    cnps_never_appear_in_logs("human").await;
}

#[tokio::test]
async fn cnp_never_appears_in_full_in_json_logs_even_at_debug_level() {
    cnps_never_appear_in_logs("json").await;
}

#[tokio::test]
async fn sigterm_during_load_drains_requests_in_flight_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = register(dir.path());
    let mut server = Server::start(dir.path(), &db, &[("GHISEUL_LOG", "warn")]).await;

    let answered = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut workers = Vec::new();
    for w in 0..8u64 {
        let client = server.client();
        let answered = answered.clone();
        workers.push(tokio::spawn(async move {
            let mut sent = BTreeSet::new();
            for i in 0.. {
                let order = 100_000 * (w + 1) + i;
                sent.insert(order);
                let r = client
                    .pay(
                        &order.to_string(),
                        FIRMA,
                        "2025-05-20 10:11:12",
                        items(&[("1", "0.10")]),
                    )
                    .await;
                match r {
                    Ok(Answer::Ok(true)) => {
                        answered.lock().unwrap().insert(order);
                    }
                    Ok(other) => panic!(
                        "order {order}: unexpected answer {}",
                        match other {
                            Answer::Ok(b) => b.to_string(),
                            Answer::Fault { code, text } => format!("fault {code}: {text}"),
                        }
                    ),
                    // The server has stopped listening.
                    Err(_) => break,
                }
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(35)).await;
    assert!(status.success(), "exit status {status:?}");
    let mut sent = BTreeSet::new();
    for w in workers {
        sent.extend(w.await.unwrap());
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() > 10,
        "the load ran: {} answered",
        answered.len()
    );

    let store = Store::connect(&db, 1, Timeouts::default()).await.unwrap();
    let recorded: BTreeSet<u64> = sqlx::query_scalar::<_, i64>("SELECT order_no FROM payments")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|o| o as u64)
        .collect();
    let missing: Vec<_> = answered.difference(&recorded).collect();
    assert!(
        missing.is_empty(),
        "answered true but not recorded: {missing:?}"
    );
    assert!(recorded.is_subset(&sent));
    assert_no_payment_half_written(&store).await;
}
