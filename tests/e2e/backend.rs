//! The test backend: a small rmcp MCP server that the e2e binary becomes when
//! started with `MCPMUX_TEST_BACKEND=1`. It serves stdio, or streamable HTTP
//! with `--http` (printing `LISTENING <port>`), in one protocol era or both,
//! and offers tools that exercise what mcpmux must forward: progress,
//! cancellation, `_meta`, list changes, a generated paginated catalog, its
//! environment and its pid — plus a prompt, resources (`test://<name>/...`),
//! a resource template, completions for both, resource subscriptions and
//! log messages. Over HTTP it can demand credentials (`--require-header`,
//! `--require-bearer-file`, `--require-jwt`, `--oauth-issuer` with protected
//! resource metadata; `--deny-status 403`), move away (`--redirect-to URL`,
//! a 307), record the credentials it receives (`--log-headers FILE`) and
//! stall mid-stream on calls of one tool (`--stall-tool NAME`: an SSE
//! answer that then sends nothing). On
//! stdio it can close its stdout and keep running (`--close-stdout-after-ms`).
//! Events the tests check (cancellations, listings,
//! subscriptions, log levels) are appended to the file named by
//! `MCPMUX_TEST_EVENTS`.

#![allow(deprecated)] // logging and resources/subscribe are deprecated (SEP-2577); mcpmux must still carry them

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult, CompletionInfo,
    ContentBlock, EmbeddedResource, GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam, Prompt, PromptArgument,
    PromptMessage, PromptsCapability, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Reference, Resource, ResourceContents, ResourceTemplate, ResourceUpdatedNotificationParam,
    ResourcesCapability, Role, ServerCapabilities, ServerConfig, SetLevelRequestParams, SubscribeRequestParams,
    SubscriptionFilter, Tool, ToolsCapability, UnsubscribeRequestParams,
};
use rmcp::model::{
    ClientResult, CreateMessageRequest, CreateMessageRequestParams, ElicitRequest, ElicitRequestParams, InputRequest,
    InputRequests, InputRequiredResult, SamplingMessage, ServerRequest,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext, SubscriptionSink};
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

#[derive(Clone)]
struct Options {
    name: String,
    tools: usize,
    page_size: Option<usize>,
    repeat_cursor: bool,
    versions: Cow<'static, [ProtocolVersion]>,
    long_name: bool,
    /// `ttlMs` on its list results (2026-07-28 clients only).
    ttl_ms: Option<u64>,
    /// Declares no list changes and sends none (like the Python SDK's servers).
    quiet: bool,
    /// How long each tools/list takes.
    list_delay: Duration,
}

#[derive(Clone)]
struct Backend {
    opts: Options,
    extra: Arc<Mutex<Vec<String>>>,
    extra_resources: Arc<Mutex<Vec<String>>>,
    subscribed: Arc<Mutex<Vec<String>>>,
    legacy: Arc<Mutex<Vec<Peer<RoleServer>>>>,
    sinks: Arc<Mutex<Vec<SubscriptionSink>>>,
}

fn event(line: &str) {
    if let Ok(path) = std::env::var("MCPMUX_TEST_EVENTS") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }
}

fn tool(name: &str, description: &str, schema: Value) -> Tool {
    Tool::new(
        name.to_string(),
        description.to_string(),
        Arc::new(schema.as_object().unwrap().clone()),
    )
}

fn text(s: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(s.into())]).into())
}

/// The tools every test backend offers, before its generated `t000`...
pub const FIXED: &[&str] = &[
    "echo",
    "progress",
    "sleep",
    "meta",
    "env",
    "pid",
    "client",
    "add_tool",
    "fail",
    "stderr",
    "link",
    "add_resource",
    "log",
    "touch",
    "ask",
    "ask_input",
];

