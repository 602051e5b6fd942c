//! No import circles: reads the sources of the sim and the harness, takes each module's
//! dependencies from the paths it names (`crate::a::b`, `super::x`, `use crate::{a, b::c}`),
//! and looks for cycles (strongly connected components).
//!
//! A module's own submodules are its parts, not dependencies (`mod.rs` naming `store::Key`
//! is how a module is built); a submodule naming its parent (`super::X`) is a dependency. Test
//! code (from the first `#[cfg(test)]` of a file on) and comments are not read.
//!
//! - The sim: no cycle among its files.
//! - The harness: no cycle among its top-level modules (shared vocabulary lives in small leaf
//!   modules: `rules`, `capability`, `platform`, `chart`, `ledger`, `source`, `template`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`a::b`, empty for the crate root) -> the modules it depends on.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                // The binary's root is another crate (it names the library by its name).
                if parts == ["main"] || parts.first().is_some_and(|p| p == "bin") {
                    continue;
                }
                if parts == ["lib"] {
                    parts.clear();
                }
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((parts.join("::"), text));
            }
        }
    }
    out
}

/// The code of a file without its tests and comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands the path starting at `text` (after `crate::` or `super::`) into the full paths
/// it names: `a::b` -> [a::b]; `{a, b::{c, d}}` -> [a, b::c, b::d].
fn expand(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if !ident.is_empty() {
            rest = &rest[ident.len()..];
            segments.push(ident);
            if let Some(after) = rest.strip_prefix("::") {
                rest = after;
                continue;
            }
            out.push(segments.join("::"));
            return out;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let inner = &group[..end];
            let mut depth = 0;
            let mut start = 0;
            let mut items = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&inner[start..]);
            for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
                for path in expand(item) {
                    let mut full = segments.clone();
                    full.push(path);
                    out.push(full.join("::"));
                }
            }
        } else if !segments.is_empty() {
            out.push(segments.join("::"));
        }
        return out;
    }
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_owned())
}

fn is_part_of(module: &str, ancestor: &str) -> bool {
    ancestor.is_empty() || module == ancestor || module.starts_with(&format!("{ancestor}::"))
}

/// The file-level dependency graph of the crate under `root`.
fn graph(root: &Path) -> Graph {
    let files = sources(root);
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    // Items and modules the crate root re-exports (`pub use config::{RoleSeed, SimConfig};`,
    // `pub use target::doctor;`).
    let mut reexports: BTreeMap<String, String> = BTreeMap::new();
    if let Some((_, lib)) = files.iter().find(|(m, _)| m.is_empty()) {
        for line in code_of(lib).lines() {
            if let Some(path) = line.trim().strip_prefix("pub use ") {
                for full in expand(path.trim_end_matches(';')) {
                    if let Some((module, item)) = full.rsplit_once("::") {
                        reexports.insert(item.to_owned(), module.to_owned());
                    }
                }
            }
        }
    }
    let resolve = |path: &str| -> Option<String> {
        // A path through a re-exported name continues in the module it was re-exported from.
        let (first, rest) = path.split_once("::").unwrap_or((path, ""));
        let path = match (reexports.get(first), rest) {
            (Some(module), "") => format!("{module}::{first}"),
            (Some(module), rest) => format!("{module}::{first}::{rest}"),
            (None, _) => path.to_owned(),
        };
        let segments: Vec<&str> = path.split("::").collect();
        (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("::"))
            .find(|candidate| modules.contains(candidate))
    };
    let mut graph = Graph::new();
    for (module, text) in &files {
        let code = code_of(text);
        let mut deps = BTreeSet::new();
        for (keyword, base) in [("crate::", String::new()), ("super::", parent(module))] {
            for (i, _) in code.match_indices(keyword) {
                // Inside a longer path (`super::super::`, `other::crate::`): read from its start.
                if code[..i].ends_with("::") || code[..i].chars().next_back().is_some_and(is_ident)
                {
                    continue;
                }
                for path in expand(&code[i + keyword.len()..]) {
                    // `super::super::x` climbs one more level per `super`.
                    let mut base = base.clone();
                    let mut path = path.as_str();
                    while let Some(rest) = path.strip_prefix("super::") {
                        base = parent(&base);
                        path = rest;
                    }
                    let full = if base.is_empty() {
                        path.to_owned()
                    } else {
                        format!("{base}::{path}")
                    };
                    if let Some(dep) = resolve(&full) {
                        deps.insert(dep);
                    }
                }
            }
        }
        // A module's own parts are not its dependencies.
        deps.retain(|dep| dep != module && !is_part_of(dep, module));
        graph.insert(module.clone(), deps);
    }
    graph
}

