//! HTTP: the SOAP endpoint, the WSDL and the health check. Turns SOAP envelopes into
//! service calls and errors into faults; decides nothing about the rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::fault::Fault;
use crate::protocol::read::{self, Request};
use crate::protocol::{envelope, write, Limits, SoapVersion};
use crate::service::{self, Service};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub wsdl: Arc<str>,
    pub namespace: Arc<str>,
    pub limits: Limits,
    /// Longest a request may wait on the database before the answer is fault 3.
    pub db_timeout: Duration,
}

pub fn router(state: AppState, soap_path: &str, body_limit: usize) -> Router {
    Router::new()
        .route(soap_path, get(wsdl).post(soap))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn wsdl(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match query {
        Some(q) if q.eq_ignore_ascii_case("wsdl") => (
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            state.wsdl.to_string(),
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

async fn health(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(state.db_timeout, state.service.store().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unusable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timeout\n").into_response(),
    }
}

async fn soap(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let hint = SoapVersion::from_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let envelope = match envelope::parse(&body, state.limits) {
        Ok(e) => e,
        Err(e) => {
            tracing::info!(reason = %e.reason, "refused: not a valid SOAP request");
            return fault(e.version.unwrap_or(hint), &Fault::from(e));
        }
    };
    let version = envelope.version;
    let request = match read::request(&envelope.operation) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(operation = %envelope.operation.name, reason = %e, "refused: invalid message");
            return fault(version, &Fault::from(e));
        }
    };
    let timeout = state.db_timeout;
    match request {
        Request::Sume(r) => {
            let result = within(timeout, state.service.sume_de_plata(&r)).await;
            log("getSumeDePlataPePersoana", &r.cui, &result, started);
            match result {
                Ok(resp) => ok(
                    version,
                    write::sume_response(version, &state.namespace, &resp),
                ),
                Err(e) => fault(version, &Fault::from(&e)),
            }
        }
        Request::Incasari(r) => {
            let result = within(timeout, state.service.inregistrare_incasari(&r)).await;
            log("inregistrareIncasari", &r.cui, &result, started);
            match result {
                Ok(answer) => ok(
                    version,
                    write::incasari_response(version, &state.namespace, answer),
                ),
                Err(e) => fault(version, &Fault::from(&e)),
            }
        }
    }
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

fn log<T>(operation: &str, cui: &str, result: &Result<T, service::Error>, started: Instant) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let cui = mask_cui(cui);
    match result {
        Ok(_) => tracing::info!(operation, cui = %cui, ms, "answered"),
        Err(service::Error::Store(e)) => {
            tracing::error!(operation, cui = %cui, ms, error = %e, "fault 3: database error")
        }
        Err(e) => {
            let f = Fault::from(e);
            tracing::info!(operation, cui = %cui, ms, fault = f.code.number(), reason = %f.text(), "fault")
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

fn ok(version: SoapVersion, xml: String) -> Response {
    ([(header::CONTENT_TYPE, version.content_type())], xml).into_response()
}

/// Faults go out with HTTP 500, as PHP's SoapServer answers them.
fn fault(version: SoapVersion, f: &Fault) -> Response {
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

    #[test]
    fn cnp_is_masked_in_logs_but_for_the_last_three_digits() {
        assert_eq!(mask_cui("1800101221111"), "**********111");
        assert_eq!(mask_cui("18547290"), "18547290");
    }
}
