//! Masks secrets in text bound for a report: service-account tokens (JWTs), AWS access key
//! ids of issued sessions, and long random bearer tokens or secret keys.
//!
//! Steps never log secrets on purpose; this is the second fence, for text that comes from a
//! target (an error body that echoes a token, say) before it is written to a report file.

/// What a masked secret is replaced with.
pub const MASK: &str = "[redacted]";

/// `text` with every secret-shaped word replaced by [`MASK`].
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars() {
        if is_word_char(c) {
            word.push(c);
        } else {
            flush(&mut out, &mut word);
            out.push(c);
        }
    }
    flush(&mut out, &mut word);
    out
}

/// Writes the word, masked when it looks secret; a sentence's full stop after it stays.
fn flush(out: &mut String, word: &mut String) {
    let core = word.trim_end_matches('.');
    if looks_secret(core) {
        out.push_str(MASK);
        out.push_str(&word[core.len()..]);
    } else {
        out.push_str(word);
    }
    word.clear();
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/' | '=')
}

/// A JWT (`eyJ...` with two dots), an AWS access key id (`ASIA`/`AKIA` and 16 upper-case
/// letters or digits), or a random-looking token of 40 or more characters (upper- and
/// lower-case letters and digits, no separators other than `+`, `/` and `=`).
fn looks_secret(word: &str) -> bool {
    let jwt = word.starts_with("eyJ") && word.matches('.').count() >= 2 && word.len() > 40;
    let access_key = (word.starts_with("ASIA") || word.starts_with("AKIA"))
        && word.len() >= 16
        && word[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let random = word.len() >= 40
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        && word.chars().any(|c| c.is_ascii_uppercase())
        && word.chars().any(|c| c.is_ascii_lowercase())
        && word.chars().any(|c| c.is_ascii_digit());
    jwt || access_key || random
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(
        "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl sent",
        "token [redacted] sent"
    )]
    #[case("key ASIAABCDEFGHIJKLMNOP,", "key [redacted],")]
    #[case(
        "bearer 7EVdgwPQOtOg2x8JxTXN73AKBV45ahO51pdpVlvO.",
        "bearer [redacted]."
    )]
    #[case(
        "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY9 end",
        "secret [redacted] end"
    )]
    fn secrets_are_masked(#[case] text: &str, #[case] expected: &str) {
        assert_eq!(redact(text), expected);
    }

    #[rstest]
    #[case("arn:aws:iam::123456789:role/example-role")]
    #[case("AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token")]
    #[case("namespace astronomer-rc-4f1c9a2e-3 removed")]
    #[case("assumed-role/example-role/rolecheck-4f1c9a2e")]
    fn evidence_stays(#[case] text: &str) {
        assert_eq!(redact(text), text);
    }
}