impl Backend {
    fn all_tools(&self) -> Vec<Tool> {
        let obj = json!({"type": "object"});
        let mut out: Vec<Tool> = FIXED
            .iter()
            .map(|n| tool(n, &format!("{} of {}", n, self.opts.name), obj.clone()))
            .collect();
        out.extend((0..self.opts.tools).map(|i| tool(&format!("t{i:03}"), "generated", obj.clone())));
        if self.opts.long_name {
            out.push(tool(
                &format!("a_tool_with_a_very_long_name_{}", "x".repeat(60)),
                "long",
                obj.clone(),
            ));
        }
        out.extend(
            self.extra
                .lock()
                .unwrap()
                .iter()
                .map(|n| tool(n, "added at run time", obj.clone())),
        );
        out
    }

    async fn changed(&self) {
        let peers = self.legacy.lock().unwrap().clone();
        for p in peers {
            let _ = p.notify_tool_list_changed().await;
        }
        let sinks = self.sinks.lock().unwrap().clone();
        for s in sinks {
            let _ = s.notify_tool_list_changed().await;
        }
    }

    async fn resources_changed(&self) {
        let peers = self.legacy.lock().unwrap().clone();
        for p in peers {
            let _ = p.notify_resource_list_changed().await;
        }
        let sinks = self.sinks.lock().unwrap().clone();
        for s in sinks {
            let _ = s.notify_resource_list_changed().await;
        }
    }

    /// This backend's resource URIs: `test://<name>/...`.
    fn uri(&self, path: &str) -> String {
        format!("test://{}/{path}", self.opts.name)
    }

    fn resources(&self) -> Vec<Resource> {
        let mut out = vec![Resource::new(self.uri("static"), "static")];
        out.extend(
            self.extra_resources
                .lock()
                .unwrap()
                .iter()
                .map(|n| Resource::new(self.uri(n), n.clone())),
        );
        out
    }
}

impl ServerHandler for Backend {
    fn get_info(&self) -> ServerConfig {
        let mut caps = ServerCapabilities::default();
        let mut tools = ToolsCapability::default();
        tools.list_changed = Some(!self.opts.quiet);
        caps.tools = Some(tools);
        let mut prompts = PromptsCapability::default();
        prompts.list_changed = Some(!self.opts.quiet);
        caps.prompts = Some(prompts);
        let mut resources = ResourcesCapability::default();
        resources.list_changed = Some(!self.opts.quiet);
        resources.subscribe = Some(true);
        caps.logging = Some(Default::default());
        caps.resources = Some(resources);
        caps.completions = Some(Default::default());
        let mut info = ServerConfig::new(caps);
        info.server_info = Implementation::new(format!("test-backend-{}", self.opts.name), "1.0.0");
        info.instructions = Some(format!("Backend {} is for tests.", self.opts.name));
        info
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.opts.versions.clone()
    }

    async fn on_initialized(&self, ctx: NotificationContext<RoleServer>) {
        self.legacy.lock().unwrap().push(ctx.peer);
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, ctx: SubscriptionContext) -> Result<(), ErrorData> {
        self.sinks.lock().unwrap().push(ctx.sink().clone());
        ctx.cancelled().await;
        Ok(())
    }

    async fn list_tools(
        &self,
        params: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        event(&format!("listed {}", self.opts.name));
        tokio::time::sleep(self.opts.list_delay).await;
        let all = self.all_tools();
        let Some(size) = self.opts.page_size else {
            let mut result = ListToolsResult::with_all_items(all);
            result.ttl_ms = self.opts.ttl_ms;
            return Ok(result);
        };
        let start: usize = params.and_then(|p| p.cursor).and_then(|c| c.parse().ok()).unwrap_or(0);
        let end = (start + size).min(all.len());
        let mut result = ListToolsResult::with_all_items(all[start..end].to_vec());
        result.next_cursor = if self.opts.repeat_cursor {
            Some(size.to_string())
        } else {
            (end < all.len()).then(|| end.to_string())
        };
        Ok(result)
    }

