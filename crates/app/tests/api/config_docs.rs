//! Every environment variable the configuration reads is documented: a row of the README's
//! configuration table and a line (commented out when unset by default) of `.env.example`.

use std::path::Path;

/// The quoted upper-case names in the configuration's source: the variables it reads.
fn variables() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/platform/config");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the configuration's source") {
        let path = entry.expect("an entry").path();
        // Unit tests quote sample values (key ids, team ids) that look like names.
        let is_test = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs"));
        if is_test {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("readable");
        for quoted in text.split('"').skip(1).step_by(2) {
            let is_name = quoted.len() > 2
                && quoted.starts_with(|c: char| c.is_ascii_uppercase())
                && quoted
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if is_name && !names.iter().any(|n| n == quoted) {
                names.push(quoted.to_owned());
            }
        }
    }
    names.sort();
    names
}

#[test]
fn every_variable_is_in_the_readme_and_the_env_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let example = std::fs::read_to_string(root.join(".env.example")).expect(".env.example");
    let names = variables();
    assert!(names.len() > 40, "{names:?}");
    let mut missing = Vec::new();
    for name in &names {
        if !readme.contains(&format!("| `{name}` |")) {
            missing.push(format!("{name}: no row in README.md's configuration table"));
        }
        let listed = example.lines().any(|line| {
            let line = line.trim_start_matches('#').trim_start();
            line.starts_with(&format!("{name}="))
        });
        if !listed {
            missing.push(format!("{name}: not in .env.example"));
        }
    }
    assert!(missing.is_empty(), "undocumented:\n{}", missing.join("\n"));
}
