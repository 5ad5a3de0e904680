//! The ceiling: the least an HTTP server can do for our load. It answers every request with
//! the same 1.5 KB SOAP body (a typical getSume answer's size), on the same stack the real
//! server uses (axum, tokio multi-threaded). Our throughput is reported as a share of it.
//!
//! Usage: ceiling [ADDR]   (default 127.0.0.1:8090)

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;

/// A typical statement answer: two tax types, two lines, about 1.5 KB.
fn body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let mut items = String::new();
        for (id, line) in [("1", "Clădire, Str. Mihai Eminescu nr. 12"), ("4", "Salubrizare 2025")] {
            items.push_str(&format!(
                "<item><idTipSuma>{id}</idTipSuma><valoare>1133.50</valoare><prioritate>{id}</prioritate>\
                 <detaliiHeader><item>Proprietate</item><item>Debit</item><item>Rămășiță</item><item>Majorări</item><item>Penalități</item></detaliiHeader>\
                 <detaliiBody><item><linie><item>{line}</item><item>1000.00</item><item>100.00</item><item>33.50</item><item>0.00</item></linie></item>\
                 <item><linie><item>{line}</item><item>0.00</item><item>0.00</item><item>0.00</item><item>0.00</item></linie></item></detaliiBody></item>"
            ));
        }
        let mut b = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><ns1:getSumeDePlataPePersoanaResponse xmlns:ns1="http://127.0.0.1:8080/soap"><getSumeDePlataPePersoanaResult><sume>{items}</sume><dataCalcul>20260115</dataCalcul><timestamp>20260115100000</timestamp><check>0123456789abcdef0123456789abcdef01234567</check></getSumeDePlataPePersoanaResult></ns1:getSumeDePlataPePersoanaResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"#
        );
        // Pad with whitespace (allowed between elements) to at least 1,536 bytes.
        while b.len() < 1536 {
            b.insert(b.len() - "</SOAP-ENV:Envelope>".len(), ' ');
        }
        b
    })
}

async fn answer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    assert!(
        body().len() >= 1400,
        "the ceiling body is {} bytes",
        body().len()
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "ceiling: {} bytes on every answer, listening on {addr}",
        body().len()
    );
    axum::serve(listener, Router::new().fallback(answer)).await
}