    async fn list_prompts(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let who = PromptArgument::new("who")
            .with_description("Whom to greet")
            .with_required(true);
        let greet = Prompt::new(
            "greet",
            Some(format!("A greeting from {}", self.opts.name)),
            Some(vec![who]),
        );
        let mut result = ListPromptsResult::with_all_items(vec![greet]);
        result.ttl_ms = self.opts.ttl_ms;
        Ok(result)
    }

    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if params.name != "greet" {
            return Err(ErrorData::invalid_params(format!("no prompt {}", params.name), None));
        }
        let who = params
            .arguments
            .as_ref()
            .and_then(|a| a.get("who"))
            .and_then(|v| v.as_str())
            .unwrap_or("nobody")
            .to_string();
        let mut result = GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, format!("Hello {who} from {}", self.opts.name)),
            PromptMessage::new(
                Role::User,
                ContentBlock::Resource(EmbeddedResource::new(ResourceContents::text(
                    "embedded",
                    self.uri("static"),
                ))),
            ),
        ]);
        result.description = Some("greeting".into());
        Ok(result.into())
    }

    async fn subscribe(&self, params: SubscribeRequestParams, _: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        event(&format!("subscribed {} {}", self.opts.name, params.uri));
        self.subscribed.lock().unwrap().push(params.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        params: UnsubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        event(&format!("unsubscribed {} {}", self.opts.name, params.uri));
        self.subscribed.lock().unwrap().retain(|u| *u != params.uri);
        Ok(())
    }

    async fn on_roots_list_changed(&self, _: NotificationContext<RoleServer>) {
        event(&format!("roots changed {}", self.opts.name));
    }

    async fn set_level(&self, params: SetLevelRequestParams, _: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        event(&format!("level {} {:?}", self.opts.name, params.level));
        Ok(())
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut result = ListResourcesResult::with_all_items(self.resources());
        result.ttl_ms = self.opts.ttl_ms;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let template = ResourceTemplate::new(self.uri("item/{id}"), "item");
        let mut result = ListResourceTemplatesResult::with_all_items(vec![template]);
        result.ttl_ms = self.opts.ttl_ms;
        Ok(result)
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let Some(path) = params.uri.strip_prefix(&self.uri("")) else {
            return Err(ErrorData::resource_not_found(
                format!("no resource {}", params.uri),
                None,
            ));
        };
        let text = match path.strip_prefix("item/") {
            Some(id) => format!("item {id} of {}", self.opts.name),
            None if self.resources().iter().any(|r| r.uri == params.uri) => format!("{path} of {}", self.opts.name),
            None => {
                return Err(ErrorData::resource_not_found(
                    format!("no resource {}", params.uri),
                    None,
                ));
            }
        };
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, params.uri)]).into())
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let candidates: Vec<String> = match &params.r#ref {
            Reference::Prompt(p) if p.name == "greet" => vec!["alice".into(), "albert".into(), "bob".into()],
            Reference::Resource(r) if r.uri == self.uri("item/{id}") => vec!["1".into(), "12".into(), "2".into()],
            _ => return Err(ErrorData::invalid_params("nothing to complete", None)),
        };
        let values = candidates
            .into_iter()
            .filter(|c| c.starts_with(&params.argument.value))
            .collect();
        Ok(CompleteResult::new(
            CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?,
        ))
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = params.arguments.clone().unwrap_or_default();
        let arg = |k: &str| args.get(k).cloned().unwrap_or(Value::Null);
        match &*params.name {
            "echo" => text(format!("{}: {}", self.opts.name, arg("text").as_str().unwrap_or(""))),
            "progress" => {
                let steps = arg("steps").as_u64().unwrap_or(3);
                let token = ctx.meta.get_progress_token();
                for i in 1..=steps {
                    if let Some(t) = &token {
                        let mut p = ProgressNotificationParam::new(t.clone(), i as f64);
                        p.total = Some(steps as f64);
                        p.message = Some(format!("step {i}"));
                        let _ = ctx.peer.notify_progress(p).await;
                    }
                    tokio::time::sleep(Duration::from_millis(arg("ms").as_u64().unwrap_or(20))).await;
                }
                text(format!("{}: {steps} steps", self.opts.name))
            }
            "sleep" => {
                let ms = arg("ms").as_u64().unwrap_or(60_000);
                let tag = arg("tag").as_str().unwrap_or("").to_string();
                event(&format!("sleeping {} {tag}", self.opts.name));
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {
                        event(&format!("slept {} {tag}", self.opts.name));
                        text(format!("{}: slept", self.opts.name))
                    }
                    () = ctx.ct.cancelled() => {
                        event(&format!("cancelled {} {}", self.opts.name, arg("tag").as_str().unwrap_or("")));
                        Err(ErrorData::internal_error("cancelled", None))
                    }
                }
            }
            "meta" => text(serde_json::to_string(&ctx.meta).unwrap()),
            "env" => text(std::env::var(arg("name").as_str().unwrap_or("")).unwrap_or_else(|_| "<unset>".into())),
            "pid" => text(std::process::id().to_string()),
            "client" => text(serde_json::to_string(&ctx.client_info()).unwrap()),
            "stderr" => {
                // eprintln! panics if stderr is gone: the call then fails.
                eprintln!("{}", arg("text").as_str().unwrap_or(""));
                text("written")
            }
            "link" => Ok(CallToolResult::success(vec![
                ContentBlock::text("see the links"),
                ContentBlock::ResourceLink(Resource::new(self.uri("static"), "static")),
                ContentBlock::Resource(EmbeddedResource::new(ResourceContents::text(
                    "embedded",
                    self.uri("static"),
                ))),
            ])
            .into()),
            "log" => {
                let level: LoggingLevel = serde_json::from_value(arg("level")).unwrap_or(LoggingLevel::Info);
                let said = arg("text").as_str().unwrap_or("").to_string();
                // A 2026-07-28 request says which levels it wants.
                let rank = |l: &LoggingLevel| {
                    serde_json::to_value(l).ok().and_then(|v| {
                        [
                            "debug",
                            "info",
                            "notice",
                            "warning",
                            "error",
                            "critical",
                            "alert",
                            "emergency",
                        ]
                        .iter()
                        .position(|n| v == *n)
                    })
                };
                if ctx.meta.log_level().is_some_and(|min| rank(&level) < rank(&min)) {
                    return text("not logged");
                }
                let mut message = LoggingMessageNotificationParam::new(level, json!(said));
                message.logger = Some("tests".into());
                let _ = ctx.peer.notify_logging_message(message).await;
                text("logged")
            }
            "ask" => {
                // Asks the client (through mcpmux) for a sampling and an elicitation.
                let prompt = arg("prompt").as_str().unwrap_or("").to_string();
                let sampled = ctx
                    .peer
                    .create_message(CreateMessageRequestParams::new(
                        vec![SamplingMessage::user_text(prompt)],
                        10,
                    ))
                    .await
                    .map_err(|e| ErrorData::internal_error(format!("sampling failed: {e}"), None))?;
                let sampled: Vec<String> = sampled
                    .message
                    .content
                    .into_vec()
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                    .collect();
                let form: ElicitRequestParams = serde_json::from_value(json!({
                    "mode": "form",
                    "message": "Your name?",
                    "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
                }))
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
                let elicited = ctx
                    .peer
                    .send_request(ServerRequest::ElicitRequest(ElicitRequest::new(form)))
                    .await
                    .map_err(|e| ErrorData::internal_error(format!("elicitation failed: {e}"), None))?;
                let ClientResult::ElicitResult(elicited) = elicited else {
                    return Err(ErrorData::internal_error("not an elicitation result", None));
                };
                text(format!(
                    "{}: sampled {:?}, elicited {}",
                    self.opts.name,
                    sampled.join(""),
                    elicited.content.unwrap_or_default()
                ))
            }
            "ask_input" => {
                // The 2026-07-28 way to ask: an input-required result, then a retry.
                let Some(answers) = params.input_responses.clone() else {
                    let prompt = arg("prompt").as_str().unwrap_or("").to_string();
                    let form: ElicitRequestParams = serde_json::from_value(json!({
                        "mode": "form",
                        "message": "Your name?",
                        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
                    }))
                    .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
                    let mut asks = InputRequests::new();
                    asks.insert(
                        "s".into(),
                        InputRequest::CreateMessage(CreateMessageRequest::new(CreateMessageRequestParams::new(
                            vec![SamplingMessage::user_text(prompt)],
                            10,
                        ))),
                    );
                    asks.insert("e".into(), InputRequest::Elicitation(ElicitRequest::new(form)));
                    return Ok(
                        InputRequiredResult::new(Some(asks), Some(format!("state-of-{}", self.opts.name))).into(),
                    );
                };
                if params.request_state.as_deref() != Some(&format!("state-of-{}", self.opts.name)) {
                    return Err(ErrorData::invalid_params("the request state did not come back", None));
                }
                let content = &answers.get("s").cloned().unwrap_or_default()["content"];
                let sampled = content
                    .as_array()
                    .and_then(|a| a.first())
                    .unwrap_or(content)
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let elicited = answers.get("e").map(|e| e["content"].clone()).unwrap_or_default();
                text(format!("{}: sampled {sampled:?}, elicited {elicited}", self.opts.name))
            }
            "touch" => {
                let uri = self.uri(arg("path").as_str().unwrap_or("static"));
                if self.subscribed.lock().unwrap().contains(&uri) {
                    let peers = self.legacy.lock().unwrap().clone();
                    for p in peers {
                        let _ = p
                            .notify_resource_updated(ResourceUpdatedNotificationParam::new(uri.clone()))
                            .await;
                    }
                }
                // 2026-07-28: each listen stream's filter decides whether it hears this.
                let sinks = self.sinks.lock().unwrap().clone();
                for sink in sinks {
                    let _ = sink.notify_resource_updated(uri.clone()).await;
                }
                text("touched")
            }
            "add_resource" => {
                self.extra_resources
                    .lock()
                    .unwrap()
                    .push(arg("name").as_str().unwrap_or("added").to_string());
                if !self.opts.quiet {
                    self.resources_changed().await;
                }
                text("added")
            }
            "fail" => Err(ErrorData::invalid_params(
                format!("{} failed on purpose", self.opts.name),
                None,
            )),
            "add_tool" => {
                self.extra
                    .lock()
                    .unwrap()
                    .push(arg("name").as_str().unwrap_or("added").to_string());
                if !self.opts.quiet {
                    self.changed().await;
                }
                text("added")
            }
            other if self.all_tools().iter().any(|t| t.name == other) => text(format!("{}: {other}", self.opts.name)),
            other => Err(ErrorData::invalid_params(format!("no tool {other}"), None)),
        }
    }
}

