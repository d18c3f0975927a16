//! The reference backend: an rmcp server that implements exactly what the
//! server scenarios of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) require — their fixed tools,
//! resources, template, prompts, logging, completion and subscriptions, with
//! the texts the scenarios describe — so that the suite can be run against it
//! directly and, unchanged, through mcpmux. The e2e binary becomes this server
//! when started with `MCPMUX_TEST_BACKEND=reference`: streamable HTTP on
//! 127.0.0.1 (printing `LISTENING <port>`; `--port N` picks the port) by
//! default, stdio with `--stdio`.

// The suite tests the 2025-11-25 protocol: logging, sampling, and
// resources/subscribe are all in it, and SEP-2577 deprecates each of them in rmcp.
#![allow(deprecated)]

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientResult, CompleteRequestParams, CompleteResult,
    CompletionInfo, ContentBlock, CreateMessageRequestParams, ElicitRequest, ElicitRequestParams,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel, LoggingMessageNotificationParam,
    PaginatedRequestParams, ProgressNotificationParam, Prompt, PromptArgument, PromptMessage, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Reference as CompletionRef, Resource,
    ResourceContents, ResourceTemplate, Role, SamplingMessage, ServerCapabilities, ServerConfig, ServerRequest,
    SetLevelRequestParams, SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Map, Value, json};

/// A 1×1 red PNG (the suite's own test image).
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file (the suite's own test sound).
const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const TEMPLATE: &str = "test://template/{id}/data";
/// Values `completion/complete` offers for the arguments of `test_prompt_with_arguments`.
const COMPLETIONS: &[&str] = &["paris", "park", "party", "test", "testing"];

/// One session's state: the level `logging/setLevel` chose and the resources
/// it subscribed to. Over HTTP each session gets its own (the service
/// factory runs once per session).
#[derive(Clone, Default)]
struct Reference {
    level: Arc<Mutex<Option<LoggingLevel>>>,
    subscriptions: Arc<Mutex<BTreeSet<String>>>,
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        other => panic!("not a JSON object: {other}"),
    }
}

fn tool(name: &str, description: &str, schema: Value) -> Tool {
    Tool::new(name.to_string(), description.to_string(), Arc::new(object(schema)))
}

fn no_arguments() -> Value {
    json!({ "type": "object", "properties": {} })
}

fn string_argument(name: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "properties": { name: { "type": "string", "description": description } },
        "required": [name],
    })
}

fn tools() -> Vec<Tool> {
    vec![
        tool("test_simple_text", "Returns simple text content", no_arguments()),
        tool("test_image_content", "Returns image content (a PNG)", no_arguments()),
        tool("test_audio_content", "Returns audio content (a WAV)", no_arguments()),
        tool(
            "test_embedded_resource",
            "Returns an embedded text resource",
            no_arguments(),
        ),
        tool(
            "test_multiple_content_types",
            "Returns text, image and embedded resource content together",
            no_arguments(),
        ),
        tool(
            "test_tool_with_logging",
            "Sends three info log messages while it runs",
            no_arguments(),
        ),
        tool(
            "test_error_handling",
            "Always fails, with isError: true",
            no_arguments(),
        ),
        tool(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100 while it runs",
            no_arguments(),
        ),
        tool(
            "test_sampling",
            "Asks the client's LLM to answer a prompt (sampling/createMessage)",
            string_argument("prompt", "The prompt to send to the LLM"),
        ),
        tool(
            "test_elicitation",
            "Asks the user for a username and an email address (elicitation/create)",
            string_argument("message", "The message to show the user"),
        ),
        tool(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose primitive fields all have defaults (SEP-1034)",
            no_arguments(),
        ),
        tool(
            "test_elicitation_sep1330_enums",
            "Elicits a form with the five kinds of enum field (SEP-1330)",
            no_arguments(),
        ),
        tool(
            "json_schema_2020_12_tool",
            "Has an input schema with JSON Schema 2020-12 features (SEP-1613)",
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "type": "object",
                        "properties": { "street": { "type": "string" }, "city": { "type": "string" } },
                    },
                },
                "properties": { "name": { "type": "string" }, "address": { "$ref": "#/$defs/address" } },
                "additionalProperties": false,
            }),
        ),
    ]
}

fn resources() -> Vec<Resource> {
    vec![
        Resource::new("test://static-text", "static-text")
            .with_title("Static Text Resource")
            .with_description("A static text resource for testing")
            .with_mime_type("text/plain"),
        Resource::new("test://static-binary", "static-binary")
            .with_title("Static Binary Resource")
            .with_description("A static binary resource (a PNG image) for testing")
            .with_mime_type("image/png"),
        Resource::new("test://watched-resource", "watched-resource")
            .with_title("Watched Resource")
            .with_description("A resource clients can subscribe to")
            .with_mime_type("text/plain"),
    ]
}

