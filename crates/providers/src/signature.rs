//! Constant-time signature checks shared by the adapters.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use unified_content::Timestamp;

use crate::error::SignatureError;
use crate::secret::Secret;

/// HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &Secret, message: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Checks that a signed timestamp in milliseconds since the epoch, carried in `header`, lies
/// within `window_secs` of `received_at` either way: older deliveries are replays (or a
/// skewed clock).
pub fn check_fresh(
    header: &'static str,
    signed_ms: i64,
    received_at: Timestamp,
    window_secs: i64,
) -> Result<(), SignatureError> {
    let signed_at =
        Timestamp::from_timestamp_millis(signed_ms).ok_or_else(|| SignatureError::Malformed {
            header,
            reason: format!("timestamp {signed_ms} is out of range"),
        })?;
    let age_secs = (received_at - signed_at).num_seconds();
    if age_secs.abs() > window_secs {
        return Err(SignatureError::Stale {
            age_secs,
            window_secs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