/// Runs the backend as the command line says; never returns normally.
pub fn run() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let value = |f: &str| args.iter().position(|a| a == f).and_then(|i| args.get(i + 1)).cloned();
    let versions: Cow<'static, [ProtocolVersion]> = match value("--era").as_deref() {
        Some("legacy") => Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25)),
        Some("modern") => Cow::Owned(vec![ProtocolVersion::V_2026_07_28]),
        _ => Cow::Borrowed(ProtocolVersion::KNOWN_VERSIONS),
    };
    let opts = Options {
        name: value("--name").unwrap_or_else(|| "test".into()),
        tools: value("--tools").and_then(|n| n.parse().ok()).unwrap_or(0),
        page_size: value("--page-size").and_then(|n| n.parse().ok()),
        repeat_cursor: flag("--repeat-cursor"),
        versions,
        long_name: flag("--long-name"),
        ttl_ms: value("--ttl-ms").and_then(|n| n.parse().ok()),
        quiet: flag("--quiet"),
        list_delay: Duration::from_millis(value("--list-delay-ms").and_then(|n| n.parse().ok()).unwrap_or(0)),
    };
    let backend = Backend {
        opts,
        extra: Arc::default(),
        extra_resources: Arc::default(),
        subscribed: Arc::default(),
        legacy: Arc::default(),
        sinks: Arc::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        if let Some(ms) = value("--startup-delay-ms").and_then(|n| n.parse().ok()) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if flag("--http") {
            let port = value("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
            serve_http(backend, port, Gate::from_args(&value, &flag)).await;
        } else {
            if let Some(ms) = value("--close-stdout-after-ms").and_then(|n| n.parse().ok()) {
                // A backend that closes its stdout but keeps running.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    // SAFETY: closes this process's own fd 1; nothing else uses it after.
                    unsafe { libc::close(1) };
                    std::future::pending::<()>().await;
                });
            }
            let service = backend.serve(rmcp::transport::stdio()).await.expect("stdio handshake");
            let _ = service.waiting().await;
            if flag("--close-stdout-after-ms") {
                // Keeps running after its session ended: only a signal ends it.
                std::future::pending::<()>().await;
            }
        }
    });
    std::process::exit(0);
}

