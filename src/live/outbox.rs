//! The outbox: each payment item recorded here is written into the tax system by
//! `register_payment_statement`, by this background task, never by the request that
//! recorded it (ghiseul.ro's answer neither waits for the tax system nor fails with it).
//!
//! Delivery is at least once: an item is marked delivered only after the tax system's
//! database committed the statement, and retried until it does, with a growing pause
//! (`FIRST_PAUSE` doubled up to `LONGEST_PAUSE`) while that database is down. Exactly once
//! therefore rests on the key the statement is given: the order and the item's place in
//! it (`:nr_comanda`, `:nr_articol`). The institution's statement must ignore a key it has
//! already (a unique key on the two and `ON CONFLICT DO NOTHING` / `INSERT IGNORE`, or a
//! procedure that checks), so that the retry after a crash between its commit and ours,
//! or a second instance of this server delivering the same item, writes nothing twice.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Register;
use crate::rules::clock;
use crate::store::{self, Store};

pub const FIRST_PAUSE: Duration = Duration::from_millis(500);
pub const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// How often the outbox looks for work nobody woke it for (another instance's payments).
const IDLE_LOOK: Duration = Duration::from_secs(5);
const BATCH: i64 = 100;

/// Starts the task. `wake` is notified after each payment queued; `backlog` is set to the
/// number of items waiting after every pass; each attempt is bounded by `timeout`.
pub fn spawn(
    store: Store,
    register: Arc<Register>,
    wake: Arc<Notify>,
    backlog: Gauge,
    timeout: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = FIRST_PAUSE;
        loop {
            match pass(&store, &register, timeout).await {
                Ok(true) => pause = FIRST_PAUSE,
                Ok(false) => {
                    if let Ok((n, _)) = store::live::backlog(&store).await {
                        backlog.set(n);
                    }
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_LOOK) => {}
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        retry_in_ms = pause.as_millis() as u64,
                        "outbox: a payment could not be written into the tax system; retrying"
                    );
                    if let Ok((n, _)) = store::live::backlog(&store).await {
                        backlog.set(n);
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    })
}

/// Delivers what is pending, oldest first, stopping at the first failure. True when
/// something was delivered, false when nothing was pending.
async fn pass(store: &Store, register: &Register, timeout: Duration) -> anyhow::Result<bool> {
    let items = store::live::pending(store, BATCH).await?;
    if items.is_empty() {
        return Ok(false);
    }
    for item in &items {
        let done = match tokio::time::timeout(timeout, register.deliver(item)).await {
            Ok(r) => r.map_err(anyhow::Error::from),
            Err(_) => Err(anyhow::anyhow!("no answer within {} s", timeout.as_secs())),
        };
        if let Err(e) = done {
            store::live::failed(store, item.item_id, &format!("{e:#}")).await?;
            return Err(e.context(format!("order {} item {}", item.order_no, item.nr_articol)));
        }
        let at = clock::now().format("%Y-%m-%d %H:%M:%S").to_string();
        store::live::delivered(store, item.item_id, &at).await?;
        tracing::debug!(
            order = item.order_no,
            item = item.nr_articol,
            "outbox: delivered"
        );
    }
    Ok(true)
}
