//! Building the application from a configuration, so that `serve` and the tests start the
//! very same server (the tests on a random port with a fresh database).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{router, AppState};
use crate::protocol::{wsdl, Limits};
use crate::rules::check::Signer;
use crate::service::Service;
use crate::store::{Store, Timeouts};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
}

impl Application {
    /// Connects to and migrates the database, then binds the listen address.
    pub async fn build(config: &Config) -> anyhow::Result<Application> {
        let store = open_store(config).await?;
        store
            .migrate()
            .await
            .context("applying the database migrations")?;
        let state = AppState {
            service: Service::new(store.clone(), Signer::new(config.hmac_key.as_bytes())),
            wsdl: Arc::from(wsdl::render(&config.public_url, &config.namespace)),
            namespace: Arc::from(config.namespace.as_str()),
            limits: Limits::default(),
            db_timeout: Duration::from_secs(config.db_timeout_secs),
        };
        let listener = TcpListener::bind(&config.listen).await.with_context(|| {
            format!(
                "cannot listen on {} (is another server using it? set GHISEUL_LISTEN)",
                config.listen
            )
        })?;
        Ok(Application {
            listener,
            router: router(state, &config.soap_path, config.body_limit_bytes),
            store,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")?;
        self.store.close().await;
        Ok(())
    }
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

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
