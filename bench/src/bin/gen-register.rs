//! Writes a synthetic city register with a seed, in the CSV layouts that
//! `ghiseul-connector import` reads (README, "CSV files"):
//!
//!   tax_types.csv  8 tax types of a city hall, 5 of them prioritised
//!   persons.csv    N taxpayers: 5% firms (valid CIFs), the rest people (valid CNPs)
//!   debts.csv      about 3 rows per taxpayer: most have 0–5, a few hundred per million 50+
//!   owed.tsv       what each taxpayer owes per tax type, for the request maker
//!
//! Usage: gen-register --taxpayers N --seed S --out DIR

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use ghiseul_bench::*;

struct TaxType {
    id: u32,
    name: &'static str,
    priority: u32,
    /// Who is taxed: people, firms or both.
    people: bool,
    firms: bool,
    /// Typical principal per row, in lei.
    max_lei: u64,
}

const TAX_TYPES: &[TaxType] = &[
    TaxType {
        id: 1,
        name: "Impozit pe clădiri persoane fizice",
        priority: 1,
        people: true,
        firms: false,
        max_lei: 1500,
    },
    TaxType {
        id: 2,
        name: "Impozit pe teren",
        priority: 2,
        people: true,
        firms: true,
        max_lei: 600,
    },
    TaxType {
        id: 3,
        name: "Impozit pe mijloacele de transport",
        priority: 3,
        people: true,
        firms: true,
        max_lei: 900,
    },
    TaxType {
        id: 4,
        name: "Taxa de salubrizare",
        priority: 4,
        people: true,
        firms: true,
        max_lei: 250,
    },
    TaxType {
        id: 5,
        name: "Impozit pe clădiri persoane juridice",
        priority: 5,
        people: false,
        firms: true,
        max_lei: 25000,
    },
    TaxType {
        id: 6,
        name: "Taxa pentru eliberarea certificatului de urbanism",
        priority: 0,
        people: true,
        firms: true,
        max_lei: 300,
    },
    TaxType {
        id: 7,
        name: "Amenzi contravenționale",
        priority: 0,
        people: true,
        firms: true,
        max_lei: 2500,
    },
    TaxType {
        id: 8,
        name: "Taxa pentru folosirea locurilor publice",
        priority: 0,
        people: false,
        firms: true,
        max_lei: 4000,
    },
];

