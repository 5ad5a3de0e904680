//! The console's pages: plain HTML in Romanian, one stylesheet inline, no script.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration as Days, NaiveDate};
use serde::Deserialize;

use super::{forbidden, html_response, security_headers, to_login, Console, User};
use crate::payout::report::{self, lei_ro, reason_ro};
use crate::rules::clock;
use crate::rules::money::Bani;
use crate::store::payout as sql;

pub use crate::payout::report::esc;

const CSS: &str = "\
*{box-sizing:border-box} body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0;color:#111;background:#f6f6f4;font-size:15px}
header{background:#12395b;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:1rem}
header .inst{font-weight:bold} header nav a{color:#fff;margin-right:.9rem} header form{margin-left:auto}
main{max-width:1300px;margin:0 auto;padding:1rem} h1{font-size:1.35rem;margin:.3rem 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1rem} th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}
.n{text-align:right;white-space:nowrap} .eroare{color:#a00;font-weight:bold} .ok{color:#060;font-weight:bold}
.carduri{display:flex;flex-wrap:wrap;gap:1rem;margin-bottom:1rem} .card{background:#fff;border:1px solid #bbb;padding:.7rem 1rem;min-width:14rem}
.card b{display:block;font-size:1.3rem} form.cautare{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;font-size:.9rem} input,textarea,button{font:inherit;padding:.3rem}
button{cursor:pointer} a{color:#0b4f8a} a:focus,button:focus,input:focus{outline:3px solid #f0b400}
pre{white-space:pre-wrap;background:#fff;border:1px solid #bbb;padding:.5rem}
";

pub fn bare(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ro\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} – ghiseul-connector</title><style>{CSS}</style></head>\
         <body><main>{body}</main></body></html>\n",
        t = esc(title)
    )
}

fn page(c: &Console, u: &User, title: &str, body: &str) -> Response {
    let inst = if c.institution.is_empty() {
        "ghiseul-connector".to_string()
    } else {
        esc(&c.institution)
    };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"ro\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} – ghiseul-connector</title><style>{CSS}</style></head><body>\
         <header><span class=\"inst\">{inst}</span><nav aria-label=\"Meniu\">\
         <a href=\"{a}/\">Astăzi</a><a href=\"{a}/plati\">Plăți</a>\
         <a href=\"{a}/exceptii\">Excepții</a><a href=\"{a}/persoana\">Situația unei persoane</a>\
         <a href=\"{a}/raport\">Raport zilnic</a><a href=\"{a}/grafic\">Grafic</a>\
         <a href=\"{a}/activitate\">Activitate</a></nav>\
         <form method=\"post\" action=\"{a}/iesire\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         {user} <button type=\"submit\">Ieșire</button></form></header>\
         <main><h1>{t}</h1>{body}</main></body></html>\n",
        t = esc(title),
        csrf = esc(&u.csrf),
        user = esc(&u.name),
        a = c.base,
    );
    html_response(StatusCode::OK, html)
}

/// `/admin/` when one server serves several institutions: each institution's name and a
/// link to its own console (its own users; logging in to one is not logging in to another).
pub fn institutions(list: &[(String, String)]) -> String {
    let mut items = String::new();
    for (name, href) in list {
        let _ = write!(
            items,
            "<li><a href=\"{}\">{}</a></li>",
            esc(href),
            esc(name)
        );
    }
    bare(
        "Instituții",
        &format!(
            "<h1>Consola ghiseul-connector</h1>\
             <p>Acest server deservește mai multe instituții. Alegeți consola instituției \
             (fiecare are utilizatorii ei):</p><ul id=\"institutii\">{items}</ul>"
        ),
    )
}

pub fn login(c: &Console, pre: &str, error: Option<&str>) -> String {
    let err = error
        .map(|e| {
            format!(
                "<p class=\"eroare\" role=\"alert\" id=\"eroare\">{}</p>",
                esc(e)
            )
        })
        .unwrap_or_default();
    bare(
        "Autentificare",
        &format!(
            "<h1>Consola ghiseul-connector</h1>{err}\
             <form method=\"post\" action=\"{a}/autentificare\" id=\"autentificare\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{pre}\">\
             <p><label>Utilizator <input name=\"utilizator\" id=\"utilizator\" autocomplete=\"username\" required></label></p>\
             <p><label>Parolă <input name=\"parola\" id=\"parola\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
             <p><button type=\"submit\">Intră</button></p></form>",
            a = c.base
        ),
    )
}

fn lei(b: i64) -> String {
    format!("{} lei", lei_ro(Bani(b)))
}

/// A local date-time 'YYYY-MM-DD HH:MM:SS' the Romanian way.
fn when(t: &str) -> String {
    match chrono::NaiveDateTime::parse_from_str(t.get(..19).unwrap_or(t), "%Y-%m-%d %H:%M:%S") {
        Ok(d) => d.format("%d.%m.%Y %H:%M:%S").to_string(),
        Err(_) => t.to_string(),
    }
}

fn err500(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console: database error");
    html_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        bare(
            "Eroare",
            "<p class=\"eroare\">Baza de date nu răspunde. Încercați din nou peste un minut; dacă problema persistă, anunțați administratorul.</p>",
        ),
    )
}

macro_rules! user_or_login {
    ($c:expr, $h:expr) => {
        match $c.user(&$h) {
            Some(u) => u,
            None => return to_login(&$c),
        }
    };
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return err500(e),
        }
    };
}

