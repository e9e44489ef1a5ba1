//! API keys: generation, scopes and hashing.
//!
//! A key is `pc` + a scope letter + `_` + 32 random base-32 characters (160 bits), e.g.
//! `pcw_…` for a write key. Only its SHA-256 is stored; the clear key is shown once.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a key may do. Scopes do not nest, except that an admin key may also read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Ingestion only; safe to ship in a browser.
    Write,
    /// Queries.
    Read,
    /// Keys, workspaces, erasure — and reads.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Write => "write",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "write" => Some(Scope::Write),
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    fn letter(self) -> char {
        match self {
            Scope::Write => 'w',
            Scope::Read => 'r',
            Scope::Admin => 'a',
        }
    }

    /// Whether a key of this scope may be used where `required` is needed.
    pub fn allows(self, required: Scope) -> bool {
        self == required || (self == Scope::Admin && required == Scope::Read)
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scope::parse(s)
            .ok_or_else(|| format!("unknown scope `{s}` (expected write, read or admin)"))
    }
}

pub fn hash_key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A fresh random key for `scope`.
pub(crate) fn generate(scope: Scope) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    let body: String = bytes
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect();
    format!("pc{}_{body}", scope.letter())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_carry_their_scope() {
        let a = generate(Scope::Write);
        let b = generate(Scope::Write);
        assert_ne!(a, b);
        assert!(a.starts_with("pcw_") && a.len() == 36);
        assert!(generate(Scope::Admin).starts_with("pca_"));
        assert_ne!(hash_key(&a), hash_key(&b));
    }

    #[test]
    fn admin_may_read_but_scopes_do_not_otherwise_nest() {
        assert!(Scope::Admin.allows(Scope::Read));
        assert!(!Scope::Admin.allows(Scope::Write));
        assert!(!Scope::Read.allows(Scope::Write));
        assert!(!Scope::Write.allows(Scope::Read));
    }
}
