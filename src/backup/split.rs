//! Shamir's secret sharing over GF(256), byte by byte, through the `blahaj` crate.
//!
//! Share `x` (1 to 255) of a secret of L bytes is L bytes: the value at `x` of one random
//! polynomial of degree K-1 per secret byte, whose constant term is that byte. Any K shares
//! determine the polynomials, hence the secret; K-1 shares are consistent with every possible
//! secret, so they reveal nothing but its length.

use blahaj::{Share, Sharks};
use zeroize::Zeroizing;

/// Splits `secret` into shares 1 to `total`, any `threshold` of which rebuild it. Returns
/// each share's values; share `i` (1-based) is at index `i - 1`. The caller checks
/// `2 <= threshold <= total`.
pub fn split(secret: &[u8], threshold: u8, total: u8) -> Vec<Zeroizing<Vec<u8>>> {
    // The dealer draws the polynomials' coefficients from rand's thread generator (ChaCha
    // seeded from the operating system) and evaluates them at x = 1, 2, ...
    Sharks(threshold)
        .dealer(secret)
        .take(usize::from(total))
        .map(|share| {
            let bytes = Zeroizing::new(Vec::from(&share));
            // The first byte is x, which is the position; the rest are the values.
            Zeroizing::new(bytes[1..].to_vec())
        })
        .collect()
}

/// Rebuilds the secret from shares given as `(x, values)`. The caller has checked that there
/// are at least `threshold` of them, with distinct `x` from 1 to 255 and values of one length;
/// `None` if that does not hold after all.
pub fn combine(threshold: u8, shares: &[(u8, &[u8])]) -> Option<Zeroizing<Vec<u8>>> {
    let mut parsed = Vec::with_capacity(shares.len());
    for (x, values) in shares {
        let mut bytes = Zeroizing::new(Vec::with_capacity(values.len() + 1));
        bytes.push(*x);
        bytes.extend_from_slice(values);
        parsed.push(Share::try_from(bytes.as_slice()).ok()?);
    }
    Sharks(threshold).recover(&parsed).ok().map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_k_shares_rebuild_the_secret() {
        let secret = b"an encrypted key backup, a few hundred bytes in real life";
        let shares = split(secret, 3, 5);
        assert_eq!(shares.len(), 5);

        for picked in [[0, 1, 2], [0, 2, 4], [4, 3, 1], [1, 3, 4]] {
            let given: Vec<(u8, &[u8])> =
                picked.iter().map(|&i| (i as u8 + 1, shares[i].as_slice())).collect();
            assert_eq!(combine(3, &given).unwrap().as_slice(), secret, "{picked:?}");
        }
    }

    #[test]
    fn fewer_than_k_shares_do_not() {
        let shares = split(b"secret", 3, 5);
        let given = [(1, shares[0].as_slice()), (2, shares[1].as_slice())];
        assert!(combine(3, &given).is_none());
    }

    #[test]
    fn shares_are_not_the_secret() {
        let secret = [0x42u8; 64];
        for share in split(&secret, 2, 3) {
            assert_ne!(share.as_slice(), &secret[..]);
        }
    }

    #[test]
    fn an_altered_share_gives_another_secret() {
        let shares = split(b"secret", 2, 2);
        let mut bad = shares[1].to_vec();
        bad[0] ^= 1;
        let given = [(1, shares[0].as_slice()), (2, bad.as_slice())];
        assert_ne!(combine(2, &given).unwrap().as_slice(), b"secret");
    }
}
