//! HTTP: the SOAP endpoint, the WSDL, health and metrics, and the guards in front of them
//! (who may call, how much, how many at once). Turns SOAP envelopes into service calls and
//! errors into faults; decides nothing about the rules.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ipnet::IpNet;
use tokio::sync::Semaphore;

use crate::fault::{Fault, FaultCode};
use crate::metrics::Metrics;
use crate::protocol::read::{self, Request as SoapRequest};
use crate::protocol::{envelope, write, Limits, SoapVersion};
use crate::service::{self, Service};
use crate::store::audit::{self, AuditLog};

/// What every handler shares, behind one `Arc`: each layer of the router takes its own
/// handle on the state, so a clone must be one atomic increment, not one per field.
pub struct AppState {
    pub service: Service,
    pub wsdl: Arc<str>,
    pub namespace: Arc<str>,
    pub limits: Limits,
    /// Longest a request may wait on the database before the answer is fault 3.
    pub db_timeout: Duration,
    pub metrics: Arc<Metrics>,
    pub guard: Arc<Guard>,
    /// Where every SOAP request leaves its audit record (GDPR).
    pub audit: AuditLog,
}

/// The HTTP header of a payment's answer that says what became of it: `recorded` (new),
/// `retry` (recorded before, nothing changed), `conflict`, `unknown_tax_type`.
pub const PAYMENT_RESULT_HEADER: &str = "x-ghiseul-payment-result";

/// The checks made before a SOAP request is read.
pub struct Guard {
    /// Who may call the SOAP endpoint; empty = everyone.
    pub allow: Vec<IpNet>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Requests answered at once; beyond it the answer is fault 3 at once, not a queue.
    pub in_flight: Arc<Semaphore>,
    pub body_limit: usize,
    pub read_timeout: Duration,
}

impl Guard {
    /// The caller's address: the peer, or — when the peer is a trusted proxy — the last
    /// address in X-Forwarded-For that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer)
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.allow.is_empty() || self.allow.iter().any(|n| n.contains(&ip))
    }
}

/// The SOAP endpoint (and the WSDL at `?wsdl`), guarded.
pub fn soap_router(state: Arc<AppState>, soap_path: &str) -> Router {
    let guard = state.guard.clone();
    Router::new()
        .route(soap_path, get(wsdl).post(soap))
        .layer(DefaultBodyLimit::max(guard.body_limit))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            guard.read_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limit_in_flight,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), allowlist))
        .layer(middleware::from_fn_with_state(state.clone(), audit_request))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            resolve_client,
        ))
        .with_state(state)
}

/// The caller's address as the guards judge it (after the trusted-proxy rule), worked out
/// once per request by the outermost layer for the allow list and the audit row.
#[derive(Clone, Copy, Debug)]
struct ClientIp(Option<IpAddr>);

async fn resolve_client(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|peer| state.guard.client_ip(peer.0.ip(), request.headers()));
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

fn client_of(request: &Request) -> Option<IpAddr> {
    request.extensions().get::<ClientIp>().and_then(|c| c.0)
}

/// What the SOAP handler (or a guard) tells the audit layer about a request, through the
/// response's extensions.
#[derive(Clone, Debug)]
struct AuditNote {
    operation: &'static str,
    /// Already masked.
    cui: String,
    fault: Option<u8>,
    refused: bool,
}

fn noted(mut response: Response, note: AuditNote) -> Response {
    response.extensions_mut().insert(note);
    response
}

/// Outermost layer of the SOAP endpoint: one audit record per POST, whatever became of it.
/// A response without a note was turned away before the handler (allow list 403, body too
/// large 413, body too slow 408): refused.
async fn audit_request(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let started = Instant::now();
    let mut record = audit::Record::now("-", String::new(), String::new());
    if let Some(client) = client_of(&request) {
        record.source = client.to_string();
    }
    let response = next.run(request).await;
    match response.extensions().get::<AuditNote>() {
        Some(note) => {
            record.operation = note.operation;
            record.cui = note.cui.clone();
            record.fault_code = note.fault;
            record.outcome = match (note.refused, note.fault) {
                (true, _) => audit::Outcome::Refused,
                (false, Some(_)) => audit::Outcome::Fault,
                (false, None) => audit::Outcome::Ok,
            };
        }
        None => record.outcome = audit::Outcome::Refused,
    }
    record.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    state.audit.record(record);
    response
}

