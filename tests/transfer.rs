//! Annex 2 end to end: `sync` against the Transfer simulator (our own real server of
//! ghiseul.ro's side), on a register loaded through the importer, on SQLite and (with
//! `--ignored` and GHISEUL_TEST_POSTGRES_URL / GHISEUL_TEST_MYSQL_URL set) PostgreSQL and
//! MariaDB/MySQL.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use ghiseul_connector::import::{Kind as ImportKind, Options as ImportOptions};
use ghiseul_connector::rules::ident::{cif_control_digit, cnp_control_digit};
use ghiseul_connector::store::{Store, Timeouts};
use ghiseul_connector::transfer::iban::with_check_digits;
use ghiseul_connector::transfer::settings::TransferSettings;
use ghiseul_connector::transfer::simulator::{FaultRule, SimConfig, Simulator};
use ghiseul_connector::transfer::sync::{self, Options, Report};
use ghiseul_connector::transfer::{Kind, Operation};

const TKEY: &str = "cheie-transfer-test";
const ID_CLIENT: u64 = 1234;
const USER: &str = "primaria.test";

/// A valid CNP, different for each `i` (up to 336,000).
fn cnp(i: usize) -> String {
    let day = 1 + (i / 1000) % 28;
    let month = 1 + (i / 28_000) % 12;
    let first12 = format!("180{month:02}{day:02}22{:03}", i % 1000);
    format!("{first12}{}", cnp_control_digit(&first12))
}

/// A valid CIF, different for each `i`.
fn cif(i: usize) -> String {
    let body = format!("{}", 3_100_000 + i);
    format!("{body}{}", cif_control_digit(&body))
}

fn persons_csv(n: usize, pfa: usize, rename: &[usize]) -> String {
    let mut csv = String::from("cui,nume,adresa\n");
    for i in 0..n {
        let nume = if rename.contains(&i) {
            format!("Persoana {i} (nume nou)")
        } else {
            format!("Persoana {i}")
        };
        csv.push_str(&format!("{},{nume},\"Str. Lungă nr. {i}, Iași\"\n", cnp(i)));
    }
    for i in 0..pfa {
        csv.push_str(&format!("{},PFA {i},Str. Morii {i}\n", cif(i)));
    }
    csv
}

fn tax_types_csv() -> String {
    format!(
        "id_tip_suma,nume,prioritate,iban,debit,val_initiala,inactiv,platitor\n\
         1,Impozit pe clădiri,1,{},1,,0,1\n\
         2,Impozit pe teren,2,{},1,,0,0\n\
         12,Taxă certificat fiscal,0,{},0,5.00,0,0\n",
        with_check_digits("RO", "TREZ2165070XXX012345"),
        with_check_digits("RO", "TREZ2165070XXX012346"),
        with_check_digits("RO", "TREZ2165070XXX054321"),
    )
}

