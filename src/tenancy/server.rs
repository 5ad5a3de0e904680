//! The server of several institutions: a routing table from each institution's SOAP path
//! (and CUI) to the router that answers for it, the Annex 4 endpoint that picks the
//! institution by `cuiInstitutie`, /health and /metrics over all of them, and the SIGHUP
//! reload that adds institutions without a restart.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use super::{normalize_cui, ZF_PATH};
use crate::config::Config;
use crate::fault::{Fault, FaultCode};
use crate::http::{self, AppState, Guard, ResponseNamespace};
use crate::protocol::{annex4, envelope, Limits, SoapVersion};
use crate::startup::part::{Part, Parts};

/// One institution as the server answers it.
#[derive(Clone)]
pub struct Served {
    pub cui: String,
    pub soap_path: String,
    database_url: String,
    router: Router,
    /// Its web console at `/admin/{CUI}/` (its own users and sessions), served by
    /// `consoles` on the admin listener only. Kept across reloads with the rest of
    /// `Served`, so a SIGHUP logs nobody out.
    console: Router,
    /// Its name, for the list of consoles at `/admin/`.
    name: String,
    state: Arc<AppState>,
    /// Its settings when it was started (`Config::listing`, secrets masked), to tell a
    /// changed institution on reload.
    listing: String,
}

/// Who answers on which path, and for which CUI. Replaced whole on reload, so a request
/// sees one consistent table.
#[derive(Clone, Default)]
pub struct Routing {
    served: Vec<Served>,
    by_path: HashMap<String, usize>,
    by_cui: HashMap<String, usize>,
}

impl Routing {
    fn add(&mut self, config: &Config, part: &Part) {
        let state = part.state.clone();
        let cui = config.institutie.cui.clone().unwrap_or_default();
        let i = self.served.len();
        self.by_path.insert(config.soap_path.clone(), i);
        self.by_cui.insert(cui.clone(), i);
        let console = crate::console::router(
            part.store.clone(),
            config.institutie.nume.clone(),
            config.trusted_proxies.clone(),
            &console_base(&cui),
        );
        self.served.push(Served {
            cui,
            soap_path: config.soap_path.clone(),
            database_url: config.database_url.clone(),
            router: http::soap_router(state.clone(), &config.soap_path),
            console,
            name: config.institutie.nume.clone(),
            state,
            listing: config.listing(),
        });
    }

    pub fn by_cui(&self, cui: &str) -> Option<&Served> {
        self.by_cui.get(cui).map(|&i| &self.served[i])
    }

    fn by_path(&self, path: &str) -> Option<&Served> {
        self.by_path.get(path).map(|&i| &self.served[i])
    }
}

/// The routing table and what the Annex 4 endpoint needs besides it.
pub struct Table {
    routing: RwLock<Arc<Routing>>,
    /// Guards of the Annex 4 endpoint, from the top level of the file: the institution's
    /// own guards apply again once the request is handed to it.
    zf_guard: Guard,
    zf_wsdl: Arc<str>,
    zf_namespace: Arc<str>,
}

impl Table {
    pub fn new(server: &Config, institutions: &[Config], parts: &[Part]) -> Arc<Table> {
        let mut routing = Routing::default();
        for (config, part) in institutions.iter().zip(parts) {
            routing.add(config, part);
        }
        let zf_url = format!("{}{ZF_PATH}", origin(&server.public_url));
        Arc::new(Table {
            routing: RwLock::new(Arc::new(routing)),
            zf_guard: Guard {
                allow: server.allow.clone(),
                trusted_proxies: server.trusted_proxies.clone(),
                in_flight: Arc::new(Semaphore::new(server.max_in_flight.max(1))),
                body_limit: server.body_limit_bytes,
                read_timeout: Duration::from_secs(server.read_timeout_secs),
            },
            zf_wsdl: Arc::from(annex4::render(&zf_url, &zf_url)),
            zf_namespace: Arc::from(zf_url.as_str()),
        })
    }

    pub fn current(&self) -> Arc<Routing> {
        self.routing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, routing: Routing) {
        *self.routing.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routing);
    }
}