/// The `{id}` of a URI of the template `test://template/{id}/data`.
fn template_id(uri: &str) -> Option<&str> {
    let id = uri.strip_prefix("test://template/")?.strip_suffix("/data")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

fn read(uri: &str) -> Option<ResourceContents> {
    Some(match uri {
        "test://static-text" => ResourceContents::text("This is the content of the static text resource.", uri),
        "test://static-binary" => ResourceContents::blob(PNG, uri).with_mime_type("image/png"),
        "test://watched-resource" => ResourceContents::text("Watched resource content", uri),
        _ => {
            let id = template_id(uri)?;
            let text = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") }).to_string();
            ResourceContents::text(text, uri).with_mime_type("application/json")
        }
    })
}

fn prompts() -> Vec<Prompt> {
    let argument = |name: &str, description: &str| {
        PromptArgument::new(name)
            .with_description(description)
            .with_required(true)
    };
    vec![
        Prompt::new("test_simple_prompt", Some("A simple prompt without arguments"), None)
            .with_title("Simple Test Prompt"),
        Prompt::new(
            "test_prompt_with_arguments",
            Some("A prompt with required arguments"),
            Some(vec![
                argument("arg1", "First test argument"),
                argument("arg2", "Second test argument"),
            ]),
        )
        .with_title("Prompt With Arguments"),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("A prompt that includes an embedded resource"),
            Some(vec![argument("resourceUri", "URI of the resource to embed")]),
        )
        .with_title("Prompt With Embedded Resource"),
        Prompt::new(
            "test_prompt_with_image",
            Some("A prompt that includes image content"),
            None,
        )
        .with_title("Prompt With Image"),
    ]
}

fn ok(content: Vec<ContentBlock>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(content).into())
}

fn failed(text: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::error(vec![ContentBlock::text(text.into())]).into())
}

fn string_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the string argument {name:?} is required"))
}

/// The form of `test_elicitation`, as its scenario describes it.
fn user_form(message: &str) -> Value {
    json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "username": { "type": "string", "description": "User's response" },
                "email": { "type": "string", "description": "User's email address" },
            },
            "required": ["username", "email"],
        },
    })
}

/// SEP-1034: a default for every primitive type.
fn defaults_form() -> Value {
    json!({
        "message": "Please review and update the form fields with defaults",
        "requestedSchema": {
            "type": "object",
            "properties": {
                "name": { "type": "string", "description": "User name", "default": "John Doe" },
                "age": { "type": "integer", "description": "User age", "default": 30 },
                "score": { "type": "number", "description": "User score", "default": 95.5 },
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active",
                },
                "verified": { "type": "boolean", "description": "Verification status", "default": true },
            },
            "required": [],
        },
    })
}

/// SEP-1330: the five kinds of enum field.
fn enums_form() -> Value {
    json!({
        "message": "Please select options from the enum fields",
        "requestedSchema": {
            "type": "object",
            "properties": {
                "untitledSingle": {
                    "type": "string",
                    "description": "Select one option",
                    "enum": ["option1", "option2", "option3"],
                },
                "titledSingle": {
                    "type": "string",
                    "description": "Select one option with titles",
                    "oneOf": [
                        { "const": "value1", "title": "First Option" },
                        { "const": "value2", "title": "Second Option" },
                        { "const": "value3", "title": "Third Option" },
                    ],
                },
                "legacyEnum": {
                    "type": "string",
                    "description": "Select one option (legacy)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "description": "Select multiple options",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": { "type": "string", "enum": ["option1", "option2", "option3"] },
                },
                "titledMulti": {
                    "type": "array",
                    "description": "Select multiple options with titles",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {
                        "anyOf": [
                            { "const": "value1", "title": "First Choice" },
                            { "const": "value2", "title": "Second Choice" },
                            { "const": "value3", "title": "Third Choice" },
                        ],
                    },
                },
            },
            "required": [],
        },
    })
}

/// The contents of `uri`; an error if it is neither a resource nor of the template.
fn contents(uri: &str) -> Result<ResourceContents, ErrorData> {
    read(uri).ok_or_else(|| ErrorData::resource_not_found(format!("no resource {uri}"), None))
}

