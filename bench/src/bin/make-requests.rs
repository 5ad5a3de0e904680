//! Writes the pre-signed requests that wrk sends (bench/load.lua), one file per wrk thread:
//! `DIR/SCENARIO.T.txt`, one request a line: `KIND<tab>ORDER<tab>TOTAL_BANI<tab>BODY`.
//!
//! KIND is the answer the request must get: `S` a signed statement, `P` a payment answered
//! `true`, `F1` fault 1 (wrong check), `F2` fault 2 (invalid or unknown CUI).
//!
//! Scenarios:
//!   sume   getSumeDePlataPePersoana for random taxpayers of the register (wrk picks at random)
//!   pay    new payments (unique orders from --order-base), each sent once
//!   mixed  90% sume, 9% payments, 1% faults, each line sent once
//!
//! Payments are realistic: one or two of the person's tax types, mostly the whole amount
//! owed, sometimes part of it, sometimes more (a credit).
//!
//! Usage: make-requests --owed owed.tsv --key KEY --scenario S --count N --threads T
//!                      --out DIR [--seed S] [--order-base B]

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use ghiseul_bench::*;

struct Taxpayer {
    cui: String,
    owed: Vec<(u32, u64)>,
}

fn main() -> std::io::Result<()> {
    let (mut owed_path, mut key, mut scenario) = (PathBuf::new(), String::new(), String::new());
    let (mut count, mut threads, mut seed, mut order_base) =
        (100_000u64, 16usize, 7u64, 100_000_000u64);
    let mut out = PathBuf::from("requests");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--owed" => owed_path = v.into(),
            "--key" => key = v,
            "--scenario" => scenario = v,
            "--count" => count = v.parse().unwrap_or_else(|_| usage()),
            "--threads" => threads = v.parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = v.parse().unwrap_or_else(|_| usage()),
            "--order-base" => order_base = v.parse().unwrap_or_else(|_| usage()),
            "--out" => out = v.into(),
            _ => usage(),
        }
    }
    if key.is_empty() || !["sume", "pay", "mixed"].contains(&scenario.as_str()) || threads == 0 {
        usage();
    }
    // The order is an xsd:int.
    assert!(
        order_base + count < i32::MAX as u64,
        "orders must fit in an xsd:int"
    );

    let mut taxpayers = Vec::new();
    for line in BufReader::new(File::open(&owed_path)?).lines() {
        let line = line?;
        let (cui, owed) = line.split_once('\t').unwrap_or((&line, ""));
        let owed = owed
            .split(',')
            .filter(|s| !s.is_empty())
            .filter_map(|p| {
                let (id, b) = p.split_once(':')?;
                Some((id.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        taxpayers.push(Taxpayer {
            cui: cui.to_string(),
            owed,
        });
    }
    let debtors: Vec<&Taxpayer> = taxpayers.iter().filter(|t| !t.owed.is_empty()).collect();
    assert!(!debtors.is_empty(), "the register has no debts");

    std::fs::create_dir_all(&out)?;
    let mut files = (0..threads)
        .map(|t| {
            File::create(out.join(format!("{scenario}.{t}.txt")))
                .map(|f| BufWriter::with_capacity(1 << 20, f))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let signer = Signer::new(&key);
    let mut rng = Rng::new(seed);
    let mut order = order_base;
    let mut paid_total = 0u64;
    let mut kinds = [0u64; 4];
    for n in 0..count {
        let roll = match scenario.as_str() {
            "sume" => 0,
            "pay" => 90,
            _ => rng.below(100),
        };
        let line = if roll < 90 {
            kinds[0] += 1;
            let t = rng.pick(&taxpayers);
            format!("S\t0\t0\t{}", sume_body(&signer, &t.cui))
        } else if roll < 99 {
            kinds[1] += 1;
            order += 1;
            let t = rng.pick(&debtors);
            let mut items: Vec<(u32, u64)> = Vec::new();
            let how_many = if t.owed.len() > 1 && rng.below(3) == 0 {
                2
            } else {
                1
            };
            for _ in 0..how_many {
                let &(id, owed) = rng.pick(&t.owed);
                if items.iter().any(|(i, _)| *i == id) {
                    continue;
                }
                let amount = match rng.below(10) {
                    0..=6 => owed,
                    7 | 8 => (owed * rng.range(10, 90) / 100).max(1),
                    _ => owed + rng.range(100, 20_000),
                };
                items.push((id, amount));
            }
            let total: u64 = items.iter().map(|(_, b)| b).sum();
            paid_total += total;
            let data = format!(
                "2026-01-{:02} {:02}:{:02}:{:02}",
                rng.range(10, 28),
                rng.range(8, 21),
                rng.below(60),
                rng.below(60)
            );
            format!(
                "P\t{order}\t{total}\t{}",
                payment_body(&signer, order, &t.cui, &data, &items)
            )
        } else {
            let t = rng.pick(&taxpayers);
            match n % 3 {
                0 => {
                    kinds[2] += 1;
                    // A check made with another key: fault 1.
                    let wrong = Signer::new("not-the-key").sign(&t.cui);
                    format!("F1\t0\t0\t{}", sume_body_with_check(&t.cui, &wrong))
                }
                1 => {
                    kinds[3] += 1;
                    // A CIF whose control digit is wrong: fault 2 before any lookup.
                    let c = cif_with_wrong_control(rng.range(100_000, 999_999));
                    format!("F2\t0\t0\t{}", sume_body(&signer, &c))
                }
                _ => {
                    kinds[3] += 1;
                    // A valid 10-digit CIF: the register's are 8 digits, so it is unknown (fault 2).
                    let c = cif(rng.range(100_000_000, 999_999_999));
                    format!("F2\t0\t0\t{}", sume_body(&signer, &c))
                }
            }
        };
        writeln!(files[(n % threads as u64) as usize], "{line}")?;
    }
    for f in &mut files {
        f.flush()?;
    }
    println!(
        "{scenario}: {count} requests in {threads} files ({} statements, {} payments worth {} lei, orders {}..={}, {} fault-1, {} fault-2)",
        kinds[0],
        kinds[1],
        lei(paid_total),
        order_base + 1,
        order,
        kinds[2],
        kinds[3]
    );
    Ok(())
}

fn usage() -> ! {
    eprintln!(
        "usage: make-requests --owed owed.tsv --key KEY --scenario sume|pay|mixed --count N --threads T --out DIR [--seed S] [--order-base B]"
    );
    std::process::exit(2)
}