/// /health and /metrics, for the admin listener or beside the SOAP endpoint.
pub fn admin_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn allowlist(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if let Some(client) = client_of(&request) {
        if !state.guard.allows(client) {
            state.metrics.refused("allowlist");
            tracing::warn!(%client, "refused: address not in the allow list");
            return (StatusCode::FORBIDDEN, "forbidden\n").into_response();
        }
    }
    next.run(request).await
}

async fn limit_in_flight(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = state.guard.in_flight.clone().try_acquire_owned() else {
        state.metrics.refused("overload");
        let version = SoapVersion::from_content_type(content_type(request.headers()));
        let f = Fault::new(
            FaultCode::Unavailable,
            "prea multe cereri simultane".to_string(),
        );
        let note = AuditNote {
            operation: "-",
            cui: String::new(),
            fault: Some(f.code.number()),
            refused: true,
        };
        return noted(fault(version, &f), note);
    };
    state.metrics.in_flight().inc();
    let response = next.run(request).await;
    state.metrics.in_flight().dec();
    response
}

pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

async fn wsdl(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    wsdl_or_hint(&state.wsdl, query)
}

/// A GET on a SOAP endpoint: the WSDL for `?wsdl`, else a hint that requests are POSTed.
/// Shared by each institution's endpoint and Annex 4's.
pub fn wsdl_or_hint(wsdl: &str, query: Option<String>) -> Response {
    match query {
        Some(q) if q.eq_ignore_ascii_case("wsdl") => (
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            wsdl.to_string(),
        )
            .into_response(),
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "SOAP requests are POSTed here; the WSDL is at ?wsdl\n",
        )
            .into_response(),
    }
}

/// 200 only when the database answers a query *and* a payment could be journaled now (a
/// journal row written and rolled back): a database that reads but cannot write would
/// otherwise look healthy while every payment gets fault 3.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    health_of(&state).await.into_response()
}

/// The health answer of one institution (also used by the server of several, `tenancy`).
pub async fn health_of(state: &AppState) -> (StatusCode, String) {
    let store = state.service.store();
    let checked = tokio::time::timeout(state.db_timeout, async {
        store
            .ping()
            .await
            .map_err(|e| ("database unavailable", e))?;
        store
            .can_record_payments()
            .await
            .map_err(|e| ("database cannot record payments", e))
    })
    .await;
    match checked {
        Ok(Ok(())) => (StatusCode::OK, "ok\n".to_string()),
        Ok(Err((what, e))) => {
            tracing::warn!(error = %e, "health check: {what}");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{what}\n"))
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database timeout\n".to_string(),
        ),
    }
}

/// The content type of /metrics.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        metrics_of(&state).await,
    )
        .into_response()
}

/// The metrics text of one institution (also used by the server of several, `tenancy`).
pub async fn metrics_of(state: &AppState) -> String {
    let pool = state.service.store().pool();
    let mut text = state.metrics.render(pool.size(), pool.num_idle());
    // The age of the last ghiseul.ro request and the open exceptions (issue 13), before
    // the closing `# EOF`.
    // Bounded like sync's below: a database that hangs must not hang the scrape.
    let extra = tokio::time::timeout(
        Duration::from_secs(2),
        crate::console::metrics_text(state.service.store()),
    )
    .await
    .unwrap_or_default();
    match text.strip_suffix("# EOF\n") {
        Some(head) => text = format!("{head}{extra}# EOF\n"),
        None => text.push_str(&extra),
    }
    // `sync` runs in its own process: its figures are read from its table (sync_runs).
    let sync = tokio::time::timeout(
        Duration::from_secs(2),
        crate::store::transfer::metrics_text(state.service.store()),
    )
    .await;
    if let Ok(Ok(sync)) = sync {
        match text.rfind("# EOF") {
            Some(at) => text.insert_str(at, &sync),
            None => text.push_str(&sync),
        }
    }
    text
}

/// The namespace to answer in when it is not the institution's own: set by the Annex 4
/// endpoint that forwards a request here (`tenancy::server`), as a request extension,
/// which no client can send.
#[derive(Clone)]
pub struct ResponseNamespace(pub Arc<str>);