fn local_today() -> NaiveDate {
    clock::now().date_naive()
}

pub async fn today_page(c: &Console, u: &User) -> Response {
    let d = local_today();
    let (n_day, s_day) = tri!(sql::payments_since(&c.store, &format!("{d} 00:00:00")).await);
    let month = d.format("%Y-%m-01 00:00:00").to_string();
    let (n_month, s_month) = tri!(sql::payments_since(&c.store, &month).await);
    let last = tri!(sql::last_request(&c.store).await);
    let last_text = match last.as_deref().and_then(|a| {
        chrono::NaiveDateTime::parse_from_str(a.get(..19).unwrap_or(a), "%Y-%m-%d %H:%M:%S").ok()
    }) {
        Some(t) => {
            let local = t.and_utc().with_timezone(&chrono_tz::Europe::Bucharest);
            let mins = (chrono::Utc::now().naive_utc() - t).num_minutes().max(0);
            let ago = if mins < 60 {
                format!("acum {mins} min")
            } else {
                format!("acum {} h {} min", mins / 60, mins % 60)
            };
            format!("{} ({ago})", local.format("%d.%m.%Y %H:%M"))
        }
        None => "niciodată".into(),
    };
    let since = (chrono::Utc::now() - Days::hours(24))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let faults = tri!(sql::faults_since(&c.store, &since).await);
    let open = tri!(sql::open_exceptions(&c.store).await);
    let db = match c.store.ping().await {
        Ok(()) => "<span class=\"ok\">răspunde</span>".to_string(),
        Err(_) => "<span class=\"eroare\">nu răspunde</span>".to_string(),
    };
    let body = format!(
        "<div class=\"carduri\">\
         <div class=\"card\">Plăți astăzi<b id=\"azi\">{n_day} · {}</b></div>\
         <div class=\"card\">Plăți luna aceasta<b>{n_month} · {}</b></div>\
         <div class=\"card\">Ultima cerere ghiseul.ro<b>{}</b></div>\
         <div class=\"card\">Erori (fault) în ultimele 24 h<b>{faults}</b></div>\
         <div class=\"card\">Excepții nerezolvate<b><a href=\"{a}/exceptii\">{open}</a></b></div>\
         <div class=\"card\">Baza de date<b>{db}</b></div></div>\
         <h2>Plăți pe zi, ultimele 90 de zile</h2><img src=\"{a}/grafic.svg\" alt=\"Graficul plăților pe zi\" width=\"900\" height=\"260\">",
        lei(s_day),
        lei(s_month),
        esc(&last_text),
        a = c.base,
    );
    page(c, u, "Astăzi", &body)
}

pub async fn today(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let u = user_or_login!(c, headers);
    today_page(&c, &u).await
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    comanda: String,
    #[serde(default)]
    cui: String,
    #[serde(default)]
    de_la: String,
    #[serde(default)]
    pana_la: String,
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}

