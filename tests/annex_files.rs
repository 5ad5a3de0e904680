//! The files of an institution without a tax system of its own (issue 16): Annex 3's
//! contribuabili.csv and Annex 5's AdminCreante.xml, made by the real binary from a
//! register on each database. AdminCreante.xml is validated against the corrected schema
//! by xmllint (Debian package libxml2-utils), a validator nobody here wrote, and its sums
//! are compared with the register's. Run against SQLite and (with `--ignored` and
//! GHISEUL_TEST_POSTGRES_URL / GHISEUL_TEST_MYSQL_URL set) PostgreSQL and MariaDB/MySQL.

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use ghiseul_connector::import::{Kind, Options};

on_every_backend!(
    contribuabili_csv_has_annex_3_columns_and_every_person_still_in_the_register,
    admin_creante_is_valid_and_its_sums_are_the_registers,
    amounts_in_lei_are_the_bani_rounded_half_up,
    a_tax_type_without_codes_is_named_and_the_file_is_left_alone,
    an_empty_register_gets_an_error_not_a_file,
);

/// The institution of the tests (a CIF with a valid control digit).
const INSTITUTIE: &str = "4351446";

/// The test register's tax types with their Annex 5 codes (type 9 has no debts and no
/// codes: it is not named in the file, so it needs none).
const TAX_TYPES_WITH_CODES: &str = "\
id_tip_suma,nume,prioritate,iban,detalii_header,cod_cls_bug,cod_db
7,Taxă salubrizare,0,RO66TREZ2165070XXX012348,,36.02.06,Ș&Ț
1,Impozit pe clădiri,1,RO50TREZ2165070XXX012345,,07.02.01.01,ICL
5,Amenzi,0,RO39TREZ2165070XXX012349,Proces-verbal;Debit;Rămășiță;Majorări;Penalități,35.01.02,AMZ
2,Impozit pe teren,2,RO23TREZ2165070XXX012346,,07020201,ITE
9,Taxă fără datornici,3,RO47TREZ2165070XXX012399,,,
";

fn xsd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/AdminCreante.xsd")
}

/// The binary on `database_url`, in `dir`, with no GHISEUL_* setting inherited.
fn bin(database_url: &str, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GHISEUL_") {
            c.env_remove(name);
        }
    }
    c.env("GHISEUL_LOG", "warn")
        .env("GHISEUL_DATABASE_URL", database_url)
        .current_dir(dir);
    c
}

