//! The MCP server clients talk to: one cheap handle on the hub per session
//! (stdio, or each HTTP session or stateless request). It answers the list
//! methods (tools, prompts, resources, resource templates) from the router
//! snapshot, page by page — re-listing first, on a list from the start, the
//! backends whose declared freshness ran out; in search mode it lists and
//! runs `meta_tools` instead of the catalog — and routes calls, prompt
//! gets, resource reads and completions through the hub; every answer goes
//! out in the client's own era (`bridge`). It registers sessions for list
//! changes and log messages — on `initialize` for 2025-11-25 clients, on
//! `subscriptions/listen` for 2026-07-28 clients — keeps each session's log
//! level, and routes resource subscriptions (`resources/subscribe`, or the
//! URIs a listen stream names) to their backends.

#![allow(deprecated)] // logging/setLevel and resources/subscribe are deprecated (SEP-2577), still what 2025-11-25 clients speak

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, GetPromptRequestParams,
    GetPromptResponse, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::bridge::{self, Era};
use crate::fronts::Session;
use crate::hub::Hub;
use crate::profile::View;
use crate::router::Router;
use crate::subscriptions::Target;

#[derive(Clone)]
pub struct FrontHandler {
    hub: Arc<Hub>,
    /// This session's own state (a stateless request gets a fresh one).
    session: Arc<Session>,
    /// Dropped with the last clone of the handler, when its session ends
    /// (None: a view of the session for the fast lane, which does not own it).
    _end: Option<Arc<SessionEnd>>,
}

/// What a session leaves to clear when its service ends (idle expiry,
/// DELETE, a closed stdio, the end of a stateless request): its place among
/// the connected sessions, which holds its peer and with it the session's
/// buffers, and the resource subscriptions it still holds.
struct SessionEnd {
    hub: Arc<Hub>,
    session: Arc<Session>,
}

impl Drop for SessionEnd {
    /// Nothing to do (no lock taken) for a session that held nothing: the
    /// common stateless request.
    fn drop(&mut self) {
        if !self.session.held() {
            return;
        }
        let id = self.session.id;
        self.hub.relay.fronts.remove_legacy(&self.session);
        if !self.hub.relay.subscriptions.held_by(id).is_empty()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let hub = self.hub.clone();
            rt.spawn(async move { hub.unsubscribe_all(id).await });
        }
    }
}

/// One page of a list, with the cursor of the next and the freshness left.
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
    ttl_ms: Option<u64>,
}

impl FrontHandler {
    /// A new session seeing the catalog through `view`.
    pub fn new(hub: Arc<Hub>, view: Arc<View>) -> Self {
        let session = hub.relay.fronts.new_session(view);
        let _end = Arc::new(SessionEnd {
            hub: hub.clone(),
            session: session.clone(),
        });
        FrontHandler {
            hub,
            session,
            _end: Some(_end),
        }
    }

    /// The handler of an existing session, for a request the fast lane
    /// answers (`lane`); the session's end stays with rmcp's handler.
    pub(crate) fn view(hub: Arc<Hub>, session: Arc<Session>) -> Self {
        FrontHandler {
            hub,
            session,
            _end: None,
        }
    }

    /// A 2025-11-25 session's chosen log level travels with its requests, so
    /// that 2026-07-28 backends (per-request levels) log for it too.
    fn with_level(&self, mut ctx: RequestContext<RoleServer>) -> RequestContext<RoleServer> {
        if ctx.meta.log_level().is_none()
            && let Some(level) = self.session.level()
        {
            ctx.meta.set_log_level(level);
        }
        ctx
    }

    /// A page of the items `of` picks from the snapshot through the session's view.
    async fn page<T: Clone>(
        &self,
        params: Option<PaginatedRequestParams>,
        ctx: &RequestContext<RoleServer>,
        of: impl for<'r> Fn(&View, &'r Router) -> std::borrow::Cow<'r, [T]>,
    ) -> Result<Page<T>, ErrorData> {
        let cursor = params.as_ref().and_then(|p| p.cursor.as_deref());
        if cursor.is_none() {
            // A client that lists right after start sees the backends that come up
            // promptly; the rest arrive later with list_changed notifications.
            self.hub.wait_settled(self.hub.startup_left()).await;
            // A listing from the start shows what the backends offer now.
            self.hub.refresh_stale().await;
        }
        let router = self.hub.router();
        let all = of(&self.session.view, &router);
        let (items, next) = router.page(&all, cursor, self.hub.settings.page_size)?;
        let ttl_ms = match Era::of(ctx) {
            Era::Stateless => bridge::ttl_ms(router.fresh_until, Instant::now()),
            Era::Handshake => None,
        };
        Ok(Page {
            items: items.to_vec(),
            next,
            ttl_ms,
        })
    }
}

impl ServerHandler for FrontHandler {
    fn get_info(&self) -> ServerConfig {
        self.hub.info_for(&self.session.view)
    }