async fn store(db: Db) -> (Store, Option<tempfile::TempDir>) {
    let (config, dir) = TestApp::fresh_config(db).await;
    let store = Store::connect(&config.database_url, 4, Timeouts::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

async fn load(store: &Store, persons: usize, pfa: usize) {
    import_csv(store, ImportKind::TaxTypes, &tax_types_csv())
        .await
        .unwrap();
    import_csv(store, ImportKind::Persons, &persons_csv(persons, pfa, &[]))
        .await
        .unwrap();
}

/// `data` has a resolution of a second: waiting for the next one makes "changed after the
/// last sync" unambiguous, as it is in real life between a nightly import and sync.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

fn sim_config(faults: &[&str]) -> SimConfig {
    SimConfig {
        key: TKEY.into(),
        id_client: ID_CLIENT,
        user_client: USER.into(),
        faults: faults
            .iter()
            .map(|f| f.parse::<FaultRule>().unwrap())
            .collect(),
        delay: Duration::ZERO,
        print: false,
    }
}

async fn simulator(faults: &[&str]) -> Simulator {
    Simulator::start(sim_config(faults), "127.0.0.1:0")
        .await
        .unwrap()
}

fn settings(sim: &Simulator) -> TransferSettings {
    TransferSettings {
        url: sim.url(),
        id_client: Some(ID_CLIENT),
        user_client: Some(USER.into()),
        utilizator: Some("1234.test@srv-taxe".into()),
        key: Some(TKEY.into()),
        retries: 0,
        retry_delay_ms: 1,
        timeout_secs: 10,
    }
}

async fn sync_ok(store: &Store, s: &TransferSettings) -> Report {
    let r = sync::run(store, s, Options::default()).await;
    if let Some(e) = &r.error {
        panic!("sync failed: {e:#}\n{}", r.render());
    }
    r
}

fn sent(r: &Report, kind: Kind) -> u64 {
    r.kind(kind).unwrap().sent
}

fn op(r: &Report, kind: Kind) -> Operation {
    r.kind(kind).unwrap().operation.unwrap()
}

async fn full_sync_then_an_incremental_one_sends_only_what_changed_and_the_deletions(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 5, 2).await;
    next_second().await;
    let sim = simulator(&[]).await;
    let s = settings(&sim);

    let r = sync_ok(&store, &s).await;
    assert_eq!(op(&r, Kind::TipuriSume), Operation::TransferTipuriSume);
    assert_eq!(op(&r, Kind::Persoane), Operation::TransferPersoane);
    assert_eq!(op(&r, Kind::Firme), Operation::TransferFirme);
    assert_eq!(
        [
            Kind::TipuriSume,
            Kind::Persoane,
            Kind::Firme,
            Kind::Stergeri
        ]
        .map(|k| sent(&r, k)),
        [3, 5, 2, 0]
    );
    {
        let held = sim.held.lock().unwrap();
        assert_eq!(held.persoane.len(), 5);
        assert_eq!(held.firme.len(), 2);
        let t = &held.tipuri_sume["12"];
        assert_eq!(
            (t.val_initiala.as_str(), t.debit.as_str(), t.nume.as_str()),
            ("5.00", "0", "Taxă certificat fiscal")
        );
        assert!(held.persoane.values().all(|p| p.cui.len() == 13));
        assert!(held.firme.values().all(|p| p.cui.len() < 13));
    }

    // Nothing changed: the next run asks the marks and sends nothing.
    let r = sync_ok(&store, &s).await;
    assert_eq!(op(&r, Kind::Persoane), Operation::ActualizarePersoane);
    assert_eq!(
        [
            Kind::TipuriSume,
            Kind::Persoane,
            Kind::Firme,
            Kind::Stergeri
        ]
        .map(|k| sent(&r, k)),
        [0, 0, 0, 0]
    );

    // One person renamed, one removed (with --replace the file is the whole register).
    next_second().await;
    let mut csv = persons_csv(5, 2, &[1]);
    let removed = cnp(3);
    csv = csv
        .lines()
        .filter(|l| !l.starts_with(&removed))
        .map(|l| format!("{l}\n"))
        .collect();
    import_with(
        &store,
        ImportKind::Persons,
        &csv,
        &ImportOptions {
            replace: true,
            ..ImportOptions::default()
        },
    )
    .await
    .unwrap();
    let r = sync_ok(&store, &s).await;
    assert_eq!(sent(&r, Kind::Persoane), 1, "{}", r.render());
    assert_eq!(sent(&r, Kind::Firme), 0);
    assert_eq!(sent(&r, Kind::Stergeri), 1);
    assert_eq!(op(&r, Kind::Stergeri), Operation::Stergere);
    let queued: i64 = sqlx::query_scalar("SELECT MAX(cod) FROM deletions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let held = sim.held.lock().unwrap();
    assert_eq!(held.persoane.len(), 4);
    assert!(held
        .persoane
        .values()
        .any(|p| p.nume == "Persoana 1 (nume nou)"));
    assert!(!held.persoane.values().any(|p| p.cui == removed));
    assert_eq!(held.ultim_cod_stergeri, Some(queued as u64));
}

async fn a_fault_on_packet_k_stops_the_run_and_the_next_run_completes_it_without_resending(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 2500, 0).await;
    next_second().await;
    let sim = simulator(&["transferPersoane#2:4"]).await;
    let s = settings(&sim);

    let r = sync::run(&store, &s, Options::default()).await;
    let e = format!(
        "{:#}",
        r.error.as_ref().expect("the run stops at the fault")
    );
    assert!(e.contains("fault 4") && e.contains("packet 2"), "{e}");
    assert_eq!(sent(&r, Kind::Persoane), 1000);
    assert_eq!(sim.held.lock().unwrap().persoane.len(), 1000);

    // ghiseul.ro now answers getUltimaDataPersoane with the greatest data it received,
    // not 0: the next run goes on with actualizarePersoane from the last record it holds.
    let r = sync_ok(&store, &s).await;
    assert_eq!(op(&r, Kind::Persoane), Operation::ActualizarePersoane);
    assert_eq!(sent(&r, Kind::Persoane), 1500, "{}", r.render());
    let held = sim.held.lock().unwrap();
    assert_eq!(held.persoane.len(), 2500);
    assert_eq!(
        held.items_received(Kind::Persoane),
        2500,
        "nothing sent twice"
    );
    let runs = held
        .accepted
        .iter()
        .filter(|a| a.op.kind() == Some(Kind::Persoane))
        .map(|a| (a.items, a.primul, a.ultimul))
        .collect::<Vec<_>>();
    assert_eq!(
        runs,
        vec![(1000, true, false), (1000, true, false), (500, false, true)]
    );
}

async fn fault_4_is_retried_and_the_run_ends_well(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 1500, 0).await;
    let sim = simulator(&["transferPersoane#2:4", "getUltimaDataFirme#1:4"]).await;
    let s = TransferSettings {
        retries: 2,
        ..settings(&sim)
    };
    let r = sync_ok(&store, &s).await;
    assert_eq!(r.retries, 2);
    assert_eq!(sent(&r, Kind::Persoane), 1500);
    let held = sim.held.lock().unwrap();
    assert_eq!(held.persoane.len(), 1500);
    assert_eq!(
        held.faults,
        vec![
            (Operation::TransferPersoane, 4),
            (Operation::GetUltimaDataFirme, 4)
        ]
    );
}

