//! CSRF protection: every form carries the session's token (or, before login, the token of
//! the `amr_csrf` cookie), and every POST is refused unless it matches.

use subtle::ConstantTimeEq;

/// Compares two tokens in constant time; empty tokens never match.
pub fn tokens_match(presented: &str, expected: &str) -> bool {
    !presented.is_empty()
        && !expected.is_empty()
        && presented.len() == expected.len()
        && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}
