//! The web console at `/admin/` on the admin listener (issue 13): server-rendered pages in
//! Romanian for the tax office, working without JavaScript and without internet. With
//! several institutions on one server each one has its own console at `/admin/{CUI}/`
//! (see `tenancy::server::consoles`): its own users, sessions and payments.
//!
//! Security: users and argon2 hashes in `console_users` (`ghiseul-connector user add`);
//! a session is a random 256-bit token kept in memory (a restart logs everybody out) sent
//! in an HttpOnly, SameSite=Strict cookie (Secure when the request came over HTTPS through
//! a proxy); every form carries the session's CSRF token; 5 failed logins for one name or
//! from one address within 15 minutes lock that name or address out for 15 minutes.

mod pages;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::store::payout as sql;
use crate::store::Store;

pub const COOKIE: &str = "ghiseul_sesiune";
const PRE_COOKIE: &str = "ghiseul_autentificare";
const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
pub const MAX_FAILURES: usize = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

struct Session {
    user: String,
    csrf: String,
    seen: Instant,
}

pub struct Console {
    store: Store,
    /// Proxies whose X-Forwarded-For names the browser (nginx in front): the lockout by
    /// address must count the office's computers, not the proxy.
    trusted_proxies: Vec<ipnet::IpNet>,
    institution: String,
    /// Where this console is served, without the trailing slash (`/admin`, or
    /// `/admin/{CUI}` with several institutions). Every link, redirect, form action and
    /// cookie Path is built from it, so that one institution's session cookie is never
    /// sent to another's console.
    base: String,
    sessions: Mutex<HashMap<String, Session>>,
    /// Recent failed logins per `user:NAME` and `ip:ADDR`.
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// The console's routes under `base` (`/admin` with one institution, `/admin/{CUI}` with
/// several), to be merged into the admin listener's router only.
pub fn router(
    store: Store,
    institution: String,
    trusted_proxies: Vec<ipnet::IpNet>,
    base: &str,
) -> Router {
    let base = base.trim_end_matches('/').to_string();
    let state = Arc::new(Console {
        store,
        trusted_proxies,
        institution,
        base: base.clone(),
        sessions: Mutex::new(HashMap::new()),
        failures: Mutex::new(HashMap::new()),
    });
    let home = state.at("/");
    let at = |path: &str| state.at(path);
    Router::new()
        .route(&base, get(|| async move { Redirect::to(&home) }))
        .route(&at("/"), get(pages::today))
        .route(&at("/autentificare"), get(login_form).post(login))
        .route(&at("/iesire"), post(logout))
        .route(&at("/plati"), get(pages::payments))
        .route(&at("/plati/{id}"), get(pages::payment))
        .route(&at("/exceptii"), get(pages::exceptions))
        .route(&at("/exceptii/rezolva"), post(pages::handle_exception))
        .route(&at("/persoana"), get(pages::person))
        .route(&at("/raport"), get(pages::report))
        .route(&at("/raport.csv"), get(pages::report_csv))
        .route(&at("/raport.html"), get(pages::report_print))
        .route(&at("/raport.pdf"), get(pages::report_pdf))
        .route(&at("/grafic"), get(pages::chart_page))
        .route(&at("/activitate"), get(pages::activity))
        .route(&at("/grafic.svg"), get(pages::chart_svg))
        .with_state(state)
}

/// 32 random bytes, hex.
fn token() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Secure cookies when the browser speaks HTTPS (a TLS proxy in front says so).
fn secure(headers: &HeaderMap) -> &'static str {
    match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some(p) if p.eq_ignore_ascii_case("https") => "; Secure",
        _ => "",
    }
}

/// The logged-in user of a request.
pub struct User {
    pub name: String,
    pub csrf: String,
}

impl Console {
    /// The console's own address of `path` (which starts with `/`): the one place links,
    /// redirects and form actions are made.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A `Set-Cookie` value scoped to this console: `name=value; Path=base; ...`.
    fn set_cookie(&self, name: &str, value: &str, extra: &str, headers: &HeaderMap) -> String {
        format!(
            "{name}={value}; Path={}; HttpOnly; SameSite=Strict{extra}{}",
            self.base,
            secure(headers)
        )
    }

    fn user(&self, headers: &HeaderMap) -> Option<User> {
        let t = cookie(headers, COOKIE)?;
        let mut sessions = self.sessions.lock().unwrap();
        let s = sessions.get_mut(t)?;
        if s.seen.elapsed() > SESSION_IDLE {
            sessions.remove(t);
            return None;
        }
        s.seen = Instant::now();
        Some(User {
            name: s.user.clone(),
            csrf: s.csrf.clone(),
        })
    }

    /// The user, when the form's CSRF token is the session's.
    fn user_for_form(&self, headers: &HeaderMap, csrf: &str) -> Option<User> {
        self.user(headers)
            .filter(|u| constant_time_eq(&u.csrf, csrf))
    }

    /// The browser's address: the peer, or behind a trusted proxy the last address of
    /// X-Forwarded-For that is not itself a trusted proxy.
    fn client_ip(&self, peer: std::net::IpAddr, headers: &HeaderMap) -> std::net::IpAddr {
        let trusted = |ip: &std::net::IpAddr| self.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect::<Vec<std::net::IpAddr>>()
            .into_iter()
            .rev()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer)
    }

    /// Minutes left of a lockout of any of `keys`.
    fn locked(&self, keys: &[String]) -> Option<u64> {
        let mut f = self.failures.lock().unwrap();
        let mut wait = None;
        for k in keys {
            if let Some(list) = f.get_mut(k) {
                list.retain(|t| t.elapsed() < FAILURE_WINDOW);
                if list.len() >= MAX_FAILURES {
                    let last = *list.last().unwrap();
                    let left = FAILURE_WINDOW.saturating_sub(last.elapsed());
                    wait = Some(left.as_secs().div_ceil(60).max(1));
                }
            }
        }
        wait
    }

    fn failed(&self, keys: &[String]) {
        let mut f = self.failures.lock().unwrap();
        // Forget what no longer counts, so that guessing names cannot grow the map forever.
        f.retain(|_, list| list.last().is_some_and(|t| t.elapsed() < FAILURE_WINDOW));
        for k in keys {
            f.entry(k.clone()).or_default().push(Instant::now());
        }
    }
}

