//! One institution's part of the server: its database, the state its SOAP path answers
//! with (service, key, guards, metrics, audit queue) and the tasks beside it (audit writer,
//! retention, the live register's outbox). `Application` (one institution) and
//! `tenancy::server` (several, and SIGHUP adding more) both build institutions here.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::http::{AppState, Guard};
use crate::metrics::Metrics;
use crate::protocol::{wsdl, Limits};
use crate::rules::check::Signer;
use crate::service::Service;
use crate::store::audit;
use crate::store::{Store, Timeouts};

/// Audit records waiting for the writer; beyond this they are dropped and counted, so a
/// slow database never holds up an answer.
const AUDIT_QUEUE: usize = 10_000;

/// One institution's part of the server: the state its SOAP path answers with, and what
/// must be flushed and closed when the server stops.
pub struct Part {
    pub state: Arc<AppState>,
    pub store: Store,
    audit_writer: audit::Writer,
    audit_retention_days: u32,
    retention: Option<tokio::task::JoinHandle<()>>,
    /// The live register's outbox task, if any (src/live/outbox.rs).
    outbox: Option<tokio::task::JoinHandle<()>>,
}

/// The parts of a running server, shared with the SIGHUP reload that adds to them.
pub type Parts = Arc<tokio::sync::Mutex<Vec<Part>>>;

impl Part {
    /// Connects to and migrates the institution's database and builds what answers for it.
    pub async fn build(config: &Config) -> anyhow::Result<Part> {
        let store = open_store(config).await?;
        store
            .migrate()
            .await
            .context("applying the database migrations")?;
        // Started anyway (statements can still be answered, and the cause may pass), but
        // said loudly: /health answers 503 while this lasts.
        if let Err(e) = store.can_record_payments().await {
            tracing::error!(
                error = %e,
                "payments cannot be recorded in this database: every payment gets fault 3 \
                 until this is fixed (run `ghiseul-connector check-config`)"
            );
        }
        let mut signer = Signer::new(config.hmac_key.as_bytes());
        if let Some(next) = &config.hmac_key_next {
            signer = signer.with_next_key(next.as_bytes());
        }
        let metrics = Metrics::shared();
        let (audit_log, audit_queue) = audit::channel(AUDIT_QUEUE, metrics.audit_dropped().clone());
        let audit_writer = audit::spawn_writer(
            store.clone(),
            audit_queue,
            audit::WriterSettings::for_store(&store),
            metrics.audit_dropped().clone(),
        );
        let mut service = Service::new(store.clone(), signer);
        let mut outbox = None;
        if let Some(settings) = &config.register {
            let (live, task) = open_live_register(config, settings, &store, &metrics).await?;
            service = service.with_live_register(live);
            outbox = task;
        }
        let state = Arc::new(AppState {
            service,
            wsdl: Arc::from(wsdl::render(&config.public_url, &config.namespace)),
            namespace: Arc::from(config.namespace.as_str()),
            limits: Limits::default(),
            db_timeout: Duration::from_secs(config.db_timeout_secs),
            metrics,
            guard: Arc::new(Guard {
                allow: config.allow.clone(),
                trusted_proxies: config.trusted_proxies.clone(),
                in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
                body_limit: config.body_limit_bytes,
                read_timeout: Duration::from_secs(config.read_timeout_secs),
            }),
            audit: audit_log,
        });
        Ok(Part {
            state,
            store,
            audit_writer,
            audit_retention_days: config.audit_retention_days,
            retention: None,
            outbox,
        })
    }

    /// Starts deleting expired audit rows (at once, then every hour).
    pub fn start(&mut self) {
        if self.retention.is_none() {
            self.retention = audit::spawn_retention(self.store.clone(), self.audit_retention_days);
        }
    }

    /// Writes the pending audit rows and closes the database.
    pub(super) async fn stop(self) {
        if let Some(r) = self.retention {
            r.abort();
        }
        if let Some(o) = self.outbox {
            o.abort();
        }
        self.audit_writer.flush_and_stop().await;
        self.store.close().await;
    }
}

/// The tax system's database (issue 11): its queries are checked first, and a query that
/// does not run or returns the wrong columns stops the start, named. A database that does
/// not answer yet does not: getSume gets fault 3 until it does, with no restart needed.
async fn open_live_register(
    config: &Config,
    settings: &crate::live::Settings,
    store: &Store,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<(
    crate::service::LiveRegister,
    Option<tokio::task::JoinHandle<()>>,
)> {
    let timeout = Duration::from_secs(config.db_timeout_secs);
    let found = crate::live::check::check(settings, None, timeout).await;
    if !found.answered {
        tracing::error!(
            problem = %found.problems.join("; "),
            "the tax system's database does not answer: getSume gets fault 3 until it does"
        );
    } else if !found.problems.is_empty() {
        anyhow::bail!(
            "the tax system's register is not usable (run `ghiseul-connector check-config`):\n  - {}",
            found.problems.join("\n  - ")
        );
    }
    let register = Arc::new(crate::live::Register::open(
        settings,
        config.max_connections,
        timeout,
    )?);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = register.has_outbox().then(|| {
        crate::live::outbox::spawn(
            store.clone(),
            register.clone(),
            wake.clone(),
            metrics.register_outbox_backlog().clone(),
            timeout,
        )
    });
    Ok((
        crate::service::LiveRegister {
            register,
            outbox: wake,
        },
        task,
    ))
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let timeouts = Timeouts {
        acquire: Duration::from_secs(config.db_timeout_secs),
    };
    Store::connect(&config.database_url, config.max_connections, timeouts)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                crate::store::redact_url(&config.database_url)
            )
        })
}