pub async fn payments(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    let u = user_or_login!(c, headers);
    let mut errors = Vec::new();
    let order_no = match q.comanda.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errors.push("Numărul comenzii trebuie să fie un număr întreg pozitiv.");
                None
            }
        },
    };
    let day = |s: &str, what: &'static str, errors: &mut Vec<&'static str>| match s.trim() {
        "" => None,
        s => match parse_day(s) {
            Some(d) => Some(d),
            None => {
                errors.push(what);
                None
            }
        },
    };
    let from = day(
        &q.de_la,
        "Data „de la” trebuie scrisă zz.ll.aaaa.",
        &mut errors,
    );
    let to = day(
        &q.pana_la,
        "Data „până la” trebuie scrisă zz.ll.aaaa.",
        &mut errors,
    );
    let cui = q
        .cui
        .trim()
        .trim_start_matches("RO")
        .trim_start_matches("ro")
        .to_string();
    let search = sql::Search {
        order_no,
        cui: Some(cui.clone()).filter(|c| !c.is_empty()),
        from: from.map(|d| format!("{d} 00:00:00")),
        before: to
            .and_then(|d| d.succ_opt())
            .map(|d| format!("{d} 00:00:00")),
    };
    let mut body = format!(
        "<form class=\"cautare\" method=\"get\" action=\"{a}/plati\">\
         <label>Nr. comandă <input name=\"comanda\" value=\"{}\" inputmode=\"numeric\"></label>\
         <label>CNP/CUI <input name=\"cui\" value=\"{}\"></label>\
         <label>De la (zz.ll.aaaa) <input name=\"de_la\" value=\"{}\"></label>\
         <label>Până la <input name=\"pana_la\" value=\"{}\"></label>\
         <button type=\"submit\">Caută</button></form>",
        esc(&q.comanda),
        esc(&q.cui),
        esc(&q.de_la),
        esc(&q.pana_la),
        a = c.base,
    );
    for e in &errors {
        let _ = write!(body, "<p class=\"eroare\">{}</p>", esc(e));
    }
    if errors.is_empty() {
        let rows = tri!(sql::search(&c.store, &search).await);
        let total: i64 = rows.iter().map(|r| r.total).sum();
        let _ = write!(
            body,
            "<p id=\"rezultate\">{} plăți, în total {}{}</p>",
            rows.len(),
            lei(total),
            if rows.len() == 200 {
                " (primele 200; restrângeți căutarea)"
            } else {
                ""
            }
        );
        if !rows.is_empty() {
            body.push_str(
                "<table><thead><tr><th>Primită</th><th>Comandă</th><th>CNP/CUI</th><th>Nume</th>\
                 <th class=\"n\">Suma</th></tr></thead><tbody>",
            );
            for r in &rows {
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td><a href=\"{a}/plati/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                    when(&r.recorded_at),
                    r.id,
                    r.order_no,
                    esc(&r.cui),
                    esc(&r.nume),
                    lei(r.total),
                    a = c.base,
                );
            }
            body.push_str("</tbody></table>");
        }
    }
    page(&c, &u, "Plăți", &body)
}

fn component_ro(c: &str) -> &'static str {
    match c {
        "debit" => "debit",
        "ramasita" => "rămășiță",
        "majorari" => "majorări",
        "penalitati" => "penalități",
        "credit" => "credit (peste debit)",
        _ => "?",
    }
}

pub async fn payment(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let u = user_or_login!(c, headers);
    let Some(d) = tri!(sql::payment_detail(&c.store, id).await) else {
        return html_response(
            StatusCode::NOT_FOUND,
            bare(
                "Negăsit",
                &format!(
                    "<p>Plata nu există.</p><p><a href=\"{a}/plati\">Înapoi</a></p>",
                    a = c.base
                ),
            ),
        );
    };
    let p = &d.payment;
    let mut body = format!(
        "<table><tbody><tr><th>Comandă ghiseul.ro</th><td id=\"comanda\">{}</td></tr>\
         <tr><th>CNP/CUI</th><td><a href=\"{a}/persoana?cui={}\">{}</a></td></tr><tr><th>Nume</th><td>{}</td></tr>\
         <tr><th>Data plății (trimisă de ghiseul.ro)</th><td>{}</td></tr><tr><th>Primită</th><td>{}</td></tr>\
         <tr><th>Total</th><td>{}</td></tr></tbody></table>\
         <h2>Sume plătite</h2><table><thead><tr><th>Tip de sumă</th><th>Cont (IBAN)</th><th class=\"n\">Suma</th></tr></thead><tbody>",
        p.order_no,
        esc(&p.cui),
        esc(&p.cui),
        esc(&p.nume),
        when(&p.data),
        when(&p.recorded_at),
        lei(p.total),
        a = c.base,
    );
    for (id, name, iban, v) in &d.items {
        let _ = write!(
            body,
            "<tr><td>{id} – {}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(name),
            esc(iban),
            lei(*v)
        );
    }
    body.push_str("</tbody></table><h2>Cum a fost repartizată</h2><table><thead><tr><th>Tip</th><th>Debit (id în sistemul fiscal)</th><th>Descriere</th><th>Scadență</th><th>Componentă</th><th class=\"n\">Suma</th></tr></thead><tbody>");
    for a in &d.applied {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            a.id_tip_suma,
            esc(a.id_debit.as_deref().unwrap_or("–")),
            esc(&a.descriere),
            esc(&a.scadenta),
            component_ro(&a.component),
            lei(a.amount)
        );
    }
    body.push_str("</tbody></table><h2>Cererea din jurnal, exact cum a sosit</h2><pre>");
    for (k, v) in &d.journal {
        let _ = writeln!(body, "{k}: {}", esc(v));
    }
    body.push_str("</pre>");
    page(&c, &u, &format!("Plata comenzii {}", p.order_no), &body)
}

