//! A backend's catalog: what it offers (tools, prompts, resources, resource
//! templates — each kind only if its capabilities say so), read page by page
//! with a guard against cursors that never advance, and the shortest
//! freshness (`ttlMs`) any page declared.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rmcp::model::{PaginatedRequestParams, Prompt, Resource, ResourceTemplate, ServerCapabilities, Tool};
use rmcp::service::ServiceError;
use rmcp::{Peer, RoleClient};

use crate::redact;

/// Pages of one listing, at most (a guard against endless cursors).
const MAX_PAGES: usize = 1000;

/// A backend's items under their own names and URIs, as last listed.
#[derive(Debug, Default)]
pub struct Catalog {
    pub tools: Vec<Tool>,
    pub prompts: Vec<Prompt>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
    /// When the listing that produced it began.
    pub listed_at: Option<Instant>,
    /// Until when it is fresh, when the backend said (`ttlMs`); `None`: until
    /// the backend announces a change.
    pub fresh_until: Option<Instant>,
}

impl Catalog {
    pub fn is_stale(&self, now: Instant) -> bool {
        self.fresh_until.is_some_and(|t| now >= t)
    }
}

/// The kinds of items a backend offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offers {
    pub tools: bool,
    pub prompts: bool,
    pub resources: bool,
}

impl Offers {
    /// What `capabilities` announce (`None`: a backend that said nothing is asked for tools).
    pub fn of(capabilities: Option<&ServerCapabilities>) -> Offers {
        match capabilities {
            None => Offers {
                tools: true,
                ..Offers::default()
            },
            Some(c) => Offers {
                tools: c.tools.is_some(),
                prompts: c.prompts.is_some(),
                resources: c.resources.is_some(),
            },
        }
    }

    pub fn any(self) -> bool {
        self.tools || self.prompts || self.resources
    }
}

/// One page: items, the next cursor, the declared freshness.
type Page<T> = (Vec<T>, Option<String>, Option<u64>);

/// Lists every kind `offers` names, each completely.
pub async fn list(peer: &Peer<RoleClient>, offers: Offers, timeout: Duration) -> Result<Catalog, String> {
    let began = Instant::now();
    let mut ttl = Ttl::default();
    let mut catalog = Catalog::default();
    if offers.tools {
        catalog.tools = pages("tools", timeout, &mut ttl, |p| async move {
            peer.list_tools(p).await.map(|r| (r.tools, r.next_cursor, r.ttl_ms))
        })
        .await?;
    }
    if offers.prompts {
        catalog.prompts = pages("prompts", timeout, &mut ttl, |p| async move {
            peer.list_prompts(p).await.map(|r| (r.prompts, r.next_cursor, r.ttl_ms))
        })
        .await?;
    }
    if offers.resources {
        catalog.resources = pages("resources", timeout, &mut ttl, |p| async move {
            peer.list_resources(p)
                .await
                .map(|r| (r.resources, r.next_cursor, r.ttl_ms))
        })
        .await?;
        catalog.templates = pages("resource templates", timeout, &mut ttl, |p| async move {
            peer.list_resource_templates(p)
                .await
                .map(|r| (r.resource_templates, r.next_cursor, r.ttl_ms))
        })
        .await?;
    }
    catalog.listed_at = Some(began);
    catalog.fresh_until = ttl.0.and_then(|t| began.checked_add(t));
    Ok(catalog)
}

/// The shortest freshness declared so far.
#[derive(Default)]
struct Ttl(Option<Duration>);

impl Ttl {
    fn add(&mut self, ms: Option<u64>) {
        if let Some(ms) = ms {
            let d = Duration::from_millis(ms);
            self.0 = Some(self.0.map_or(d, |t| t.min(d)));
        }
    }
}

/// Every page of one list method.
async fn pages<T, F, Fut>(what: &str, timeout: Duration, ttl: &mut Ttl, fetch: F) -> Result<Vec<T>, String>
where
    F: Fn(Option<PaginatedRequestParams>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ServiceError>>,
{
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        let params = cursor
            .take()
            .map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
        let (page, next, page_ttl) = tokio::time::timeout(timeout, fetch(params))
            .await
            .map_err(|_| format!("listing its {what} got no answer within {timeout:?}"))?
            .map_err(|e| format!("listing its {what} failed: {}", redact::urls(&e.to_string())))?;
        ttl.add(page_ttl);
        items.extend(page);
        match next {
            None => return Ok(items),
            Some(next) if !seen.insert(next.clone()) => {
                tracing::warn!(cursor = %next, "the backend repeated a cursor listing its {what}; stopping at {}", items.len());
                return Ok(items);
            }
            Some(next) => cursor = Some(next),
        }
    }
    tracing::warn!(
        "listing its {what} ran past {MAX_PAGES} pages; stopping at {}",
        items.len()
    );
    Ok(items)
}