/// Sends `elicitation/create` with `form` and returns `action=…, content=…`.
async fn elicit(ctx: &RequestContext<RoleServer>, form: Value) -> Result<String, String> {
    if ctx.client_capabilities().and_then(|c| c.elicitation).is_none() {
        return Err("the client does not support elicitation".into());
    }
    let params: ElicitRequestParams =
        serde_json::from_value(form).map_err(|e| format!("the elicitation form does not parse: {e}"))?;
    let response = ctx
        .peer
        .send_request(ServerRequest::ElicitRequest(ElicitRequest::new(params)))
        .await
        .map_err(|e| format!("elicitation failed: {e}"))?;
    let ClientResult::ElicitResult(result) = response else {
        return Err(format!("elicitation got an unexpected answer: {response:?}"));
    };
    let action = serde_json::to_value(result.action).map_err(|e| e.to_string())?;
    let content = result.content.unwrap_or_else(|| json!({}));
    Ok(format!(
        "action={}, content={content}",
        action.as_str().unwrap_or_default()
    ))
}

impl Reference {
    /// Sends a log message unless `logging/setLevel` chose a higher level.
    async fn log(&self, ctx: &RequestContext<RoleServer>, level: LoggingLevel, text: &str) {
        let threshold = *self.level.lock().unwrap();
        if threshold.is_some_and(|t| (level as u8) < (t as u8)) {
            return;
        }
        let _ = ctx
            .peer
            .notify_logging_message(LoggingMessageNotificationParam::new(level, json!(text)))
            .await;
    }
}

impl ServerHandler for Reference {
    fn get_info(&self) -> ServerConfig {
        let capabilities: ServerCapabilities = serde_json::from_value(json!({
            "tools": {},
            "resources": { "subscribe": true },
            "prompts": {},
            "logging": {},
            "completions": {},
        }))
        .unwrap();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("mcpmux-conformance-reference", "1.0.0");
        info.instructions = Some("The reference server of the MCP conformance suite's server scenarios.".into());
        info
    }

