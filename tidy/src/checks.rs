//! One function per rule, each returning the places a file breaks it.

use std::fmt;

use crate::source::SourceFile;

/// The marker that allows one `.unwrap()`/`.expect(` on an input path; the reason follows it.
pub const EXCEPTION_MARKER: &str = "// tidy:";

/// A rule broken at one line of one file.
#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    /// 1-based.
    pub line: usize,
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.what)
    }
}

/// The file's first line is not a `//!` line saying what it holds.
pub fn missing_module_doc(file: &SourceFile) -> Option<Violation> {
    let first = file.text.lines().next().unwrap_or("");
    (!first.starts_with("//!")).then(|| Violation {
        path: file.path.clone(),
        line: 1,
        what: "the file does not open with a `//!` line saying what it holds".to_string(),
    })
}

/// Reads of the clock in program code (a sans-I/O module is handed its `Instant`s).
pub fn clock_reads(file: &SourceFile) -> Vec<Violation> {
    const CLOCKS: [&str; 3] = ["Instant::now", "SystemTime::now", "clock_gettime"];
    code_lines(file.non_test_text())
        .filter_map(|(line, code)| {
            let clock = CLOCKS.iter().find(|c| code.contains(*c))?;
            Some(Violation {
                path: file.path.clone(),
                line,
                what: format!("`{clock}` reads the clock: take the time as an argument"),
            })
        })
        .collect()
}

/// `.unwrap()`/`.expect(` in program code, unless the line carries [`EXCEPTION_MARKER`].
pub fn unwraps(file: &SourceFile, input: &str) -> Vec<Violation> {
    let text = file.non_test_text();
    code_lines(text)
        .zip(text.lines())
        .filter_map(|((line, code), whole)| {
            let call = [".unwrap()", ".expect("]
                .into_iter()
                .find(|c| code.contains(c))?;
            if whole.contains(EXCEPTION_MARKER) {
                return None;
            }
            Some(Violation {
                path: file.path.clone(),
                line,
                what: format!(
                    "`{call}` in code handling {input}: return a typed error \
                     (or mark the line `{EXCEPTION_MARKER} <why it cannot fail>`)"
                ),
            })
        })
        .collect()
}

/// The file is over `limit` lines.
pub fn too_long(file: &SourceFile, limit: usize) -> Option<Violation> {
    let lines = file.text.lines().count();
    (lines > limit).then(|| Violation {
        path: file.path.clone(),
        line: lines,
        what: format!("{lines} lines, over the limit of {limit}: split it by what it holds"),
    })
}

/// Each line's number and its code, with comments and string contents dropped (strings may span
/// lines). Enough for these checks; block comments and raw strings are not special-cased.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut in_str = false;
    text.lines().enumerate().map(move |(i, line)| {
        let chars: Vec<char> = line.chars().collect();
        let mut code = String::with_capacity(line.len());
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            if in_str {
                if c == '\\' {
                    j += 1;
                } else if c == '"' {
                    in_str = false;
                    code.push(c);
                }
            } else if c == '/' && chars.get(j + 1) == Some(&'/') {
                break;
            } else if c == '\'' && chars.get(j + 2) == Some(&'\'') {
                // A one-character literal such as '"': not the start of a string.
                code.extend(&chars[j..j + 3]);
                j += 2;
            } else if c == '\''
                && chars.get(j + 1) == Some(&'\\')
                && chars.get(j + 3) == Some(&'\'')
            {
                code.extend(&chars[j..j + 4]);
                j += 3;
            } else {
                in_str = c == '"';
                code.push(c);
            }
            j += 1;
        }
        (i + 1, code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> SourceFile {
        SourceFile::new("pool/src/session/state.rs", text)
    }

    #[test]
    fn a_file_without_a_module_doc_line_is_reported() {
        assert_eq!(missing_module_doc(&src("//! what\nfn f() {}\n")), None);
        let v = missing_module_doc(&src("/// item doc\nfn f() {}\n")).map(|v| v.line);
        assert_eq!(v, Some(1));
        assert!(missing_module_doc(&src("")).is_some());
    }

    #[test]
    fn clock_reads_outside_tests_and_comments_are_reported() {
        let text = "//! s\n\
                    // Instant::now is the caller's job\n\
                    fn f() { let t = std::time::Instant::now(); }\n\
                    fn g() -> u64 { SystemTime::now() }\n\
                    #[cfg(test)]\n\
                    mod tests {\n    fn h() { Instant::now(); }\n}\n";
        let lines: Vec<usize> = clock_reads(&src(text)).iter().map(|v| v.line).collect();
        assert_eq!(lines, [3, 4]);
    }

    #[test]
    fn unwraps_are_reported_unless_marked_in_a_comment_or_in_tests() {
        let text = "//! s\n\
                    fn f(s: &str) -> u32 { s.parse().unwrap() }\n\
                    fn g(s: &str) -> u32 { s.parse().expect(\"number\") }\n\
                    fn h() -> u32 { \"1\".parse().unwrap() } // tidy: a literal, always a number\n\
                    /// `.unwrap()` in a doc comment\n\
                    fn k() -> &'static str { \"x.unwrap()\" }\n\
                    fn m() -> char { '\"' } fn n(o: Option<u8>) -> u8 { o.unwrap() }\n\
                    #[cfg(test)]\n\
                    mod tests {\n    fn t() { Some(1).unwrap(); }\n}\n";
        let found = unwraps(&src(text), "pool lines");
        let lines: Vec<usize> = found.iter().map(|v| v.line).collect();
        assert_eq!(lines, [2, 3, 7]);
        assert!(found[0].what.contains("pool lines"), "{}", found[0]);
    }

    #[test]
    fn comments_and_string_contents_are_dropped_and_strings_span_lines() {
        let code: Vec<String> = code_lines("let u = \"http://x\"; // c\nlet s = \"a\n// b\";\n")
            .map(|(_, c)| c)
            .collect();
        assert_eq!(code, ["let u = \"\"; ", "let s = \"", "\";"]);
    }

    #[test]
    fn files_over_the_limit_are_reported_with_their_length() {
        let text = "//! x\n".repeat(5);
        assert_eq!(too_long(&src(&text), 5), None);
        assert_eq!(too_long(&src(&text), 4).map(|v| v.line), Some(5));
    }
}
