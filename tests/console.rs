//! The web console (issue 13): over plain HTTP on every backend (its queries), and in a
//! real headless browser (Debian's `chromium`, driven through the DevTools protocol on a
//! pipe) on SQLite, which also takes the screenshots of docs/img/.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ghiseul_connector::store::payout;
use serde_json::{json, Value};

const PASSWORD: &str = "parola-lunga-de-test";

struct Console {
    app: TestApp,
    admin: SocketAddr,
}

/// A server with an admin listener (so with the console), the test register, a user
/// `ana` and a mixed day of payments.
async fn console(db: Db) -> Console {
    let (mut config, dir) = TestApp::fresh_config(db).await;
    // A free port for the admin listener (TestApp does not report the admin address).
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    config.admin_listen = Some(admin.to_string());
    config.institutie.nume = "Primăria Municipiului Test".into();
    // As behind a local nginx: X-Forwarded-For names the browser.
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let app = TestApp::spawn_with(config, dir).await;
    load_register(&app.store).await;
    let hash = ghiseul_connector::console::hash_password(PASSWORD).unwrap();
    payout::set_user(&app.store, "ana", &hash).await.unwrap();
    assert!(expect_ok(
        app.pay("1001", POPESCU, &[("1", "400.00"), ("7", "50.00")])
            .await
    ));
    assert!(expect_ok(app.pay("1002", POPA, &[("1", "300.00")]).await));
    assert!(!expect_ok(app.pay("1002", POPA, &[("1", "301.00")]).await));
    expect_fault(app.pay("1003", NECUNOSCUT, &[("1", "10.00")]).await);
    Console { app, admin }
}

