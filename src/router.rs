//! The router snapshot: the merged catalog clients see — tools and prompts
//! under their public names, resources and resource templates under their
//! public URIs — and the way from each public name or URI back to (backend,
//! original). A snapshot is immutable; the hub builds a new one whenever a
//! backend's catalog changes and swaps it in, so lists, calls and reads use
//! it without locks. This is also the seam where a build-time generated
//! router can replace the maps.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rmcp::ErrorData;
use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};

use crate::{names, uri};

/// Where a public name leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The backend's name.
    pub backend: Arc<str>,
    /// The item's name at its backend.
    pub name: Arc<str>,
}

/// One backend's contribution to a snapshot.
pub struct Source<'a> {
    /// The backend's name.
    pub backend: &'a Arc<str>,
    pub prefix: &'a str,
    pub description: Option<&'a str>,
    pub tools: &'a [Tool],
    pub prompts: &'a [Prompt],
    pub resources: &'a [Resource],
    pub templates: &'a [ResourceTemplate],
    /// Until when the backend's catalog is fresh, if it said.
    pub fresh_until: Option<Instant>,
}

impl<'a> Source<'a> {
    /// A backend that offers only tools.
    pub fn tools(backend: &'a Arc<str>, prefix: &'a str, description: Option<&'a str>, tools: &'a [Tool]) -> Self {
        Source {
            backend,
            prefix,
            description,
            tools,
            prompts: &[],
            resources: &[],
            templates: &[],
            fresh_until: None,
        }
    }
}

/// A name two backends both claim; the first (in configuration order) keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub public: String,
    pub kept: String,
    pub dropped: String,
}

/// A name that had to be shortened or cleaned to fit the client limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub backend: String,
    pub original: String,
    pub public: String,
}

/// A catalog item with a name clients call it by (tools, prompts).
pub trait Named: Clone + PartialEq {
    fn name(&self) -> &str;
    fn set_name(&mut self, public: String);
    fn description(&self) -> Option<&str>;
    fn set_description(&mut self, description: String);
}

impl Named for Tool {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, public: String) {
        self.name = public.into();
    }
    fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    fn set_description(&mut self, description: String) {
        self.description = Some(description.into());
    }
}

impl Named for Prompt {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, public: String) {
        self.name = public;
    }
    fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    fn set_description(&mut self, description: String) {
        self.description = Some(description);
    }
}

/// The merged items of one kind, by public name.
#[derive(Debug)]
pub struct Names<T> {
    /// Public items, in configuration order, then each backend's own order.
    pub items: Vec<T>,
    /// For each entry of `items`, the name of the backend it comes from.
    pub owners: Vec<Arc<str>>,
    routes: HashMap<String, (Route, usize)>,
    pub clashes: Vec<Clash>,
    pub renamed: Vec<Renamed>,
}

impl<T> Default for Names<T> {
    fn default() -> Self {
        Names {
            items: Vec::new(),
            owners: Vec::new(),
            routes: HashMap::new(),
            clashes: Vec::new(),
            renamed: Vec::new(),
        }
    }
}

impl<T: Named + 'static> Names<T> {
    fn build<'a>(sources: &[Source<'a>], items: impl Fn(&Source<'a>) -> &'a [T]) -> Names<T> {
        let mut n = Names::default();
        let mut owner_names: HashMap<String, &str> = HashMap::new();
        for s in sources {
            for item in items(s) {
                let (public, altered) = names::public_name(s.prefix, item.name());
                if let Some(kept) = owner_names.get(&public) {
                    n.clashes.push(Clash {
                        public,
                        kept: kept.to_string(),
                        dropped: s.backend.to_string(),
                    });
                    continue;
                }
                if altered {
                    n.renamed.push(Renamed {
                        backend: s.backend.to_string(),
                        original: item.name().to_string(),
                        public: public.clone(),
                    });
                }
                let mut public_item = item.clone();
                public_item.set_name(public.clone());
                if let Some(d) = s.description.filter(|d| !d.is_empty()) {
                    public_item.set_description(match item.description() {
                        Some(own) if !own.is_empty() => format!("{d}\n\n{own}"),
                        _ => d.to_string(),
                    });
                }
                owner_names.insert(public.clone(), s.backend);
                let route = Route {
                    backend: s.backend.clone(),
                    name: Arc::from(item.name()),
                };
                n.routes.insert(public, (route, n.items.len()));
                n.items.push(public_item);
                n.owners.push(s.backend.clone());
            }
        }
        n
    }
}