pub async fn exceptions(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let u = user_or_login!(c, headers);
    exceptions_page(&c, &u, None).await
}

async fn exceptions_page(c: &Console, u: &User, note: Option<&str>) -> Response {
    let open = tri!(sql::exceptions(&c.store, "0000", "9999", true).await);
    let mut body = note
        .map(|n| format!("<p class=\"ok\" role=\"status\">{}</p>", esc(n)))
        .unwrap_or_default();
    let _ = write!(
        body,
        "<p>Plăți jurnalizate dar neînregistrate (ordin duplicat cu alt conținut, tip de sumă sau persoană necunoscută, mesaj invalid) și sume plătite peste debit. Nerezolvate: <b id=\"nr-exceptii\">{}</b>.</p>",
        open.len()
    );
    if !open.is_empty() {
        body.push_str("<table><thead><tr><th>Primită</th><th>Comandă</th><th>CNP/CUI</th><th>Situația</th><th class=\"n\">Suma</th><th>Rezolvare</th></tr></thead><tbody>");
        for e in &open {
            let _ = write!(
                body,
                "<tr id=\"exceptie-{kind}-{id}\"><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td class=\"n\">{}</td>\
                 <td><form method=\"post\" action=\"{a}/exceptii/rezolva\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"tip\" value=\"{kind}\">\
                 <input type=\"hidden\" name=\"id\" value=\"{id}\">\
                 <label>Notă <input name=\"nota\" required maxlength=\"500\"></label> <button type=\"submit\">Marchează rezolvată</button></form></td></tr>",
                when(&e.at),
                esc(&e.order),
                esc(&e.cui),
                reason_ro(&e.reason),
                if e.detail.is_empty() { String::new() } else { format!("<br><small>{}</small>", esc(&e.detail)) },
                e.amount.map(lei).unwrap_or_default(),
                kind = esc(&e.kind),
                id = e.ref_id,
                csrf = esc(&u.csrf),
                a = c.base,
            );
        }
        body.push_str("</tbody></table>");
    }
    page(c, u, "Excepții de rezolvat", &body)
}

#[derive(Deserialize)]
pub struct HandleForm {
    #[serde(default)]
    csrf: String,
    tip: String,
    id: i64,
    #[serde(default)]
    nota: String,
}

pub async fn handle_exception(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<HandleForm>,
) -> Response {
    let Some(u) = c.user_for_form(&headers, &f.csrf) else {
        return forbidden(&c, "Cerere refuzată: lipsește tokenul CSRF al sesiunii (formular falsificat sau sesiune expirată).");
    };
    if f.tip != "journal" && f.tip != "credit" {
        return forbidden(&c, "Tip de excepție necunoscut.");
    }
    let note = f.nota.trim();
    if note.is_empty() {
        return exceptions_page(&c, &u, Some("Scrieți o notă despre cum a fost rezolvată.")).await;
    }
    let done = tri!(sql::mark_handled(&c.store, &f.tip, f.id, &u.name, note).await);
    let _ = done;
    Redirect::to(&c.at("/exceptii")).into_response()
}

#[derive(Deserialize, Default)]
pub struct PersonQuery {
    #[serde(default)]
    cui: String,
}