async fn exactly_1000_items_go_in_one_packet_and_1001_in_two(db: Db) {
    for (n, expected) in [
        (1000, vec![(1000, true, true)]),
        (1001, vec![(1000, true, false), (1, false, true)]),
    ] {
        let (store, _dir) = store(db).await;
        load(&store, n, 0).await;
        let sim = simulator(&[]).await;
        let r = sync_ok(&store, &settings(&sim)).await;
        assert_eq!(sent(&r, Kind::Persoane), n as u64);
        let held = sim.held.lock().unwrap();
        let packets: Vec<_> = held
            .accepted
            .iter()
            .filter(|a| a.op == Operation::TransferPersoane)
            .map(|a| (a.items, a.primul, a.ultimul))
            .collect();
        assert_eq!(packets, expected, "{n} persons");
        assert_eq!(held.persoane.len(), n);
    }
}

async fn a_bad_cnp_or_a_bad_iban_is_left_out_and_reported_and_the_rest_is_sent(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 3, 1).await;
    // Rows the importer would refuse, as an older database or another tool may hold them.
    let bad = "1800101221112"; // wrong control digit
    let sql = store.backend().sql(
        "INSERT INTO taxpayers (cui, nume, adresa, cod, data) VALUES ($1, 'Greșit', 'X', 900, '2026-01-01 00:00:00')",
    );
    sqlx::query(&sql)
        .bind(bad)
        .execute(store.pool())
        .await
        .unwrap();
    let sql = store.backend().sql(
        "INSERT INTO tax_types (id_tip_suma, nume, prioritate, iban, data) VALUES (40, 'Fără IBAN valid', 0, $1, '2026-01-01 00:00:00')",
    );
    sqlx::query(&sql)
        .bind("RO00TREZ2165070XXX012345")
        .execute(store.pool())
        .await
        .unwrap();
    let sim = simulator(&[]).await;
    let r = sync_ok(&store, &settings(&sim)).await;
    let p = r.kind(Kind::Persoane).unwrap();
    assert_eq!((p.sent, p.left_out), (3, 1));
    assert!(
        p.left_out_named[0].contains("cod 900 (…112 Greșit)"),
        "{:?}",
        p.left_out_named
    );
    assert!(
        p.left_out_named[0].contains("control"),
        "{:?}",
        p.left_out_named
    );
    assert!(!r.render().contains(bad), "a CNP is never printed whole");
    let t = r.kind(Kind::TipuriSume).unwrap();
    assert_eq!((t.sent, t.left_out), (3, 1));
    assert!(
        t.left_out_named[0].contains("cod 40: IBAN"),
        "{:?}",
        t.left_out_named
    );
    {
        let held = sim.held.lock().unwrap();
        assert_eq!(held.persoane.len(), 3);
        assert!(held.faults.is_empty());
    }
    let runs = ghiseul_connector::store::transfer::recent_runs(&store, 1)
        .await
        .unwrap();
    assert_eq!(runs[0].outcome, "ok");
    assert_eq!((runs[0].counts[1].sent, runs[0].counts[1].left_out), (3, 1));
}