/// `scheme://host[:port]` of a URL (the Annex 4 endpoint is on the same server).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The SOAP router (every institution's path, and `/zf`) and the admin router (/health and
/// /metrics over every institution). The web consoles are in `consoles`, merged only
/// into the admin listener's router.
pub fn routers(table: Arc<Table>) -> (Router, Router) {
    let soap = Router::new()
        .route(ZF_PATH, get(zf_wsdl).post(zf))
        .fallback(dispatch)
        .with_state(table.clone());
    let admin = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(table);
    (soap, admin)
}

/// Where an institution's web console is served.
fn console_base(cui: &str) -> String {
    format!("/admin/{cui}")
}

/// The web consoles, for the admin listener only: `/admin/` lists the institutions, and
/// `/admin/{CUI}/…` is handed to that institution's console. Looked up in the current
/// routing table on every request, so institutions added on SIGHUP have theirs too.
pub fn consoles(table: Arc<Table>) -> Router {
    Router::new()
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::to("/admin/") }),
        )
        .route("/admin/", get(console_list))
        .route("/admin/{cui}", axum::routing::any(to_console))
        .route("/admin/{cui}/", axum::routing::any(to_console))
        .route("/admin/{cui}/{*rest}", axum::routing::any(to_console))
        .with_state(table)
}

/// `/admin/`: a page listing the institutions served here, each with a link to its console.
async fn console_list(State(table): State<Arc<Table>>) -> Response {
    let routing = table.current();
    let list: Vec<(String, String)> = routing
        .served
        .iter()
        .map(|s| {
            // An institution without institutie_nume is listed by its CUI.
            let name = if s.name.is_empty() { &s.cui } else { &s.name };
            (name.clone(), format!("{}/", console_base(&s.cui)))
        })
        .collect();
    crate::console::html_response(StatusCode::OK, crate::console::institutions_page(&list))
}

/// Hands `/admin/{CUI}/…` to that institution's console; 404 for a CUI not served here.
async fn to_console(
    State(table): State<Arc<Table>>,
    axum::extract::Path(params): axum::extract::Path<Vec<(String, String)>>,
    request: Request,
) -> Response {
    let routing = table.current();
    let cui = params
        .iter()
        .find(|(k, _)| k == "cui")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    match routing.by_cui(cui) {
        Some(served) => answer(served.console.clone(), request).await,
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// Hands a request to the institution whose path it names; 404 for any other path.
async fn dispatch(State(table): State<Arc<Table>>, request: Request) -> Response {
    let routing = table.current();
    match routing.by_path(request.uri().path()) {
        Some(served) => answer(served.router.clone(), request).await,
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

async fn answer(router: Router, request: Request) -> Response {
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

async fn zf_wsdl(State(table): State<Arc<Table>>, RawQuery(query): RawQuery) -> Response {
    http::wsdl_or_hint(&table.zf_wsdl, query)
}

/// Annex 4: reads `cuiInstitutie` and hands the request to that institution's endpoint,
/// which checks it with the institution's own key (D19/D20: `check = HMAC-SHA1(key, cui)`
/// with the key of the institution named, so a request for B must be signed with B's key
/// even though `cuiInstitutie` itself is not hashed) and answers from its register, in the
/// Annex 4 namespace. Only getSumeDePlataPePersoana is answered here (Annex 4 has no
/// payments); an institution not served here is fault 2.
async fn zf(State(table): State<Arc<Table>>, request: Request) -> Response {
    let guard = &table.zf_guard;
    if let Some(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let client = guard.client_ip(peer.0.ip(), request.headers());
        if !guard.allows(client) {
            tracing::warn!(%client, "refused on /zf: address not in the allow list");
            return (StatusCode::FORBIDDEN, "forbidden\n").into_response();
        }
    }
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        let version = SoapVersion::from_content_type(http::content_type(request.headers()));
        let f = Fault::new(
            FaultCode::Unavailable,
            "prea multe cereri simultane".to_string(),
        );
        return http::fault(version, &f);
    };
    let hint = SoapVersion::from_content_type(http::content_type(request.headers()));
    let (mut parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        guard.read_timeout,
        axum::body::to_bytes(body, guard.body_limit),
    )
    .await;
    let bytes = match read {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response()
        }
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time\n",
            )
                .into_response()
        }
    };
    let envelope = match envelope::parse(&bytes, Limits::default()) {
        Ok(e) => e,
        Err(e) => {
            let version = e.version.unwrap_or(hint);
            return http::fault(version, &Fault::from(e));
        }
    };
    let version = envelope.version;
    let Some(cui) = annex4::cui_institutie(&envelope.operation) else {
        let detail = if envelope.operation.name == crate::protocol::read::GET_SUME {
            "lipsește elementul cuiInstitutie".to_string()
        } else {
            format!("operație necunoscută: {}", envelope.operation.name)
        };
        return http::fault(version, &Fault::new(FaultCode::InvalidMessage, detail));
    };
    let routing = table.current();
    let Some(served) = routing.by_cui(&normalize_cui(&cui)) else {
        tracing::info!(cui_institutie = %http::audit_cui(&cui), "fault 2 on /zf: institution not served here");
        let f = Fault::new(
            FaultCode::InvalidCui,
            "instituția (cuiInstitutie) nu este deservită de acest server".to_string(),
        );
        return http::fault(version, &f);
    };
    parts.uri = match served.soap_path.parse() {
        Ok(uri) => uri,
        Err(_) => return http::fault(version, &Fault::new(FaultCode::Unavailable, None)),
    };
    parts
        .extensions
        .insert(ResponseNamespace(table.zf_namespace.clone()));
    answer(
        served.router.clone(),
        Request::from_parts(parts, Body::from(bytes)),
    )
    .await
}

/// 200 when every institution is healthy; else 503 naming each one that is not.
async fn health(State(table): State<Arc<Table>>) -> Response {
    let routing = table.current();
    let mut bad = String::new();
    for served in &routing.served {
        let (status, text) = http::health_of(&served.state).await;
        if status != StatusCode::OK {
            bad.push_str(&format!("institution {}: {text}", served.cui));
        }
    }
    if bad.is_empty() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, bad).into_response()
    }
}