pub async fn person(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<PersonQuery>,
) -> Response {
    let u = user_or_login!(c, headers);
    let mut body = format!(
        "<form class=\"cautare\" method=\"get\" action=\"{a}/persoana\"><label>CNP/CUI <input name=\"cui\" value=\"{}\" required></label><button type=\"submit\">Arată situația</button></form>",
        esc(&q.cui),
        a = c.base,
    );
    let raw = q.cui.trim();
    if !raw.is_empty() {
        match crate::rules::ident::Cui::parse(raw) {
            Err(e) => {
                let _ = write!(body, "<p class=\"eroare\">CNP/CUI invalid: {}</p>", esc(&e.to_string()));
            }
            Ok(cui) => match tri!(c.store.statement(cui.as_str()).await) {
                None => body.push_str("<p class=\"eroare\">Persoana nu este în registru (ghiseul.ro primește eroarea 2).</p>"),
                Some(rows) => {
                    let sume = crate::service::statement(&rows);
                    let _ = write!(body, "<p>Ce vede ghiseul.ro acum pentru {}:</p>", esc(cui.as_str()));
                    if sume.is_empty() {
                        body.push_str("<p>Nu datorează nimic.</p>");
                    }
                    for t in &sume {
                        let _ = write!(
                            body,
                            "<h2>Tip de sumă {} – de plată {}</h2><table><thead><tr>",
                            esc(&t.id_tip_suma),
                            Bani::parse_lei(&t.valoare).map(|b| lei(b.0)).unwrap_or_else(|_| esc(&t.valoare))
                        );
                        for h in &t.detalii_header {
                            let _ = write!(body, "<th>{}</th>", esc(h));
                        }
                        body.push_str("</tr></thead><tbody>");
                        for line in &t.detalii_body {
                            body.push_str("<tr>");
                            for (i, v) in line.iter().enumerate() {
                                if i == 0 {
                                    let _ = write!(body, "<td>{}</td>", esc(v));
                                } else {
                                    let _ = write!(
                                        body,
                                        "<td class=\"n\">{}</td>",
                                        Bani::parse_lei(v).map(lei_ro).unwrap_or_else(|_| esc(v))
                                    );
                                }
                            }
                            body.push_str("</tr>");
                        }
                        body.push_str("</tbody></table>");
                    }
                    let _ = write!(body, "<p><a href=\"{a}/plati?cui={}\">Plățile acestei persoane</a></p>", esc(cui.as_str()), a = c.base);
                }
            },
        }
    }
    page(&c, &u, "Situația unei persoane", &body)
}

#[derive(Deserialize, Default)]
pub struct DayQuery {
    #[serde(default)]
    data: String,
}

fn day_of(q: &DayQuery) -> Result<NaiveDate, &'static str> {
    if q.data.trim().is_empty() {
        return Ok(local_today());
    }
    parse_day(&q.data).ok_or("Data trebuie scrisă zz.ll.aaaa.")
}

