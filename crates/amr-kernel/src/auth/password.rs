//! Password hashing with argon2id (the crate's default parameters: 19 MiB, 2 passes).
//! Hashing is slow on purpose; async callers run it in `spawn_blocking`.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::RngExt;

use crate::error::AppError;

pub const MIN_LENGTH: usize = 10;

/// Checks a new password against the policy (length; not all one character class).
pub fn check_policy(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(AppError::bad_request(
            "password",
            format!(
                "密码至少 {MIN_LENGTH} 个字符 (the password needs at least {MIN_LENGTH} characters)"
            ),
        ));
    }
    if n > 256 {
        return Err(AppError::bad_request(
            "password",
            "密码过长 (the password is too long; at most 256 characters)",
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|b| **b).count() < 2 {
        return Err(AppError::bad_request(
            "password",
            "密码须包含至少两类字符：小写、大写、数字、符号 \
             (use at least two of: lowercase, uppercase, digits, symbols)",
        ));
    }
    Ok(())
}

/// Hashes a password (argon2id, random salt, PHC string).
pub fn hash(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2 hash failed: {e}")))
}

/// Verifies a password against a stored PHC hash.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A random password for a first administrator or a reset: 16 characters from an alphabet
/// without look-alikes, always meeting [`check_policy`].
pub fn generate() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(16);
    for i in 0..16 {
        let set = match i % 4 {
            0 | 1 => LOWER,
            2 => UPPER,
            _ => DIGIT,
        };
        out.push(set[rng.random_range(0..set.len())] as char);
    }
    out
}

/// A random token (32 bytes, hex) for sessions, CSRF and API keys.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a token: SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("Correct-Horse-9").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Correct-Horse-9", &h));
        assert!(!verify("correct-horse-9", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn policy() {
        assert!(check_policy("short1A").is_err());
        assert!(check_policy("alllowercaseletters").is_err());
        assert!(check_policy("lower-and-digits-123").is_ok());
        for _ in 0..20 {
            assert!(check_policy(&generate()).is_ok());
        }
    }
}