async fn every_fault_code_stops_with_its_text_and_what_to_do(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 2, 0).await;
    for code in 1..=10u8 {
        let rule = format!("getUltimaDataPersoane:{code}");
        let sim = simulator(&[rule.as_str()]).await;
        let r = sync::run(&store, &settings(&sim), Options::default()).await;
        let e = format!("{:#}", r.error.expect("a fault stops the run"));
        assert!(e.contains(&format!("fault {code}")), "{code}: {e}");
        assert!(e.contains("What to do:"), "{code}: {e}");
        let info = ghiseul_connector::transfer::faults::info(code).unwrap();
        assert!(e.contains(info.what_to_do), "{code}: {e}");
        assert_eq!(
            sim.held.lock().unwrap().calls_of[&Operation::GetUltimaDataPersoane],
            1,
            "{code}: not retried with transfer_retries = 0"
        );
    }
    // The real thing, not injected: a wrong key, idClient or userClient.
    let sim = simulator(&[]).await;
    let wrong_key = TransferSettings {
        key: Some("alta-cheie".into()),
        ..settings(&sim)
    };
    let e = format!(
        "{:#}",
        sync::run(&store, &wrong_key, Options::default())
            .await
            .error
            .unwrap()
    );
    assert!(e.contains("fault 1") && e.contains("transfer_key"), "{e}");
    let wrong_id = TransferSettings {
        id_client: Some(99),
        ..settings(&sim)
    };
    let e = format!(
        "{:#}",
        sync::run(&store, &wrong_id, Options::default())
            .await
            .error
            .unwrap()
    );
    assert!(
        e.contains("fault 2") && e.contains("transfer_id_client"),
        "{e}"
    );
    let wrong_user = TransferSettings {
        user_client: Some("altcineva".into()),
        ..settings(&sim)
    };
    let e = format!(
        "{:#}",
        sync::run(&store, &wrong_user, Options::default())
            .await
            .error
            .unwrap()
    );
    assert!(
        e.contains("fault 3") && e.contains("transfer_user_client"),
        "{e}"
    );
}

async fn tax_types_entered_by_hand_are_skipped_and_the_rest_is_sent(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 2, 1).await;
    let sim = simulator(&["transferTipuriSume:5"]).await;
    let r = sync_ok(&store, &settings(&sim)).await;
    let t = r.kind(Kind::TipuriSume).unwrap();
    assert!(t
        .skipped
        .as_deref()
        .unwrap_or("")
        .contains("Introducere TIP SUMA se face manual"));
    assert_eq!((sent(&r, Kind::Persoane), sent(&r, Kind::Firme)), (2, 1));
    assert!(r.render().contains("tax types: not sent"), "{}", r.render());
}

async fn two_runs_at_once_never_interleave(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 3000, 0).await;
    let mut config = sim_config(&[]);
    config.delay = Duration::from_millis(150);
    let sim = Simulator::start(config, "127.0.0.1:0").await.unwrap();
    let s = settings(&sim);
    let (a, b) = tokio::join!(sync::run(&store, &s, Options::default()), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sync::run(&store, &s, Options::default()).await
    });
    // Whichever took the lock first (normally a) ran; the other refused.
    let (ran, refused) = if a.error.is_none() { (a, b) } else { (b, a) };
    assert!(ran.error.is_none(), "{:?}", ran.error);
    let e = format!("{:#}", refused.error.expect("the other run refuses"));
    assert!(e.contains("another sync is running"), "{e}");
    {
        let held = sim.held.lock().unwrap();
        let flags: Vec<_> = held
            .accepted
            .iter()
            .filter(|x| x.op.kind() == Some(Kind::Persoane))
            .map(|x| (x.primul, x.ultimul))
            .collect();
        assert_eq!(flags, vec![(true, false), (false, false), (false, true)]);
        assert_eq!(held.items_received(Kind::Persoane), 3000);
    }
    let runs = ghiseul_connector::store::transfer::recent_runs(&store, 2)
        .await
        .unwrap();
    let outcomes: Vec<_> = runs.iter().map(|r| r.outcome.as_str()).collect();
    assert!(
        outcomes.contains(&"ok") && outcomes.contains(&"refused"),
        "{outcomes:?}"
    );
    // Once the first is done, the lock is free.
    sync_ok(&store, &s).await;
}

