//! A one-line progress display for long imports: rows, rows/s and, when the size of the input
//! is known, the share done and the time left. Drawn on stderr only when stderr is a
//! terminal, at most ten times a second; silent otherwise (logs, CI, pipes).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// `update` looks at the clock once in this many calls, or rows, whichever comes first.
const CALLS_PER_CHECK: u32 = 1024;
const ROWS_PER_CHECK: u64 = 1024;
const REDRAW: Duration = Duration::from_millis(100);

pub struct Progress {
    label: String,
    total_bytes: Option<u64>,
    enabled: bool,
    start: Instant,
    last_draw: Instant,
    calls: u32,
    check_at_rows: u64,
    drawn: bool,
}

impl Progress {
    /// `total_bytes`: the size of the input, when known, for the share done and the ETA.
    pub fn new(label: &str, total_bytes: Option<u64>) -> Progress {
        Progress::with_terminal(label, total_bytes, std::io::stderr().is_terminal())
    }

    fn with_terminal(label: &str, total_bytes: Option<u64>, enabled: bool) -> Progress {
        let now = Instant::now();
        Progress {
            label: label.to_string(),
            total_bytes: total_bytes.filter(|&t| t > 0),
            enabled,
            start: now,
            last_draw: now,
            calls: 0,
            check_at_rows: ROWS_PER_CHECK,
            drawn: false,
        }
    }

    /// Whether anything will be drawn.
    pub fn is_visible(&self) -> bool {
        self.enabled
    }

    /// `rows` done so far and `bytes` of the input read. Cheap enough to call for every row:
    /// the clock is read once in 1024 calls or 1024 rows (so that a caller updating once per
    /// batch is drawn too), and the line redrawn at most every 100 ms.
    #[inline]
    pub fn update(&mut self, rows: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        self.calls += 1;
        if self.calls < CALLS_PER_CHECK && rows < self.check_at_rows {
            return;
        }
        self.calls = 0;
        self.check_at_rows = rows.saturating_add(ROWS_PER_CHECK);
        let now = Instant::now();
        if now.duration_since(self.last_draw) < REDRAW {
            return;
        }
        self.last_draw = now;
        let line = self.line(rows, bytes, now.duration_since(self.start));
        let mut err = std::io::stderr().lock();
        // \r back to the start of the line, \x1b[K clears what a longer line left.
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.drawn = true;
    }

    /// The text of the progress line.
    fn line(&self, rows: u64, bytes: u64, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
        let mut line = format!("{}: {} rows, {:.0} rows/s", self.label, rows, rate);
        if let Some(total) = self.total_bytes {
            let done = (bytes.min(total) as f64 / total as f64).clamp(0.0, 1.0);
            line.push_str(&format!(", {:.0}%", done * 100.0));
            if done > 0.0 && secs > 0.0 {
                let left = (secs / done - secs).max(0.0).round() as u64;
                line.push_str(&format!(", {}:{:02} left", left / 60, left % 60));
            }
        }
        line
    }

    /// Clears the progress line, if one was drawn.
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_silent_when_not_a_terminal() {
        let mut p = Progress::with_terminal("import", Some(100), false);
        for i in 0..10_000 {
            p.update(i, i);
        }
        p.finish();
        assert!(!p.is_visible());
        assert!(!p.drawn);
    }

    #[test]
    fn progress_line_shows_rows_rate_and_eta() {
        let p = Progress::with_terminal("debts", Some(1000), true);
        let line = p.line(50_000, 250, Duration::from_secs(10));
        assert_eq!(line, "debts: 50000 rows, 5000 rows/s, 25%, 0:30 left");
        let p = Progress::with_terminal("debts", None, true);
        assert_eq!(
            p.line(10, 5, Duration::from_secs(2)),
            "debts: 10 rows, 5 rows/s"
        );
    }
}
