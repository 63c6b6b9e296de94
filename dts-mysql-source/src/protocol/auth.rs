//! Password scrambles. The password never leaves this module except scrambled, or — for
//! `caching_sha2_password` full authentication — over TLS, or RSA-encrypted with the server's
//! public key.

use sha1::{Digest, Sha1};
use sha2::Sha256;

/// `mysql_native_password`: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
pub(crate) fn native_password(password: &[u8], scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = Sha1::digest(password);
    let stage2 = Sha1::digest(stage1);
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stage2);
    let mix = h.finalize();
    stage1.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect()
}

/// `caching_sha2_password` fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble).
pub(crate) fn caching_sha2(password: &[u8], scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let p1 = Sha256::digest(password);
    let p2 = Sha256::digest(p1);
    let mut h = Sha256::new();
    h.update(p2);
    h.update(scramble);
    let mix = h.finalize();
    p1.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect()
}

/// `caching_sha2_password` full authentication without TLS: (password + NUL) XOR the scramble
/// (repeated), encrypted with the server's RSA public key (PEM), OAEP padding — what MySQL 8
/// servers decrypt.
///
/// # Errors
/// The key is not a PEM RSA public key, or encryption fails (the message never holds the
/// password).
pub(crate) fn rsa_encrypt_password(
    password: &[u8],
    scramble: &[u8],
    pem: &[u8],
) -> Result<Vec<u8>, String> {
    let key = openssl::rsa::Rsa::public_key_from_pem(pem)
        .or_else(|_| openssl::rsa::Rsa::public_key_from_pem_pkcs1(pem))
        .map_err(|e| format!("the server's RSA public key is not a PEM public key: {e}"))?;
    let mut plain: Vec<u8> = password.iter().copied().chain(std::iter::once(0)).collect();
    if !scramble.is_empty() {
        for (b, s) in plain.iter_mut().zip(scramble.iter().cycle()) {
            *b ^= s;
        }
    }
    let mut out = vec![0u8; usize::try_from(key.size()).unwrap_or(0)];
    let n = key
        .public_encrypt(&plain, &mut out, openssl::rsa::Padding::PKCS1_OAEP)
        .map_err(|e| format!("RSA-encrypting the password failed: {e}"))?;
    plain.fill(0);
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_password_known_vector() {
        // Server-side check: SHA1(scramble + stage2) XOR token == stage1, SHA1(stage1) == stage2.
        let scramble = b"01234567890123456789";
        let token = native_password(b"secret", scramble);
        let stage2 = Sha1::digest(Sha1::digest(b"secret"));
        let mut h = Sha1::new();
        h.update(scramble);
        h.update(stage2);
        let stage1: Vec<u8> = h
            .finalize()
            .iter()
            .zip(&token)
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(Sha1::digest(&stage1).as_slice(), stage2.as_slice());
        assert!(native_password(b"", scramble).is_empty());
    }

    #[test]
    fn caching_sha2_is_reversible_by_the_server() {
        let scramble = b"abcdefghijabcdefghij";
        let token = caching_sha2(b"pw", scramble);
        let p1 = Sha256::digest(b"pw");
        let p2 = Sha256::digest(p1);
        let mut h = Sha256::new();
        h.update(p2);
        h.update(scramble);
        let back: Vec<u8> = h
            .finalize()
            .iter()
            .zip(&token)
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(Sha256::digest(&back).as_slice(), p2.as_slice());
    }
}
