//! The dependency rules of `docs/ARCHITECTURE.md`, checked on the source: `platform/` uses
//! neither axum nor any feature (nor the HTTP edge or the wiring), and no feature uses the
//! wiring (`server.rs`, `router.rs`).

use std::path::{Path, PathBuf};

const FEATURES: &[&str] = &["auth", "users", "items", "files", "jobs", "operations"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// The code of a file without its comments (which may name anything).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("readable source file");
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn uses(code: &str, module: &str) -> bool {
    if code.contains(&format!("crate::{module}::")) || code.contains(&format!("crate::{module};")) {
        return true;
    }
    // `use crate::{a, b::c}` groups.
    code.match_indices("crate::{").any(|(at, _)| {
        let group = &code[at + "crate::{".len()..];
        let group = &group[..group.find('}').unwrap_or(group.len())];
        group
            .split(',')
            .any(|item| item.trim().split("::").next() == Some(module))
    })
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn platform_uses_neither_axum_nor_a_feature_nor_the_http_edge() {
    let mut broken = Vec::new();
    for file in rust_files(&src().join("platform")) {
        let code = code(&file);
        let name = file
            .strip_prefix(src())
            .unwrap_or(&file)
            .display()
            .to_string();
        if code
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == "axum")
        {
            broken.push(format!("{name} uses axum"));
        }
        for module in FEATURES.iter().chain(&["http", "server", "router"]) {
            if uses(&code, module) {
                broken.push(format!("{name} uses crate::{module}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "dependency rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn features_never_use_the_wiring() {
    let mut broken = Vec::new();
    for feature in FEATURES {
        for file in rust_files(&src().join(feature)) {
            let code = code(&file);
            for module in ["server", "router"] {
                if uses(&code, module) {
                    let name = file
                        .strip_prefix(src())
                        .unwrap_or(&file)
                        .display()
                        .to_string();
                    broken.push(format!("{name} uses crate::{module}"));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "dependency rules broken:\n{}",
        broken.join("\n")
    );
}
