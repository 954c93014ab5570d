//! Password-based decryption of `ENCRYPTED PRIVATE KEY` blocks (PKCS#8 EncryptedPrivateKeyInfo).
//!
//! Notary and docker write PBES2 with PBKDF2-HMAC-SHA1 (the PRF left out, so the default),
//! 2048 iterations, an 8-byte salt and AES-256-CBC (WIRE.md §8.2); OpenSSL 3 writes PBKDF2 with
//! HMAC-SHA256. Both are read here, with AES-128/192/256-CBC and any SHA-1/SHA-2 PRF.
//!
//! `pkcs5` parses the parameters. The key is derived and the data decrypted here rather than
//! with `pkcs5`'s own `decrypt`, which leaves the derived key on the stack unwiped; here the
//! derived key and the plaintext live in [`Zeroizing`] buffers.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use der::asn1::{ObjectIdentifier, OctetStringRef};
use der::{Decode, Reader, SliceReader};
use pkcs5::pbes2::{self, Kdf, Pbkdf2Params, Pbkdf2Prf};
use secrecy::{ExposeSecret, SecretString};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::CryptoError;

/// More PBKDF2 iterations than this are refused, so a hostile file cannot make a load run for
/// hours. RFC 8018 calls 10,000,000 appropriate for especially critical keys.
const MAX_ITERATIONS: u32 = 10_000_000;

/// A parsed EncryptedPrivateKeyInfo whose scheme this module can decrypt.
pub(crate) struct Encrypted<'a> {
    kdf: Pbkdf2Params<'a>,
    cipher: Aes,
    iv: &'a [u8; 16],
    ciphertext: &'a [u8],
}

/// The AES-CBC variants PBES2 names.
#[derive(Clone, Copy)]
enum Aes {
    Aes128,
    Aes192,
    Aes256,
}

impl Aes {
    fn key_size(self) -> usize {
        match self {
            Aes::Aes128 => 16,
            Aes::Aes192 => 24,
            Aes::Aes256 => 32,
        }
    }
}

impl<'a> Encrypted<'a> {
    /// Parses `der` and checks that its scheme is supported, before any passphrase is asked
    /// for: an unsupported scheme is reported as such whatever the passphrase.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Encrypted<'a>, CryptoError> {
        let (algorithm, ciphertext) = read_encrypted_info(der).map_err(|e| {
            CryptoError::BadPrivateKey(format!("not a PKCS#8 EncryptedPrivateKeyInfo: {e}"))
        })?;

        if algorithm.oid != pbes2::PBES2_OID {
            return Err(unsupported(non_pbes2_name(algorithm.oid)));
        }
        let params = algorithm
            .parameters
            .ok_or_else(|| CryptoError::BadPrivateKey("PBES2 without parameters".into()))?;
        let params = pbes2::Parameters::try_from(params).map_err(pbes2_error)?;

        let (cipher, iv) = match params.encryption {
            pbes2::EncryptionScheme::Aes128Cbc { iv } => (Aes::Aes128, iv),
            pbes2::EncryptionScheme::Aes192Cbc { iv } => (Aes::Aes192, iv),
            pbes2::EncryptionScheme::Aes256Cbc { iv } => (Aes::Aes256, iv),
            other => return Err(unsupported(format!("PBES2 with {}", oid_name(other.oid())))),
        };

        if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
            let msg = "the encrypted data is not a whole number of AES blocks";
            return Err(CryptoError::BadPrivateKey(msg.into()));
        }
        let kdf = check_kdf(&params.kdf, cipher)?;
        Ok(Encrypted { kdf, cipher, iv, ciphertext })
    }

    /// The plaintext PrivateKeyInfo, in memory wiped on drop.
    ///
    /// Bad padding means a wrong passphrase (or damaged data): CBC gives no other sign.
    pub(crate) fn decrypt(
        &self,
        passphrase: &SecretString,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = self.derive_key(passphrase.expose_secret().as_bytes())?;
        let mut buf = Zeroizing::new(self.ciphertext.to_vec());

        let len = match self.cipher {
            Aes::Aes128 => cbc_decrypt::<aes::Aes128Dec>(&key, self.iv, &mut buf),
            Aes::Aes192 => cbc_decrypt::<aes::Aes192Dec>(&key, self.iv, &mut buf),
            Aes::Aes256 => cbc_decrypt::<aes::Aes256Dec>(&key, self.iv, &mut buf),
        }
        .ok_or(CryptoError::WrongPassphrase)?;

        buf.truncate(len);
        Ok(buf)
    }

    fn derive_key(&self, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut key = Zeroizing::new(vec![0u8; self.cipher.key_size()]);
        let (salt, rounds) = (self.kdf.salt, self.kdf.iteration_count);

        let derive = match self.kdf.prf {
            Pbkdf2Prf::HmacWithSha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>,
            Pbkdf2Prf::HmacWithSha224 => pbkdf2::pbkdf2_hmac::<sha2::Sha224>,
            Pbkdf2Prf::HmacWithSha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>,
            Pbkdf2Prf::HmacWithSha384 => pbkdf2::pbkdf2_hmac::<sha2::Sha384>,
            Pbkdf2Prf::HmacWithSha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>,
            other => return Err(unsupported(format!("PBKDF2 with {}", oid_name(other.oid())))),
        };
        derive(password, salt, rounds, &mut key);
        Ok(key)
    }
}

/// Decrypts `buf` in place; the plaintext length, or `None` if the padding is wrong.
fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Option<usize>
where
    C: aes::cipher::BlockDecrypt + aes::cipher::BlockCipher + aes::cipher::KeyInit,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor.decrypt_padded_mut::<Pkcs7>(buf).ok().map(<[u8]>::len)
}

/// EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier,
/// encryptedData OCTET STRING }, read without interpreting the algorithm so that schemes
/// `pkcs5` does not know (PKCS#12 PBE) can still be named in the error.
fn read_encrypted_info(der: &[u8]) -> der::Result<(AlgorithmIdentifierRef<'_>, &[u8])> {
    let mut reader = SliceReader::new(der)?;
    let parsed = reader.sequence(|r| {
        let algorithm = AlgorithmIdentifierRef::decode(r)?;
        let data = OctetStringRef::decode(r)?;
        Ok((algorithm, data.as_bytes()))
    })?;
    reader.finish(parsed)
}

/// Only PBKDF2 is read, with a key length (if given) that fits the cipher and at most
/// [`MAX_ITERATIONS`] iterations.
fn check_kdf<'a>(kdf: &Kdf<'a>, cipher: Aes) -> Result<Pbkdf2Params<'a>, CryptoError> {
    let kdf = match kdf {
        Kdf::Pbkdf2(kdf) => *kdf,
        other => return Err(unsupported(format!("PBES2 with {}", oid_name(other.oid())))),
    };

    if kdf.key_length.is_some_and(|n| usize::from(n) != cipher.key_size()) {
        let msg = "the PBKDF2 key length does not fit the cipher";
        return Err(CryptoError::BadPrivateKey(msg.into()));
    }
    if kdf.iteration_count > MAX_ITERATIONS {
        let count = kdf.iteration_count;
        let scheme = format!("PBKDF2 with {count} iterations (at most {MAX_ITERATIONS})");
        return Err(unsupported(scheme));
    }
    Ok(kdf)
}

/// A PBES2 parameter `pkcs5` cannot parse is usually an algorithm it does not know (3DES,
/// AES-GCM, ...): name it. Anything else is a damaged file.
fn pbes2_error(err: der::Error) -> CryptoError {
    match err.kind() {
        der::ErrorKind::OidUnknown { oid } => unsupported(format!("PBES2 with {}", oid_name(oid))),
        _ => CryptoError::BadPrivateKey(format!("malformed PBES2 parameters: {err}")),
    }
}

fn unsupported(scheme: String) -> CryptoError {
    CryptoError::UnsupportedEncryption { scheme }
}

/// `PBES1 / pbeWithMD5AndDES-CBC`, `PKCS#12 / pbeWithSHAAnd3-KeyTripleDES-CBC`, ...
fn non_pbes2_name(oid: ObjectIdentifier) -> String {
    let arcs = oid.to_string();
    let family = if arcs.starts_with("1.2.840.113549.1.5.") {
        "PBES1"
    } else if arcs.starts_with("1.2.840.113549.1.12.1.") {
        "PKCS#12 PBE"
    } else {
        "the encryption scheme"
    };
    format!("{family} / {}", oid_name(oid))
}

/// A readable name for the algorithms seen in encrypted keys, else the dotted OID.
fn oid_name(oid: ObjectIdentifier) -> String {
    const NAMES: [(&str, &str); 24] = [
        ("1.3.6.1.4.1.11591.4.11", "scrypt"),
        ("1.2.840.113549.1.5.1", "pbeWithMD2AndDES-CBC"),
        ("1.2.840.113549.1.5.4", "pbeWithMD2AndRC2-CBC"),
        ("1.2.840.113549.1.5.3", "pbeWithMD5AndDES-CBC"),
        ("1.2.840.113549.1.5.6", "pbeWithMD5AndRC2-CBC"),
        ("1.2.840.113549.1.5.10", "pbeWithSHA1AndDES-CBC"),
        ("1.2.840.113549.1.5.11", "pbeWithSHA1AndRC2-CBC"),
        ("1.2.840.113549.1.12.1.1", "pbeWithSHAAnd128BitRC4"),
        ("1.2.840.113549.1.12.1.2", "pbeWithSHAAnd40BitRC4"),
        ("1.2.840.113549.1.12.1.3", "pbeWithSHAAnd3-KeyTripleDES-CBC"),
        ("1.2.840.113549.1.12.1.4", "pbeWithSHAAnd2-KeyTripleDES-CBC"),
        ("1.2.840.113549.1.12.1.5", "pbeWithSHAAnd128BitRC2-CBC"),
        ("1.2.840.113549.1.12.1.6", "pbeWithSHAAnd40BitRC2-CBC"),
        ("1.2.840.113549.3.7", "des-ede3-cbc"),
        ("1.3.14.3.2.7", "des-cbc"),
        ("1.2.840.113549.3.2", "rc2-cbc"),
        ("2.16.840.1.101.3.4.1.6", "aes128-gcm"),
        ("2.16.840.1.101.3.4.1.26", "aes192-gcm"),
        ("2.16.840.1.101.3.4.1.46", "aes256-gcm"),
        ("1.2.392.200011.61.1.1.1.2", "camellia128-cbc"),
        ("1.2.392.200011.61.1.1.1.4", "camellia256-cbc"),
        ("1.2.410.200046.1.1.2", "aria128-cbc"),
        ("1.2.156.10197.1.104.2", "sm4-cbc"),
        ("1.2.840.113549.2.5", "hmacWithMD5"),
    ];

    let arcs = oid.to_string();
    match NAMES.iter().find(|(dotted, _)| *dotted == arcs) {
        Some((_, name)) => (*name).to_string(),
        None => format!("algorithm OID {arcs}"),
    }
}