/// A page refused: back to the login form (GET) or 403 (a form).
fn to_login(c: &Console) -> Response {
    Redirect::to(&c.at("/autentificare")).into_response()
}

fn forbidden(c: &Console, text: &str) -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        pages::bare(
            "Acces refuzat",
            &format!(
                "<p class=\"eroare\">{}</p><p><a href=\"{}\">Înapoi</a></p>",
                pages::esc(text),
                pages::esc(&c.at("/"))
            ),
        ),
    )
}

pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(h);
    r
}

pub fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

async fn login_form(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if c.user(&headers).is_some() {
        return Redirect::to(&c.at("/")).into_response();
    }
    login_page(&c, &headers, StatusCode::OK, None)
}

fn login_page(
    c: &Console,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let t = token();
    let mut r = html_response(status, pages::login(c, &t, error));
    if let Ok(v) = HeaderValue::from_str(&c.set_cookie(PRE_COOKIE, &t, "", headers)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub struct LoginForm {
    utilizator: String,
    parola: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(c): State<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let pre = cookie(&headers, PRE_COOKIE).unwrap_or("");
    if pre.is_empty() || !constant_time_eq(pre, &f.csrf) {
        return login_page(
            &c,
            &headers,
            StatusCode::FORBIDDEN,
            Some("Formularul a expirat sau nu provine din această consolă. Încercați din nou."),
        );
    }
    let name = f.utilizator.trim().to_string();
    let client = c.client_ip(peer.ip(), &headers);
    let keys = [format!("user:{name}"), format!("ip:{client}")];
    if let Some(minutes) = c.locked(&keys) {
        let _ = sql::audit(
            &c.store,
            &name,
            "console login throttled",
            &client.to_string(),
        )
        .await;
        return login_page(
            &c,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Prea multe încercări eșuate. Încercați din nou peste {minutes} minute."
            )),
        );
    }
    let hash = sql::user_hash(&c.store, &name).await.ok().flatten();
    let password = f.parola;
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            // The same work as a real check, so that timing does not tell names apart.
            let _ = hash_password(&password);
            false
        }
    })
    .await
    .unwrap_or(false);
    if !ok {
        c.failed(&keys);
        let _ = sql::audit(
            &c.store,
            &name,
            "console login refused",
            &client.to_string(),
        )
        .await;
        return login_page(
            &c,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("Utilizator sau parolă greșită."),
        );
    }
    let t = token();
    {
        let mut sessions = c.sessions.lock().unwrap();
        sessions.retain(|_, s| s.seen.elapsed() <= SESSION_IDLE);
        sessions.insert(
            t.clone(),
            Session {
                user: name.clone(),
                csrf: token(),
                seen: Instant::now(),
            },
        );
    }
    let _ = sql::audit(&c.store, &name, "console login", &client.to_string()).await;
    let mut r = Redirect::to(&c.at("/")).into_response();
    for v in [
        c.set_cookie(COOKIE, &t, "", &headers),
        c.set_cookie(PRE_COOKIE, "", "; Max-Age=0", &headers),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if c.user_for_form(&headers, &f.csrf).is_none() {
        return forbidden(&c, "Cerere fără token CSRF valid.");
    }
    if let Some(t) = cookie(&headers, COOKIE) {
        c.sessions.lock().unwrap().remove(t);
    }
    let mut r = to_login(&c);
    if let Ok(v) = HeaderValue::from_str(&c.set_cookie(COOKIE, "", "; Max-Age=0", &headers)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// The page at `/admin/` listing the consoles of several institutions: (name, link) pairs.
pub fn institutions_page(list: &[(String, String)]) -> String {
    pages::institutions(list)
}

/// The lines /metrics adds for the console's questions: how long since ghiseul.ro last
/// called, and how many exceptions wait for a person. Empty when the database does not
/// answer (the other metrics say so).
pub async fn metrics_text(store: &Store) -> String {
    let mut out = String::new();
    if let Ok(Some(at)) = sql::last_request(store).await {
        let at = at.get(..19).unwrap_or(&at);
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S") {
            let age = (chrono::Utc::now().naive_utc() - t).num_seconds().max(0);
            out.push_str("# HELP ghiseul_last_request_age_seconds Seconds since the last SOAP request that passed the guards (from the audit table).\n");
            out.push_str("# TYPE ghiseul_last_request_age_seconds gauge\n");
            out.push_str(&format!("ghiseul_last_request_age_seconds {age}\n"));
        }
    }
    if let Ok(n) = sql::open_exceptions(store).await {
        out.push_str("# HELP ghiseul_open_exceptions Payments journaled but not recorded, and credits, that nobody has marked handled.\n");
        out.push_str("# TYPE ghiseul_open_exceptions gauge\n");
        out.push_str(&format!("ghiseul_open_exceptions {n}\n"));
    }
    out
}

/// An argon2id hash of `password` in PHC form.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
        .to_string())
}

/// True when `password` matches the PHC `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}
