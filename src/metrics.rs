//! Prometheus metrics, served in the text format at /metrics. One registry per server, so
//! that servers started side by side (as the tests do) keep their own counts.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub operation: &'static str,
    /// `ok` or `fault`.
    pub outcome: &'static str,
    /// The fault code, or empty for `ok`.
    pub fault: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PaymentLabels {
    /// recorded, retry, conflict or unknown_tax_type.
    pub result: &'static str,
}

type HistogramFamily = Family<OperationLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    payments: Family<PaymentLabels, Counter>,
    refused: Family<RefusedLabels, Counter>,
    pool_size: Gauge,
    pool_idle: Gauge,
    in_flight: Gauge,
    audit_dropped: Counter,
    register_outbox_backlog: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// allowlist, overload.
    pub reason: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ghiseul");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let payments = Family::<PaymentLabels, Counter>::default();
        let refused = Family::<RefusedLabels, Counter>::default();
        let (pool_size, pool_idle, in_flight) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        let audit_dropped = Counter::default();
        registry.register(
            "requests",
            "SOAP requests by operation, outcome and fault code",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a SOAP request",
            latency.clone(),
        );
        registry.register(
            "payments",
            "inregistrareIncasari requests by result",
            payments.clone(),
        );
        registry.register(
            "refused",
            "Requests refused before parsing",
            refused.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        registry.register(
            "requests_in_flight",
            "SOAP requests being answered",
            in_flight.clone(),
        );
        registry.register(
            "audit_dropped",
            "Audit rows lost: the queue to the audit writer was full or the database refused them",
            audit_dropped.clone(),
        );
        // The live register's outbox (src/live/outbox.rs): 0 when there is none.
        let register_outbox_backlog = Gauge::default();
        registry.register(
            "register_outbox_backlog",
            "Payment items recorded here and not yet written into the tax system's database",
            register_outbox_backlog.clone(),
        );
        Metrics {
            register_outbox_backlog,
            registry,
            requests,
            latency,
            payments,
            refused,
            pool_size,
            pool_idle,
            in_flight,
            audit_dropped,
        }
    }
}

impl Metrics {
    pub fn shared() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    pub fn request(&self, operation: &'static str, fault: Option<u8>, took: Duration) {
        let (outcome, fault) = match fault {
            None => ("ok", ""),
            Some(1) => ("fault", "1"),
            Some(2) => ("fault", "2"),
            Some(_) => ("fault", "3"),
        };
        self.requests
            .get_or_create(&RequestLabels {
                operation,
                outcome,
                fault,
            })
            .inc();
        self.latency
            .get_or_create(&OperationLabels { operation })
            .observe(took.as_secs_f64());
    }

    pub fn payment(&self, result: &'static str) {
        self.payments.get_or_create(&PaymentLabels { result }).inc();
    }

    pub fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&RefusedLabels { reason }).inc();
    }

    /// Counts the audit rows that were dropped (see `store::audit`).
    pub fn audit_dropped(&self) -> &Counter {
        &self.audit_dropped
    }

    pub fn register_outbox_backlog(&self) -> &Gauge {
        &self.register_outbox_backlog
    }

    pub fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// The text exposition, with the pool gauges read now.
    pub fn render(&self, pool_size: u32, pool_idle: usize) -> String {
        self.pool_size.set(i64::from(pool_size));
        self.pool_idle.set(pool_idle as i64);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
