//! The command line as a municipal IT person uses it: every error says what was wrong and
//! what to do.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"));
    c.env_remove("GHISEUL_HMAC_KEY")
        .env_remove("GHISEUL_DATABASE_URL")
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

#[test]
fn sign_prints_the_hex_check_openssl_gives() {
    let (ok, out, _) = run(bin().args(["sign", "--key", "cheie-secreta-test", "1800101221111"]));
    assert!(ok);
    assert_eq!(out.trim(), "49220a556b921081bfc82e4eaa83ae5cb37302f0");
}

#[test]
fn serve_without_a_key_refuses_and_says_how_to_set_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(bin().current_dir(dir.path()).arg("serve"));
    assert!(!ok);
    assert!(err.contains("GHISEUL_HMAC_KEY"), "{err}");
}

#[test]
fn import_loads_a_register_and_reports_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("r.db").display());
    std::fs::write(
        dir.path().join("t.csv"),
        "id_tip_suma,nume,prioritate,iban\n1,Impozit clădiri,1,RO28TREZ2165070000000001\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.csv"),
        "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n1,1800101221111,\"Popescu, Ștefan\",\"Str. \"\"Mare\"\" 1\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("d.csv"),
        "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n1800101221111,1,Casă,10.50,0,0,0,2025-03-31\n",
    )
    .unwrap();
    for (kind, file) in [
        ("tax-types", "t.csv"),
        ("persons", "p.csv"),
        ("debts", "d.csv"),
    ] {
        let (ok, out, err) = run(bin()
            .env("GHISEUL_DATABASE_URL", &db)
            .args(["import", kind])
            .arg(dir.path().join(file)));
        assert!(ok, "{kind}: {err}");
        assert!(out.contains("1 row(s)") && out.contains("1 added"), "{out}");
    }
}

#[test]
fn import_reports_each_bad_row_with_its_line_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("r.db").display());
    let csv = "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n\
               1,1800101221111,Bun,A\n\
               2,1800101221112,Cifra de control greșită,B\n\
               3,2820704120023,,C\n\
               4,31245671,Firmă,D\n";
    std::fs::write(dir.path().join("p.csv"), csv).unwrap();
    let (ok, _, err) = run(bin()
        .env("GHISEUL_DATABASE_URL", &db)
        .args(["import", "persons"])
        .arg(dir.path().join("p.csv")));
    assert!(!ok);
    assert!(err.contains("line 3: CUI `1800101221112`"), "{err}");
    assert!(err.contains("line 4: Nume is empty"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    // Nothing of the file is kept: the good rows 2 and 5 are not there either.
    let url = db.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count: i64 = rt.block_on(async move {
        let store = ghiseul_connector::store::Store::connect(&url, 1, Default::default())
            .await
            .unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM taxpayers")
            .fetch_one(store.pool())
            .await
            .unwrap()
    });
    assert_eq!(count, 0);
}

#[test]
fn debts_of_unknown_people_or_types_are_reported_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("r.db").display());
    std::fs::write(
        dir.path().join("t.csv"),
        "id_tip_suma,nume,prioritate,iban\n1,Impozit,1,RO28TREZ2165070000000001\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.csv"),
        "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n1,1800101221111,Pop,A\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("d.csv"),
        "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n\
         1800101221111,1,Bun,1.00,0,0,0,2025-03-31\n\
         2820704120023,1,Persoană necunoscută,1.00,0,0,0,2025-03-31\n\
         1800101221111,8,Tip necunoscut,1.00,0,0,0,2025-03-31\n\
         1800101221111,1,Sumă greșită,1.005,0,0,0,2025-03-31\n\
         1800101221111,1,Dată greșită,1.00,0,0,0,2025-02-30\n",
    )
    .unwrap();
    for (kind, file) in [("tax-types", "t.csv"), ("persons", "p.csv")] {
        assert!(
            run(bin()
                .env("GHISEUL_DATABASE_URL", &db)
                .args(["import", kind])
                .arg(dir.path().join(file)))
            .0
        );
    }
    let (ok, _, err) = run(bin()
        .env("GHISEUL_DATABASE_URL", &db)
        .args(["import", "debts"])
        .arg(dir.path().join("d.csv")));
    assert!(!ok);
    assert!(
        err.contains("line 3: CUI 2820704120023 is not in the register"),
        "{err}"
    );
    assert!(
        err.contains("line 4: id_tip_suma 8 is not a tax type"),
        "{err}"
    );
    assert!(err.contains("line 5: debit"), "{err}");
    assert!(err.contains("line 6: scadenta"), "{err}");
}

#[test]
fn call_to_a_server_that_is_not_there_says_so() {
    let (ok, _, err) = run(bin().args([
        "call",
        "--url",
        "http://127.0.0.1:9/soap",
        "--key",
        "k",
        "get-sume",
        "1800101221111",
    ]));
    assert!(!ok);
    assert!(
        err.contains("cannot reach http://127.0.0.1:9/soap"),
        "{err}"
    );
}

#[test]
fn call_without_a_key_says_where_to_put_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) =
        run(bin()
            .current_dir(dir.path())
            .args(["call", "get-sume", "1800101221111"]));
    assert!(!ok);
    assert!(err.contains("--key"), "{err}");
}

#[test]
fn unsupported_database_url_is_explained() {
    let (ok, _, err) = run(bin()
        .env("GHISEUL_DATABASE_URL", "oracle://x")
        .arg("migrate"));
    assert!(!ok);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
}
