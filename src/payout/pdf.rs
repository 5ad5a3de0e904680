//! The daily report as a PDF (A4), written with the `printpdf` crate. The text is set in
//! DejaVu Sans Mono (Debian's fonts-dejavu-core), embedded in the file: it has every
//! Romanian letter (ș ț with the comma below), and a fixed width lets columns line up and
//! amounts align right without measuring text.

use anyhow::Context;
use printpdf::{IndirectFontRef, Mm, PdfDocument, PdfLayerReference};

use super::report::{lei_ro, reason_ro, Daily};

/// Where the font is looked for, first found wins; `GHISEUL_PDF_FONT` names another TTF.
const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
];

const SIZE: f32 = 9.0;
/// The advance of one character of DejaVu Sans Mono: 0.602 em.
const CHAR_MM: f32 = SIZE * 0.602 * 25.4 / 72.0;
const LINE_MM: f32 = 4.6;
const LEFT: f32 = 15.0;
const TOP: f32 = 282.0;
const BOTTOM: f32 = 18.0;
/// Characters in a line: 180 mm of text.
const WIDTH: usize = (180.0 / CHAR_MM) as usize;

fn font_bytes() -> anyhow::Result<Vec<u8>> {
    let custom = std::env::var("GHISEUL_PDF_FONT").ok();
    let paths: Vec<&str> = custom
        .iter()
        .map(String::as_str)
        .chain(FONT_PATHS)
        .collect();
    for p in &paths {
        if let Ok(b) = std::fs::read(p) {
            return Ok(b);
        }
    }
    anyhow::bail!(
        "no font for the PDF: install Debian's fonts-dejavu-core (apt-get install fonts-dejavu-core), or name a monospaced TTF with Romanian letters in GHISEUL_PDF_FONT; tried {}",
        paths.join(", ")
    )
}

/// `text` cut or padded to `n` characters.
fn fit(text: &str, n: usize, right: bool) -> String {
    let mut t: String = text.chars().take(n).collect();
    let pad = n - t.chars().count();
    if right {
        t.insert_str(0, &" ".repeat(pad));
    } else {
        t.push_str(&" ".repeat(pad));
    }
    t
}

struct Writer {
    doc: printpdf::PdfDocumentReference,
    layer: PdfLayerReference,
    font: IndirectFontRef,
    y: f32,
    page: usize,
}

impl Writer {
    fn line(&mut self, text: &str, size: f32) {
        if self.y < BOTTOM {
            self.page += 1;
            let (p, l) = self
                .doc
                .add_page(Mm(210.0), Mm(297.0), format!("Pagina {}", self.page));
            self.layer = self.doc.get_page(p).get_layer(l);
            self.y = TOP;
        }
        self.layer
            .use_text(text, size, Mm(LEFT), Mm(self.y), &self.font);
        self.y -= LINE_MM * size / SIZE;
    }

    fn gap(&mut self) {
        self.y -= LINE_MM / 2.0;
    }
}

/// The PDF bytes of the report.
pub fn render(d: &Daily) -> anyhow::Result<Vec<u8>> {
    let title = format!(
        "Borderou de încasări prin ghiseul.ro din {}",
        d.date.format("%d.%m.%Y")
    );
    let (doc, page, layer) = PdfDocument::new(&title, Mm(210.0), Mm(297.0), "Pagina 1");
    let font = doc
        .add_external_font(std::io::Cursor::new(font_bytes()?))
        .map_err(|e| anyhow::anyhow!("loading the PDF font: {e}"))?;
    let layer = doc.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc,
        layer,
        font,
        y: TOP,
        page: 1,
    };
    let institution = if d.institution.is_empty() {
        "(numele instituției nu este configurat: institutie_nume)"
    } else {
        &d.institution
    };
    w.line(institution, 11.0);
    w.gap();
    w.line(&title, 12.0);
    w.gap();
    // An IBAN has 24 characters; one more keeps it apart from the tax type.
    let (c1, c3, c4) = (25, 9, 16);
    let c2 = WIDTH - c1 - c3 - c4 - 3;
    let row = |a: &str, b: &str, c: &str, e: &str| {
        format!(
            "{} {} {} {}",
            fit(a, c1, false),
            fit(b, c2, false),
            fit(c, c3, true),
            fit(e, c4, true)
        )
    };
    let rule = "─".repeat(WIDTH);
    w.line(
        &row("Cont (IBAN)", "Tip de sumă", "Nr. plăți", "Suma (lei)"),
        SIZE,
    );
    w.line(&rule, SIZE);
    for (iban, count, total) in d.per_iban() {
        for l in d.lines.iter().filter(|l| l.iban == iban) {
            w.line(
                &row(
                    &l.iban,
                    &format!("{} – {}", l.id_tip_suma, l.tax_type),
                    &l.count.to_string(),
                    &lei_ro(l.total),
                ),
                SIZE,
            );
        }
        w.line(
            &row(
                "",
                &format!("Total cont {iban}"),
                &count.to_string(),
                &lei_ro(total),
            ),
            SIZE,
        );
        w.gap();
    }
    if d.lines.is_empty() {
        w.line("Nicio încasare în această zi.", SIZE);
    }
    w.line(&rule, SIZE);
    w.line(
        &row(
            "TOTAL GENERAL",
            &format!("{} ordine de plată", d.payments),
            &d.items.to_string(),
            &lei_ro(d.total),
        ),
        SIZE,
    );
    w.gap();
    w.gap();
    w.line(
        &format!("Excepții ale zilei ({})", d.exceptions.len()),
        10.0,
    );
    if d.exceptions.is_empty() {
        w.line("Nicio excepție.", SIZE);
    }
    for e in &d.exceptions {
        let amount = e
            .amount
            .map(|a| format!(" {} lei", lei_ro(crate::rules::money::Bani(a))))
            .unwrap_or_default();
        let handled = if e.handled.is_some() {
            " (rezolvată)"
        } else {
            ""
        };
        let text = format!(
            "{} cda. {} {}: {}{amount}{handled}",
            e.at.get(11..).unwrap_or(&e.at),
            e.order,
            e.cui,
            reason_ro(&e.reason)
        );
        w.line(&fit(&text, WIDTH, false), SIZE);
    }
    // Room to sign.
    if w.y < BOTTOM + 30.0 {
        w.y = BOTTOM - 1.0;
        w.line("", SIZE);
    }
    w.y -= 15.0;
    let half = WIDTH / 2;
    w.line(
        &format!("{}{}", fit("Întocmit,", half, false), "Verificat,"),
        SIZE,
    );
    w.y -= 12.0;
    w.line(
        &format!(
            "{}{}",
            fit(&"_".repeat(half - 6), half, false),
            "_".repeat(half - 6)
        ),
        SIZE,
    );
    w.line(
        &format!(
            "{}{}",
            fit("nume, semnătură", half, false),
            "nume, semnătură"
        ),
        SIZE,
    );
    let mut out = std::io::BufWriter::new(Vec::new());
    w.doc
        .save(&mut out)
        .map_err(|e| anyhow::anyhow!("writing the PDF: {e}"))?;
    out.into_inner().context("writing the PDF")
}
