//! The messages of Annex 1 as plain values, and the exact text each one's check is
//! computed over (interface.md §2). The values are the strings as they appear in the XML
//! (after unescaping): the bytes that are hashed are the bytes that are sent or received.
//! How they are read from and written to XML lives in `protocol`.

use crate::rules::money::Bani;

/// getSumeDePlataPePersoana: "what does this person owe?"
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SumeRequest {
    pub cui: String,
    pub timestamp: String,
    pub check: String,
}

impl SumeRequest {
    /// The check covers the CUI alone.
    pub fn signed_text(&self) -> &str {
        &self.cui
    }
}

/// One paid amount of inregistrareIncasari, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SumaIncasata {
    pub id_tip_suma: String,
    pub valoare: String,
}

/// inregistrareIncasari: "this person paid these amounts".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncasariRequest {
    pub order: String,
    pub cui: String,
    pub sume: Vec<SumaIncasata>,
    pub data: String,
    pub timestamp: String,
    pub check: String,
}

impl IncasariRequest {
    /// `order`, `cui`, `data`, then `idTipSuma` and `valoare` of every item in order.
    pub fn signed_text(&self) -> String {
        self.signed_text_with(|v| v.to_string())
    }

    /// The texts whose check is accepted: the values as received and, for clients that
    /// re-render `xsd:float` amounts, the same amounts with exactly two decimals and in
    /// shortest form. These denote the same amounts, so nothing about integrity is lost.
    pub fn accepted_signed_texts(&self) -> Vec<String> {
        let mut texts = vec![self.signed_text()];
        let all_amounts_read = self
            .sume
            .iter()
            .all(|s| Bani::parse_lei(&s.valoare).is_ok());
        if all_amounts_read && !self.sume.is_empty() {
            let amount = |v: &str| Bani::parse_lei(v).expect("checked above");
            for variant in [
                self.signed_text_with(|v| amount(v).to_string()),
                self.signed_text_with(|v| amount(v).shortest()),
            ] {
                if !texts.contains(&variant) {
                    texts.push(variant);
                }
            }
        }
        texts
    }

    fn signed_text_with(&self, amount: impl Fn(&str) -> String) -> String {
        let mut text = String::with_capacity(64);
        text.push_str(&self.order);
        text.push_str(&self.cui);
        text.push_str(&self.data);
        for s in &self.sume {
            text.push_str(&s.id_tip_suma);
            text.push_str(&amount(&s.valoare));
        }
        text
    }

    /// The amounts as the journal keeps them: `id=valoare` pairs as received, `;`-separated.
    pub fn sume_as_received(&self) -> String {
        self.sume
            .iter()
            .map(|s| format!("{}={}", s.id_tip_suma, s.valoare))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// One tax type of a statement (`TipSuma`), every value already in its written form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TipSuma {
    pub id_tip_suma: String,
    pub valoare: String,
    pub prioritate: String,
    pub detalii_header: Vec<String>,
    pub detalii_body: Vec<Vec<String>>,
}

/// getSumeDePlataPePersoanaResponse (`ListaTipuriSume`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SumeResponse {
    pub sume: Vec<TipSuma>,
    pub data_calcul: String,
    pub timestamp: String,
    pub check: String,
}

impl SumeResponse {
    /// For every TipSuma in order: idTipSuma, valoare, the header strings, then the strings
    /// of every line. `prioritate`, `dataCalcul` and `timestamp` are not covered; an empty
    /// list gives the empty string.
    pub fn signed_text(sume: &[TipSuma]) -> String {
        let mut text = String::new();
        for t in sume {
            text.push_str(&t.id_tip_suma);
            text.push_str(&t.valoare);
            for h in &t.detalii_header {
                text.push_str(h);
            }
            for line in &t.detalii_body {
                for cell in line {
                    text.push_str(cell);
                }
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::check::Signer;

    // Vectors computed with `printf %s TEXT | openssl dgst -sha1 -hmac cheie-secreta-test`.
    const KEY: &[u8] = b"cheie-secreta-test";

    fn payment(v1: &str, v2: &str) -> IncasariRequest {
        IncasariRequest {
            order: "12345".into(),
            cui: "1800101221111".into(),
            sume: vec![
                SumaIncasata {
                    id_tip_suma: "1".into(),
                    valoare: v1.into(),
                },
                SumaIncasata {
                    id_tip_suma: "2".into(),
                    valoare: v2.into(),
                },
            ],
            data: "2010-09-15 08:38:12".into(),
            timestamp: "20100915083812".into(),
            check: String::new(),
        }
    }

    #[test]
    fn sume_request_check_covers_the_cui() {
        let r = SumeRequest {
            cui: "1800101221111".into(),
            timestamp: "20100915083837".into(),
            check: String::new(),
        };
        assert_eq!(
            Signer::new(KEY).sign(r.signed_text()),
            "49220a556b921081bfc82e4eaa83ae5cb37302f0"
        );
    }

    #[test]
    fn incasari_request_check_covers_order_cui_data_then_items() {
        let r = payment("150.00", "157.32");
        assert_eq!(
            r.signed_text(),
            "1234518001012211112010-09-15 08:38:121150.002157.32"
        );
        assert_eq!(
            Signer::new(KEY).sign(&r.signed_text()),
            "075f4fbbfb285cfe15b1e61b9964116f404979ef"
        );
    }

    #[test]
    fn float_rendered_amounts_are_accepted_in_both_forms() {
        // Sent as 150 and 15.5 by a client that re-renders floats; signed over either form.
        let r = payment("150", "15.5");
        let texts = r.accepted_signed_texts();
        let signer = Signer::new(KEY);
        assert!(signer.verify(
            texts.iter().map(String::as_str),
            "f1f25020f3f69d6781bc3488fcb4a48996512163"
        ));
        assert!(signer.verify(
            texts.iter().map(String::as_str),
            "d879cdbb7b7cdecefe194390aed3004bc87fc126"
        ));
        assert_eq!(texts.len(), 2, "raw form equals the shortest form here");
    }

    #[test]
    fn response_check_covers_type_amount_header_and_lines() {
        let sume = vec![TipSuma {
            id_tip_suma: "1".into(),
            valoare: "150.00".into(),
            prioritate: "1".into(),
            detalii_header: ["Proprietate", "Debit", "Rămășiță", "Majorări", "Penalități"]
                .map(String::from)
                .to_vec(),
            detalii_body: vec![
                ["Casă, Str. Lungă nr. 1", "100.00", "50.00", "0.00", "0.00"]
                    .map(String::from)
                    .to_vec(),
            ],
        }];
        assert_eq!(
            Signer::new(KEY).sign(&SumeResponse::signed_text(&sume)),
            "2423be744f34b61e4aa1be6442b25a9148baa743"
        );
    }

    #[test]
    fn empty_statement_check_is_the_check_of_the_empty_string() {
        assert_eq!(SumeResponse::signed_text(&[]), "");
        assert_eq!(
            Signer::new(KEY).sign(""),
            "66e5201c97540f64a38c843ac05e700fbc1bdd08"
        );
    }
}
