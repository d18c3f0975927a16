//! The MCP server clients talk to: one cheap handle on the hub per session
//! (stdio, or each HTTP session or stateless request). It answers tools/list
//! from the router snapshot, page by page (re-listing first the backends
//! whose declared freshness ran out), and routes tools/call through the hub;
//! every answer goes out in the client's own era (`bridge`). It registers
//! sessions for list_changed — on `initialize` for 2025-11-25 clients, on
//! `subscriptions/listen` for 2026-07-28 clients.

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams, ServerConfig, SubscriptionFilter,
    Tool,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::bridge::{self, Era};
use crate::hub::Hub;

#[derive(Clone)]
pub struct FrontHandler {
    hub: Arc<Hub>,
}

impl FrontHandler {
    pub fn new(hub: Arc<Hub>) -> Self {
        FrontHandler { hub }
    }
}

impl ServerHandler for FrontHandler {
    fn get_info(&self) -> ServerConfig {
        self.hub.info()
    }

    async fn list_tools(
        &self,
        params: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let cursor = params.as_ref().and_then(|p| p.cursor.as_deref());
        if cursor.is_none() {
            // A client that lists right after start sees the backends that come up
            // promptly; the rest arrive later with notifications/tools/list_changed.
            self.hub.wait_settled(self.hub.startup_left()).await;
            // A listing from the start shows what the backends offer now.
            self.hub.refresh_stale().await;
        }
        let router = self.hub.router();
        let (tools, next) = router.page(cursor, self.hub.settings.page_size)?;
        let mut result = ListToolsResult::with_all_items(tools.to_vec());
        result.next_cursor = next;
        if Era::of(&ctx) == Era::Stateless {
            result.ttl_ms = bridge::ttl_ms(router.fresh_until, Instant::now());
        }
        Ok(result)
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let era = Era::of(&ctx);
        let response = self.hub.call_tool(params, ctx).await?;
        Ok(bridge::call_result(era, response))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.hub.router().tool(name).cloned()
    }

    async fn on_initialized(&self, ctx: NotificationContext<RoleServer>) {
        self.hub.fronts.add_legacy(ctx.peer);
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, ctx: SubscriptionContext) -> Result<(), ErrorData> {
        let id = self.hub.fronts.add_sink(ctx.sink().clone());
        ctx.cancelled().await;
        self.hub.fronts.remove_sink(id);
        Ok(())
    }
}