async fn soap(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    answer_in: Option<axum::Extension<ResponseNamespace>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let namespace = match answer_in {
        Some(axum::Extension(ResponseNamespace(ns))) => ns,
        None => state.namespace.clone(),
    };
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return unreadable_body(&state, rejection),
    };
    let started = Instant::now();
    let hint = SoapVersion::from_content_type(content_type(&headers));
    let note = |operation: &'static str, cui: &str, fault: Option<u8>| AuditNote {
        operation,
        cui: audit_cui(cui),
        fault,
        refused: false,
    };
    let envelope = match envelope::parse(&body, state.limits) {
        Ok(e) => e,
        Err(e) => {
            tracing::info!(reason = %e.reason, "refused: not a valid SOAP request");
            let version = e.version.unwrap_or(hint);
            let f = Fault::from(e);
            let code = Some(f.code.number());
            state.metrics.request("invalid", code, started.elapsed());
            return noted(fault(version, &f), note("-", "", code));
        }
    };
    let version = envelope.version;
    let request = match read::request(&envelope.operation) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(operation = %envelope.operation.name, reason = %e, "refused: invalid message");
            let f = Fault::from(e);
            let code = Some(f.code.number());
            state.metrics.request("invalid", code, started.elapsed());
            let operation = match envelope.operation.name.as_str() {
                "getSumeDePlataPePersoana" => "getSumeDePlataPePersoana",
                "inregistrareIncasari" => "inregistrareIncasari",
                _ => "-",
            };
            return noted(fault(version, &f), note(operation, "", code));
        }
    };
    let timeout = state.db_timeout;
    match request {
        SoapRequest::Sume(r) => {
            const OP: &str = "getSumeDePlataPePersoana";
            let result = within(timeout, state.service.sume_de_plata(&r)).await;
            finish(&state, OP, &r.cui, &result, started);
            match result {
                Ok(resp) => noted(
                    ok(version, write::sume_response(version, &namespace, &resp)),
                    note(OP, &r.cui, None),
                ),
                Err(e) => {
                    let f = Fault::from(&e);
                    let code = f.code.number();
                    noted(fault(version, &f), note(OP, &r.cui, Some(code)))
                }
            }
        }
        SoapRequest::Incasari(r) => {
            const OP: &str = "inregistrareIncasari";
            let result = within(timeout, state.service.inregistrare_incasari(&r)).await;
            finish(&state, OP, &r.cui, &result, started);
            match result {
                Ok(outcome) => {
                    state.metrics.payment(outcome.as_str());
                    let mut audit_note = note(OP, &r.cui, None);
                    if !outcome.answer() {
                        // Money taken by ghiseul.ro and not recorded here: a person must
                        // look at it (the journal keeps the request).
                        tracing::warn!(
                            operation = OP,
                            order = %r.order,
                            cui = %mask_cui(&r.cui),
                            result = outcome.as_str(),
                            "payment refused: answered false, nothing recorded (see the journal)"
                        );
                        audit_note.refused = true;
                    }
                    let mut response = ok(
                        version,
                        write::incasari_response(version, &namespace, outcome.answer()),
                    );
                    // What `true` or `false` meant, for `ghiseul-connector call` and anyone
                    // testing by hand; outside the SOAP body, so ghiseul.ro sees nothing new.
                    response.headers_mut().insert(
                        PAYMENT_RESULT_HEADER,
                        header::HeaderValue::from_static(outcome.as_str()),
                    );
                    noted(response, audit_note)
                }
                Err(e) => {
                    let f = Fault::from(&e);
                    let code = f.code.number();
                    noted(fault(version, &f), note(OP, &r.cui, Some(code)))
                }
            }
        }
    }
}

/// A body over the limit is 413; one that did not arrive within the read timeout is 408.
/// Neither reaches the XML parser.
fn unreadable_body(state: &AppState, rejection: BytesRejection) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        state.metrics.refused("too_large");
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    }
    let timed_out = {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
        let mut found = false;
        while let Some(e) = source {
            if e.is::<tower_http::timeout::TimeoutError>() {
                found = true;
                break;
            }
            source = e.source();
        }
        found
    };
    if timed_out {
        state.metrics.refused("slow_client");
        tracing::info!("refused: request body not received within the read timeout");
        return (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            "request body not received in time\n",
        )
            .into_response();
    }
    state.metrics.refused("unreadable_body");
    (StatusCode::BAD_REQUEST, "request body could not be read\n").into_response()
}