/// Every institution's metrics, each sample labelled `institutie="CUI"`.
async fn metrics(State(table): State<Arc<Table>>) -> Response {
    let routing = table.current();
    let mut texts = Vec::with_capacity(routing.served.len());
    for served in &routing.served {
        texts.push((served.cui.clone(), http::metrics_of(&served.state).await));
    }
    (
        [(header::CONTENT_TYPE, http::METRICS_CONTENT_TYPE)],
        merge_metrics(&texts),
    )
        .into_response()
}

/// Merges the metrics texts of several institutions into one exposition: each family's
/// `# HELP`/`# TYPE` once, then its samples from every institution with the label
/// `institutie` added (a family's samples must stay together in the text format).
pub fn merge_metrics(texts: &[(String, String)]) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut families: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
    for (cui, text) in texts {
        let mut family = String::new();
        for line in text.lines() {
            if line == "# EOF" || line.is_empty() {
                continue;
            }
            if let Some(meta) = line.strip_prefix("# ") {
                let name = meta
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                if !families.contains_key(&name) {
                    order.push(name.clone());
                }
                let entry = families.entry(name.clone()).or_default();
                if !entry.0.iter().any(|l| l == line) {
                    entry.0.push(line.to_string());
                }
                family = name;
                continue;
            }
            let labelled = label(line, cui);
            let sample_name = line
                .split(['{', ' '])
                .next()
                .unwrap_or_default()
                .to_string();
            let key = if family.is_empty() || !sample_name.starts_with(&family) {
                sample_name
            } else {
                family.clone()
            };
            if !families.contains_key(&key) {
                order.push(key.clone());
            }
            families.entry(key).or_default().1.push(labelled);
        }
    }
    let mut out = String::new();
    for name in order {
        if let Some((meta, samples)) = families.get(&name) {
            for line in meta.iter().chain(samples) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// A sample line with `institutie="CUI"` as its first label.
fn label(line: &str, cui: &str) -> String {
    let cui = cui.replace(['\\', '"'], "");
    match line.find(['{', ' ']) {
        Some(i) if line[i..].starts_with("{}") => {
            format!("{}{{institutie=\"{cui}\"}}{}", &line[..i], &line[i + 2..])
        }
        Some(i) if line[i..].starts_with('{') => {
            format!("{}{{institutie=\"{cui}\",{}", &line[..i], &line[i + 1..])
        }
        Some(i) => format!("{}{{institutie=\"{cui}\"}}{}", &line[..i], &line[i..]),
        None => line.to_string(),
    }
}

/// Reads the configuration again and returns its institutions (the file and the
/// environment, as at start).
pub type Reloader = Box<dyn Fn() -> anyhow::Result<Vec<Config>> + Send + Sync>;

/// What SIGHUP needs to add institutions to a running server.
pub struct Reload {
    pub table: Arc<Table>,
    pub parts: Parts,
    pub reloader: Reloader,
}

impl Reload {
    /// Starts the institutions that are new in the configuration (by CUI) and adds them to
    /// the routing table. An institution already served keeps running as it was started:
    /// a change to it, or its removal, takes effect at the next restart (and is logged).
    pub async fn run(&self) {
        let configs = match (self.reloader)() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "SIGHUP: the configuration cannot be read; nothing changed");
                return;
            }
        };
        let current = self.table.current();
        let mut next = (*current).clone();
        for config in &configs {
            let cui = config.institutie.cui.clone().unwrap_or_default();
            if let Some(served) = current.by_cui(&cui) {
                if served.listing != config.listing() || served.soap_path != config.soap_path {
                    tracing::warn!(institutie = %cui, "SIGHUP: this institution's settings changed; they take effect at the next restart");
                }
                continue;
            }
            if next
                .served
                .iter()
                .any(|s| s.database_url == config.database_url)
            {
                tracing::error!(institutie = %cui, "SIGHUP: the database is already another institution's; not added");
                continue;
            }
            if next.by_path(&config.soap_path).is_some() {
                tracing::error!(institutie = %cui, soap_path = %config.soap_path, "SIGHUP: the path is already served for another institution; not added");
                continue;
            }
            match Part::build(config).await {
                Ok(mut part) => {
                    part.start();
                    next.add(config, &part);
                    self.parts.lock().await.push(part);
                    tracing::info!(institutie = %cui, soap_path = %config.soap_path, "SIGHUP: institution added");
                }
                Err(e) => {
                    tracing::error!(institutie = %cui, error = %format!("{e:#}"), "SIGHUP: the institution cannot be started; not added")
                }
            }
        }
        for served in &current.served {
            if !configs
                .iter()
                .any(|c| c.institutie.cui.as_deref() == Some(served.cui.as_str()))
            {
                tracing::warn!(institutie = %served.cui, "SIGHUP: this institution is no longer in the configuration; it is served until the next restart");
            }
        }
        self.table.replace(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_metrics_label_every_sample_and_keep_families_together() {
        let a = "# HELP ghiseul_requests SOAP requests.\n# TYPE ghiseul_requests counter\nghiseul_requests_total{operation=\"x\"} 1\n# HELP ghiseul_up Up.\n# TYPE ghiseul_up gauge\nghiseul_up 1\n# EOF\n";
        let b = a.replace("} 1", "} 2");
        let out = merge_metrics(&[("1".into(), a.into()), ("2".into(), b)]);
        assert_eq!(out.matches("# TYPE ghiseul_requests counter").count(), 1);
        assert!(out.contains("ghiseul_requests_total{institutie=\"1\",operation=\"x\"} 1\nghiseul_requests_total{institutie=\"2\",operation=\"x\"} 2\n"), "{out}");
        assert!(out.contains("ghiseul_up{institutie=\"2\"} 1"), "{out}");
        assert!(out.ends_with("# EOF\n"));
    }

    #[test]
    fn the_annex4_endpoint_is_on_the_public_url_origin() {
        assert_eq!(origin("https://taxe.ro:8443/soap"), "https://taxe.ro:8443");
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