/// What an HTTP test backend demands of each request before serving it, as
/// an API that checks credentials would: a fixed header, the bearer token
/// currently in a file (so a test can rotate it), or an unexpired JWT (for
/// the OAuth tests, with the audience of this resource and protected
/// resource metadata pointing at an authorization server).
#[derive(Clone)]
struct Gate {
    header: Option<(String, String)>,
    bearer_file: Option<std::path::PathBuf>,
    jwt: bool,
    issuer: Option<String>,
    /// What a refused request gets (401 unless `--deny-status 403`).
    deny: http::StatusCode,
    /// A line per refused request goes here.
    rejections: Option<std::path::PathBuf>,
    /// This endpoint's URL (the JWT audience).
    resource: String,
    /// Every request is answered 307 to this URL (a backend that moved).
    redirect_to: Option<String>,
    /// The credential headers of every request are appended here.
    log_headers: Option<std::path::PathBuf>,
    /// A tools/call of this tool is answered with an SSE stream that then
    /// sends nothing, ever (a backend stalled mid-stream).
    stall_tool: Option<String>,
}

impl Gate {
    fn from_args(value: &dyn Fn(&str) -> Option<String>, flag: &dyn Fn(&str) -> bool) -> Gate {
        Gate {
            header: value("--require-header").and_then(|r| r.split_once('=').map(|(n, v)| (n.into(), v.into()))),
            bearer_file: value("--require-bearer-file").map(Into::into),
            jwt: flag("--require-jwt") || value("--oauth-issuer").is_some(),
            issuer: value("--oauth-issuer"),
            deny: value("--deny-status")
                .and_then(|s| s.parse::<u16>().ok())
                .and_then(|s| http::StatusCode::from_u16(s).ok())
                .unwrap_or(http::StatusCode::UNAUTHORIZED),
            rejections: value("--rejections-file").map(Into::into),
            resource: String::new(),
            redirect_to: value("--redirect-to"),
            log_headers: value("--log-headers").map(Into::into),
            stall_tool: value("--stall-tool"),
        }
    }