    async fn list_tools(
        &self,
        params: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        if self.session.view.search {
            self.hub.wait_settled(self.hub.startup_left()).await;
            return Ok(ListToolsResult::with_all_items(crate::meta_tools::tools(
                &self.hub,
                &self.session.view,
            )));
        }
        let page = self.page(params, &ctx, View::tools).await?;
        let mut result = ListToolsResult::with_all_items(page.items);
        result.next_cursor = page.next;
        result.ttl_ms = page.ttl_ms;
        Ok(result)
    }

    async fn list_prompts(
        &self,
        params: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let page = self.page(params, &ctx, View::prompts).await?;
        let mut result = ListPromptsResult::with_all_items(page.items);
        result.next_cursor = page.next;
        result.ttl_ms = page.ttl_ms;
        Ok(result)
    }

    async fn list_resources(
        &self,
        params: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let page = self.page(params, &ctx, View::resources).await?;
        let mut result = ListResourcesResult::with_all_items(page.items);
        result.next_cursor = page.next;
        result.ttl_ms = page.ttl_ms;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        params: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let page = self.page(params, &ctx, View::templates).await?;
        let mut result = ListResourceTemplatesResult::with_all_items(page.items);
        result.next_cursor = page.next;
        result.ttl_ms = page.ttl_ms;
        Ok(result)
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let era = Era::of(&ctx);
        let ctx = self.with_level(ctx);
        // Direct calls by name work in search mode too.
        let view = &self.session.view;
        let response = if view.search && crate::meta_tools::is_meta(&params.name) {
            crate::meta_tools::call(&self.hub, params, ctx, view).await?
        } else {
            self.hub.call_tool(params, ctx, view).await?
        };
        Ok(bridge::call_result(era, response))
    }

    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let era = Era::of(&ctx);
        let response = self
            .hub
            .get_prompt(params, self.with_level(ctx), &self.session.view)
            .await?;
        Ok(bridge::prompt_result(era, response))
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let era = Era::of(&ctx);
        let response = self
            .hub
            .read_resource(params, self.with_level(ctx), &self.session.view)
            .await?;
        Ok(bridge::read_result(era, response))
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let era = Era::of(&ctx);
        let result = self
            .hub
            .complete(params, self.with_level(ctx), &self.session.view)
            .await?;
        Ok(bridge::complete_result(era, result))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let view = &self.session.view;
        if view.search && crate::meta_tools::is_meta(name) {
            return self
                .hub
                .search_index(view)
                .meta
                .iter()
                .find(|t| t.name == name)
                .cloned();
        }
        let router = self.hub.router();
        let route = router.tools.route(name)?;
        if view.hides(crate::profile::Kind::Tool, &route.backend, name).is_some() {
            return None;
        }
        router.tools.get(name).cloned()
    }

    async fn on_initialized(&self, ctx: NotificationContext<RoleServer>) {
        let has_roots = ctx.peer.peer_info().is_some_and(|i| i.capabilities.roots.is_some());
        let http_id = ctx
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.headers.get(crate::lane::SESSION_HEADER))
            .and_then(|v| v.to_str().ok())
            .map(Arc::from);
        let gone = self
            .hub
            .relay
            .fronts
            .add_legacy(self.session.clone(), ctx.peer, http_id);
        // Sessions that ended left their resource subscriptions behind.
        for id in gone {
            self.hub.unsubscribe_all(id).await;
        }
        // The roots mcpmux answers backends with (outside any call) just grew.
        if has_roots {
            self.hub.roots_changed(&self.session.view).await;
        }
    }

    async fn on_roots_list_changed(&self, _: NotificationContext<RoleServer>) {
        self.hub.roots_changed(&self.session.view).await;
    }

    async fn set_level(&self, params: SetLevelRequestParams, _: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        self.hub.set_level(&self.session, params.level).await;
        Ok(())
    }

    async fn subscribe(
        &self,
        params: SubscribeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.session.hold();
        self.hub
            .subscribe(
                &params.uri,
                self.session.id,
                Target::Session(ctx.peer),
                &self.session.view,
            )
            .await
    }

    async fn unsubscribe(
        &self,
        params: UnsubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.hub.unsubscribe(&params.uri, self.session.id).await
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, ctx: SubscriptionContext) -> Result<(), ErrorData> {
        let sink = ctx.sink().clone();
        let id = self.hub.relay.fronts.add_sink(sink.clone());
        // The resources this stream asked for are subscribed at their backends.
        for uri in ctx.accepted().resource_subscriptions.clone().unwrap_or_default() {
            if let Err(e) = self
                .hub
                .subscribe(&uri, id, Target::Stream(sink.clone()), &self.session.view)
                .await
            {
                tracing::debug!("a listen stream's subscription to {uri:?} failed: {}", e.message);
            }
        }
        ctx.cancelled().await;
        self.hub.relay.fronts.remove_sink(id);
        self.hub.unsubscribe_all(id).await;
        Ok(())
    }
}
