//! The two tools a client of `listen.tool_mode: search` lists instead of the
//! whole catalog: `search_tools`, which ranks the catalog for a query
//! (`search`) and answers each hit's public name, description and input
//! schema, and `call_tool`, which calls a tool by its public name with its
//! arguments, exactly as a direct call would (same routing, `_meta`,
//! progress, cancellation, errors).

use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Tool};
use rmcp::service::RequestContext;
use serde_json::{Value, json};

use crate::hub::Hub;
use crate::profile::View;
use crate::router::Router;

pub const SEARCH: &str = "search_tools";
pub const CALL: &str = "call_tool";
/// Hits a search answers when the client does not say; and at most.
const DEFAULT_LIMIT: u64 = 10;
const MAX_LIMIT: u64 = 50;

pub fn is_meta(name: &str) -> bool {
    name == SEARCH || name == CALL
}

fn schema(v: Value) -> Arc<serde_json::Map<String, Value>> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

/// The two tools `view` lists now (see `build`).
pub fn tools(hub: &Hub, view: &View) -> Vec<Tool> {
    hub.search_index(view).meta.to_vec()
}

/// The two tools, their descriptions counting the `n` tools `view` shows
/// of `router`'s catalog and their servers.
pub fn build(router: &Router, view: &View, n: usize) -> Vec<Tool> {
    let mut backends: Vec<&Arc<str>> = router
        .tools
        .items
        .iter()
        .zip(&router.tools.owners)
        .filter(|(t, b)| view.hides(crate::profile::Kind::Tool, b, &t.name).is_none())
        .map(|(_, b)| b)
        .collect();
    backends.sort();
    backends.dedup();
    vec![
        Tool::new(
            SEARCH,
            format!(
                "Find tools to use among the {n} tools of {} connected servers: describe what you want to do \
                 (words from a tool's name, purpose or parameters). Returns the best matches with their \
                 input schemas; call one with {CALL}.",
                backends.len()
            ),
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What you want to do, e.g. \"create a GitHub issue\"."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "Most tools to return (default 10)."},
                },
                "required": ["query"],
            })),
        ),
        Tool::new(
            CALL,
            format!("Call a tool found with {SEARCH}, by its name, with arguments that match its input schema."),
            schema(json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The tool's name, as search_tools gave it."},
                    "arguments": {"type": "object", "description": "The tool's arguments."},
                },
                "required": ["name"],
            })),
        ),
    ]
}

/// Runs `search_tools` or `call_tool` (`is_meta(params.name)`).
pub async fn call(
    hub: &Arc<Hub>,
    params: CallToolRequestParams,
    ctx: RequestContext<RoleServer>,
    view: &View,
) -> Result<CallToolResponse, ErrorData> {
    let args = params.arguments.unwrap_or_default();
    if params.name == SEARCH {
        let Some(query) = args.get("query").and_then(Value::as_str) else {
            return Err(ErrorData::invalid_params("search_tools needs a query (a string)", None));
        };
        let limit = args
            .get("limit")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT) as usize;
        hub.wait_settled(hub.startup_left()).await;
        let found = hub.search_index(view);
        let hits: Vec<Value> = found
            .index
            .search(query, limit)
            .into_iter()
            .map(|i| {
                let t = &found.tools[i];
                json!({"name": t.name, "description": t.description, "inputSchema": t.input_schema})
            })
            .collect();
        let found = json!({ "tools": hits });
        let mut result = CallToolResult::success(vec![ContentBlock::text(found.to_string())]);
        result.structured_content = Some(found);
        return Ok(CallToolResponse::Complete(result));
    }
    let Some(name) = args.get("name").and_then(Value::as_str).filter(|n| !is_meta(n)) else {
        return Err(ErrorData::invalid_params(
            "call_tool needs the name of a tool (as search_tools gave it)",
            None,
        ));
    };
    let mut inner = CallToolRequestParams::new(name.to_string());
    inner.arguments = match args.get("arguments") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o.clone()),
        Some(_) => {
            return Err(ErrorData::invalid_params(
                "call_tool's arguments must be an object",
                None,
            ));
        }
    };
    inner.meta = params.meta;
    inner.input_responses = params.input_responses;
    inner.request_state = params.request_state;
    hub.call_tool(inner, ctx, view).await
}
