//! Views of the catalog: the whole of it, or a profile (`profiles.<name>`)
//! — a subset of the backends and of their tools and prompts, by glob
//! patterns on public names. Every client session sees the catalog through
//! one view, which filters what it lists and refuses what it may not reach,
//! naming the profile and the rule; and says whether the session lists the
//! search tools instead (`tool_mode: search`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};

use crate::config;
use crate::filter::Filter;
use crate::router::Router;

/// What one session sees.
#[derive(Debug)]
pub struct View {
    /// The profile's name; None for the whole catalog.
    pub name: Option<Arc<str>>,
    /// What the profile is for, as configured.
    pub description: Option<String>,
    /// It lists `search_tools` and `call_tool` instead of the tools.
    pub search: bool,
    /// The backends in it (None: every backend).
    backends: Option<Vec<Arc<str>>>,
    tools: Filter,
    prompts: Filter,
}

/// The whole catalog's view and every profile's, as configured.
#[derive(Debug)]
pub struct Views {
    pub everything: Arc<View>,
    /// The whole catalog listed in full whatever `tool_mode` says (`<path>/all`).
    pub everything_listed: Arc<View>,
    pub profiles: BTreeMap<String, Profile>,
}

/// A profile's view, and its full-list twin when it is in search mode.
#[derive(Debug)]
pub struct Profile {
    pub view: Arc<View>,
    pub listed: Arc<View>,
}

impl Views {
    /// `search`: the whole catalog's clients list the search tools
    /// (`listen.tool_mode`); profiles may say otherwise.
    pub fn new(search: bool, profiles: &BTreeMap<String, config::Profile>) -> Views {
        let profiles = profiles
            .iter()
            .map(|(name, p)| {
                let search = p.tool_mode.as_ref().map_or(search, |m| *m == config::ToolMode::Search);
                let view = |search| Arc::new(View::profile(name, p, search));
                (
                    name.clone(),
                    Profile {
                        view: view(search),
                        listed: view(false),
                    },
                )
            })
            .collect();
        Views {
            everything: Arc::new(View::everything(search)),
            everything_listed: Arc::new(View::everything(false)),
            profiles,
        }
    }

    /// The view of profile `name`, or the whole catalog's (None).
    pub fn get(&self, name: Option<&str>) -> Option<Arc<View>> {
        match name {
            None => Some(self.everything.clone()),
            Some(n) => self.profiles.get(n).map(|p| p.view.clone()),
        }
    }
}

impl View {
    pub fn everything(search: bool) -> View {
        View {
            name: None,
            description: None,
            search,
            backends: None,
            tools: Filter::default(),
            prompts: Filter::default(),
        }
    }

    fn profile(name: &str, p: &config::Profile, search: bool) -> View {
        View {
            name: Some(name.into()),
            description: p.description.clone(),
            search,
            backends: p
                .backends
                .as_ref()
                .map(|b| b.iter().map(|n| Arc::from(n.as_str())).collect()),
            tools: Filter::new("tools", &p.tools),
            prompts: Filter::new("prompts", &p.prompts),
        }
    }

    /// Whether it shows everything there is (no filtering to do).
    pub fn is_everything(&self) -> bool {
        self.name.is_none()
    }

    /// Whether `backend` is in it.
    pub fn backend_in(&self, backend: &str) -> bool {
        self.backends.as_ref().is_none_or(|b| b.iter().any(|n| &**n == backend))
    }

    /// None if the view offers `public` (a tool or prompt of `backend`);
    /// else why not, for an error.
    pub fn hides(&self, kind: Kind, backend: &str, public: &str) -> Option<String> {
        let name = self.name.as_deref()?;
        if !self.backend_in(backend) {
            return Some(format!("backend {backend:?} is not in profile {name:?}"));
        }
        let filter = match kind {
            Kind::Tool => &self.tools,
            Kind::Prompt => &self.prompts,
        };
        filter.hides(public).map(|rule| format!("profile {name:?}'s {rule}"))
    }

    /// None if the view offers `backend`'s resources; else why not.
    pub fn hides_resources_of(&self, backend: &str) -> Option<String> {
        let name = self.name.as_deref()?;
        (!self.backend_in(backend)).then(|| format!("backend {backend:?} is not in profile {name:?}"))
    }

    /// The tools of the snapshot it shows.
    pub fn tools<'r>(&self, router: &'r Router) -> Cow<'r, [Tool]> {
        self.pick(&router.tools.items, &router.tools.owners, |t, b| {
            self.hides(Kind::Tool, b, &t.name).is_none()
        })
    }

    pub fn prompts<'r>(&self, router: &'r Router) -> Cow<'r, [Prompt]> {
        self.pick(&router.prompts.items, &router.prompts.owners, |p, b| {
            self.hides(Kind::Prompt, b, &p.name).is_none()
        })
    }

    pub fn resources<'r>(&self, router: &'r Router) -> Cow<'r, [Resource]> {
        self.pick(&router.resources, &router.resource_owners, |_, b| self.backend_in(b))
    }

    pub fn templates<'r>(&self, router: &'r Router) -> Cow<'r, [ResourceTemplate]> {
        self.pick(&router.templates, &router.template_owners, |_, b| self.backend_in(b))
    }

    /// The items (each owned by the backend at the same place in `owners`) it
    /// keeps: all of them borrowed, for the whole catalog's view.
    fn pick<'r, T: Clone>(&self, items: &'r [T], owners: &[Arc<str>], keep: impl Fn(&T, &str) -> bool) -> Cow<'r, [T]> {
        if self.is_everything() {
            return Cow::Borrowed(items);
        }
        Cow::Owned(
            items
                .iter()
                .zip(owners)
                .filter(|(item, owner)| keep(item, owner))
                .map(|(item, _)| item.clone())
                .collect(),
        )
    }
}

/// What kind of named item a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tool,
    Prompt,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views(yaml: &str) -> Views {
        let r = crate::resolve::Resolved::new(
            &crate::config::parse(yaml, "test.yaml", &|_| None).unwrap(),
            crate::resolve::Mode::Serve,
        );
        Views::new(r.settings.search_mode, &r.profiles)
    }

    #[test]
    fn a_profile_keeps_its_backends_and_filters_by_public_name() {
        let v = views(
            "backends:\n  - {name: gh, transport: command, command: [x]}\n  - {name: fs, transport: command, command: [x]}\n\
             listen: {tool_mode: search}\n\
             profiles:\n  ro:\n    backends: [gh]\n    tools: {deny: ['gh__delete_*']}\n  all-search: {tool_mode: all}\n",
        );
        assert!(v.everything.search && !v.everything_listed.search);
        let ro = v.get(Some("ro")).unwrap();
        assert!(ro.search, "a profile without tool_mode follows listen.tool_mode");
        assert!(!v.get(Some("all-search")).unwrap().search);
        assert_eq!(ro.hides(Kind::Tool, "gh", "gh__get_issue"), None);
        assert_eq!(
            ro.hides(Kind::Tool, "gh", "gh__delete_repo").as_deref(),
            Some("profile \"ro\"'s tools.deny pattern \"gh__delete_*\"")
        );
        assert_eq!(
            ro.hides(Kind::Prompt, "fs", "fs__read").as_deref(),
            Some("backend \"fs\" is not in profile \"ro\"")
        );
        assert!(ro.hides_resources_of("fs").is_some() && ro.hides_resources_of("gh").is_none());
        assert_eq!(v.everything.hides(Kind::Tool, "fs", "anything"), None);
        assert!(v.get(Some("nope")).is_none());
    }
}