impl<T> Names<T> {
    /// Where `public` leads, if anywhere.
    pub fn route(&self, public: &str) -> Option<&Route> {
        self.routes.get(public).map(|(r, _)| r)
    }

    /// The public item called `public`.
    pub fn get(&self, public: &str) -> Option<&T> {
        self.routes.get(public).map(|(_, i)| &self.items[*i])
    }
}

/// The merged catalog at one moment.
#[derive(Debug, Default)]
pub struct Router {
    /// Changes when what clients see changes; it stamps list cursors.
    pub generation: u64,
    /// The count of backend changes this snapshot reflects.
    pub version: u64,
    /// Until when every catalog in it is fresh (the soonest any backend declared).
    pub fresh_until: Option<Instant>,
    pub tools: Names<Tool>,
    pub prompts: Names<Prompt>,
    /// Resources under their public URIs.
    pub resources: Vec<Resource>,
    /// For each entry of `resources`, its backend.
    pub resource_owners: Vec<Arc<str>>,
    /// Resource templates under their public URI templates.
    pub templates: Vec<ResourceTemplate>,
    /// For each entry of `templates`, its backend.
    pub template_owners: Vec<Arc<str>>,
    /// Backend by prefix (every backend with one).
    prefixes: HashMap<String, Arc<str>>,
    /// Backends without a prefix, in configuration order, and the URIs they listed.
    unprefixed: Vec<Arc<str>>,
    unprefixed_uris: HashMap<String, Arc<str>>,
    unprefixed_templates: Vec<(String, Arc<str>)>,
}

impl Router {
    pub fn build(generation: u64, sources: &[Source<'_>]) -> Router {
        let mut r = Router {
            generation,
            tools: Names::build(sources, |s| s.tools),
            prompts: Names::build(sources, |s| s.prompts),
            ..Router::default()
        };
        for s in sources {
            if let Some(t) = s.fresh_until {
                r.fresh_until = Some(r.fresh_until.map_or(t, |f| f.min(t)));
            }
            if s.prefix.is_empty() {
                r.unprefixed.push(s.backend.clone());
            } else {
                r.prefixes.insert(s.prefix.to_string(), s.backend.clone());
            }
            for res in s.resources {
                let mut public = res.clone();
                public.uri = uri::encode(s.prefix, &res.uri);
                if s.prefix.is_empty() {
                    r.unprefixed_uris
                        .entry(res.uri.clone())
                        .or_insert_with(|| s.backend.clone());
                }
                r.resources.push(public);
                r.resource_owners.push(s.backend.clone());
            }
            for t in s.templates {
                let mut public = t.clone();
                public.uri_template = uri::encode(s.prefix, &t.uri_template);
                if s.prefix.is_empty() {
                    r.unprefixed_templates
                        .push((literal_head(&t.uri_template).to_string(), s.backend.clone()));
                }
                r.templates.push(public);
                r.template_owners.push(s.backend.clone());
            }
        }
        r
    }

    /// The backend a public resource URI belongs to, and the URI at that backend.
    pub fn resource(&self, public: &str) -> Option<(Arc<str>, String)> {
        if let Some((prefix, original)) = uri::decode(public) {
            if let Some(b) = self.prefixes.get(prefix) {
                return Some((b.clone(), original.to_string()));
            }
            // No backend has that prefix: only an unprefixed backend's own
            // listed URI can still look like this.
            return self
                .unprefixed_uris
                .get(public)
                .map(|b| (b.clone(), public.to_string()));
        }
        // An unprefixed backend's URI: one it listed, one its templates make,
        // or — when only one backend is unprefixed — its own.
        if let Some(b) = self.unprefixed_uris.get(public) {
            return Some((b.clone(), public.to_string()));
        }
        let by_template = self
            .unprefixed_templates
            .iter()
            .filter(|(head, _)| public.starts_with(head.as_str()))
            .max_by_key(|(head, _)| head.len());
        if let Some((_, b)) = by_template {
            return Some((b.clone(), public.to_string()));
        }
        match self.unprefixed.as_slice() {
            [only] => Some((only.clone(), public.to_string())),
            _ => None,
        }
    }

    /// The backend with public prefix `prefix` ("" for unprefixed URIs).
    pub fn backend_of_prefix(&self, prefix: &str) -> Option<&Arc<str>> {
        self.prefixes.get(prefix)
    }

    /// One page of `items`. Cursors name the snapshot they belong to; a
    /// cursor from an older snapshot is refused (the client was told to re-list).
    pub fn page<'a, T>(
        &self,
        items: &'a [T],
        cursor: Option<&str>,
        size: usize,
    ) -> Result<(&'a [T], Option<String>), ErrorData> {
        let start = match cursor {
            None => 0,
            Some(c) => {
                let parsed = c
                    .split_once(':')
                    .and_then(|(g, o)| Some((g.parse::<u64>().ok()?, o.parse::<usize>().ok()?)));
                match parsed {
                    Some((g, o)) if g == self.generation && o <= items.len() => o,
                    Some(_) => {
                        return Err(ErrorData::invalid_params(
                            "the list changed since this cursor was issued; list again from the start",
                            None,
                        ));
                    }
                    None => return Err(ErrorData::invalid_params(format!("malformed cursor {c:?}"), None)),
                }
            }
        };
        let end = start.saturating_add(size.max(1)).min(items.len());
        let next = (end < items.len()).then(|| format!("{}:{end}", self.generation));
        Ok((&items[start..end], next))
    }

