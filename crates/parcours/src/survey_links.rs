//! Signed links to the hosted survey page: a token carries the workspace, the survey,
//! the person (a userId) and an expiry, signed with HMAC-SHA256 by a secret the store
//! keeps (`LINK_SECRET`). Made by the HTTP API and `parcours surveys link`, checked by the
//! page (`/s/{token}`).

use base64::Engine;
use parcours_store::WorkspaceId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The name of the store's secret that signs survey links.
pub const LINK_SECRET: &str = "survey-links";

/// How long a link stays valid when nobody says.
pub const DEFAULT_TTL: &str = "30d";

/// What a link carries: the workspace, the survey, the person (a userId) and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub w: WorkspaceId,
    pub s: String,
    pub u: String,
    /// Expiry, microseconds since the epoch.
    pub e: i64,
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn sign(secret: &[u8], claims: &Claims) -> String {
    let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let mac = B64.encode(hmac_sha256(secret, payload.as_bytes()));
    format!("{payload}.{mac}")
}

/// The claims of a token whose signature holds and that has not expired.
pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<Claims, &'static str> {
    let (payload, mac) = token.split_once('.').ok_or("this link is not valid")?;
    let given = B64.decode(mac).map_err(|_| "this link is not valid")?;
    let expected = hmac_sha256(secret, payload.as_bytes());
    // Compared in constant time: a forger learns nothing from how long it took.
    let same = given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err("this link is not valid");
    }
    let claims: Claims = B64
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("this link is not valid")?;
    if claims.e < now {
        return Err("this link has expired");
    }
    Ok(claims)
}

/// The page's path for one person: `/s/TOKEN`.
pub fn path(token: &str) -> String {
    format!("/s/{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1 and 2 of RFC 4231, and case 6 (a key longer than a block).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_are_refused_when_forged_or_expired() {
        let secret = [7u8; 32];
        let claims = Claims {
            w: 1,
            s: "nps".into(),
            u: "u1".into(),
            e: 1_000,
        };
        let token = sign(&secret, &claims);
        assert_eq!(verify(&secret, &token, 999), Ok(claims.clone()));
        assert_eq!(verify(&secret, &token, 1_001), Err("this link has expired"));
        assert!(verify(&[8u8; 32], &token, 0).is_err(), "another secret");
        // Someone else's userId under the same signature.
        let (_, mac) = token.split_once('.').unwrap();
        let forged = B64.encode(
            serde_json::to_vec(&Claims {
                u: "u2".into(),
                ..claims
            })
            .unwrap(),
        );
        assert!(verify(&secret, &format!("{forged}.{mac}"), 0).is_err());
        assert!(verify(&secret, "garbage", 0).is_err());
    }
}