/// The same graph with each module collapsed into its top-level module.
fn top_level(graph: &Graph) -> Graph {
    let top = |m: &str| m.split("::").next().unwrap_or("").to_owned();
    let mut out = Graph::new();
    for (module, deps) in graph {
        let entry = out.entry(top(module)).or_default();
        for dep in deps {
            if top(dep) != top(module) && !top(dep).is_empty() && !top(module).is_empty() {
                entry.insert(top(dep));
            }
        }
    }
    out
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

/// Each module of a cycle with the cycle's members it depends on.
fn describe(graph: &Graph, cycle: &[String]) -> String {
    cycle
        .iter()
        .map(|m| {
            let deps: Vec<&str> = graph[m]
                .iter()
                .filter(|d| cycle.contains(d))
                .map(String::as_str)
                .collect();
            format!("  {m} -> {}", deps.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

#[test]
fn the_sim_has_no_import_circle() {
    let graph = graph(&src("sim"));
    assert!(graph.len() > 50, "the sim's sources were not found");
    let found = cycles(&graph);
    let text: Vec<String> = found.iter().map(|c| describe(&graph, c)).collect();
    assert!(found.is_empty(), "import circles:\n{}", text.join("\n\n"));
    assert!(cycles(&top_level(&graph)).is_empty(), "{graph:?}");
}

#[test]
fn the_harness_has_no_import_circle() {
    let graph = top_level(&graph(&src("harness")));
    assert!(graph.len() > 10, "the harness's sources were not found");
    let found = cycles(&graph);
    let text: Vec<String> = found.iter().map(|c| describe(&graph, c)).collect();
    assert!(
        found.is_empty(),
        "import circles among the harness's modules:\n{}",
        text.join("\n\n")
    );
}

#[test]
fn the_reader_finds_the_circles_it_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let file = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    file(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\npub mod e;\npub use c::Thing;\npub use a::deep;\n",
    );
    file("e.rs", "use crate::deep::Y;\n");
    file("a/mod.rs", "mod inner;\nuse inner::X; // crate::c::Never\n");
    file("a/inner.rs", "use crate::{b::{Y, Z}};\n");
    file("b.rs", "fn f() -> crate::Thing { todo!() }\n");
    file("a/deep/mod.rs", "use super::super::c::Thing;\n");
    file(
        "c.rs",
        "pub struct Thing;\n#[cfg(test)]\nmod tests { use crate::a::inner::X; }\n",
    );
    let g = graph(dir.path());
    assert_eq!(g["a::inner"], BTreeSet::from(["b".to_owned()]));
    assert_eq!(g["b"], BTreeSet::from(["c".to_owned()]));
    assert_eq!(g["a::deep"], BTreeSet::from(["c".to_owned()]));
    assert_eq!(g["e"], BTreeSet::from(["a::deep".to_owned()]));
    assert!(g["a"].is_empty(), "{g:?}");
    assert!(cycles(&g).is_empty(), "{g:?}");

    file("c.rs", "use super::a::inner;\n");
    let g = graph(dir.path());
    assert_eq!(
        cycles(&g),
        [vec!["a::inner".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
    assert_eq!(
        cycles(&top_level(&g)),
        [vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
}
