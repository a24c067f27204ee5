//! Password handling. Web passwords are kept as argon2id hashes; API passwords only as the HA1
//! digests HTTP Digest needs (MD5 and SHA-256) for the server's realm.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use super::error::{CoreError, CoreResult};
use crate::auth::digest::{Algorithm, ha1};

/// The most bytes a password may have.
const MAX_PASSWORD: usize = 128;

/// Refuses passwords that are empty, too long or contain control characters.
pub fn check_password(name: &str, password: &str) -> CoreResult<()> {
    if password.is_empty() {
        return Err(CoreError::invalid(name, "must not be empty"));
    }
    if password.len() > MAX_PASSWORD {
        return Err(CoreError::invalid(
            name,
            format!("longer than {MAX_PASSWORD} bytes"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(CoreError::invalid(name, "contains control characters"));
    }
    Ok(())
}

/// An argon2id PHC string for a web password. Slow by design: call it off the async threads.
pub fn hash_web_password(password: &str) -> CoreResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| CoreError::invalid("web_password", e.to_string()))?;
    PasswordHasher::<PasswordHash>::hash_password_with_salt(
        &Argon2::default(),
        password.as_bytes(),
        &salt,
    )
    .map(|h| h.to_string())
    .map_err(|e| CoreError::invalid("web_password", e.to_string()))
}

/// Checks a web password against its stored PHC string.
pub fn verify_web_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The HA1 digests (MD5, SHA-256) of an API password for `login` in `realm`.
pub fn api_ha1(login: &str, realm: &str, password: &str) -> (String, String) {
    (
        ha1(Algorithm::Md5, login, realm, password),
        ha1(Algorithm::Sha256, login, realm, password),
    )
}

/// A random password for generated credentials: 24 characters of base64url.
pub fn generate_password() -> CoreResult<String> {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| CoreError::invalid("password", e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_password_round_trip() {
        let phc = hash_web_password("s3cret").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_web_password("s3cret", &phc));
        assert!(!verify_web_password("s3cre", &phc));
        assert!(!verify_web_password("s3cret", "not a hash"));
    }

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate_password().unwrap(), generate_password().unwrap());
        assert_eq!(generate_password().unwrap().len(), 24);
    }
}