async fn dry_run_calls_nothing_and_status_shows_what_was_acknowledged(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 4, 1).await;
    let sim = simulator(&[]).await;
    let r = sync::run(
        &store,
        &settings(&sim),
        Options {
            dry_run: true,
            ..Options::default()
        },
    )
    .await;
    assert!(r.error.is_none());
    assert_eq!(sim.held.lock().unwrap().calls, 0);
    assert_eq!(
        [Kind::TipuriSume, Kind::Persoane, Kind::Firme].map(|k| sent(&r, k)),
        [3, 4, 1]
    );
    let text = r.render();
    assert!(
        text.contains("persons: transferPersoane (whole register): would send 4 in 1 packet(s)"),
        "{text}"
    );
    assert!(
        text.contains("Persoana 0") && !text.contains(&cnp(0)),
        "{text}"
    );
    assert!(sync::status(&store).await.unwrap().contains("nothing yet"));

    sync_ok(&store, &settings(&sim)).await;
    let status = sync::status(&store).await.unwrap();
    assert!(status.contains("transferPersoane of 4 item(s)"), "{status}");
    // Times as every command shows them: Romanian time with its offset.
    assert!(
        status.contains(" +02:00 (run ") || status.contains(" +03:00 (run "),
        "{status}"
    );
    assert!(
        status.contains(" ok: sent tax types 3, persons 4, PFA 1, deletions 0"),
        "{status}"
    );
    let r = sync::run(
        &store,
        &settings(&sim),
        Options {
            dry_run: true,
            ..Options::default()
        },
    )
    .await;
    assert_eq!(sent(&r, Kind::Persoane), 0, "{}", r.render());
}

async fn metrics_and_the_audit_show_each_run(db: Db) {
    let app = TestApp::spawn_empty(db).await;
    load(&app.store, 2, 1).await;
    next_second().await;
    let (_, before) = app.get("/metrics").await;
    assert!(
        before.contains("ghiseul_sync_last_success_timestamp_seconds 0"),
        "{before}"
    );
    let sim = simulator(&["getUltimaDataFirme#1:2"]).await;
    let failed = sync::run(&app.store, &settings(&sim), Options::default()).await;
    assert!(failed.error.is_some());
    sync_ok(&app.store, &settings(&sim)).await;
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200);
    // The first run sent the tax types and the persons before its fault; the second the PFA.
    for line in [
        "ghiseul_sync_items_sent_total{kind=\"tax_types\"} 3",
        "ghiseul_sync_items_sent_total{kind=\"persons\"} 2",
        "ghiseul_sync_items_sent_total{kind=\"pfa\"} 1",
        "ghiseul_sync_runs_total{outcome=\"ok\"} 1",
        "ghiseul_sync_runs_total{outcome=\"failed\"} 1",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    assert!(!text.contains("ghiseul_sync_last_success_timestamp_seconds 0\n"));
    assert!(
        text.trim_end().ends_with("# EOF"),
        "the exposition still ends with # EOF"
    );
    let audited = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE operation = 'sync' AND source = 'sync'")
        .await;
    let faulted = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE operation = 'sync' AND outcome = 'fault' AND fault_code = 2")
        .await;
    assert_eq!((audited, faulted), (2, 1));
}

async fn timeouts_and_an_unreachable_server_are_retried_then_reported(db: Db) {
    let (store, _dir) = store(db).await;
    load(&store, 3, 0).await;
    let mut slow = sim_config(&[]);
    slow.delay = Duration::from_millis(2500);
    let sim = Simulator::start(slow, "127.0.0.1:0").await.unwrap();
    let s = TransferSettings {
        retries: 1,
        timeout_secs: 1,
        ..settings(&sim)
    };
    let r = sync::run(&store, &s, Options::default()).await;
    let e = format!("{:#}", r.error.as_ref().expect("every attempt timed out"));
    assert!(e.contains("no answer") && e.contains("in time"), "{e}");
    assert_eq!(r.retries, 1);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/transfer", closed.local_addr().unwrap());
    drop(closed);
    let s = TransferSettings {
        url,
        retries: 2,
        ..settings(&sim)
    };
    let r = sync::run(&store, &s, Options::default()).await;
    let e = format!("{:#}", r.error.as_ref().expect("nobody answers"));
    assert!(e.contains("cannot reach"), "{e}");
    assert_eq!(r.retries, 2);
    let runs = ghiseul_connector::store::transfer::recent_runs(&store, 2)
        .await
        .unwrap();
    assert!(runs.iter().all(|r| r.outcome == "failed"), "{runs:?}");
}

