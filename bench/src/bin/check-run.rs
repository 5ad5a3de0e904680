//! Checks on a benchmark run that wrk cannot make by itself.
//!
//! `check-run payments --requests DIR --scenario pay|mixed --wrk-out FILE --url URL`
//!   From load.lua's per-thread report (which lines were sent, which one was still in
//!   flight when wrk stopped), computes the payments that were sent. The one in flight per
//!   connection is sent again, as ghiseul.ro retries an order it got no answer for; it must
//!   be answered `true`. Prints `EXPECTED payments=N sum_bani=S order_min=A order_max=B`,
//!   which run.sh compares with what the database recorded.
//!
//! `check-run first-answer --url URL --requests FILE [--timeout-secs N]`
//!   Sends the first request of FILE every 2 ms until it gets a signed statement; exits 0
//!   then (run.sh times it from the server's start), 1 after the timeout.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ghiseul_bench::*;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        usage();
    }
    let command = args.remove(0);
    let opt = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let need = |name: &str| opt(name).unwrap_or_else(|| usage());
    match command.as_str() {
        "payments" => payments(
            &need("--requests"),
            &need("--scenario"),
            &need("--wrk-out"),
            &need("--url"),
        ),
        "first-answer" => {
            let timeout = opt("--timeout-secs")
                .map(|s| s.parse().unwrap_or_else(|_| usage()))
                .unwrap_or(120);
            first_answer(
                &need("--url"),
                &need("--requests"),
                Duration::from_secs(timeout),
            )
        }
        _ => usage(),
    }
}

/// One `THREAD` line of load.lua's report.
struct ThreadReport {
    id: usize,
    next: usize,
    pending: usize,
    skipped: HashSet<usize>,
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| fail(&format!("no {name}= in `{line}`")))
}

fn payments(dir: &str, scenario: &str, wrk_out: &str, url: &str) {
    let report =
        std::fs::read_to_string(wrk_out).unwrap_or_else(|e| fail(&format!("{wrk_out}: {e}")));
    let threads: Vec<ThreadReport> = report
        .lines()
        .filter(|l| l.starts_with("THREAD "))
        .map(|l| ThreadReport {
            id: field(l, "id").parse().unwrap(),
            next: field(l, "next").parse().unwrap(),
            pending: field(l, "pending").parse().unwrap(),
            skipped: field(l, "skipped")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect(),
        })
        .collect();
    if threads.is_empty() {
        fail("the wrk report has no THREAD lines");
    }
    let (mut count, mut sum, mut min, mut max, mut replayed) = (0u64, 0u64, u64::MAX, 0u64, 0u64);
    for t in &threads {
        let path = format!("{dir}/{scenario}.{}.txt", t.id);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
        for (i, line) in text.lines().enumerate().take(t.next) {
            let n = i + 1; // load.lua counts lines from 1
            if t.skipped.contains(&n) {
                continue; // handed to wrk's dry run, never sent
            }
            let r = parse_request_line(line)
                .unwrap_or_else(|| fail(&format!("{path}:{n} is not a request line")));
            if r.kind != "P" {
                continue;
            }
            if n == t.pending {
                // No answer came before wrk stopped: retry it as ghiseul.ro would.
                match post(url, r.body) {
                    Ok((200, body))
                        if body.contains(
                            "<inregistrareIncasariResult>true</inregistrareIncasariResult>",
                        ) =>
                    {
                        replayed += 1
                    }
                    Ok((status, body)) => fail(&format!(
                        "retry of order {} answered {status}: {body}",
                        r.order
                    )),
                    Err(e) => fail(&format!("retry of order {}: {e}", r.order)),
                }
            }
            count += 1;
            sum += r.total;
            min = min.min(r.order);
            max = max.max(r.order);
        }
    }
    if count == 0 {
        min = 0;
    }
    println!("EXPECTED payments={count} sum_bani={sum} order_min={min} order_max={max} retried={replayed}");
}

fn first_answer(url: &str, requests: &str, timeout: Duration) {
    let text =
        std::fs::read_to_string(requests).unwrap_or_else(|e| fail(&format!("{requests}: {e}")));
    let line = text
        .lines()
        .next()
        .and_then(parse_request_line)
        .unwrap_or_else(|| fail("no request line"));
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Ok((200, body)) = post(url, line.body) {
            if body.contains("</getSumeDePlataPePersoanaResult>") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    fail("no answer before the timeout");
}

fn fail(msg: &str) -> ! {
    eprintln!("check-run: {msg}");
    std::process::exit(1)
}

fn usage() -> ! {
    eprintln!("usage: check-run payments --requests DIR --scenario pay|mixed --wrk-out FILE --url URL\n       check-run first-answer --url URL --requests FILE [--timeout-secs N]");
    std::process::exit(2)
}