    /// Whether `other` shows clients the same catalog (names and contents).
    pub fn same_catalog(&self, other: &Router) -> bool {
        self.tools.items == other.tools.items
            && self.prompts.items == other.prompts.items
            && self.resources == other.resources
            && self.templates == other.templates
    }

    /// Every clash and renaming, of tools and prompts.
    pub fn clashes(&self) -> impl Iterator<Item = &Clash> {
        self.tools.clashes.iter().chain(&self.prompts.clashes)
    }

    pub fn renamed(&self) -> impl Iterator<Item = &Renamed> {
        self.tools.renamed.iter().chain(&self.prompts.renamed)
    }
}

/// The part of a URI template before its first expression.
fn literal_head(template: &str) -> &str {
    template.split('{').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, description: &str) -> Tool {
        let schema = json!({"type": "object"}).as_object().unwrap().clone();
        Tool::new(name.to_string(), description.to_string(), Arc::new(schema))
    }

    fn source<'a>(
        backend: &'a Arc<str>,
        prefix: &'a str,
        description: Option<&'a str>,
        tools: &'a [Tool],
    ) -> Source<'a> {
        Source::tools(backend, prefix, description, tools)
    }

    #[test]
    fn merges_renames_routes_and_pages() {
        let (na, nb, nc): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        let a = [tool("echo", "Echoes."), tool("add", "")];
        let b = [tool("echo", "Echoes too.")];
        let c = [tool("echo", "Unprefixed."), tool("solo", "x")];
        let r = Router::build(
            7,
            &[
                source(&na, "a", Some("Backend A."), &a),
                source(&nb, "bee", None, &b),
                source(&nc, "", None, &c),
            ],
        );
        let names: Vec<&str> = r.tools.items.iter().map(|t| &*t.name).collect();
        assert_eq!(names, ["a__echo", "a__add", "bee__echo", "echo", "solo"]);
        assert_eq!(r.tools.items[0].description.as_deref(), Some("Backend A.\n\nEchoes."));
        assert_eq!(r.tools.items[1].description.as_deref(), Some("Backend A."));
        assert_eq!(
            r.tools.route("bee__echo"),
            Some(&Route {
                backend: nb.clone(),
                name: "echo".into()
            })
        );
        assert_eq!(
            r.tools.route("echo"),
            Some(&Route {
                backend: nc.clone(),
                name: "echo".into()
            })
        );
        assert_eq!(r.tools.route("nope"), None);
        let (page, next) = r.page(&r.tools.items, None, 2).unwrap();
        assert_eq!(page.len(), 2);
        let (page, next) = r.page(&r.tools.items, next.as_deref(), 2).unwrap();
        assert_eq!(&*page[0].name, "bee__echo");
        let (page, next) = r.page(&r.tools.items, next.as_deref(), 2).unwrap();
        assert_eq!((page.len(), next), (1, None));
        assert!(r.page(&r.tools.items, Some("6:2"), 2).is_err(), "stale cursor");
        assert!(r.page(&r.tools.items, Some("junk"), 2).is_err());
    }

    #[test]
    fn freshness_is_the_soonest_declared() {
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        let tools = [tool("echo", "")];
        let now = Instant::now();
        let soon = now + std::time::Duration::from_secs(1);
        let later = now + std::time::Duration::from_secs(9);
        let mut sources = vec![source(&a, "a", None, &tools), source(&b, "b", None, &tools)];
        assert_eq!(Router::build(1, &sources).fresh_until, None, "nobody declared one");
        sources[0].fresh_until = Some(later);
        sources.push(Source {
            fresh_until: Some(soon),
            ..source(&c, "c", None, &tools)
        });
        assert_eq!(Router::build(1, &sources).fresh_until, Some(soon));
    }

    #[test]
    fn resources_and_templates_route_by_public_uri() {
        let (files, plain, other): (Arc<str>, Arc<str>, Arc<str>) = ("files".into(), "plain".into(), "other".into());
        let res = |uri: &str| Resource::new(uri, "r");
        let tpl = |t: &str| ResourceTemplate::new(t, "t");
        let fr = [res("file:///a.txt")];
        let ft = [tpl("file:///{path}")];
        let pr = [res("test://static-text")];
        let pt = [tpl("test://template/{id}/data")];
        let sources = [
            Source {
                resources: &fr,
                templates: &ft,
                ..Source::tools(&files, "fs", None, &[])
            },
            Source {
                resources: &pr,
                templates: &pt,
                ..Source::tools(&plain, "", None, &[])
            },
            Source::tools(&other, "", None, &[]),
        ];
        let r = Router::build(1, &sources);
        assert_eq!(r.resources[0].uri, "mcpmux://fs/file:///a.txt");
        assert_eq!(r.templates[0].uri_template, "mcpmux://fs/file:///{path}");
        assert_eq!(
            r.resources[1].uri, "test://static-text",
            "unprefixed backends keep their URIs"
        );
        assert_eq!(
            r.resource("mcpmux://fs/file:///b/c.txt"),
            Some((files.clone(), "file:///b/c.txt".into()))
        );
        assert_eq!(
            r.resource("test://static-text"),
            Some((plain.clone(), "test://static-text".into()))
        );
        assert_eq!(
            r.resource("test://template/7/data"),
            Some((plain.clone(), "test://template/7/data".into()))
        );
        assert_eq!(r.resource("unknown://x"), None, "two unprefixed backends: no guess");
        assert_eq!(r.resource("mcpmux://nope/x"), None);
    }

    #[test]
    fn clashes_keep_the_first_backend_and_are_reported() {
        let (first, second): (Arc<str>, Arc<str>) = ("first".into(), "second".into());
        let a = [tool("echo", "")];
        let b = [tool("echo", ""), tool("other", "")];
        let r = Router::build(1, &[source(&first, "", None, &a), source(&second, "", None, &b)]);
        assert_eq!(r.tools.route("echo").unwrap().backend, first);
        assert_eq!(r.tools.items.len(), 2);
        assert_eq!(
            r.tools.clashes,
            [Clash {
                public: "echo".into(),
                kept: "first".into(),
                dropped: "second".into()
            }]
        );
    }
}
