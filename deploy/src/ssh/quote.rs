//! POSIX single-quote escaping: the only way a path or argument enters a remote shell command.

/// Quotes `s` so a POSIX shell reads it back as exactly one word, byte for byte.
///
/// Everything goes between single quotes, where the shell interprets nothing; a single quote
/// itself closes the quoted run, is emitted escaped (`\'`) and the run reopens. Card names and
/// paths come from sysfs and config files, so even "safe looking" words are quoted.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Quotes every word and joins them with spaces: a ready-to-run command line.
pub fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::process::Command;

    /// Runs `printf '%s\0' <quoted words>` through `sh -c` and returns the words it saw.
    fn round_trip(words: &[String]) -> Vec<String> {
        let script = format!("printf '%s\\0' {}", shell_join(words));
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh must run in tests");
        assert!(out.status.success(), "script failed: {script:?}");
        let mut seen: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .map(|w| String::from_utf8(w.to_vec()).expect("utf8 back"))
            .collect();
        seen.pop(); // the trailing NUL leaves one empty piece
        seen
    }

    #[test]
    fn plain_and_empty() {
        assert_eq!(shell_quote("abc"), "'abc'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn hostile_words_round_trip() {
        let words: Vec<String> = [
            "a b",
            "'",
            "''",
            "$(touch /tmp/phirig-pwned)",
            "`id`",
            "line1\nline2",
            "semi;colon && ampersand | pipe",
            "back\\slash",
            "\"double\"",
            "-rf",
            "*",
            "~root",
            "$HOME",
            "",
            "tab\there",
            "ünïcödé ✓",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(round_trip(&words), words);
    }

    /// Property-style: random strings drawn from a shell-hostile alphabet survive `sh -c`.
    #[test]
    fn random_words_round_trip() {
        const ALPHABET: &[char] = &[
            'a', 'Z', '0', ' ', '\'', '"', '\\', '$', '(', ')', '`', '\n', '\t', ';', '&', '|',
            '*', '?', '[', ']', '{', '}', '~', '#', '!', '<', '>', '=', '%', 'é', '-',
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_0006);
        // 40 batches of 16 words keep this bounded and fast (one `sh` per batch).
        for _ in 0..40 {
            let words: Vec<String> = (0..16)
                .map(|_| {
                    let len = rng.random_range(0..24);
                    (0..len)
                        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
                        .collect()
                })
                .collect();
            assert_eq!(round_trip(&words), words);
        }
    }
}
