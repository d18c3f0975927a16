//! The tool search of `listen.tool_mode: search`: an index over the public
//! catalog, built once per router snapshot, that ranks tools for a query
//! with BM25 over three weighted fields — the name (its words: `_`, `-`, `.`
//! and camelCase split; the backend's prefix included), the parameter names,
//! and the description. Words are lowercased and a plural `s` dropped, so
//! "issues" finds `create_issue`. A few lines of arithmetic rather than a
//! search engine crate: the catalog is small (thousands of tools), rebuilt
//! whole on change, and must answer in well under a millisecond.

use std::collections::HashMap;

use rmcp::model::Tool;

/// BM25's term-frequency saturation and length normalization.
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// How much a word counts in each field.
const NAME_WEIGHT: f32 = 3.0;
const PARAM_WEIGHT: f32 = 1.5;
const DESCRIPTION_WEIGHT: f32 = 1.0;

/// The index of one catalog.
#[derive(Debug, Default)]
pub struct Index {
    /// Per tool: its weighted length.
    lengths: Vec<f32>,
    average: f32,
    /// Per word: (tool, weighted count) for every tool that has it.
    postings: HashMap<String, Vec<(u32, f32)>>,
}

/// The words of `text`: alphanumeric runs, split at lower-to-upper case
/// changes, lowercased, a plural `s` dropped from words of four letters or more.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .flat_map(split_camel)
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut w = w.to_lowercase();
            if w.len() >= 4 && w.ends_with('s') && !w.ends_with("ss") {
                w.pop();
            }
            w
        })
}

fn split_camel(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    for pair in chars.windows(2) {
        let ((_, a), (i, b)) = (pair[0], pair[1]);
        if a.is_lowercase() && b.is_uppercase() {
            out.push(&word[start..i]);
            start = i;
        }
    }
    out.push(&word[start..]);
    out
}

impl Index {
    pub fn build(tools: &[Tool]) -> Index {
        let mut postings: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(tools.len());
        for (i, tool) in tools.iter().enumerate() {
            let mut counts: HashMap<String, f32> = HashMap::new();
            let mut add = |text: &str, weight: f32| {
                for w in words(text) {
                    *counts.entry(w).or_default() += weight;
                }
            };
            add(&tool.name, NAME_WEIGHT);
            if let Some(serde_json::Value::Object(props)) = tool.input_schema.get("properties") {
                for param in props.keys() {
                    add(param, PARAM_WEIGHT);
                }
            }
            if let Some(d) = &tool.description {
                add(d, DESCRIPTION_WEIGHT);
            }
            lengths.push(counts.values().sum());
            for (w, c) in counts {
                postings.entry(w).or_default().push((i as u32, c));
            }
        }
        let average = if lengths.is_empty() {
            1.0
        } else {
            (lengths.iter().sum::<f32>() / lengths.len() as f32).max(f32::EPSILON)
        };
        Index {
            lengths,
            average,
            postings,
        }
    }

    /// The positions of the best `limit` tools for `query`, best first
    /// (ties in catalog order); only tools sharing a word with it.
    pub fn search(&self, query: &str, limit: usize) -> Vec<usize> {
        let n = self.lengths.len() as f32;
        let mut scores = vec![0f32; self.lengths.len()];
        let mut seen = Vec::new();
        for w in words(query) {
            if seen.contains(&w) {
                continue;
            }
            let Some(list) = self.postings.get(&w) else {
                seen.push(w);
                continue;
            };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(doc, tf) in list {
                let norm = K1 * (1.0 - B + B * self.lengths[doc as usize] / self.average);
                scores[doc as usize] += idf * tf * (K1 + 1.0) / (tf + norm);
            }
            seen.push(w);
        }
        let mut hits: Vec<usize> = (0..scores.len()).filter(|&i| scores[i] > 0.0).collect();
        let by_score = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit, by_score);
            hits.truncate(limit);
        }
        hits.sort_by(by_score);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn tool(name: &str, description: &str, params: &[&str]) -> Tool {
        let props: serde_json::Map<String, serde_json::Value> = params
            .iter()
            .map(|p| (p.to_string(), serde_json::json!({"type": "string"})))
            .collect();
        let schema = serde_json::json!({"type": "object", "properties": props});
        Tool::new(
            name.to_string(),
            description.to_string(),
            Arc::new(schema.as_object().unwrap().clone()),
        )
    }

    fn names(tools: &[Tool], hits: Vec<usize>) -> Vec<&str> {
        hits.into_iter().map(|i| &*tools[i].name).collect()
    }

    #[test]
    fn words_split_names_and_drop_plurals() {
        let w: Vec<String> = words("github__createIssue list-repos.v2 Class").collect();
        assert_eq!(w, ["github", "create", "issue", "list", "repo", "v2", "class"]);
    }

    #[test]
    fn names_outrank_descriptions_and_parameters_count() {
        let tools = vec![
            tool(
                "github__create_issue",
                "Open a new issue in a repository.",
                &["repo", "title"],
            ),
            tool(
                "jira__create_ticket",
                "Create a ticket; like an issue, in Jira.",
                &["project"],
            ),
            tool("fs__read_file", "Read a file from disk.", &["path"]),
            tool("fs__write_file", "Write a file.", &["path", "content"]),
        ];
        let index = Index::build(&tools);
        let hits = names(&tools, index.search("create issue", 10));
        assert_eq!(hits[0], "github__create_issue");
        assert_eq!(hits[1], "jira__create_ticket");
        assert_eq!(hits.len(), 2, "only tools sharing a word: {hits:?}");
        let mut by_param = names(&tools, index.search("path", 10));
        by_param.sort();
        assert_eq!(by_param, ["fs__read_file", "fs__write_file"]);
        assert_eq!(names(&tools, index.search("content", 1)), ["fs__write_file"]);
        assert!(index.search("zebra unicorn", 10).is_empty());
        assert_eq!(index.search("file", 1).len(), 1, "the limit holds");
    }
}
