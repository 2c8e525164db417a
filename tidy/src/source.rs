//! The workspace's `.rs` files as the checks see them: path, text, and which part is test code.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// One Rust file of the workspace.
#[derive(Debug)]
pub struct SourceFile {
    /// Relative to the workspace root, `/`-separated: `pool/src/session/mod.rs`.
    pub path: String,
    pub text: String,
    /// The whole file is test code: outside a crate's `src/`, or declared `#[cfg(test)] mod x;`.
    pub is_test: bool,
}

impl SourceFile {
    /// A file of this path and text; `is_test` as far as the path alone tells.
    pub fn new(path: &str, text: &str) -> Self {
        SourceFile {
            path: path.to_string(),
            text: text.to_string(),
            is_test: !is_crate_src(path),
        }
    }

    /// The text the program is built from: empty for a test file, else the text before the file's
    /// inline `#[cfg(test)] mod … {` tail.
    pub fn non_test_text(&self) -> &str {
        if self.is_test {
            return "";
        }
        let cut = find_test_mods(&self.text)
            .into_iter()
            .find(|m| m.inline)
            .map_or(self.text.len(), |m| m.at);
        &self.text[..cut]
    }
}

/// Every `.rs` file under `root`, sorted by path, skipping `target/` and hidden directories.
pub fn workspace_sources(root: &Path) -> io::Result<Vec<SourceFile>> {
    let mut paths = Vec::new();
    collect_rs(root, &mut paths)?;
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&p)?;
        files.push(SourceFile::new(&rel, &text));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    // A file is test code if its parent declares it `#[cfg(test)] mod name;`.
    let declared: HashSet<String> = files
        .iter()
        .flat_map(|f| {
            let dir = module_dir(&f.path);
            find_test_mods(&f.text)
                .into_iter()
                .filter(|m| !m.inline)
                .flat_map(move |m| {
                    [
                        format!("{dir}{}.rs", m.name),
                        format!("{dir}{}/mod.rs", m.name),
                    ]
                })
        })
        .collect();
    // Their own children (`tests.rs` declaring `mod probes;`) are test code too.
    let test_dirs: Vec<String> = declared.iter().map(|p| module_dir(p)).collect();
    for f in &mut files {
        f.is_test |= declared.contains(&f.path) || test_dirs.iter().any(|d| f.path.starts_with(d));
    }
    Ok(files)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect_rs(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `host/src/...` is program code; `host/tests/...`, `benches/benches/...` and fuzz targets not.
fn is_crate_src(path: &str) -> bool {
    path.split('/').nth(1) == Some("src")
}

/// The directory a file's `mod x;` children live in: beside `mod.rs`/`lib.rs`/`main.rs`, else in a
/// directory named after the file.
fn module_dir(path: &str) -> String {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let dir = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    match file {
        "mod.rs" | "lib.rs" | "main.rs" => dir,
        _ => format!("{dir}{}/", file.trim_end_matches(".rs")),
    }
}

/// A `#[cfg(test)] mod name` found in a file.
struct TestMod<'a> {
    /// Byte offset of the `#[cfg(test)]`.
    at: usize,
    name: &'a str,
    /// `mod name { … }` in this file, not `mod name;` in its own.
    inline: bool,
}

/// Every `#[cfg(test)]` directly followed (past other attributes) by a `mod` item.
fn find_test_mods(text: &str) -> Vec<TestMod<'_>> {
    const ATTR: &str = "#[cfg(test)]";
    let mut found = Vec::new();
    for (at, _) in text.match_indices(ATTR) {
        let mut rest = text[at + ATTR.len()..].trim_start();
        while rest.starts_with("#[") {
            rest = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        }
        let rest = rest.strip_prefix("pub(crate) ").unwrap_or(rest);
        let Some(rest) = rest.strip_prefix("mod ") else {
            continue;
        };
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        found.push(TestMod {
            at,
            name,
            inline: after.trim_start().starts_with('{'),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inline_test_module_is_cut_off() {
        let f = SourceFile::new(
            "pool/src/a.rs",
            "//! a\nfn f() {}\n\n#[cfg(test)]\nmod tests {\n    fn g() {}\n}\n",
        );
        assert_eq!(f.non_test_text(), "//! a\nfn f() {}\n\n");
    }

    #[test]
    fn a_declared_test_file_does_not_cut_its_parent() {
        let text = "//! m\n#[cfg(test)]\nmod tests;\nfn after() {}\n";
        let f = SourceFile::new("pool/src/session/mod.rs", text);
        assert_eq!(f.non_test_text(), text);
    }

    #[test]
    fn only_crate_src_is_program_code() {
        assert!(!SourceFile::new("host/src/lib.rs", "").is_test);
        assert!(SourceFile::new("host/tests/api.rs", "").is_test);
        assert!(SourceFile::new("benches/benches/kernel.rs", "").is_test);
        assert_eq!(
            SourceFile::new("host/tests/api.rs", "x").non_test_text(),
            ""
        );
    }

    #[test]
    fn declared_test_modules_resolve_beside_mod_rs_and_under_a_file() {
        assert_eq!(module_dir("pool/src/session/mod.rs"), "pool/src/session/");
        assert_eq!(
            module_dir("kernel/src/cn/main_loop.rs"),
            "kernel/src/cn/main_loop/"
        );
        let mods = find_test_mods("#[cfg(test)]\n#[allow(dead_code)]\nmod oracle;\n");
        assert_eq!(mods.len(), 1);
        assert_eq!(mods[0].name, "oracle");
        assert!(!mods[0].inline);
    }

    #[test]
    fn the_walk_marks_declared_test_files() -> io::Result<()> {
        let root = std::env::temp_dir().join(format!("phirig-tidy-walk-{}", std::process::id()));
        let dir = root.join("pool/src/session");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("mod.rs"), "//! s\n#[cfg(test)]\nmod tests;\n")?;
        std::fs::write(dir.join("tests.rs"), "//! t\nmod probes;\n")?;
        std::fs::create_dir_all(dir.join("tests"))?;
        std::fs::write(dir.join("tests/probes.rs"), "//! p\n")?;
        std::fs::write(dir.join("state.rs"), "//! st\n")?;
        let files = workspace_sources(&root);
        std::fs::remove_dir_all(&root)?;
        let tests: Vec<_> = files?
            .into_iter()
            .filter(|f| f.is_test)
            .map(|f| f.path)
            .collect();
        assert_eq!(
            tests,
            [
                "pool/src/session/tests.rs",
                "pool/src/session/tests/probes.rs"
            ]
        );
        Ok(())
    }
}
