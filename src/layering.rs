//! The check that no module imports one that imports it back (issue 16,
//! point 2). Test-only.
//!
//! Reads every `.rs` file under `src/`, takes each file as one module
//! (`src/rules/booking.rs` is `rules::booking`, `src/state/mod.rs` is
//! `state`), and collects the modules it names: every `crate::a::b` path
//! (also inside `crate::{a, b::c}`) and every `super::x` path, resolved to
//! the longest module path that exists. Comment lines and the unit-test
//! module at the end of a file (`#[cfg(test)] mod tests`) are not looked
//! at; paths to the crate root (the public re-exports in `lib.rs`) are
//! not edges. A module naming its own submodule (`mod.rs` using its
//! children) is structure, not an import, and is no edge; a submodule
//! naming its parent is.
//!
//! Two graphs must be acyclic: the one between modules, and the one
//! between top-level modules and folders (`rules`, `state`, `locks`, ...),
//! so `state` never imports `rules` in any file while `rules` imports
//! `state`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn modules(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The module paths a file's code names, unresolved.
fn paths(code: &str, module: &[&str]) -> Vec<String> {
    let code = code.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_owned()
    };
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            for item in list[..list.find('}').unwrap_or(0)].split(',') {
                out.push(ident(item.trim()));
            }
        } else {
            out.push(ident(rest));
        }
    }
    // `super` of `a/b.rs` (module `a::b`) is `a`; of `a/mod.rs` (module
    // `a`), the crate root: the module path without its last part.
    let parent = &module[..module.len().saturating_sub(1)];
    for (i, _) in code.match_indices("super::") {
        if i > 0 && code[..i].ends_with("::") {
            continue;
        }
        let rest = &code[i + "super::".len()..];
        let items: Vec<String> = match rest.strip_prefix('{') {
            Some(list) => list[..list.find('}').unwrap_or(0)]
                .split(',')
                .map(|s| ident(s.trim()))
                .collect(),
            None => vec![ident(rest)],
        };
        for item in items {
            let mut full: Vec<&str> = parent.to_vec();
            if !item.is_empty() && item != "self" {
                full.extend(item.split("::"));
            }
            out.push(full.join("::"));
        }
    }
    out
}

fn resolve<'a>(path: &str, known: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|c| known.get_key_value(&c).map(|(k, _)| k.as_str()))
}

fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    let mut found = stack[at..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                Some(_) => {}
                None => {
                    if let Some(found) = visit(next, graph, state, stack) {
                        return Some(found);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node)
            && let Some(found) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(found);
        }
    }
    None
}

fn graphs() -> (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<String>>,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut known = BTreeMap::new();
    modules(&root, &root, &mut known);
    let mut files = BTreeMap::<String, BTreeSet<String>>::new();
    let mut folders = BTreeMap::<String, BTreeSet<String>>::new();
    for (module, code) in &known {
        if module.is_empty() {
            continue;
        }
        let parts: Vec<&str> = module.split("::").collect();
        for path in paths(code, &parts) {
            let Some(target) = resolve(&path, &known) else {
                continue;
            };
            if target == module || target.starts_with(&format!("{module}::")) {
                continue;
            }
            files
                .entry(module.clone())
                .or_default()
                .insert(target.to_owned());
            let (from, to) = (parts[0], target.split("::").next().unwrap_or(""));
            if from != to {
                folders
                    .entry(from.to_owned())
                    .or_default()
                    .insert(to.to_owned());
            }
        }
    }
    (files, folders)
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let (files, folders) = graphs();
    assert!(
        files
            .get("rules::booking")
            .is_some_and(|t| t.contains("state")),
        "the scan found no imports at all: {files:?}"
    );
    assert_eq!(cycle(&files), None, "import cycle between modules");
    assert_eq!(cycle(&folders), None, "import cycle between folders");
    assert!(
        !folders.get("state").is_some_and(|t| t.contains("rules")),
        "state must not use the rules"
    );
}
