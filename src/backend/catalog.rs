//! A backend's catalog: what it offers (tools, prompts, resources, resource
//! templates — each kind only if its capabilities say so), read page by page
//! with a guard against cursors that never advance, and the shortest
//! freshness (`ttlMs`) any page declared.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rmcp::model::{PaginatedRequestParams, Prompt, Resource, ResourceTemplate, ServerCapabilities, Tool};
use rmcp::service::ServiceError;
use rmcp::{Peer, RoleClient};

use crate::filter::{Filter, Filters};
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
    /// What the backend listed and its filters hid.
    pub hidden: Hidden,
}

/// Items a backend listed that its filters hid, each with the rule (as
/// `mcpmux list --json` shows them).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Hidden {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<HiddenItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<HiddenItem>,
    /// Resources and resource templates, by URI (template).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<HiddenItem>,
}

impl Hidden {
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.prompts.is_empty() && self.resources.is_empty()
    }

    /// `2 tools (a, b), 1 resource (file:///x)`.
    pub fn summary(&self) -> String {
        [
            (&self.tools, "tool"),
            (&self.prompts, "prompt"),
            (&self.resources, "resource"),
        ]
        .iter()
        .filter(|(items, _)| !items.is_empty())
        .map(|(items, what)| {
            let names: Vec<&str> = items.iter().map(|h| h.name.as_str()).collect();
            let plural = if items.len() == 1 { "" } else { "s" };
            format!("{} {what}{plural} ({})", items.len(), names.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct HiddenItem {
    /// The backend's own name (or URI).
    pub name: String,
    /// What hid it, e.g. `tools.deny pattern "delete_*"`.
    pub rule: String,
}

/// Keeps the items `filter` offers; the others go to `hidden`.
fn keep<T>(items: &mut Vec<T>, filter: &Filter, key: impl Fn(&T) -> &str, hidden: &mut Vec<HiddenItem>) {
    items.retain(|item| match filter.hides(key(item)) {
        None => true,
        Some(rule) => {
            hidden.push(HiddenItem {
                name: key(item).to_string(),
                rule,
            });
            false
        }
    });
}

impl Catalog {
    /// Applies a backend's filters: what they hide leaves the lists and is
    /// recorded in `hidden`.
    pub fn filter(&mut self, filters: &Filters) {
        let mut hidden = Hidden::default();
        keep(&mut self.tools, &filters.tools, |t| &t.name, &mut hidden.tools);
        keep(&mut self.prompts, &filters.prompts, |p| &p.name, &mut hidden.prompts);
        keep(
            &mut self.resources,
            &filters.resources,
            |r| &r.uri,
            &mut hidden.resources,
        );
        keep(
            &mut self.templates,
            &filters.resources,
            |t| &t.uri_template,
            &mut hidden.resources,
        );
        self.hidden = hidden;
    }

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
