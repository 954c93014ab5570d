//! Key and certificate files as `key load`, `signer add` and `delegation add` read them: PEM
//! parsing, public keys, certificates, plain and encrypted private keys. Never panic.
#![no_main]

use std::sync::OnceLock;

use airlock::crypto;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

fn passphrase() -> &'static SecretString {
    static P: OnceLock<SecretString> = OnceLock::new();
    P.get_or_init(|| SecretString::from("x"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = crypto::parse_public_pem(data) {
        let _ = key.id();
        let _ = key.canonical_id();
        let _ = key.describe();
        let _ = key.check();
        // The certificate rules run on whatever parsed, at a fixed time.
        let now = time::macros::datetime!(2027-06-01 00:00 UTC);
        let _ = crypto::check_delegation_certificate(&key, now, true);
        let _ = crypto::check_root_certificate(&key, "example.com/app", now);
        // The bare key's PEM (what `key generate` hands out) reads back to the same key.
        if let (Ok(pem), Ok(canonical_id)) = (key.to_public_pem(), key.canonical_id()) {
            let again = crypto::parse_public_pem(pem.as_bytes()).expect("its PEM form parses");
            assert_eq!(again.id(), canonical_id);
        }
    }

    let _ = crypto::is_encrypted_private_pem(data);
    let _ = crypto::load_private_pem(data, None);
    if let Ok(loaded) = crypto::load_private_pem(data, Some(passphrase())) {
        let public = loaded.key.public_key();
        let _ = public.id();
        let _ = loaded.key.to_pkcs8_der();
    }

    let _ = crypto::certificate_info(data);
});