on_every_backend!(
    timeouts_and_an_unreachable_server_are_retried_then_reported,
    metrics_and_the_audit_show_each_run,
    full_sync_then_an_incremental_one_sends_only_what_changed_and_the_deletions,
    a_fault_on_packet_k_stops_the_run_and_the_next_run_completes_it_without_resending,
    fault_4_is_retried_and_the_run_ends_well,
    exactly_1000_items_go_in_one_packet_and_1001_in_two,
    a_bad_cnp_or_a_bad_iban_is_left_out_and_reported_and_the_rest_is_sent,
    every_fault_code_stops_with_its_text_and_what_to_do,
    tax_types_entered_by_hand_are_skipped_and_the_rest_is_sent,
    two_runs_at_once_never_interleave,
    dry_run_calls_nothing_and_status_shows_what_was_acknowledged,
);

/// The binaries as an institution runs them: `simulate-transfer` in one terminal, `sync`
/// in another; a fault ends `sync` with a non-zero status and a message to act on.
mod cli {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    const BIN: &str = env!("CARGO_BIN_EXE_ghiseul-connector");

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn sync_against_the_simulator_binary_and_a_fault_exits_non_zero() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("s.db").display());
        std::fs::write(
            dir.path().join("p.csv"),
            "cui,nume,adresa\n1800101221111,Popescu Ștefan,\"Str. Lungă nr. 1\"\n31245671,PFA Pop,Cluj\n",
        )
        .unwrap();
        let ok = Command::new(BIN)
            .args(["import", "persons"])
            .arg(dir.path().join("p.csv"))
            .env("GHISEUL_DATABASE_URL", &db)
            .env("GHISEUL_LOG", "warn")
            .output()
            .unwrap();
        assert!(ok.status.success());
        let port = free_port();
        let mut sim = Killed(
            Command::new(BIN)
                .args([
                    "simulate-transfer",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ])
                .args(["--key", "k", "--id-client", "77", "--user-client", "u"])
                .args(["--fault-on", "getUltimaDataFirme:9"])
                .env("GHISEUL_LOG", "warn")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut lines = BufReader::new(sim.0.stdout.take().unwrap()).lines();
        let banner = lines.next().unwrap().unwrap();
        assert!(
            banner.contains("Transfer simulator on http://127.0.0.1:"),
            "{banner}"
        );
        let url = format!("http://127.0.0.1:{port}/ghiseul_admin/public/transfer/transfer");
        let out = Command::new(BIN)
            .arg("sync")
            .env("GHISEUL_DATABASE_URL", &db)
            .env("GHISEUL_LOG", "error")
            .env("GHISEUL_TRANSFER_URL", &url)
            .env("GHISEUL_TRANSFER_KEY", "k")
            .env("GHISEUL_TRANSFER_ID_CLIENT", "77")
            .env("GHISEUL_TRANSFER_USER_CLIENT", "u")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!out.status.success());
        assert!(
            stdout.contains("persons: transferPersoane (whole register): sent 1 in 1 packet(s)"),
            "{stdout}"
        );
        assert!(stdout.contains("plain http://"), "{stdout}");
        assert!(
            stderr.contains("fault 9")
                && stderr.contains("Testare nefinalizată pentru operația getUltimaDataFirme!"),
            "{stderr}"
        );
        assert!(stderr.contains("testing module"), "{stderr}");
        let accepted = lines.next().unwrap().unwrap();
        assert!(
            accepted.starts_with(
                "accepted transferPersoane: 1 item(s), primulPachet=1 ultimulPachet=1"
            ),
            "{accepted}"
        );
        assert!(
            !accepted.contains("1800101221111"),
            "the simulator masks CNPs too: {accepted}"
        );

        let status = Command::new(BIN)
            .args(["sync", "--status"])
            .env("GHISEUL_DATABASE_URL", &db)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&status.stdout);
        assert!(status.status.success());
        assert!(
            text.contains("failed") && text.contains("fault 9"),
            "{text}"
        );

        // Without enrolment data, sync says which keys to set.
        let out = Command::new(BIN)
            .arg("sync")
            .env("GHISEUL_DATABASE_URL", &db)
            .env("GHISEUL_LOG", "error")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("transfer_id_client") && stderr.contains("transfer_key_file"),
            "{stderr}"
        );
    }

    #[test]
    fn check_config_shows_the_transfer_settings_with_the_key_masked() {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(BIN)
            .arg("check-config")
            .current_dir(dir.path())
            .env("GHISEUL_HMAC_KEY", "k1")
            .env(
                "GHISEUL_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("c.db").display()),
            )
            .env("GHISEUL_TRANSFER_KEY", "cheie-transfer-secreta")
            .env("GHISEUL_TRANSFER_ID_CLIENT", "1234")
            .env("GHISEUL_LOG", "warn")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("transfer_id_client     1234"), "{text}");
        assert!(text.contains("transfer_key           set (***)"), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("GHISEUL_TRANSFER"),
            "a transfer variable taken for a typo: {err}"
        );
        assert!(
            text.contains("https://www.ghiseul.ro/ghiseul_admin/public/transfer/transfer"),
            "{text}"
        );
        assert!(!text.contains("cheie-transfer-secreta"), "{text}");
    }

    #[test]
    fn the_simulator_serves_its_wsdl_with_its_own_address() {
        let port = free_port();
        let _sim = Killed(
            Command::new(BIN)
                .args([
                    "simulate-transfer",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ])
                .args([
                    "--key",
                    "k",
                    "--id-client",
                    "1",
                    "--user-client",
                    "u",
                    "--quiet",
                ])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let url = format!("http://127.0.0.1:{port}/ghiseul_admin/public/transfer/transfer?wsdl");
        let mut wsdl = None;
        for _ in 0..100 {
            if let Ok(r) = reqwest::blocking_get(&url) {
                wsdl = Some(r);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let wsdl = wsdl.expect("the simulator answers");
        assert!(wsdl.contains(&format!(r#"<soap:address location="http://127.0.0.1:{port}/ghiseul_admin/public/transfer/transfer"/>"#)));
        assert!(wsdl.contains(
            r#"soapAction="https://www.ghiseul.ro/ghiseul_admin/public/transfer/transfer#stergere""#
        ));
    }

    mod reqwest {
        /// A GET with the standard library only (the tests' reqwest is async).
        pub fn blocking_get(url: &str) -> std::io::Result<String> {
            use std::io::{Read, Write};
            let rest = url.strip_prefix("http://").unwrap();
            let (host, path) = rest.split_once('/').unwrap();
            let mut s = std::net::TcpStream::connect(host)?;
            write!(
                s,
                "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            )?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        }
    }
}

/// The nightly timer and its service, as shipped in deploy/.
mod deploy {
    use std::process::Command;

    fn read(p: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
    }

    #[test]
    fn sync_timer_and_service_pass_systemd_analyze_and_run_sync_with_the_key_credential() {
        let service = read("deploy/ghiseul-connector-sync.service");
        let timer = read("deploy/ghiseul-connector-sync.timer");
        assert!(service.contains("Type=oneshot"));
        assert!(service.contains(
            "ExecStart=/usr/local/bin/ghiseul-connector --config /etc/ghiseul-connector/ghiseul.toml sync\n"
        ));
        assert!(service.contains("Environment=GHISEUL_TRANSFER_KEY_FILE=%d/transfer.key"));
        assert!(timer.contains("Unit=ghiseul-connector-sync.service"));
        assert!(timer.contains("Persistent=yes"));
        let dir = tempfile::tempdir().unwrap();
        let unit = dir.path().join("ghiseul-connector-sync.service");
        std::fs::write(
            &unit,
            service.replace(
                "/usr/local/bin/ghiseul-connector",
                env!("CARGO_BIN_EXE_ghiseul-connector"),
            ),
        )
        .unwrap();
        let timer_path = dir.path().join("ghiseul-connector-sync.timer");
        std::fs::write(&timer_path, timer).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit)
            .arg(&timer_path)
            .output()
            .expect("systemd-analyze (Debian package systemd) is needed for this test");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && printed.trim().is_empty(),
            "{printed}"
        );
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(&unit)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let level: f64 = text
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split(": ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
        assert!(level <= 2.0, "exposure {level}:\n{text}");
    }
}
