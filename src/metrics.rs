//! Per-backend metrics in Prometheus's text format (`listen.metrics`):
//! requests forwarded to each backend by method, their failures by kind,
//! their latency as a histogram, whether each backend is up, and how often
//! it reconnected — kept with the `prometheus-client` crate, and served over
//! plain HTTP at `/metrics` by `serve`. Counting is always on (a few atomic
//! operations per call); only serving is optional.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    backend: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    backend: String,
    /// `error` (the backend answered with an error), `unavailable` (down,
    /// gone or unreachable), `cancelled` (by the client).
    kind: String,
}

/// How a forwarded request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error,
    Unavailable,
    Cancelled,
}

impl Outcome {
    /// The kind of failure it is (the `kind` label, a span's `error.type`).
    pub fn failure(self) -> Option<&'static str> {
        match self {
            Outcome::Ok => None,
            Outcome::Error => Some("error"),
            Outcome::Unavailable => Some("unavailable"),
            Outcome::Cancelled => Some("cancelled"),
        }
    }
}

type Latency = Family<BackendLabel, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: Latency,
    up: Family<BackendLabel, Gauge>,
    reconnects: Family<BackendLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 52 s, doubling.
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mcpmux_backend");
        let calls = Family::<CallLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        let up = Family::<BackendLabel, Gauge>::default();
        let reconnects = Family::<BackendLabel, Counter>::default();
        registry.register("requests", "Requests forwarded to a backend, by method", calls.clone());
        registry.register(
            "errors",
            "Forwarded requests that failed: error (the backend's answer), unavailable, cancelled",
            errors.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from forwarding a request to its answer",
            latency.clone(),
        );
        registry.register("up", "1 while the backend is connected, else 0", up.clone());
        registry.register(
            "reconnects",
            "Connections made to the backend after the first",
            reconnects.clone(),
        );
        Metrics {
            registry,
            calls,
            errors,
            latency,
            up,
            reconnects,
        }
    }

    /// Records one forwarded request.
    pub fn request(&self, backend: &str, method: &str, took: Duration, outcome: Outcome) {
        self.calls
            .get_or_create(&CallLabels {
                backend: backend.to_string(),
                method: method.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&BackendLabel {
                backend: backend.to_string(),
            })
            .observe(took.as_secs_f64());
        let Some(kind) = outcome.failure() else { return };
        self.errors
            .get_or_create(&ErrorLabels {
                backend: backend.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    /// The text exposition, with each backend's state read from `hub` now.
    pub fn render(&self, hub: &Hub) -> String {
        for b in hub.backends().iter() {
            let label = BackendLabel {
                backend: b.spec.name.to_string(),
            };
            self.up.get_or_create(&label).set(i64::from(b.peer().is_some()));
            let reconnects = self.reconnects.get_or_create(&label);
            let made = b.epoch().saturating_sub(1);
            reconnects.inc_by(made.saturating_sub(reconnects.get()));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Serves `/metrics` on `address` until `shutdown`. A failure to bind is
/// logged and ignored: metrics are never a reason not to serve MCP.
pub async fn serve(hub: Arc<Hub>, address: String, shutdown: CancellationToken) {
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("cannot serve metrics at {address}: {e}; going on without them");
            return;
        }
    };
    let bound = listener.local_addr().map_or(address, |a| a.to_string());
    tracing::info!("serving metrics at http://{bound}/metrics");
    loop {
        let (stream, _) = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!("accepting a metrics connection failed: {e}");
                    continue;
                }
            },
        };
        let hub = hub.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let hub = hub.clone();
                async move {
                    let mut response = if request.uri().path() == "/metrics" {
                        let mut r = http::Response::new(Full::new(Bytes::from(hub.metrics.render(&hub))));
                        r.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static(
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            ),
                        );
                        r
                    } else {
                        http::Response::new(Full::new(Bytes::from_static(b"mcpmux serves metrics at /metrics\n")))
                    };
                    if request.uri().path() != "/metrics" {
                        *response.status_mut() = http::StatusCode::NOT_FOUND;
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
