//! Observability: what /metrics tells an operator after real traffic (Prometheus text).

mod common;

use common::*;

async fn metrics(app: &TestApp) -> String {
    let r = app
        .http
        .get(format!("http://{}/metrics", app.addr))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    r.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_requests_by_operation_outcome_and_fault_code() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let _ = app.get_sume(POPESCU).await;
    let _ = app.get_sume(POPESCU).await;
    let _ = app.get_sume(NECUNOSCUT).await;
    let _ = app.post("<not-soap/>", "text/xml").await;
    let m = metrics(&app).await;
    let get = r#"operation="getSumeDePlataPePersoana""#;
    assert_eq!(
        sample(
            &m,
            &format!(r#"ghiseul_requests_total{{{get},outcome="ok",fault=""}}"#)
        ),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            &format!(r#"ghiseul_requests_total{{{get},outcome="fault",fault="2"}}"#)
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            r#"ghiseul_requests_total{operation="invalid",outcome="fault",fault="1"}"#
        ),
        Some(1.0),
        "{m}"
    );
}

#[tokio::test]
async fn metrics_count_payments_recorded_retried_and_conflicting() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let _ = app.pay("1", POPA, &[("1", "1.00")]).await;
    let _ = app.pay("1", POPA, &[("1", "1.00")]).await;
    let _ = app.pay("1", POPA, &[("1", "2.00")]).await;
    let _ = app.pay("2", POPA, &[("1", "2.00")]).await;
    let m = metrics(&app).await;
    for (result, n) in [("recorded", 2.0), ("retry", 1.0), ("conflict", 1.0)] {
        assert_eq!(
            sample(
                &m,
                &format!(r#"ghiseul_payments_total{{result="{result}"}}"#)
            ),
            Some(n),
            "{m}"
        );
    }
}

#[tokio::test]
async fn metrics_have_latency_histograms_and_pool_use() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let _ = app.get_sume(POPESCU).await;
    let m = metrics(&app).await;
    let op = r#"operation="getSumeDePlataPePersoana""#;
    assert_eq!(
        sample(
            &m,
            &format!("ghiseul_request_duration_seconds_count{{{op}}}")
        ),
        Some(1.0),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            r#"ghiseul_request_duration_seconds_bucket{{le="+Inf",{op}}} 1"#
        )) || m.contains(&format!(
            r#"ghiseul_request_duration_seconds_bucket{{{op},le="+Inf"}} 1"#
        )),
        "{m}"
    );
    assert!(
        sample(&m, "ghiseul_db_pool_connections").unwrap() >= 1.0,
        "{m}"
    );
    assert!(
        sample(&m, "ghiseul_db_pool_idle_connections").is_some(),
        "{m}"
    );
    assert_eq!(sample(&m, "ghiseul_requests_in_flight"), Some(0.0), "{m}");
}
