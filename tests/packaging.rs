//! The deployment files that ship with the program: the example configuration, the systemd
//! unit and the nginx example. Each test fails when a file drifts from the code — an option
//! added without documenting it, a unit systemd would reject or that stops before the
//! drain ends, an nginx limit different from the server's.

use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ghiseul_connector::messages::SumeRequest;
use ghiseul_connector::protocol::{write, SoapVersion};
use ghiseul_connector::rules::check::Signer;
use ghiseul_connector::rules::clock;

const EXAMPLE: &str = "ghiseul.toml.example";
const UNIT: &str = "deploy/ghiseul-connector.service";
const NGINX: &str = "deploy/nginx.conf";
const KEY: &str = "cheie-de-test-pentru-exemplu";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The binary, with no GHISEUL_* setting inherited from whoever runs the tests.
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GHISEUL_") {
            c.env_remove(name);
        }
    }
    c.env("GHISEUL_LOG", "warn");
    c
}

/// The keys of `FileConfig`, read from the source so that a new option is seen at once.
fn file_config_keys() -> Vec<String> {
    let src = read("src/config/mod.rs");
    let start = src
        .find("pub struct FileConfig {")
        .expect("FileConfig in src/config/mod.rs");
    let body = &src[start..];
    let body = &body[..body.find("\n}").expect("end of FileConfig")];
    let keys: Vec<String> = body
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim().to_string())
        .filter(|name| !name.contains(' '))
        .collect();
    assert!(
        keys.len() >= 20 && keys.iter().any(|k| k == "hmac_key_file"),
        "could not read FileConfig's fields: {keys:?}"
    );
    keys
}