    fn bearer(req: &http::Request<hyper::body::Incoming>) -> Option<&str> {
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
    }

    /// Whether `req` may pass.
    fn admits(&self, req: &http::Request<hyper::body::Incoming>) -> bool {
        if let Some((name, value)) = &self.header
            && req.headers().get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str())
        {
            return false;
        }
        if let Some(file) = &self.bearer_file {
            let current = std::fs::read_to_string(file).unwrap_or_default();
            if Self::bearer(req) != Some(current.trim()) {
                return false;
            }
        }
        if self.jwt {
            let Some(claims) = Self::bearer(req).and_then(jwt_claims) else {
                return false;
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            if claims["exp"].as_f64().is_none_or(|exp| exp <= now) {
                return false;
            }
            if self.issuer.is_some() {
                let aud = &claims["aud"];
                let matches = aud.as_str() == Some(self.resource.as_str())
                    || aud
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(self.resource.as_str())));
                if !matches {
                    return false;
                }
            }
        }
        true
    }

    fn metadata_url(&self) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            self.resource.trim_end_matches("/mcp")
        )
    }

    fn refuse(
        &self,
    ) -> http::Response<http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, std::convert::Infallible>> {
        if let Some(file) = &self.rejections {
            use std::io::Write as _;
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
                let _ = writeln!(f, "refused");
            }
        }
        let mut denied = http::Response::new(http_body_util::BodyExt::boxed_unsync(http_body_util::Full::new(
            bytes::Bytes::from_static(b"missing or wrong credential"),
        )));
        *denied.status_mut() = self.deny;
        if self.issuer.is_some() {
            let challenge = format!("Bearer resource_metadata=\"{}\"", self.metadata_url());
            denied
                .headers_mut()
                .insert("www-authenticate", http::HeaderValue::from_str(&challenge).unwrap());
        }
        denied
    }
}

