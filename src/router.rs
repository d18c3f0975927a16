//! The router snapshot: the merged, renamed tool list clients see, and the
//! map from each public name back to (backend, original name). A snapshot is
//! immutable; the hub builds a new one whenever a backend's catalog changes
//! and swaps it in, so tools/list and tools/call read it without locks. This
//! is also the seam where a build-time generated router can replace the map.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rmcp::ErrorData;
use rmcp::model::Tool;

use crate::names;

/// Where a public name leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The backend's name.
    pub backend: Arc<str>,
    /// The tool's name at its backend.
    pub name: Arc<str>,
}

/// One backend's contribution to a snapshot.
pub struct Source<'a> {
    /// The backend's name.
    pub backend: &'a Arc<str>,
    pub prefix: &'a str,
    pub description: Option<&'a str>,
    pub tools: &'a [Tool],
    /// Until when the backend's catalog is fresh, if it said.
    pub fresh_until: Option<Instant>,
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

/// The merged catalog at one moment.
#[derive(Debug, Default)]
pub struct Router {
    /// Changes when the tools clients see change; it stamps list cursors.
    pub generation: u64,
    /// The count of backend changes this snapshot reflects.
    pub version: u64,
    /// Until when every catalog in it is fresh (the soonest any backend declared).
    pub fresh_until: Option<Instant>,
    /// Public tools, in configuration order, then each backend's own order.
    pub tools: Vec<Tool>,
    /// For each entry of `tools`, the name of the backend it comes from.
    pub owners: Vec<Arc<str>>,
    routes: HashMap<String, (Route, usize)>,
    pub clashes: Vec<Clash>,
    pub renamed: Vec<Renamed>,
}

impl Router {
    pub fn build(generation: u64, sources: &[Source<'_>]) -> Router {
        let mut r = Router {
            generation,
            ..Router::default()
        };
        let mut owner_names: HashMap<String, &str> = HashMap::new();
        for s in sources {
            if let Some(t) = s.fresh_until {
                r.fresh_until = Some(r.fresh_until.map_or(t, |f| f.min(t)));
            }
            for tool in s.tools {
                let (public, altered) = names::public_name(s.prefix, &tool.name);
                if let Some(kept) = owner_names.get(&public) {
                    r.clashes.push(Clash {
                        public,
                        kept: kept.to_string(),
                        dropped: s.backend.to_string(),
                    });
                    continue;
                }
                if altered {
                    r.renamed.push(Renamed {
                        backend: s.backend.to_string(),
                        original: tool.name.to_string(),
                        public: public.clone(),
                    });
                }
                let mut t = tool.clone();
                t.name = public.clone().into();
                if let Some(d) = s.description.filter(|d| !d.is_empty()) {
                    t.description = Some(match &tool.description {
                        Some(own) if !own.is_empty() => format!("{d}\n\n{own}").into(),
                        _ => d.to_string().into(),
                    });
                }
                owner_names.insert(public.clone(), s.backend);
                let route = Route {
                    backend: s.backend.clone(),
                    name: Arc::from(&*tool.name),
                };
                r.routes.insert(public, (route, r.tools.len()));
                r.tools.push(t);
                r.owners.push(s.backend.clone());
            }
        }
        r
    }

    /// Where `public` leads, if anywhere.
    pub fn route(&self, public: &str) -> Option<&Route> {
        self.routes.get(public).map(|(r, _)| r)
    }

    /// The public tool called `public`.
    pub fn tool(&self, public: &str) -> Option<&Tool> {
        self.routes.get(public).map(|(_, i)| &self.tools[*i])
    }

    /// One page of the tool list. Cursors name the snapshot they belong to; a
    /// cursor from an older snapshot is refused (the client was told to re-list).
    pub fn page(&self, cursor: Option<&str>, size: usize) -> Result<(&[Tool], Option<String>), ErrorData> {
        let start = match cursor {
            None => 0,
            Some(c) => {
                let parsed = c
                    .split_once(':')
                    .and_then(|(g, o)| Some((g.parse::<u64>().ok()?, o.parse::<usize>().ok()?)));
                match parsed {
                    Some((g, o)) if g == self.generation && o <= self.tools.len() => o,
                    Some(_) => {
                        return Err(ErrorData::invalid_params(
                            "the tool list changed since this cursor was issued; list again from the start",
                            None,
                        ));
                    }
                    None => return Err(ErrorData::invalid_params(format!("malformed cursor {c:?}"), None)),
                }
            }
        };
        let end = start.saturating_add(size.max(1)).min(self.tools.len());
        let next = (end < self.tools.len()).then(|| format!("{}:{end}", self.generation));
        Ok((&self.tools[start..end], next))
    }

    /// Whether `other` shows clients the same tools (names and contents).
    pub fn same_tools(&self, other: &Router) -> bool {
        self.tools == other.tools
    }
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
        Source {
            backend,
            prefix,
            description,
            tools,
            fresh_until: None,
        }
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
        let names: Vec<&str> = r.tools.iter().map(|t| &*t.name).collect();
        assert_eq!(names, ["a__echo", "a__add", "bee__echo", "echo", "solo"]);
        assert_eq!(r.tools[0].description.as_deref(), Some("Backend A.\n\nEchoes."));
        assert_eq!(r.tools[1].description.as_deref(), Some("Backend A."));
        assert_eq!(
            r.route("bee__echo"),
            Some(&Route {
                backend: nb.clone(),
                name: "echo".into()
            })
        );
        assert_eq!(
            r.route("echo"),
            Some(&Route {
                backend: nc.clone(),
                name: "echo".into()
            })
        );
        assert_eq!(r.route("nope"), None);
        let (page, next) = r.page(None, 2).unwrap();
        assert_eq!(page.len(), 2);
        let (page, next) = r.page(next.as_deref(), 2).unwrap();
        assert_eq!(&*page[0].name, "bee__echo");
        let (page, next) = r.page(next.as_deref(), 2).unwrap();
        assert_eq!((page.len(), next), (1, None));
        assert!(r.page(Some("6:2"), 2).is_err(), "stale cursor");
        assert!(r.page(Some("junk"), 2).is_err());
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
    fn clashes_keep_the_first_backend_and_are_reported() {
        let (first, second): (Arc<str>, Arc<str>) = ("first".into(), "second".into());
        let a = [tool("echo", "")];
        let b = [tool("echo", ""), tool("other", "")];
        let r = Router::build(1, &[source(&first, "", None, &a), source(&second, "", None, &b)]);
        assert_eq!(r.route("echo").unwrap().backend, first);
        assert_eq!(r.tools.len(), 2);
        assert_eq!(
            r.clashes,
            [Clash {
                public: "echo".into(),
                kept: "first".into(),
                dropped: "second".into()
            }]
        );
    }
}
