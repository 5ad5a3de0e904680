//! The records of Annex 2, how their values are normalised before they are hashed and sent,
//! and the check string of every packet (§1.5 of `shared/notes/annexes-2-5.md`).
//!
//! Only the records are hashed: `idClient`, `userClient`, `utilizator`, `timestamp` and the
//! packet flags never enter a check. Per item, the fields in the order the norm prints
//! them (which is not the schema order), items in sending order, no separators.

use crate::rules::check::Signer;

/// A person (`PersoanaTransfer`) or an authorised natural person (`FirmaTransfer`): the
/// two types have the same five fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Persoana {
    pub cui: String,
    pub nume: String,
    pub adresa: String,
    pub cod: String,
    pub data: String,
}

/// A tax type (`TipSumaTransfer`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TipSuma {
    pub cod: String,
    pub id_nom_unic: String,
    pub nume: String,
    pub iban: String,
    pub debit: String,
    pub val_initiala: String,
    pub inactiv: String,
    pub data: String,
    pub platitor: String,
}

/// A deletion (`StergereTransfer`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stergere {
    pub cod: String,
    pub cod_obiect_sters: String,
    /// `1` a person, `2` an authorised natural person.
    pub fizjur: String,
}

/// The `date` of one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    Persoane(Vec<Persoana>),
    Firme(Vec<Persoana>),
    TipuriSume(Vec<TipSuma>),
    Stergeri(Vec<Stergere>),
}