fn main() -> std::io::Result<()> {
    let mut taxpayers: u64 = 1_000_000;
    let mut seed: u64 = 42;
    let mut out = PathBuf::from("register");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--taxpayers" => taxpayers = v.parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = v.parse().unwrap_or_else(|_| usage()),
            "--out" => out = v.into(),
            _ => usage(),
        }
    }
    std::fs::create_dir_all(&out)?;
    let mut rng = Rng::new(seed);

    let mut w = BufWriter::new(File::create(out.join("tax_types.csv"))?);
    writeln!(w, "id_tip_suma,nume,prioritate,iban")?;
    for t in TAX_TYPES {
        // A treasury account: TREZ and 16 digits (a Romanian IBAN has 24 characters).
        let bban = format!("TREZ406{:02}{:011}", t.id, 4_267_117u64 + u64::from(t.id));
        writeln!(
            w,
            "{},{},{},{}",
            t.id,
            csv_field(t.name),
            t.priority,
            iban(&bban)
        )?;
    }
    w.flush()?;

    let mut persons = BufWriter::with_capacity(1 << 20, File::create(out.join("persons.csv"))?);
    writeln!(persons, "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa")?;
    let mut debts = BufWriter::with_capacity(1 << 20, File::create(out.join("debts.csv"))?);
    writeln!(
        debts,
        "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta,id_debit"
    )?;
    let mut owed_out = BufWriter::with_capacity(1 << 20, File::create(out.join("owed.tsv"))?);

    // A few hundred per million owe 50+ rows (old arrears, many cars and plots).
    let heavy_every = (1_000_000 / 300).min(taxpayers.max(1));
    let firm_bodies_start = 1_000_000 + rng.below(1_000_000);
    let mut seen = HashSet::with_capacity(taxpayers as usize);
    let (mut n_firms, mut n_debts) = (0u64, 0u64);
    for i in 0..taxpayers {
        let firm = i % 20 == 7; // 5%
        let cui = if firm {
            n_firms += 1;
            cif(firm_bodies_start + i) // distinct bodies, so distinct CIFs
        } else {
            loop {
                let c = cnp(&mut rng);
                if seen.insert(c.clone()) {
                    break c;
                }
            }
        };
        let name = if firm {
            format!("SC {} {} SRL", rng.pick(SURNAMES), rng.pick(ACTIVITIES))
        } else {
            format!("{} {}", rng.pick(SURNAMES), rng.pick(FIRST_NAMES))
        };
        let street = rng.pick(STREETS);
        let number = rng.range(1, 180);
        let address = format!("{street} nr. {number}, Iași, jud. Iași");
        writeln!(
            persons,
            "{},{},{},{}",
            i + 1,
            cui,
            csv_field(&name),
            csv_field(&address)
        )?;

        let rows = if i % heavy_every == heavy_every / 2 {
            rng.range(50, 150)
        } else {
            // 0..=5 rows, mean about 2.95.
            match rng.below(100) {
                0..=7 => 0,
                8..=19 => 1,
                20..=36 => 2,
                37..=58 => 3,
                59..=79 => 4,
                _ => 5,
            }
        };
        let types: Vec<&TaxType> = TAX_TYPES
            .iter()
            .filter(|t| if firm { t.firms } else { t.people })
            .collect();
        let mut owed: BTreeMap<u32, u64> = BTreeMap::new();
        for r in 0..rows {
            let t = *rng.pick(&types);
            let year = rng.range(2019, 2026);
            let half = if rng.below(2) == 0 { "03-31" } else { "09-30" };
            let descriere = match t.id {
                1 | 5 => format!("Clădire, {street} nr. {number}"),
                2 => format!("Teren intravilan {} mp", rng.range(100, 2000)),
                3 => format!(
                    "Autoturism IS-{:02}-{}",
                    rng.range(1, 99),
                    ["ABC", "ȘTF", "MRĂ", "XYZ"][r as usize % 4]
                ),
                4 => format!("Salubrizare {year}"),
                7 => format!("Proces-verbal {}/{year}", rng.range(1000, 99999)),
                _ => format!("{} {year}", t.name),
            };
            let debit = rng.range(100, t.max_lei * 100);
            let (ramasita, majorari, penalitati) = if year < 2025 {
                let r = if rng.below(3) == 0 {
                    rng.range(100, debit)
                } else {
                    0
                };
                (
                    r,
                    rng.range(0, debit / 10),
                    if rng.below(4) == 0 {
                        rng.range(100, 5000)
                    } else {
                        0
                    },
                )
            } else {
                (0, 0, 0)
            };
            writeln!(
                debts,
                // id_debit: the tax system's own id of the debt, as real exports carry it
                // (two debts of one person may share type, due date and description).
                "{},{},{},{},{},{},{},{year}-{half},D{n_debts}",
                cui,
                t.id,
                csv_field(&descriere),
                lei(debit),
                lei(ramasita),
                lei(majorari),
                lei(penalitati)
            )?;
            *owed.entry(t.id).or_default() += debit + ramasita + majorari + penalitati;
            n_debts += 1;
        }
        let owed_text: Vec<String> = owed.iter().map(|(id, b)| format!("{id}:{b}")).collect();
        writeln!(owed_out, "{}\t{}", cui, owed_text.join(","))?;
    }
    persons.flush()?;
    debts.flush()?;
    owed_out.flush()?;
    println!(
        "register: {} tax types, {taxpayers} taxpayers ({n_firms} firms), {n_debts} debt rows, seed {seed}, in {}",
        TAX_TYPES.len(),
        out.display()
    );
    Ok(())
}

fn usage() -> ! {
    eprintln!("usage: gen-register [--taxpayers N] [--seed S] [--out DIR]");
    std::process::exit(2)
}
