//! OpenTelemetry traces, behind the `otel` feature: when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set, every request mcpmux forwards to a backend becomes a client span
//! (`mcp.forward`: method, backend, tool, outcome) exported over OTLP/HTTP
//! through mcpmux's own HTTP client, its parent taken from the W3C
//! `traceparent` a client sent in the request's `_meta` and its context
//! passed on to the backend the same way. Without the feature, or without
//! an endpoint, the spans are never enabled and cost nothing.

use serde_json::{Map, Value};

/// The target of mcpmux's trace spans (and only those reach the exporter).
pub const TARGET: &str = "mcpmux::trace";

#[cfg(feature = "otel")]
mod imp {
    use std::collections::HashMap;
    use std::sync::OnceLock;

    use bytes::Bytes;
    use opentelemetry::propagation::TextMapPropagator as _;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use serde_json::{Map, Value};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::Layer;
    use tracing_subscriber::registry::LookupSpan;

    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

    /// The longest one export may take.
    const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

    /// The exporter's HTTP client: mcpmux's own (rustls, pooled), run on
    /// the tokio runtime that was current at start, whichever thread the
    /// batch processor exports from.
    #[derive(Debug, Clone)]
    struct Client {
        http: reqwest::Client,
        runtime: tokio::runtime::Handle,
    }

    #[async_trait::async_trait]
    impl opentelemetry_http::HttpClient for Client {
        async fn send_bytes(
            &self,
            request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
            let mut request: reqwest::Request = request.try_into()?;
            // A collector that never answers must not stall the exporter.
            *request.timeout_mut() = Some(EXPORT_TIMEOUT);
            let http = self.http.clone();
            let (status, headers, body) = self
                .runtime
                .spawn(async move {
                    let r = http.execute(request).await?;
                    let (status, headers) = (r.status(), r.headers().clone());
                    Ok::<_, reqwest::Error>((status, headers, r.bytes().await?))
                })
                .await??;
            let mut response = http::Response::new(body);
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            Ok(response)
        }
    }

    fn endpoint_set() -> bool {
        ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|e| !e.is_empty()))
    }

    pub fn layer<S>() -> Option<impl Layer<S>>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        if !endpoint_set() {
            return None;
        }
        // Exports run on a runtime of their own, which outlives every
        // command's (and is there before them).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("otel-export".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                let _ = tx.send(rt.handle().clone());
                rt.block_on(std::future::pending::<()>());
            })
            .ok()?;
        let runtime = rx.recv().ok()?;
        crate::serve::install_crypto();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_http_client(Client {
                http: crate::auth::http_client(),
                runtime,
            })
            .build();
        let exporter = match exporter {
            Ok(e) => e,
            Err(e) => {
                eprintln!("mcpmux: OpenTelemetry traces are off: {e}");
                return None;
            }
        };
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("mcpmux")
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("mcpmux");
        let _ = PROVIDER.set(provider);
        let only_ours = tracing_subscriber::filter::Targets::new().with_target(super::TARGET, tracing::Level::DEBUG);
        Some(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(only_ours),
        )
    }

    pub fn shutdown() {
        if let Some(p) = PROVIDER.get()
            && let Err(e) = p.shutdown()
        {
            eprintln!("mcpmux: flushing OpenTelemetry traces failed: {e}");
        }
    }

    fn carrier(meta: Option<&Map<String, Value>>) -> HashMap<String, String> {
        meta.into_iter()
            .flatten()
            .filter(|(k, _)| *k == "traceparent" || *k == "tracestate")
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    }

    pub fn follow(span: &tracing::Span, meta: Option<&Map<String, Value>>) {
        let carrier = carrier(meta);
        if carrier.contains_key("traceparent") {
            let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
        }
    }

    pub fn inject(span: &tracing::Span, meta: &mut Map<String, Value>) {
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
        for (k, v) in carrier {
            meta.insert(k, Value::String(v));
        }
    }
}

/// The layer that exports mcpmux's spans, when the `otel` feature is built
/// and an OTLP endpoint is set.
#[cfg(feature = "otel")]
pub fn layer<S>() -> Option<impl tracing_subscriber::Layer<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    imp::layer()
}

#[cfg(not(feature = "otel"))]
pub fn layer() -> Option<tracing_subscriber::layer::Identity> {
    None
}

/// Exports what is left (at exit).
pub fn shutdown() {
    #[cfg(feature = "otel")]
    imp::shutdown();
}

/// Makes the span of a forwarded request a child of the trace the client's
/// `_meta` names (`traceparent`), if any.
pub fn follow(span: &tracing::Span, meta: Option<&Map<String, Value>>) {
    #[cfg(feature = "otel")]
    imp::follow(span, meta);
    #[cfg(not(feature = "otel"))]
    let _ = (span, meta);
}

/// Writes the span's trace context into the `_meta` sent to the backend.
pub fn inject(span: &tracing::Span, meta: &mut Map<String, Value>) {
    #[cfg(feature = "otel")]
    imp::inject(span, meta);
    #[cfg(not(feature = "otel"))]
    let _ = (span, meta);
}