/// Every `"GHISEUL_…"` literal in the sources that read the environment.
fn environment_variables() -> Vec<String> {
    let mut names = Vec::new();
    for file in [
        "src/config/mod.rs",
        "src/cli.rs",
        "src/live/mod.rs",
        "src/transfer/settings.rs",
    ] {
        let src = read(file);
        for (at, _) in src.match_indices("\"GHISEUL_") {
            let rest = &src[at + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            if rest[end..].starts_with('"') && !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    assert!(names.len() >= 15, "could not read the variables: {names:?}");
    names
}

/// True when `text` has a setting line for `key`, active or commented out.
fn has_setting_line(text: &str, key: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start().trim_start_matches('#').trim_start();
        line.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })
}

/// Runs `check-config` on the example file with a key in the environment and a fresh
/// SQLite database; returns what it printed.
fn check_config_on_the_example(dir: &Path) -> (bool, String, String) {
    let db = format!("sqlite://{}", dir.join("verificare.db").display());
    let out = bin()
        .current_dir(dir)
        .env("GHISEUL_HMAC_KEY", KEY)
        .env("GHISEUL_DATABASE_URL", &db)
        .arg("--config")
        .arg(repo(EXAMPLE))
        .arg("check-config")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `serve` as ghiseul.toml.example configures it, with a fresh SQLite file in `dir`, on
/// `port` (the admin listener on any free port), plus `envs`.
fn serve_example(dir: &Path, port: u16, envs: &[(&str, &str)]) -> std::process::Child {
    let db = format!("sqlite://{}", dir.join("r.db").display());
    let mut cmd = bin();
    cmd.current_dir(dir)
        .env("GHISEUL_HMAC_KEY", KEY)
        .env("GHISEUL_DATABASE_URL", &db)
        .env("GHISEUL_LISTEN", format!("127.0.0.1:{port}"))
        .env("GHISEUL_ADMIN_LISTEN", "127.0.0.1:0");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.arg("--config")
        .arg(repo(EXAMPLE))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The value of one setting in check-config's listing (`  name   value`).
fn setting(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| {
            let l = l.trim_start();
            l.strip_prefix(name)
                .filter(|rest| rest.starts_with(' '))
                .map(|rest| rest.trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn example_configuration_passes_check_config_and_masks_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = check_config_on_the_example(dir.path());
    assert!(ok, "check-config refused {EXAMPLE}:\n{out}\n{err}");
    assert!(out.contains("Configuration OK."), "{out}");
    // The database file the example names does not exist yet: check-config says so and
    // leaves it uncreated (`serve` creates it).
    assert!(out.contains("does not exist yet"), "{out}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "check-config created a file"
    );
    // The file was really read: values only it sets are in force.
    assert_eq!(setting(&out, "admin_listen"), "127.0.0.1:9090", "{out}");
    assert_eq!(
        setting(&out, "public_url"),
        "https://taxe.primaria-exemplu.ro/soap",
        "{out}"
    );
    assert!(
        !out.contains(KEY) && !err.contains(KEY),
        "the key was printed"
    );
}

#[test]
fn every_option_is_documented_in_the_example_and_the_readme() {
    let example = read(EXAMPLE);
    let readme = read("README.md");
    let mut missing = Vec::new();
    for key in file_config_keys() {
        let var = format!("GHISEUL_{}", key.to_uppercase());
        if !has_setting_line(&example, &key) {
            missing.push(format!("{EXAMPLE}: no `{key} = …` line"));
        }
        if !example.contains(&var) {
            missing.push(format!("{EXAMPLE}: {var}"));
        }
        if !readme.contains(&format!("`{key}`")) {
            missing.push(format!("README.md: `{key}`"));
        }
        if !readme.contains(&format!("`{var}`")) {
            missing.push(format!("README.md: `{var}`"));
        }
    }
    for var in environment_variables() {
        if !example.contains(&var) {
            missing.push(format!("{EXAMPLE}: {var}"));
        }
        if !readme.contains(&var) {
            missing.push(format!("README.md: {var}"));
        }
    }
    assert!(
        missing.is_empty(),
        "undocumented options:\n{}",
        missing.join("\n")
    );
}

#[test]
fn example_configuration_has_no_real_secret() {
    let example = read(EXAMPLE);
    for line in example.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let key = line.split('=').next().unwrap_or("").trim();
        assert!(
            key != "hmac_key" && key != "hmac_key_next",
            "{EXAMPLE} sets a key in clear: {line}"
        );
    }
    assert!(has_setting_line(&example, "hmac_key_file"));
}

/// The drain after SIGTERM, read from src/startup/mod.rs.
fn drain_secs() -> u64 {
    let src = read("src/startup/mod.rs");
    let line = src
        .lines()
        .find(|l| l.contains("const DRAIN: Duration"))
        .expect("DRAIN in src/startup/mod.rs");
    let n = line.split("from_secs(").nth(1).expect("from_secs(N)");
    n[..n.find(')').unwrap()].parse().unwrap()
}

fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .next_back()
}

#[test]
fn systemd_unit_stops_after_the_drain_and_runs_unprivileged() {
    let unit = read(UNIT);
    let stop: u64 = unit_value(&unit, "TimeoutStopSec")
        .expect("TimeoutStopSec")
        .parse()
        .unwrap();
    assert!(
        stop > drain_secs(),
        "TimeoutStopSec={stop} would kill requests still draining ({} s)",
        drain_secs()
    );
    assert_eq!(unit_value(&unit, "KillSignal"), Some("SIGTERM"));
    assert_eq!(unit_value(&unit, "User"), Some("ghiseul"));
    assert_eq!(unit_value(&unit, "ProtectSystem"), Some("strict"));
    assert_eq!(unit_value(&unit, "CapabilityBoundingSet"), Some(""));
    assert!(unit_value(&unit, "ExecReload").is_some_and(|v| v.contains("-HUP")));
    // The key reaches the service through the variable the server reads.
    let env = unit_value(&unit, "Environment").unwrap_or("");
    assert!(
        unit.contains("Environment=GHISEUL_HMAC_KEY_FILE=%d/hmac.key"),
        "{env}"
    );
}

/// The status line of a plain HTTP GET, or None while nothing answers.
fn http_status(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_string)
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// The unit's ExecReload sends SIGHUP. Behind nginx there is no certificate to reload, and
/// the server must then go on serving: SIGHUP's default action would end it at once,
/// undrained, and systemd would not restart it (SIGHUP counts as a clean exit).
#[test]
#[cfg(unix)]
fn reload_signal_keeps_a_server_without_tls_running_and_sigterm_stops_it_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Running(serve_example(dir.path(), port, &[]));
    let deadline = Instant::now() + Duration::from_secs(20);
    while http_status(port, "/soap?wsdl").is_none() {
        assert!(Instant::now() < deadline, "the server did not answer");
        assert!(server.0.try_wait().unwrap().is_none(), "the server exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&server.0, "HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "SIGHUP ended the server"
    );
    let status = http_status(port, "/soap?wsdl").unwrap_or_default();
    assert!(status.ends_with(" 200 OK"), "after SIGHUP: {status}");
    signal(&server.0, "TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not stop the server");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "after SIGTERM: {status}");
}

/// The unit with ExecStart pointing at the binary just built (systemd-analyze checks that
/// the program exists).
fn unit_for_this_build(dir: &Path) -> PathBuf {
    let unit = read(UNIT).replace(
        "/usr/local/bin/ghiseul-connector",
        env!("CARGO_BIN_EXE_ghiseul-connector"),
    );
    let path = dir.join("ghiseul-connector.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify_and_security() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze (Debian package systemd) is needed for this test");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // verify exits 0 on unknown or unparsable settings but prints them: both must be clean.
    assert!(
        out.status.success() && printed.trim().is_empty(),
        "systemd-analyze verify:\n{printed}"
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
    assert!(
        level <= 2.0,
        "the unit's exposure rose to {level} (was 1.2):\n{text}"
    );
}

/// `256k` -> 262144.
fn nginx_size(v: &str) -> usize {
    let v = v.trim();
    match v.strip_suffix(['k', 'K']) {
        Some(n) => n.parse::<usize>().unwrap() * 1024,
        None => match v.strip_suffix(['m', 'M']) {
            Some(n) => n.parse::<usize>().unwrap() * 1024 * 1024,
            None => v.parse().unwrap(),
        },
    }
}

fn nginx_directive<'a>(conf: &'a str, name: &str) -> Vec<&'a str> {
    conf.lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(|v| v.trim().trim_end_matches(';').trim())
        .collect()
}

#[test]
fn nginx_example_matches_the_server_limits_and_proxies() {
    let conf = read(NGINX);
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = check_config_on_the_example(dir.path());
    assert!(ok, "{err}");
    // What the server really runs with, as check-config prints it.
    let limit: usize = setting(&out, "body_limit_bytes")
        .parse()
        .unwrap_or_else(|_| panic!("no body_limit_bytes in:\n{out}"));
    let nginx_limit = nginx_directive(&conf, "client_max_body_size");
    assert_eq!(nginx_limit.len(), 1, "{nginx_limit:?}");
    assert_eq!(nginx_size(nginx_limit[0]), limit);

    let listen = setting(&out, "listen");
    assert_eq!(
        nginx_directive(&conf, "proxy_pass"),
        vec![format!("http://{listen}")]
    );
    assert_eq!(
        nginx_directive(&conf, "proxy_set_header X-Forwarded-For"),
        vec!["$remote_addr"]
    );
    // The server believes that header only from the proxy's address.
    let trusted = setting(&out, "trusted_proxies");
    assert!(trusted.contains("127.0.0.1/32"), "{trusted}");
    // Everyone but the listed addresses is refused by nginx.
    assert_eq!(nginx_directive(&conf, "deny"), vec!["all"]);
    assert!(!nginx_directive(&conf, "allow").is_empty());
}

// ---- nginx itself ------------------------------------------------------------------------

/// A self-signed certificate and key in `dir`, as PEM files.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["taxe.primaria-exemplu.ro".into()]).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.cert.pem()).unwrap();
    std::fs::write(&k, cert.key_pair.serialize_pem()).unwrap();
    (c, k)
}