impl Packet {
    pub fn len(&self) -> usize {
        match self {
            Packet::Persoane(v) | Packet::Firme(v) => v.len(),
            Packet::TipuriSume(v) => v.len(),
            Packet::Stergeri(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text the check covers: for each item, its fields in the printed order.
    pub fn check_text(&self) -> String {
        let mut out = String::with_capacity(self.len() * 96);
        match self {
            Packet::Persoane(v) | Packet::Firme(v) => {
                for p in v {
                    for f in [&p.cod, &p.cui, &p.nume, &p.adresa, &p.data] {
                        out.push_str(f);
                    }
                }
            }
            Packet::TipuriSume(v) => {
                for t in v {
                    for f in [
                        &t.cod,
                        &t.id_nom_unic,
                        &t.nume,
                        &t.iban,
                        &t.debit,
                        &t.val_initiala,
                        &t.inactiv,
                        &t.platitor,
                        &t.data,
                    ] {
                        out.push_str(f);
                    }
                }
            }
            Packet::Stergeri(v) => {
                for s in v {
                    for f in [&s.cod, &s.cod_obiect_sters, &s.fizjur] {
                        out.push_str(f);
                    }
                }
            }
        }
        out
    }

    /// The packet's check under `signer`'s key.
    pub fn check(&self, signer: &Signer) -> String {
        signer.sign(&self.check_text())
    }

    /// The `cod` of every item, in order.
    pub fn codes(&self) -> Vec<&str> {
        match self {
            Packet::Persoane(v) | Packet::Firme(v) => v.iter().map(|p| p.cod.as_str()).collect(),
            Packet::TipuriSume(v) => v.iter().map(|t| t.cod.as_str()).collect(),
            Packet::Stergeri(v) => v.iter().map(|s| s.cod.as_str()).collect(),
        }
    }
}

/// A value as it is hashed and sent (D4). What ghiseul.ro hashes is what its XML parser
/// hands it, and XML turns CR LF and a lone CR into LF and cannot carry most control
/// characters at all; so every value is made to survive the trip first: every run of
/// white space or control characters (CR, LF, tab, …) becomes one space, and the value is
/// trimmed. Names and addresses typed in a tax system with a line break, a double space or
/// a trailing blank then hash the same on both sides.
pub fn normalise(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending_space = false;
    for c in value.chars() {
        if c.is_whitespace() || c.is_control() || is_xml_illegal(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Characters XML 1.0 cannot carry even escaped (beyond the C0 controls, which are
/// `is_control`): U+FFFE and U+FFFF.
fn is_xml_illegal(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"cheie-test";

    fn p(cod: &str, cui: &str, nume: &str, adresa: &str, data: &str) -> Persoana {
        Persoana {
            cui: cui.into(),
            nume: nume.into(),
            adresa: adresa.into(),
            cod: cod.into(),
            data: data.into(),
        }
    }

    fn p1() -> Persoana {
        p(
            "17",
            "1780315123453",
            "Popescu Ion",
            "Str. Lungă nr. 1, Brașov",
            "2010-10-22 16:06:12",
        )
    }

    // Known-answer vectors of §1.5 (key `cheie-test`), computed with
    // `printf %s 'STRING' | openssl dgst -sha1 -hmac cheie-test`.

    #[test]
    fn persons_one_item_p1() {
        let packet = Packet::Persoane(vec![p1()]);
        assert_eq!(
            packet.check_text(),
            "171780315123453Popescu IonStr. Lungă nr. 1, Brașov2010-10-22 16:06:12"
        );
        assert_eq!(
            packet.check(&Signer::new(KEY)),
            "ed6ace1882bb4e0ae68ead317703723bbed67f55"
        );
    }

    #[test]
    fn persons_p1_then_p2() {
        let p2 = p(
            "18",
            "2851120400122",
            "Ionescu Maria",
            "Bd. Unirii nr. 7, București",
            "2011-01-05 09:15:00",
        );
        assert_eq!(
            Packet::Persoane(vec![p1(), p2.clone()]).check(&Signer::new(KEY)),
            "8f3c5194f47c3790ddfc0f17ccd6bbf6fd40c5db"
        );
        // Order matters: the same items the other way round are another packet.
        assert_ne!(
            Packet::Persoane(vec![p2, p1()]).check(&Signer::new(KEY)),
            "8f3c5194f47c3790ddfc0f17ccd6bbf6fd40c5db"
        );
    }

    #[test]
    fn pfa_one_item() {
        let packet = Packet::Firme(vec![p(
            "901",
            "32213716",
            "Pop Vasile PFA",
            "Str. Morii nr. 3, Cluj-Napoca",
            "2011-02-03 10:00:00",
        )]);
        assert_eq!(
            packet.check(&Signer::new(KEY)),
            "358ea7fd774c5025e934fb9dd8d2c064efa31958"
        );
    }

    #[test]
    fn tax_types_two_items_platitor_before_data() {
        let t1 = TipSuma {
            cod: "3".into(),
            id_nom_unic: "".into(),
            nume: "Impozit pe clădiri persoane fizice".into(),
            iban: "RO33TREZ1315069XXX012345".into(),
            debit: "1".into(),
            val_initiala: "".into(),
            inactiv: "0".into(),
            data: "2010-10-22 16:06:12".into(),
            platitor: "1".into(),
        };
        let t2 = TipSuma {
            cod: "12".into(),
            id_nom_unic: "".into(),
            nume: "Taxă certificat fiscal".into(),
            iban: "RO29TREZ1315069XXX054321".into(),
            debit: "0".into(),
            val_initiala: "5.00".into(),
            inactiv: "0".into(),
            data: "2011-01-10 08:00:00".into(),
            platitor: "0".into(),
        };
        let packet = Packet::TipuriSume(vec![t1, t2]);
        assert!(packet
            .check_text()
            .starts_with("3Impozit pe clădiri persoane fiziceRO33TREZ1315069XXX012345101"));
        assert_eq!(
            packet.check(&Signer::new(KEY)),
            "fa413609c698fcfddc2f27c276cd597632e6c0e0"
        );
    }

    #[test]
    fn deletions_two_items() {
        let packet = Packet::Stergeri(vec![
            Stergere {
                cod: "41".into(),
                cod_obiect_sters: "17".into(),
                fizjur: "1".into(),
            },
            Stergere {
                cod: "42".into(),
                cod_obiect_sters: "901".into(),
                fizjur: "2".into(),
            },
        ]);
        assert_eq!(packet.check_text(), "41171429012");
        assert_eq!(
            packet.check(&Signer::new(KEY)),
            "c26f3aa46a6a7d208f170d04da3e9f5edc5ca2b3"
        );
    }

    #[test]
    fn empty_date_hashes_the_empty_string() {
        for packet in [
            Packet::Persoane(vec![]),
            Packet::Firme(vec![]),
            Packet::TipuriSume(vec![]),
            Packet::Stergeri(vec![]),
        ] {
            assert_eq!(
                packet.check(&Signer::new(KEY)),
                "31995607972adf7efdea24ec6732a8c4f4475f1e"
            );
        }
    }

    #[test]
    fn values_are_trimmed_and_line_breaks_and_runs_of_blanks_become_one_space() {
        assert_eq!(
            normalise("  Str. Lungă\r\nnr. 1,\tBrașov \r"),
            "Str. Lungă nr. 1, Brașov"
        );
        assert_eq!(normalise("Pop\rIon"), "Pop Ion");
        assert_eq!(normalise("Pop  \n\n Ion"), "Pop Ion");
        assert_eq!(normalise("a\u{0}b\u{1b}c\u{FFFF}"), "a b c");
        assert_eq!(normalise(" \r\n "), "");
        assert_eq!(normalise("Ștefan Rămășiță"), "Ștefan Rămășiță");
    }

    #[test]
    fn a_normalised_value_survives_an_xml_round_trip_unchanged() {
        // What the server hashes is what its parser hands it: write, read back, compare.
        let value = normalise("Str.\r\nLungă  <1> & \"2\"\u{7}");
        let xml = format!(
            "<a>{}</a>",
            quick_xml::escape::partial_escape(value.as_str())
        );
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut read = String::new();
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Text(t) => read.push_str(&t.unescape().unwrap()),
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(read, value);
    }
}