fn cookie_of(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Logs in over HTTP; returns the session cookie.
async fn http_login(c: &Console, http: &reqwest::Client) -> String {
    let base = format!("http://{}", c.admin);
    let form = http
        .get(format!("{base}/admin/autentificare"))
        .send()
        .await
        .unwrap();
    let pre = cookie_of(&form, "ghiseul_autentificare").unwrap();
    let csrf = pre.split_once('=').unwrap().1.to_string();
    let r = http
        .post(format!("{base}/admin/autentificare"))
        .header("cookie", &pre)
        .form(&[("utilizator", "ana"), ("parola", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let session = cookie_of(&r, "ghiseul_sesiune").unwrap();
    let flags = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("ghiseul_sesiune="))
        .unwrap();
    assert!(
        flags.contains("HttpOnly") && flags.contains("SameSite=Strict"),
        "{flags}"
    );
    session
}

/// Every page over HTTP, on each backend: what the browser test sees on SQLite, the
/// queries behind it on PostgreSQL and MariaDB.
async fn pages_answer_on_every_backend(db: Db) {
    let c = console(db).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", c.admin);
    // The console is not on the SOAP listener.
    let (status, _) = c.app.get("/admin/").await;
    assert_eq!(status, 404);
    // Without a session: pages lead to the login form, forms are refused.
    let r = http
        .get(format!("{base}/admin/plati"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/admin/autentificare");
    let r = http
        .post(format!("{base}/admin/exceptii/rezolva"))
        .form(&[("tip", "journal"), ("id", "1"), ("nota", "x"), ("csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    let session = http_login(&c, &http).await;
    let get = |path: &str| {
        let http = http.clone();
        let session = session.clone();
        let url = format!("{base}{path}");
        async move {
            let r = http
                .get(url)
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, today) = get("/admin/").await;
    assert_eq!(s, 200);
    assert!(
        today.contains("<b id=\"azi\">2 · 750,00 lei</b>"),
        "{today}"
    );
    assert!(today.contains("Primăria Municipiului Test"));
    let (s, found) = get("/admin/plati?comanda=1002").await;
    assert_eq!(s, 200);
    assert!(found.contains("1 plăți, în total 300,00 lei"), "{found}");
    let (_, found) = get(&format!("/admin/plati?cui={POPESCU}")).await;
    assert!(found.contains("Popescu Ștefan") && found.contains("450,00 lei"));
    let (_, range) = get("/admin/plati?de_la=01.01.2000&pana_la=02.01.2000").await;
    assert!(range.contains("0 plăți"));
    let id = c
        .app
        .scalar("SELECT id FROM payments WHERE order_no = 1001")
        .await;
    let (_, detail) = get(&format!("/admin/plati/{id}")).await;
    assert!(
        detail.contains("credit (peste debit)") && detail.contains("74,00 lei"),
        "{detail}"
    );
    assert!(detail.contains("outcome: recorded"));
    let (_, exc) = get("/admin/exceptii").await;
    assert!(exc.contains("<b id=\"nr-exceptii\">3</b>"), "{exc}");
    let (_, person) = get(&format!("/admin/persoana?cui={POPESCU}")).await;
    assert!(person.contains("Tip de sumă 2"), "{person}");
    let (_, report) = get("/admin/raport").await;
    assert!(report.contains("id=\"total\">750,00</th>"), "{report}");
    let (s, csv) = get("/admin/raport.csv").await;
    assert_eq!(s, 200);
    assert!(
        csv.lines().last().unwrap().ends_with(",TOTAL,,,3,750.00"),
        "{csv}"
    );
    let (s, activity) = get("/admin/activitate").await;
    assert_eq!(s, 200);
    assert!(
        activity.contains("<td>ana</td><td>autentificare</td>"),
        "{activity}"
    );
    let (s, pdf) = get("/admin/raport.pdf").await;
    assert_eq!(s, 200);
    assert!(pdf.starts_with("%PDF-"));
    let (s, svg) = get("/admin/grafic.svg").await;
    assert_eq!(s, 200);
    assert_eq!(svg.matches("class=\"zi\"").count(), 90);
    assert!(svg.contains("2 plăți, 750,00 lei"), "{svg}");

    // /metrics: the age of the last ghiseul.ro request and the open exceptions.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let age_line = metrics
        .lines()
        .find(|l| l.starts_with("ghiseul_last_request_age_seconds "));
    // The audit rows are written in the background: wait for them.
    let mut age_line = age_line.map(str::to_string);
    for _ in 0..50 {
        if age_line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let m = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        age_line = m
            .lines()
            .find(|l| l.starts_with("ghiseul_last_request_age_seconds "))
            .map(str::to_string);
    }
    let age: i64 = age_line
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!((0..120).contains(&age), "{age}");
    assert!(metrics.contains("ghiseul_open_exceptions 3\n"), "{metrics}");
    assert!(metrics.trim_end().ends_with("# EOF"));
}

on_every_backend!(pages_answer_on_every_backend);

/// Behind a proxy, the lockout counts the browser's address (X-Forwarded-For), so one
/// person's typos do not lock the whole office out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_counts_the_forwarded_address_behind_a_proxy() {
    let c = console(Db::Sqlite).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", c.admin);
    let attempt = |from: &'static str, user: &'static str, password: &'static str| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let form = http
                .get(format!("{base}/admin/autentificare"))
                .send()
                .await
                .unwrap();
            let pre = cookie_of(&form, "ghiseul_autentificare").unwrap();
            let csrf = pre.split_once('=').unwrap().1.to_string();
            http.post(format!("{base}/admin/autentificare"))
                .header("cookie", &pre)
                .header("x-forwarded-for", from)
                .form(&[("utilizator", user), ("parola", password), ("csrf", &csrf)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("192.0.2.1", "nimeni", "gresit-gresit").await, 401);
    }
    assert_eq!(
        attempt("192.0.2.1", "ana", PASSWORD).await,
        429,
        "that address is locked out"
    );
    assert_eq!(
        attempt("192.0.2.2", "ana", PASSWORD).await,
        303,
        "another desk is not"
    );
}

// ---------------------------------------------------------------------------------------
// The browser.

/// Debian's chromium, driven over --remote-debugging-pipe (fd 3 in, fd 4 out, messages
/// separated by NUL).
struct Browser {
    child: Child,
    to: std::fs::File,
    from: BufReader<std::fs::File>,
    next: u64,
    session: String,
    _profile: tempfile::TempDir,
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            Command::new("which")
                .arg(b)
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

impl Browser {
    fn start() -> Browser {
        let exe = chromium().expect(
            "chromium is needed for the console's browser tests: apt-get install -y chromium",
        );
        let profile = tempfile::tempdir().unwrap();
        let (cmd_read, cmd_write) = pipe();
        let (out_read, out_write) = pipe();
        use std::os::fd::AsRawFd;
        let (r, w) = (cmd_read.as_raw_fd(), out_write.as_raw_fd());
        let mut c = Command::new(exe);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-sync",
            "--disable-component-update",
            "--disable-dev-shm-usage",
            "--remote-debugging-pipe",
            "--window-size=1366,768",
            "--lang=ro",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        unsafe {
            c.pre_exec(move || {
                if libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = c.spawn().unwrap();
        drop(cmd_read);
        drop(out_write);
        let mut b = Browser {
            child,
            to: std::fs::File::from(cmd_write),
            from: BufReader::new(std::fs::File::from(out_read)),
            next: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": id, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b.call("Page.enable", json!({}));
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    fn read(&mut self) -> Value {
        let mut buf = Vec::new();
        self.from.read_until(0, &mut buf).unwrap();
        assert!(!buf.is_empty(), "chromium closed its pipe");
        buf.pop();
        serde_json::from_slice(&buf).unwrap()
    }

    fn send(&mut self, method: &str, params: Value) -> u64 {
        self.next += 1;
        let mut m = json!({"id": self.next, "method": method, "params": params});
        if !self.session.is_empty() {
            m["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&m).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        self.next
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        loop {
            let m = self.read();
            if m["id"] == json!(id) {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
        }
    }

    /// Waits for the page to load (after a navigation or a form submitted).
    fn wait_load(&mut self) {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            let m = self.read();
            if m["method"] == "Page.loadEventFired" {
                return;
            }
        }
        panic!("the page did not load");
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_load();
    }

    fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Runs `js` that submits a form, and waits for the next page.
    fn submit(&mut self, js: &str) {
        self.eval(js);
        self.wait_load();
    }

    fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn location(&mut self) -> String {
        self.eval("location.pathname + location.search")
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A PNG of the page. Into `GHISEUL_TEST_SCREENSHOTS` when set (the README's images:
    /// `GHISEUL_TEST_SCREENSHOTS=docs/img cargo test --test console`), else into the
    /// browser's temporary folder, so that a test run changes no file of the repository.
    fn screenshot(&mut self, name: &str) {
        use base64::Engine as _;
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = match std::env::var("GHISEUL_TEST_SCREENSHOTS") {
            Ok(d) if !d.is_empty() => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d),
            _ => self._profile.path().join("screenshots"),
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }

    fn login(&mut self, base: &str, user: &str, password: &str) {
        self.goto(&format!("{base}/admin/autentificare"));
        self.submit(&format!(
            "document.getElementById('utilizator').value = {}; \
             document.getElementById('parola').value = {}; \
             document.getElementById('autentificare').submit()",
            json!(user),
            json!(password)
        ));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let c = console(Db::Sqlite).await;
    let base = format!("http://{}", c.admin);
    let store = c.app.store.clone();
    tokio::task::spawn_blocking(move || browse(&base))
        .await
        .unwrap();
    // The exception marked in the browser is in the audit, with its note.
    let audit = payout::audit_rows(&store, 50).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "exception handled" && a.detail.contains("verificat cu banca")));
    assert!(audit.iter().any(|a| a.action == "console login throttled"));
}

fn browse(base: &str) {
    let mut b = Browser::start();

    // No session: every page leads to the login form.
    for page in [
        "/admin/",
        "/admin/plati",
        "/admin/exceptii",
        "/admin/grafic",
    ] {
        b.goto(&format!("{base}{page}"));
        assert_eq!(b.location(), "/admin/autentificare", "{page}");
    }
    b.screenshot("consola-autentificare.png");

    // A wrong password is refused.
    b.login(base, "ana", "parola-gresita");
    assert!(b.text().contains("Utilizator sau parolă greșită."));
    assert_eq!(b.location(), "/admin/autentificare");

    // The right one opens today's page.
    b.login(base, "ana", PASSWORD);
    assert_eq!(b.location(), "/admin/");
    let today = b.text();
    assert!(today.contains("2 · 750,00 lei"), "{today}");
    assert!(today.contains("Primăria Municipiului Test"));
    // The chart is drawn (an SVG image of 90 bars).
    let loaded = b.eval(
        "(() => { const i = document.querySelector('img[src=\"/admin/grafic.svg\"]'); return i.complete && i.naturalWidth })()",
    );
    assert_eq!(loaded, json!(900));
    b.screenshot("consola-astazi.png");

    // A payment found by order and by CNP.
    b.goto(&format!("{base}/admin/plati?comanda=1001"));
    assert!(b.text().contains("1 plăți, în total 450,00 lei"));
    b.goto(&format!("{base}/admin/plati"));
    b.submit(&format!(
        "document.querySelector('input[name=cui]').value = '{POPESCU}'; document.querySelector('form.cautare').submit()"
    ));
    assert!(b.location().contains(&format!("cui={POPESCU}")));
    let found = b.text();
    assert!(
        found.contains("Popescu Ștefan") && found.contains("450,00 lei"),
        "{found}"
    );
    b.screenshot("consola-plati.png");
    b.submit("document.querySelector('td a[href^=\"/admin/plati/\"]').click()");
    let detail = b.text();
    assert!(detail.contains("Plata comenzii 1001"), "{detail}");
    assert!(detail.contains("credit (peste debit)"));

    // Exceptions: 3 open; one marked handled with a note.
    b.goto(&format!("{base}/admin/exceptii"));
    assert_eq!(
        b.eval("document.getElementById('nr-exceptii').innerText"),
        json!("3")
    );
    b.screenshot("consola-exceptii.png");
    b.submit(
        "(() => { const f = document.querySelector('tr[id^=\"exceptie-journal-\"] form'); \
          f.querySelector('input[name=nota]').value = 'verificat cu banca'; f.submit() })()",
    );
    assert_eq!(b.location(), "/admin/exceptii");
    assert_eq!(
        b.eval("document.getElementById('nr-exceptii').innerText"),
        json!("2")
    );

    // A forged form (no CSRF token) is refused even with the session cookie.
    b.submit(
        "(() => { const f = document.createElement('form'); f.method = 'post'; \
          f.action = '/admin/exceptii/rezolva'; \
          for (const [k, v] of [['tip', 'credit'], ['id', '1'], ['nota', 'fals']]) { \
            const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i) } \
          document.body.appendChild(f); f.submit() })()",
    );
    assert!(b.text().contains("Cerere refuzată"), "{}", b.text());
    b.goto(&format!("{base}/admin/exceptii"));
    assert_eq!(
        b.eval("document.getElementById('nr-exceptii').innerText"),
        json!("2")
    );

    // The person's statement, the daily report, the chart page.
    b.goto(&format!("{base}/admin/persoana?cui={POPESCU}"));
    assert!(b.text().contains("Ce vede ghiseul.ro acum"));
    b.screenshot("consola-persoana.png");
    b.goto(&format!("{base}/admin/raport"));
    assert!(b.text().contains("TOTAL GENERAL"));
    b.screenshot("consola-raport.png");
    b.goto(&format!("{base}/admin/grafic"));
    assert_eq!(
        b.eval("document.querySelectorAll('svg#grafic rect.zi').length"),
        json!(90)
    );
    b.screenshot("consola-grafic.png");

    // Logout, then throttling: after 5 failures even the right password is refused.
    b.submit("document.querySelector('header form').submit()");
    assert_eq!(b.location(), "/admin/autentificare");
    b.goto(&format!("{base}/admin/"));
    assert_eq!(b.location(), "/admin/autentificare");
    // The wrong password at the start was the first failure; four more make five.
    for _ in 0..4 {
        b.login(base, "ana", "tot-gresita");
        assert!(b.text().contains("greșită"));
    }
    b.login(base, "ana", PASSWORD);
    let text = b.text();
    assert!(text.contains("Prea multe încercări eșuate"), "{text}");
    assert_eq!(b.location(), "/admin/autentificare");
}

/// Behind an HTTPS proxy the session cookie is `Secure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_behind_https() {
    let c = console(Db::Sqlite).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", c.admin);
    let form = http
        .get(format!("{base}/admin/autentificare"))
        .send()
        .await
        .unwrap();
    let pre = cookie_of(&form, "ghiseul_autentificare").unwrap();
    let csrf = pre.split_once('=').unwrap().1.to_string();
    let r = http
        .post(format!("{base}/admin/autentificare"))
        .header("cookie", &pre)
        .header("x-forwarded-proto", "https")
        .form(&[("utilizator", "ana"), ("parola", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("ghiseul_sesiune="))
        .unwrap();
    assert!(
        set.contains("; Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    // The login form without its own token is refused.
    let r = http
        .post(format!("{base}/admin/autentificare"))
        .form(&[("utilizator", "ana"), ("parola", PASSWORD), ("csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

/// With several institutions, in a real browser: `/admin/` lists them; ana logs in to A's
/// console at /admin/{A}/ and sees A's payment; B's console still asks for a login (the
/// browser does not send A's cookie there, and B does not know A's session) and does not
/// know ana; bogdan of B sees no payment of A; both sessions live side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_institution_has_its_own_console_in_a_real_browser() {
    use ghiseul_connector::client::Client;
    use ghiseul_connector::protocol::SoapVersion;
    use ghiseul_connector::startup::{open_store, Application};
    const A: &str = "4351446";
    const B: &str = "4267117";
    let (mut a, _da) = TestApp::fresh_config(Db::Sqlite).await;
    let (mut b, _db) = TestApp::fresh_config(Db::Sqlite).await;
    for (c, cui, name) in [(&mut a, A, "Primăria A"), (&mut b, B, "Primăria B")] {
        c.institutie.cui = Some(cui.into());
        c.institutie.nume = name.into();
        c.soap_path = format!("/{cui}");
        c.hmac_key = format!("cheie-{cui}");
    }
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut server = config(a.database_url.clone());
    server.admin_listen = Some(admin.to_string());
    let app = Application::build_several(&server, &[a.clone(), b.clone()], None)
        .await
        .unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run(std::future::pending()));
    let (store_a, store_b) = (open_store(&a).await.unwrap(), open_store(&b).await.unwrap());
    load_register(&store_a).await;
    let hash = ghiseul_connector::console::hash_password(PASSWORD).unwrap();
    payout::set_user(&store_a, "ana", &hash).await.unwrap();
    payout::set_user(&store_b, "bogdan", &hash).await.unwrap();
    let client = Client::new(
        &format!("http://{addr}/{A}"),
        &a.namespace,
        &a.hmac_key,
        SoapVersion::V11,
    )
    .unwrap();
    let paid = client
        .pay(
            "1001",
            POPA,
            "2025-05-20 10:11:12",
            items(&[("1", "100.00")]),
        )
        .await
        .unwrap();
    assert!(expect_ok(paid));
    let root = format!("http://{admin}");
    tokio::task::spawn_blocking(move || browse_two(&root, A, B))
        .await
        .unwrap();
}

fn browse_two(root: &str, a: &str, b: &str) {
    let mut br = Browser::start();
    let login = |br: &mut Browser, cui: &str, user: &str| {
        br.goto(&format!("{root}/admin/{cui}/autentificare"));
        br.submit(&format!(
            "document.getElementById('utilizator').value = {}; \
             document.getElementById('parola').value = {}; \
             document.getElementById('autentificare').submit()",
            json!(user),
            json!(PASSWORD)
        ));
    };
    br.goto(&format!("{root}/admin/"));
    let list = br.text();
    assert!(
        list.contains("Primăria A") && list.contains("Primăria B"),
        "{list}"
    );
    br.submit(&format!(
        "document.querySelector('a[href=\"/admin/{a}/\"]').click()"
    ));
    assert_eq!(br.location(), format!("/admin/{a}/autentificare"));

    login(&mut br, a, "ana");
    assert_eq!(br.location(), format!("/admin/{a}/"));
    br.goto(&format!("{root}/admin/{a}/plati?cui={POPA}"));
    let found = br.text();
    assert!(found.contains("1 plăți, în total 100,00 lei"), "{found}");
    assert!(found.contains("Primăria A"), "{found}");

    // Logged in to A is not logged in to B.
    br.goto(&format!("{root}/admin/{b}/plati?cui={POPA}"));
    assert_eq!(br.location(), format!("/admin/{b}/autentificare"));
    login(&mut br, b, "ana");
    assert!(br.text().contains("Utilizator sau parolă greșită."));
    login(&mut br, b, "bogdan");
    assert_eq!(br.location(), format!("/admin/{b}/"));
    br.goto(&format!("{root}/admin/{b}/plati?cui={POPA}"));
    let found = br.text();
    assert!(found.contains("0 plăți"), "{found}");
    assert!(found.contains("Primăria B") && !found.contains("Primăria A"));

    // A's session is still A's: both consoles open side by side.
    br.goto(&format!("{root}/admin/{a}/"));
    assert_eq!(br.location(), format!("/admin/{a}/"));
    assert!(br.text().contains("ana"));
}