/// deploy/nginx.conf with the certificate and log paths moved into `dir`, and a main
/// configuration around it (nginx.conf from deploy/ is a `server` block for sites-enabled).
fn nginx_wrapper(dir: &Path, site: &str) -> PathBuf {
    let (cert, key) = self_signed(dir);
    let site = site
        .replace(
            "/etc/letsencrypt/live/taxe.primaria-exemplu.ro/fullchain.pem",
            cert.to_str().unwrap(),
        )
        .replace(
            "/etc/letsencrypt/live/taxe.primaria-exemplu.ro/privkey.pem",
            key.to_str().unwrap(),
        )
        .replace("/var/log/nginx/", &format!("{}/", dir.display()));
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let d = dir.display();
    let main = format!(
        "pid {d}/nginx.pid;\n\
         error_log {d}/error.log;\n\
         worker_processes 1;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n\
           client_body_temp_path {d}/body;\n\
           proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n\
           uwsgi_temp_path {d}/uwsgi;\n\
           scgi_temp_path {d}/scgi;\n\
           include {d}/site.conf;\n\
         }}\n"
    );
    let path = dir.join("main.conf");
    std::fs::write(&path, main).unwrap();
    path
}

fn nginx_available() -> bool {
    Command::new("nginx")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
#[ignore = "needs nginx (Debian package nginx); .ci/run installs it and runs ignored tests"]
fn nginx_accepts_the_example_configuration() {
    assert!(
        nginx_available(),
        "nginx is not installed: apt-get install -y nginx"
    );
    let dir = tempfile::tempdir().unwrap();
    let main = nginx_wrapper(dir.path(), &read(NGINX));
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(&main)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t:\n{err}");
    assert!(err.contains("test is successful"), "{err}");
    assert!(!err.contains("[warn]"), "nginx -t warns:\n{err}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process exited early: {status}");
        }
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a child process when the test ends, even on a failed assertion: SIGTERM first, so
/// that nginx's master takes its workers down with it (SIGKILL would orphan them).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.0.id().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The example nginx in front of the real server, configured by the example file: the
/// server sees the caller's address through X-Forwarded-For, nginx refuses strangers and
/// big bodies, and a signed request reaches the service intact.
#[tokio::test]
#[ignore = "needs nginx (Debian package nginx); .ci/run installs it and runs ignored tests"]
async fn nginx_example_in_front_of_the_server_forwards_the_callers_address() {
    assert!(
        nginx_available(),
        "nginx is not installed: apt-get install -y nginx"
    );
    let dir = tempfile::tempdir().unwrap();
    let (server_port, nginx_port) = (free_port(), free_port());

    // The server as the example file configures it (trusted_proxies = 127.0.0.1), on a free
    // port, allowing only 127.0.0.2.
    let mut server = Running(serve_example(
        dir.path(),
        server_port,
        &[("GHISEUL_ALLOW", "127.0.0.2")],
    ));
    wait_for_port(server_port, &mut server.0);

    // nginx as shipped, but on a free port, proxying to that server, letting in 127.0.0.2
    // and 127.0.0.3 (so that the server's own check on 127.0.0.3 can be seen).
    let site = read(NGINX)
        .replace(
            "listen 443 ssl;",
            &format!("listen 127.0.0.1:{nginx_port} ssl;"),
        )
        .replace("listen [::]:443 ssl;", "")
        .replace(
            "proxy_pass http://127.0.0.1:8080;",
            &format!("proxy_pass http://127.0.0.1:{server_port};"),
        )
        .replace("allow 192.0.2.0/24;", "allow 127.0.0.2; allow 127.0.0.3;");
    assert!(site.contains(&format!("127.0.0.1:{server_port}")));
    let main = nginx_wrapper(dir.path(), &site);
    let nginx = Command::new("nginx")
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(&main)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut nginx = Running(nginx);
    wait_for_port(nginx_port, &mut nginx.0);
    let url = format!("https://127.0.0.1:{nginx_port}/soap");

    // Allowed by nginx and by the server: the WSDL, naming the public URL of the example.
    let wsdl = from("127.0.0.2")
        .await
        .get(format!("{url}?wsdl"))
        .send()
        .await
        .unwrap();
    assert_eq!(wsdl.status(), 200);
    assert!(wsdl
        .text()
        .await
        .unwrap()
        .contains("https://taxe.primaria-exemplu.ro/soap"));

    // Allowed by nginx, refused by the server: it judged the forwarded address, not nginx's.
    let r = from("127.0.0.3")
        .await
        .get(format!("{url}?wsdl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.text().await.unwrap(),
        "forbidden\n",
        "the server's refusal"
    );

    // Not in nginx's list: refused by nginx.
    let r = from("127.0.0.4")
        .await
        .get(format!("{url}?wsdl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("nginx"), "nginx's refusal");

    // Above the body limit: 413 from nginx.
    let r = from("127.0.0.2")
        .await
        .post(&url)
        .header("content-type", "text/xml; charset=utf-8")
        .body(vec![b' '; 256 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // A signed request passes through unchanged: the check verifies and the answer is the
    // service's own (fault 2: a valid CNP that is not in the empty register).
    let cui = "1600101220035";
    let request = SumeRequest {
        cui: cui.to_string(),
        timestamp: clock::timestamp(&clock::now()),
        check: Signer::new(KEY.as_bytes()).sign(cui),
    };
    let body = write::sume_request(SoapVersion::V11, "urn:oricare", &request);
    let r = from("127.0.0.2")
        .await
        .post(&url)
        .header("content-type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("<faultcode>2</faultcode>") && text.contains("CUI"),
        "{text}"
    );
}