pub async fn report(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Response {
    let u = user_or_login!(c, headers);
    let mut body = format!(
        "<form class=\"cautare\" method=\"get\" action=\"{a}/raport\"><label>Ziua (zz.ll.aaaa) <input name=\"data\" value=\"{}\"></label><button type=\"submit\">Arată</button></form>",
        esc(&q.data),
        a = c.base,
    );
    match day_of(&q) {
        Err(e) => {
            let _ = write!(body, "<p class=\"eroare\">{e}</p>");
        }
        Ok(d) => {
            let r = tri!(report::daily(&c.store, d, &c.institution).await);
            let _ = write!(
                body,
                "<p>Ziua {}: <a href=\"{a}/raport.csv?data={d}\">descarcă CSV</a> · <a href=\"{a}/raport.pdf?data={d}\">descarcă PDF</a> · <a href=\"{a}/raport.html?data={d}\">versiunea de tipărit (A4)</a></p>{}",
                d.format("%d.%m.%Y"),
                report::html_body(&r),
                a = c.base,
            );
        }
    }
    page(&c, &u, "Raport zilnic (borderou)", &body)
}

fn download(body: String, content_type: &'static str, name: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    security_headers(h);
    r
}

pub async fn report_csv(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Response {
    let _u = user_or_login!(c, headers);
    let Ok(d) = day_of(&q) else {
        return (StatusCode::BAD_REQUEST, "data: zz.ll.aaaa").into_response();
    };
    let r = tri!(report::daily(&c.store, d, &c.institution).await);
    let csv = tri!(report::csv(&r));
    download(csv, "text/csv; charset=utf-8", format!("borderou-{d}.csv"))
}

pub async fn report_print(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Response {
    let _u = user_or_login!(c, headers);
    let Ok(d) = day_of(&q) else {
        return (StatusCode::BAD_REQUEST, "data: zz.ll.aaaa").into_response();
    };
    let r = tri!(report::daily(&c.store, d, &c.institution).await);
    html_response(StatusCode::OK, report::html(&r))
}

pub async fn report_pdf(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Response {
    let _u = user_or_login!(c, headers);
    let Ok(d) = day_of(&q) else {
        return (StatusCode::BAD_REQUEST, "data: zz.ll.aaaa").into_response();
    };
    let r = tri!(report::daily(&c.store, d, &c.institution).await);
    let pdf = tri!(crate::payout::pdf::render(&r));
    let mut resp = pdf.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"borderou-{d}.pdf\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    security_headers(h);
    resp
}

pub async fn chart_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let u = user_or_login!(c, headers);
    let svg = tri!(chart(&c).await);
    page(&c, &u, "Plăți pe zi, ultimele 90 de zile", &svg)
}

pub async fn chart_svg(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let _u = user_or_login!(c, headers);
    let svg = tri!(chart(&c).await);
    let mut r = svg.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    security_headers(r.headers_mut());
    r
}

/// A bar a day for the last 90 days, the sum paid, drawn here: no script, no library.
async fn chart(c: &Console) -> Result<String, crate::store::Error> {
    let end = local_today();
    let start = end - Days::days(89);
    let rows = sql::per_day(&c.store, &format!("{start} 00:00:00")).await?;
    let by_day: std::collections::HashMap<String, (i64, i64)> =
        rows.into_iter().map(|(d, n, s)| (d, (n, s))).collect();
    let max = by_day.values().map(|v| v.1).max().unwrap_or(0).max(100);
    let (w, h, left, bottom, top) = (900.0_f64, 260.0_f64, 70.0_f64, 30.0_f64, 10.0_f64);
    let bar = (w - left - 10.0) / 90.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"grafic\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\
         <title>Suma plătită pe zi, {} – {}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>",
        start.format("%d.%m.%Y"),
        end.format("%d.%m.%Y")
    );
    let plot_h = h - bottom - top;
    for i in 0..=4 {
        let v = max * i / 4;
        let y = top + plot_h - plot_h * (i as f64) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - 10.0,
            left - 4.0,
            y + 4.0,
            esc(&lei_ro(Bani(v / 100 * 100)).replace(",00", ""))
        );
    }
    for i in 0..90 {
        let d = start + Days::days(i);
        let (n, sum) = by_day.get(&d.to_string()).copied().unwrap_or((0, 0));
        let bh = plot_h * (sum as f64) / (max as f64);
        let x = left + bar * i as f64;
        let _ = write!(
            s,
            "<rect class=\"zi\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#2a6ca6\"><title>{}: {n} plăți, {}</title></rect>",
            x + 1.0,
            top + plot_h - bh,
            (bar - 2.0).max(1.0),
            d.format("%d.%m.%Y"),
            esc(&lei(sum))
        );
        if i % 15 == 0 || i == 89 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0,
                h - 10.0,
                d.format("%d.%m")
            );
        }
    }
    s.push_str("</svg>");
    Ok(s)
}

/// What an action of the admin audit is called in Romanian.
fn action_ro(a: &str) -> &str {
    match a {
        "export payments" => "export plăți",
        "exception handled" => "excepție rezolvată",
        "console login" => "autentificare",
        "console login refused" => "autentificare refuzată",
        "console login throttled" => "autentificare blocată (prea multe încercări)",
        "user add" => "utilizator adăugat",
        other => other,
    }
}

/// The last 200 actions of people: exports, exceptions handled, logins.
pub async fn activity(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let u = user_or_login!(c, headers);
    let rows = tri!(sql::audit_rows(&c.store, 200).await);
    let mut body = String::from(
        "<p>Exporturile, excepțiile rezolvate și autentificările, cele mai noi primele (ora României).</p>\
         <table><thead><tr><th>Când</th><th>Cine</th><th>Ce</th><th>Detalii</th></tr></thead><tbody>",
    );
    for r in &rows {
        let local = chrono::NaiveDateTime::parse_from_str(&r.at, "%Y-%m-%d %H:%M:%S")
            .map(|t| {
                t.and_utc()
                    .with_timezone(&chrono_tz::Europe::Bucharest)
                    .format("%d.%m.%Y %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|_| r.at.clone());
        let _ = write!(
            body,
            "<tr><td>{local}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.actor),
            esc(action_ro(&r.action)),
            esc(&r.detail)
        );
    }
    body.push_str("</tbody></table>");
    page(&c, &u, "Activitate", &body)
}