    /// The suite tests 2025-11-25; on 2026-07-28 a server may not send the
    /// sampling and elicitation requests its scenarios expect.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = params.arguments.clone().unwrap_or_default();
        match &*params.name {
            "test_simple_text" => ok(vec![ContentBlock::text("This is a simple text response for testing.")]),
            "test_image_content" => ok(vec![ContentBlock::image(PNG, "image/png")]),
            "test_audio_content" => ok(vec![ContentBlock::audio(WAV, "audio/wav")]),
            "test_embedded_resource" => ok(vec![ContentBlock::resource(ResourceContents::text(
                "This is an embedded resource content.",
                "test://embedded-resource",
            ))]),
            "test_multiple_content_types" => ok(vec![
                ContentBlock::text("Multiple content types test:"),
                ContentBlock::image(PNG, "image/png"),
                ContentBlock::resource(
                    ResourceContents::text(
                        json!({ "test": "data", "value": 123 }).to_string(),
                        "test://mixed-content-resource",
                    )
                    .with_mime_type("application/json"),
                ),
            ]),
            "test_tool_with_logging" => {
                self.log(&ctx, LoggingLevel::Info, "Tool execution started").await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                self.log(&ctx, LoggingLevel::Info, "Tool processing data").await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                self.log(&ctx, LoggingLevel::Info, "Tool execution completed").await;
                ok(vec![ContentBlock::text("Tool with logging executed successfully")])
            }
            "test_error_handling" => failed("This tool intentionally returns an error for testing"),
            "test_tool_with_progress" => {
                let token = ctx.meta.get_progress_token();
                for (i, step) in [0u32, 50, 100].into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    if let Some(token) = &token {
                        let mut p = ProgressNotificationParam::new(token.clone(), f64::from(step));
                        p.total = Some(100.0);
                        p.message = Some(format!("Completed step {step} of 100"));
                        let _ = ctx.peer.notify_progress(p).await;
                    }
                }
                ok(vec![ContentBlock::text("Tool with progress executed successfully")])
            }
            "test_sampling" => {
                let prompt = match string_arg(&args, "prompt") {
                    Ok(p) => p,
                    Err(e) => return failed(e),
                };
                if ctx.client_capabilities().and_then(|c| c.sampling).is_none() {
                    return failed("the client does not support sampling");
                }
                let request = CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
                match ctx.peer.create_message(request).await {
                    Ok(result) => {
                        let text: Vec<String> = result
                            .message
                            .content
                            .into_vec()
                            .iter()
                            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                            .collect();
                        ok(vec![ContentBlock::text(format!("LLM response: {}", text.join("")))])
                    }
                    Err(e) => failed(format!("sampling failed: {e}")),
                }
            }
            "test_elicitation" => {
                let message = match string_arg(&args, "message") {
                    Ok(m) => m,
                    Err(e) => return failed(e),
                };
                match elicit(&ctx, user_form(message)).await {
                    Ok(answer) => ok(vec![ContentBlock::text(format!("User response: {answer}"))]),
                    Err(e) => failed(e),
                }
            }
            "test_elicitation_sep1034_defaults" | "test_elicitation_sep1330_enums" => {
                let form = if params.name == "test_elicitation_sep1034_defaults" {
                    defaults_form()
                } else {
                    enums_form()
                };
                match elicit(&ctx, form).await {
                    Ok(answer) => ok(vec![ContentBlock::text(format!("Elicitation completed: {answer}"))]),
                    Err(e) => failed(e),
                }
            }
            "json_schema_2020_12_tool" => ok(vec![ContentBlock::text(format!(
                "JSON Schema 2020-12 tool called with: {}",
                Value::Object(args)
            ))]),
            other => Err(ErrorData::invalid_params(format!("Unknown tool: {other}"), None)),
        }
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(resources()))
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(TEMPLATE, "template")
                .with_title("Resource Template")
                .with_description("A resource template with parameter substitution")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        Ok(ReadResourceResult::new(vec![contents(&params.uri)?]).into())
    }

    async fn subscribe(&self, params: SubscribeRequestParams, _: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        contents(&params.uri)?;
        self.subscriptions.lock().unwrap().insert(params.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        params: UnsubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions.lock().unwrap().remove(&params.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts()))
    }

    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let args = params.arguments.unwrap_or_default();
        let arg = |name: &str| {
            string_arg(&args, name)
                .map(str::to_string)
                .map_err(|e| ErrorData::invalid_params(e, None))
        };
        let messages = match &*params.name {
            "test_simple_prompt" => vec![PromptMessage::new_text(
                Role::User,
                "This is a simple prompt for testing.",
            )],
            "test_prompt_with_arguments" => {
                let (arg1, arg2) = (arg("arg1")?, arg("arg2")?);
                vec![PromptMessage::new_text(
                    Role::User,
                    format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"),
                )]
            }
            "test_prompt_with_embedded_resource" => vec![
                PromptMessage::new(
                    Role::User,
                    ContentBlock::resource(ResourceContents::text(
                        "Embedded resource content for testing.",
                        arg("resourceUri")?,
                    )),
                ),
                PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
            ],
            "test_prompt_with_image" => vec![
                PromptMessage::new(Role::User, ContentBlock::image(PNG, "image/png")),
                PromptMessage::new_text(Role::User, "Please analyze the image above."),
            ],
            other => return Err(ErrorData::invalid_params(format!("Unknown prompt: {other}"), None)),
        };
        Ok(GetPromptResult::new(messages).into())
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let candidates: &[&str] = match &params.r#ref {
            CompletionRef::Prompt(p) if p.name == "test_prompt_with_arguments" => COMPLETIONS,
            CompletionRef::Prompt(p) if prompts().iter().any(|known| known.name == p.name) => &[],
            CompletionRef::Resource(r) if r.uri == TEMPLATE => &[],
            _ => return Err(ErrorData::invalid_params("no such prompt or resource template", None)),
        };
        let values: Vec<String> = candidates
            .iter()
            .filter(|c| c.starts_with(&params.argument.value))
            .map(|c| c.to_string())
            .collect();
        let mut completion = CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?;
        completion.total = Some(completion.values.len() as u32);
        completion.has_more = Some(false);
        Ok(CompleteResult::new(completion))
    }

    async fn set_level(&self, params: SetLevelRequestParams, _: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        *self.level.lock().unwrap() = Some(params.level);
        Ok(())
    }
}

/// Runs the reference backend as the command line says; never returns normally.
pub fn run() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let stdio = args.iter().any(|a| a == "--stdio");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        if stdio {
            let service = Reference::default()
                .serve(rmcp::transport::stdio())
                .await
                .expect("stdio handshake");
            let _ = service.waiting().await;
        } else {
            serve_http(port).await;
        }
    });
    std::process::exit(0);
}

/// Serves streamable HTTP on 127.0.0.1 with a session per client, refusing
/// (403) a `Host` or `Origin` that is not the loopback: DNS-rebinding protection.
async fn serve_http(port: u16) {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(["localhost", "127.0.0.1", "::1"])
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]);
    let service = StreamableHttpService::new(
        || Ok(Reference::default()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap().port());
    std::io::stdout().flush().unwrap();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let service = service.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let service = service.clone();
                async move { Ok::<_, std::convert::Infallible>(service.handle(req).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), handler)
                .await;
        });
    }
}