/// Bounds the time spent on the database. A payment cut off here is rolled back whole
/// (its transaction is dropped); ghiseul.ro's retry then finds it recorded or not, never half.
async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T, service::Error>>,
) -> Result<T, service::Error> {
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(service::Error::Busy),
    }
}

/// Logs and counts one answered request.
fn finish<T>(
    state: &AppState,
    operation: &'static str,
    cui: &str,
    result: &Result<T, service::Error>,
    started: Instant,
) {
    let took = started.elapsed();
    let ms = took.as_secs_f64() * 1000.0;
    let cui = mask_cui(cui);
    match result {
        Ok(_) => {
            state.metrics.request(operation, None, took);
            // Debug, not info: at city scale this is thousands of lines a second into the
            // journal, and every request already has its audit row and its metrics.
            tracing::debug!(operation, cui = %cui, ms, "answered");
        }
        Err(e) => {
            let f = Fault::from(e);
            state
                .metrics
                .request(operation, Some(f.code.number()), took);
            match e {
                service::Error::Store(err) => {
                    tracing::error!(operation, cui = %cui, ms, error = %err, "fault 3: database error")
                }
                _ => {
                    tracing::info!(operation, cui = %cui, ms, fault = f.code.number(), reason = %f.text(), "fault")
                }
            }
        }
    }
}

/// A CUI fit for a log: a CNP keeps only its last three digits (GDPR); a company's CIF is
/// public and stays whole.
pub fn mask_cui(cui: &str) -> String {
    let t = cui.trim();
    if t.len() > 10 {
        let keep = t.char_indices().rev().nth(2).map(|(i, _)| i).unwrap_or(0);
        format!("{}{}", "*".repeat(t[..keep].chars().count()), &t[keep..])
    } else {
        t.to_string()
    }
}

/// A CUI fit for the audit log: masked as in the logs (`mask_cui`), and cut to its last 32
/// characters so that a junk value cannot fill the table.
pub fn audit_cui(cui: &str) -> String {
    let masked = mask_cui(cui);
    let n = masked.chars().count();
    masked.chars().skip(n.saturating_sub(32)).collect()
}

fn ok(version: SoapVersion, xml: String) -> Response {
    ([(header::CONTENT_TYPE, version.content_type())], xml).into_response()
}

/// Faults go out with HTTP 500, as PHP's SoapServer answers them.
pub fn fault(version: SoapVersion, f: &Fault) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, version.content_type())],
        write::fault(version, f.code.number(), &f.text()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allow: &[&str], proxies: &[&str]) -> Guard {
        Guard {
            allow: allow.iter().map(|s| s.parse().unwrap()).collect(),
            trusted_proxies: proxies.iter().map(|s| s.parse().unwrap()).collect(),
            in_flight: Arc::new(Semaphore::new(1)),
            body_limit: 1,
            read_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn cnp_is_masked_in_logs_but_for_the_last_three_digits() {
        assert_eq!(mask_cui("1800101221111"), "**********111");
        assert_eq!(mask_cui("18547290"), "18547290");
    }

    #[test]
    fn audit_cui_is_masked_and_bounded() {
        assert_eq!(audit_cui("1750315400014"), "**********014");
        assert_eq!(audit_cui(" 1750315400014 "), "**********014");
        let junk = "9".repeat(5000);
        assert_eq!(audit_cui(&junk), format!("{}999", "*".repeat(29)));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let g = guard(&[], &["10.0.0.1/32"]);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        assert_eq!(
            g.client_ip("10.0.0.1".parse().unwrap(), &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            g.client_ip("10.0.0.2".parse().unwrap(), &h),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn allow_list_matches_networks_and_mapped_ipv4() {
        let g = guard(&["192.0.2.0/24"], &[]);
        assert!(g.allows("192.0.2.77".parse().unwrap()));
        assert!(g.allows("::ffff:192.0.2.77".parse().unwrap()));
        assert!(!g.allows("198.51.100.1".parse().unwrap()));
        assert!(guard(&[], &[]).allows("198.51.100.1".parse().unwrap()));
    }
}