/// The claims of a JWT (the signature is not checked: a test resource server).
fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A 200 SSE answer that sends one comment and then nothing, never ending.
fn stall() -> http::Response<http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, std::convert::Infallible>> {
    use futures::StreamExt as _;
    use http_body_util::BodyExt as _;
    let first = futures::stream::once(async {
        Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(bytes::Bytes::from_static(b": stalled\n\n")))
    });
    let body = http_body_util::StreamBody::new(first.chain(futures::stream::pending()));
    let mut r = http::Response::new(body.boxed_unsync());
    r.headers_mut()
        .insert("content-type", http::HeaderValue::from_static("text/event-stream"));
    r
}

/// Serves streamable HTTP behind `gate`.
async fn serve_http(backend: Backend, port: u16, mut gate: Gate) {
    use http_body_util::BodyExt as _;
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
    let service = StreamableHttpService::new(
        move || Ok(backend.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    gate.resource = format!("http://127.0.0.1:{port}/mcp");
    let gate = Arc::new(gate);
    println!("LISTENING {port}");
    std::io::stdout().flush().unwrap();
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let service = service.clone();
        let gate = gate.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let service = service.clone();
                let gate = gate.clone();
                async move {
                    if let Some(file) = &gate.log_headers {
                        use std::io::Write as _;
                        let h = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-")
                                .to_string()
                        };
                        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
                            let _ = writeln!(
                                f,
                                "{} authorization={} x-api-key={}",
                                req.method(),
                                h("authorization"),
                                h("x-api-key")
                            );
                        }
                    }
                    if let Some(to) = &gate.redirect_to {
                        let mut moved =
                            http::Response::new(http_body_util::Full::new(bytes::Bytes::new()).boxed_unsync());
                        *moved.status_mut() = http::StatusCode::TEMPORARY_REDIRECT;
                        moved
                            .headers_mut()
                            .insert("location", http::HeaderValue::from_str(to).unwrap());
                        return Ok::<_, std::convert::Infallible>(moved);
                    }
                    if let Some(issuer) = &gate.issuer
                        && req.uri().path().starts_with("/.well-known/oauth-protected-resource")
                    {
                        let prm = serde_json::json!({
                            "resource": gate.resource,
                            "authorization_servers": [issuer],
                            "scopes_supported": ["mcp"],
                            "bearer_methods_supported": ["header"],
                        });
                        let mut r = http::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from(prm.to_string())).boxed_unsync(),
                        );
                        r.headers_mut()
                            .insert("content-type", http::HeaderValue::from_static("application/json"));
                        return Ok(r);
                    }
                    if !gate.admits(&req) {
                        return Ok(gate.refuse());
                    }
                    let Some(stalled) = &gate.stall_tool else {
                        return Ok(service.handle(req).await.map(|b| b.boxed_unsync()));
                    };
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let message: Value = serde_json::from_slice(&body).unwrap_or_default();
                    if message["method"] == "tools/call" && message["params"]["name"] == stalled.as_str() {
                        return Ok(stall());
                    }
                    let req = http::Request::from_parts(parts, http_body_util::Full::new(body));
                    Ok(service.handle(req).await.map(|b| b.boxed_unsync()))
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), handler)
                .await;
        });
    }
}