struct Run {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(mut c: Command, args: &[&str]) -> Run {
    let out = c.args(args).output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `export admin-creante --out FILE` with the institution configured; the file's text.
fn admin_creante(app: &TestApp, dir: &Path, extra: &[&str]) -> String {
    let file = dir.join("AdminCreante.xml");
    let mut c = bin(&app.database_url, dir);
    c.env("GHISEUL_INSTITUTIE_CUI", INSTITUTIE);
    let mut args = vec!["export", "admin-creante", "--out", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let r = run(c, &args);
    assert!(r.ok, "export admin-creante failed: {}", r.stderr);
    std::fs::read_to_string(&file).unwrap()
}

/// xmllint's verdict on `xml` against the schema: Ok, or its complaint.
fn xmllint(dir: &Path, xml: &str) -> Result<(), String> {
    let file = dir.join("to-validate.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd())
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint is needed to validate AdminCreante.xml (Debian: apt-get install libxml2-utils): {e}")
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The `contribuabil` elements of a file, each as its attributes.
fn lines_of(xml: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut lines = Vec::new();
    let mut root = 0;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attrs: BTreeMap<String, String> = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                            a.unescape_value().unwrap().into_owned(),
                        )
                    })
                    .collect();
                match e.local_name().as_ref() {
                    b"administratorCreanta" => {
                        root += 1;
                        assert_eq!(attrs["cui"], INSTITUTIE);
                    }
                    b"contribuabil" => lines.push(attrs),
                    other => panic!("unexpected element {}", String::from_utf8_lossy(other)),
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root, 1);
    lines
}

fn num(line: &BTreeMap<String, String>, key: &str) -> i64 {
    line[key].parse().unwrap()
}

/// Pays part of POPESCU's tax on buildings and all of POPA's debt, then removes POPA
/// from the register (his paid debt stays in the database, owing nothing, and must not be
/// in the file).
async fn register_with_payments_and_a_removal(db: Db) -> TestApp {
    let app = TestApp::spawn(db).await;
    import_csv(&app.store, Kind::TaxTypes, TAX_TYPES_WITH_CODES)
        .await
        .unwrap();
    assert!(expect_ok(app.pay("8001", POPESCU, &[("1", "50.25")]).await));
    assert!(expect_ok(app.pay("8002", POPA, &[("1", "1000.00")]).await));
    let without_popa = PERSONS.replace("4,1750315400014,Popa Ion,Iași\n", "");
    let options = Options {
        replace: true,
        ..Options::default()
    };
    import_with(&app.store, Kind::Persons, &without_popa, &options)
        .await
        .unwrap();
    app
}

async fn contribuabili_csv_has_annex_3_columns_and_every_person_still_in_the_register(db: Db) {
    let app = TestApp::spawn(db).await;
    // A `;` and a quote inside a value, a line end inside an address; POPA removed.
    let persons = "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n\
        1,1800101221111,Popescu Ștefan,\"Str. Lungă nr. 1; Iași\"\n\
        2,2820704120023,Ionescu Maria,\"Str. Scurtă nr. 2\r\nbl. 3\"\n\
        3,RO31245671,\"SC \"\"Exemplu\"\" SRL\",\"Șos. Păcurari 101\"\n";
    let options = Options {
        replace: true,
        ..Options::default()
    };
    import_with(&app.store, Kind::Persons, persons, &options)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contribuabili.csv");
    let r = run(
        bin(&app.database_url, dir.path()),
        &["export", "contribuabili", "--out", file.to_str().unwrap()],
    );
    assert!(r.ok, "{}", r.stderr);
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("3 taxpayer(s)"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 with a byte-order mark"
    );
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert_eq!(
        text,
        "Nr. crt.;CNP/NIF sau CIF/CUI;Nume;Adresa\r\n\
         1;1800101221111;Popescu Ștefan;\"Str. Lungă nr. 1; Iași\"\r\n\
         2;2820704120023;Ionescu Maria;Str. Scurtă nr. 2 bl. 3\r\n\
         3;31245671;\"SC \"\"Exemplu\"\" SRL\";Șos. Păcurari 101\r\n"
    );
    // Without --out: the same file on standard output, the summary on standard error.
    let r = run(
        bin(&app.database_url, dir.path()),
        &["export", "contribuabili"],
    );
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.stdout, bytes);
    assert!(r.stderr.contains("3 taxpayer(s)"), "{}", r.stderr);
    // It reads back through the persons import, the same persons.
    let other = TestApp::spawn_empty(Db::Sqlite).await;
    let s = import_csv(
        &other.store,
        Kind::Persons,
        &String::from_utf8(bytes).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(s.counts.added, 3);
    let names: Vec<(String, String, String)> =
        sqlx::query_as("SELECT cui, nume, adresa FROM taxpayers ORDER BY cod")
            .fetch_all(other.store.pool())
            .await
            .unwrap();
    assert_eq!(names[0].2, "Str. Lungă nr. 1; Iași");
    assert_eq!(names[2].1, "SC \"Exemplu\" SRL");
    assert_eq!(names.len(), 3);
}

/// The register's sums of one category over the taxpayers still in it, in bani: as
/// imported and still owed.
async fn register_sums(app: &TestApp, initial: &str, rest: &str) -> (i64, i64) {
    let of = |e: &str| {
        format!(
            "SELECT COALESCE(SUM({e}), 0) FROM debts d JOIN taxpayers p ON p.cui = d.cui \
             WHERE p.sters_la IS NULL"
        )
    };
    (app.scalar(&of(initial)).await, app.scalar(&of(rest)).await)
}

async fn admin_creante_is_valid_and_its_sums_are_the_registers(db: Db) {
    let app = register_with_payments_and_a_removal(db).await;
    let dir = tempfile::tempdir().unwrap();
    let xml = admin_creante(&app, dir.path(), &["--unit", "bani"]);
    xmllint(dir.path(), &xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    // The validator really validates: a category the schema does not know is refused.
    assert!(xmllint(dir.path(), &xml.replacen("catS=\"C\"", "catS=\"X\"", 1)).is_err());

    let lines = lines_of(&xml);
    for (cat, initial, rest) in [
        ("R", "d.ramasita", "d.rest_ramasita"),
        ("C", "d.debit", "d.rest_debit"),
        (
            "A",
            "d.majorari + d.penalitati",
            "d.rest_majorari + d.rest_penalitati",
        ),
    ] {
        let of_cat: Vec<_> = lines.iter().filter(|l| l["catS"] == cat).collect();
        let sums = (
            of_cat.iter().map(|l| num(l, "sumaI")).sum::<i64>(),
            of_cat.iter().map(|l| num(l, "sumaR")).sum::<i64>(),
        );
        assert_eq!(sums, register_sums(&app, initial, rest).await, "{cat}");
    }
    // POPESCU's tax on buildings: 100.00 + 20.00 arrears + 6.00 accessories in 2024, 200.00
    // in 2025; 50.25 paid went to the arrears first (20.00), then the oldest debit (30.25).
    let popescu: Vec<_> = lines.iter().filter(|l| l["cnp"] == POPESCU).collect();
    let buildings: Vec<(&str, i64, i64)> = popescu
        .iter()
        .filter(|l| l["codDb"] == "ICL")
        .map(|l| (l["catS"].as_str(), num(l, "sumaI"), num(l, "sumaR")))
        .collect();
    assert_eq!(
        buildings,
        [
            ("R", 2000, 0),
            ("C", 10000, 6975),
            ("A", 600, 600),
            ("C", 20000, 20000)
        ]
    );
    assert!(popescu.iter().all(|l| !l["codClsBug"].is_empty()));
    // A code with diacritics and an ampersand: escaped in the file, read back as it was.
    assert!(xml.contains("codDb=\"Ș&amp;Ț\""), "{xml}");
    assert_eq!(
        popescu
            .iter()
            .filter(|l| l["codClsBug"] == "360206")
            .map(|l| l["codDb"].as_str())
            .collect::<Vec<_>>(),
        ["Ș&Ț"]
    );
    assert_eq!(
        popescu
            .iter()
            .filter(|l| l["codDb"] == "AMZ")
            .map(|l| (l["codClsBug"].as_str(), l["catS"].as_str()))
            .collect::<Vec<_>>(),
        [("350102", "C")]
    );
    // Taxpayers with debts only, each once as a run of lines; POPA (removed) and IONESCU
    // (owes nothing) are not there.
    let mut runs: Vec<&str> = lines.iter().map(|l| l["cnp"].as_str()).collect();
    runs.dedup();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        runs.iter().copied().collect::<HashSet<_>>(),
        HashSet::from([POPESCU, FIRMA])
    );
    // idRefOp: unique in the file; the same in the next file.
    let ids: HashSet<&str> = lines.iter().map(|l| l["idRefOp"].as_str()).collect();
    assert_eq!(ids.len(), lines.len());
    let again = admin_creante(&app, dir.path(), &["--unit", "bani"]);
    assert_eq!(
        lines_of(&again)
            .iter()
            .map(|l| l["idRefOp"].clone())
            .collect::<Vec<_>>(),
        lines
            .iter()
            .map(|l| l["idRefOp"].clone())
            .collect::<Vec<_>>()
    );
    // dataI: the day of the export, dd/mm/yyyy.
    let today = ghiseul_connector::rules::clock::now()
        .format("%d/%m/%Y")
        .to_string();
    assert!(lines.iter().all(|l| l["dataI"] == today), "{today}");
}

async fn amounts_in_lei_are_the_bani_rounded_half_up(db: Db) {
    let app = register_with_payments_and_a_removal(db).await;
    let dir = tempfile::tempdir().unwrap();
    let bani = lines_of(&admin_creante(&app, dir.path(), &["--unit", "bani"]));
    let xml = admin_creante(&app, dir.path(), &[]);
    xmllint(dir.path(), &xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let lei = lines_of(&xml);
    assert_eq!(lei.len(), bani.len());
    for (l, b) in lei.iter().zip(&bani) {
        assert_eq!(l["idRefOp"], b["idRefOp"]);
        for key in ["sumaI", "sumaR"] {
            assert_eq!(num(l, key), (num(b, key) + 50) / 100, "{key} of {l:?}");
        }
    }
    // 69.75 lei still owed on the 2024 tax on buildings: 70 lei; 30.50 on land: 31 lei.
    assert!(lei
        .iter()
        .any(|l| l["codDb"] == "ICL" && l["sumaI"] == "100" && l["sumaR"] == "70"));
    assert!(lei
        .iter()
        .any(|l| l["codDb"] == "ITE" && l["sumaI"] == "31" && l["sumaR"] == "31"));
}

async fn a_tax_type_without_codes_is_named_and_the_file_is_left_alone(db: Db) {
    let app = TestApp::spawn(db).await;
    // Amenzi (5) without cod_db; salubrizare (7) with a code that is not digits.
    let codes = TAX_TYPES_WITH_CODES
        .replace("35.01.02,AMZ", "35.01.02,")
        .replace("36.02.06,Ș&Ț", "36.O2.06,SAL");
    import_csv(&app.store, Kind::TaxTypes, &codes)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("AdminCreante.xml");
    std::fs::write(&file, "the previous file").unwrap();
    let mut c = bin(&app.database_url, dir.path());
    c.env("GHISEUL_INSTITUTIE_CUI", INSTITUTIE);
    let r = run(
        c,
        &["export", "admin-creante", "--out", file.to_str().unwrap()],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("tax type 5 „Amenzi”: cod_db is missing"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("tax type 7 „Taxă salubrizare”: cod_cls_bug `36.O2.06`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("import tax-types"), "{}", r.stderr);
    // Type 9 has no debts: it needs no codes and is not named.
    assert!(!r.stderr.contains("tax type 9"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "the previous file");
    // No temporary file left behind either.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["AdminCreante.xml"]);
}

async fn an_empty_register_gets_an_error_not_a_file(db: Db) {
    let app = TestApp::spawn_empty(db).await;
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("AdminCreante.xml");
    let csv = dir.path().join("contribuabili.csv");
    // No institution configured: said first, with both ways to set it.
    let r = run(
        bin(&app.database_url, dir.path()),
        &["export", "admin-creante", "--out", xml.to_str().unwrap()],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("institutie_cui") && r.stderr.contains("GHISEUL_INSTITUTIE_CUI"),
        "{}",
        r.stderr
    );
    let mut c = bin(&app.database_url, dir.path());
    c.env("GHISEUL_INSTITUTIE_CUI", INSTITUTIE);
    let r = run(
        c,
        &["export", "admin-creante", "--out", xml.to_str().unwrap()],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("no debt") && r.stderr.contains("import debts"),
        "{}",
        r.stderr
    );
    let r = run(
        bin(&app.database_url, dir.path()),
        &["export", "contribuabili", "--out", csv.to_str().unwrap()],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("no taxpayer") && r.stderr.contains("import persons"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A file cannot be half-written at --out: it is renamed into place whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_is_replaced_whole_and_an_invalid_institution_is_refused() {
    let app = TestApp::spawn(Db::Sqlite).await;
    import_csv(&app.store, Kind::TaxTypes, TAX_TYPES_WITH_CODES)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("AdminCreante.xml");
    std::fs::write(&file, "old").unwrap();
    let xml = admin_creante(&app, dir.path(), &[]);
    assert!(xml.starts_with("<?xml"));
    assert!(xml.ends_with("</administratorCreanta>\n"));
    // A CUI with a wrong control digit is a configuration error, named.
    let mut c = bin(&app.database_url, dir.path());
    c.env("GHISEUL_INSTITUTIE_CUI", "4351447");
    let r = run(c, &["export", "admin-creante"]);
    assert!(!r.ok);
    assert!(
        r.stderr.contains("institutie_cui") && r.stderr.contains("4351447"),
        "{}",
        r.stderr
    );
    // --out naming a folder.
    let mut c = bin(&app.database_url, dir.path());
    c.env("GHISEUL_INSTITUTIE_CUI", INSTITUTIE);
    let r = run(
        c,
        &[
            "export",
            "admin-creante",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(!r.ok && r.stderr.contains("is a folder"), "{}", r.stderr);
}
