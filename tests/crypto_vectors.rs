//! The crypto module against the vectors captured from the real notary and docker tools
//! (copied from the shared vector set into tests/vectors/).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use airlock::crypto::{
    certificate_info, check_delegation_certificate, check_root_certificate, parse_public_pem,
    root_certificate, verify, CryptoError, KeyId, KeyType, PublicKey, SigningKey,
};
use base64::Engine;
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(vectors().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap()
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn key_object(v: &Value) -> PublicKey {
    let keytype = KeyType::parse(v["keytype"].as_str().unwrap()).unwrap();
    PublicKey::from_b64(keytype, v["keyval"]["public"].as_str().unwrap()).unwrap()
}

/// The key objects in a repository vector: root keys of every root version and the keys of
/// every delegation, by ID.
fn repo_keys(dir: &Path) -> HashMap<String, PublicKey> {
    let mut keys = HashMap::new();
    for path in files(dir, ".json") {
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let signed = &doc["signed"];
        let maps = [&signed["keys"], &signed["delegations"]["keys"]];
        for map in maps.into_iter().filter_map(Value::as_object) {
            for (id, obj) in map {
                let key = key_object(obj);
                assert_eq!(
                    key.id().as_str(),
                    id,
                    "{}: key ID differs from its map key",
                    path.display()
                );
                keys.insert(id.clone(), key);
            }
        }
    }
    keys
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn all_35_key_ids_and_canonical_ids_recompute() {
    let keys = json("keys/key_objects_and_ids.json");
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 35);

    for k in keys {
        let keytype = KeyType::parse(k["keytype"].as_str().unwrap()).unwrap();
        let key = PublicKey::from_b64(keytype, k["public_b64"].as_str().unwrap()).unwrap();
        let expected = k["key_id"].as_str().unwrap();
        assert_eq!(key.id().as_str(), expected);
        assert_eq!(key.public_b64(), k["public_b64"].as_str().unwrap());

        let canonical = k
            .as_object()
            .unwrap()
            .iter()
            .find(|(name, _)| name.starts_with("canonical_key_id"))
            .map(|(_, v)| v.as_str().unwrap());
        match canonical {
            Some(c) => {
                assert!(keytype.is_x509());
                assert_eq!(key.canonical_id().unwrap().as_str(), c, "{expected}");
                assert_eq!(key.bare().unwrap().id().as_str(), c);
                let cn = k["cert_subject"].as_str().unwrap();
                assert!(key.describe().ends_with(cn), "{} vs {cn}", key.describe());
            }
            None => assert_eq!(key.canonical_id().unwrap(), key.id()),
        }
    }
}

#[test]
fn every_vector_signature_verifies_and_fails_when_altered() {
    let mut verified = 0;
    let mut methods = HashMap::new();

    for repo in std::fs::read_dir(vectors().join("repos")).unwrap() {
        let repo = repo.unwrap().path();
        let keys = repo_keys(&repo);
        for check in files(&repo, ".sigcheck.json") {
            let report: Value = serde_json::from_slice(&std::fs::read(&check).unwrap()).unwrap();
            let canonical = repo.join(report["canonical_file"].as_str().unwrap());
            let msg = std::fs::read(&canonical).unwrap();

            for sig in report["signatures"].as_array().unwrap() {
                if sig["verified_over_canonical_by_python"].is_null() {
                    continue; // its key was removed from the parent role
                }
                assert_eq!(sig["verified_over_canonical_by_python"], true);
                let key = &keys[sig["keyid"].as_str().unwrap()];
                let method = sig["method"].as_str().unwrap();
                let bytes = hex::decode(sig["sig_hex"].as_str().unwrap()).unwrap();

                verify(key, method, &msg, &bytes)
                    .unwrap_or_else(|e| panic!("{}: {e}", check.display()));
                assert_alterations_fail(key, method, &msg, &bytes);
                verified += 1;
                *methods.entry(format!("{method}/{}", key.describe())).or_insert(0) += 1;
            }
        }
    }

    assert!(verified >= 38, "only {verified} signatures checked: {methods:?}");
    let kinds = ["ecdsa/ecdsa P-256", "ecdsa/ecdsa-x509 P-256", "ecdsa/ecdsa-x509 P-384"];
    for kind in kinds.into_iter().chain(["eddsa/ed25519", "rsapss/rsa 2048", "rsapss/rsa-x509"]) {
        assert!(methods.keys().any(|m| m.starts_with(kind)), "no {kind} in {methods:?}");
    }
}

fn assert_alterations_fail(key: &PublicKey, method: &str, msg: &[u8], sig: &[u8]) {
    let mut msg2 = msg.to_vec();
    msg2[msg.len() / 2] ^= 0x01;
    assert!(verify(key, method, &msg2, sig).is_err());

    let mut sig2 = sig.to_vec();
    sig2[sig.len() - 1] ^= 0x80;
    assert!(verify(key, method, msg, &sig2).is_err());
}

/// A P-256 vector signature from notary's own targets key, for the negative cases.
fn notary_targets_signature() -> (PublicKey, Vec<u8>, Vec<u8>) {
    let root = json("repos/notary-cli-repo1/root.json");
    let check = json("repos/notary-cli-repo1/targets.sigcheck.json");
    let sig = &check["signatures"][0];
    let key = key_object(&root["signed"]["keys"][sig["keyid"].as_str().unwrap()]);
    let msg = read("repos/notary-cli-repo1/targets.canonical");
    (key, msg, hex::decode(sig["sig_hex"].as_str().unwrap()).unwrap())
}

#[test]
fn ecdsa_method_is_case_insensitive_and_der_is_refused() {
    let (key, msg, sig) = notary_targets_signature();
    verify(&key, "ECDSA", &msg, &sig).unwrap();

    let der = p256::ecdsa::Signature::from_slice(&sig).unwrap().to_der();
    let err = verify(&key, "ecdsa", &msg, der.as_bytes()).unwrap_err();
    assert!(matches!(err, CryptoError::SignatureLength { expected: 64, .. }), "{err}");
    assert!(err.to_string().contains("not DER"));
}

#[test]
fn methods_must_fit_key_types() {
    let (key, msg, sig) = notary_targets_signature();
    for method in ["rsapss", "eddsa", "rsapkcs1v15"] {
        let err = verify(&key, method, &msg, &sig).unwrap_err();
        assert!(matches!(err, CryptoError::MethodMismatch { .. }), "{err}");
    }
    let err = verify(&key, "ed25519", &msg, &sig).unwrap_err();
    assert!(matches!(err, CryptoError::UnknownMethod(_)));
}

fn rsa_public(key: &rsa::RsaPrivateKey) -> PublicKey {
    use rsa::pkcs8::EncodePublicKey;
    let der = key.to_public_key().to_public_key_der().unwrap();
    PublicKey::new(KeyType::Rsa, der.as_bytes().to_vec())
}

#[test]
fn rsa_pss_needs_salt_32_and_2048_bits() {
    use rsa::{Pkcs1v15Sign, Pss};
    use sha2::{Digest, Sha256};

    let mut rng = rand_core::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let key = rsa_public(&private);
    let msg = b"{\"signed\":\"bytes\"}";
    let digest = Sha256::digest(msg);

    let pss = |salt| Pss::new_with_salt::<Sha256>(salt);
    let sign = |salt| private.sign_with_rng(&mut rand_core::OsRng, pss(salt), &digest);
    verify(&key, "rsapss", msg, &sign(32).unwrap()).unwrap();
    for salt in [20, 64] {
        let err = verify(&key, "rsapss", msg, &sign(salt).unwrap()).unwrap_err();
        assert_eq!(err, CryptoError::BadSignature { method: "rsapss" });
    }

    let pkcs1 = private.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap();
    verify(&key, "rsapkcs1v15", msg, &pkcs1).unwrap();
    assert!(verify(&key, "rsapss", msg, &pkcs1).is_err());

    let short = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let sig = short.sign_with_rng(&mut rng, Pss::new_with_salt::<Sha256>(32), &digest).unwrap();
    let err = verify(&rsa_public(&short), "rsapss", msg, &sig).unwrap_err();
    assert_eq!(err, CryptoError::RsaTooShort { bits: 1024 });
}

#[test]
fn p521_uses_sha256_and_raw_132_byte_signatures() {
    use p521::ecdsa::signature::hazmat::PrehashSigner;
    use sha2::{Digest, Sha256};

    let signing = p521::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let point = p521::ecdsa::VerifyingKey::from(&signing).to_encoded_point(false);
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: "1.2.840.10045.2.1".parse().unwrap(),
            parameters: Some(
                der::Any::encode_from(&der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.35"))
                    .unwrap(),
            ),
        },
        subject_public_key: der::asn1::BitString::from_bytes(point.as_bytes()).unwrap(),
    };
    let key = PublicKey::new(KeyType::Ecdsa, der::Encode::to_der(&spki).unwrap());
    assert_eq!(key.describe(), "ecdsa P-521");

    let msg = b"canonical bytes";
    let mut digest = [0u8; 66];
    digest[34..].copy_from_slice(&Sha256::digest(msg));
    let sig: p521::ecdsa::Signature = signing.sign_prehash(&digest).unwrap();
    let raw = sig.to_bytes();
    assert_eq!(raw.len(), 132);
    verify(&key, "ecdsa", msg, &raw).unwrap();
    assert!(verify(&key, "ecdsa", b"other bytes", &raw).is_err());
}

#[test]
fn signing_key_signs_round_trips_and_hides_secrets() {
    let key = SigningKey::generate_p256();
    let public = key.public_key();
    assert_eq!(public.keytype(), KeyType::Ecdsa);
    assert!(public.public_b64().starts_with("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"));
    assert_eq!(key.method(), "ecdsa");

    let sig = key.sign(b"payload").unwrap();
    assert_eq!(sig.len(), 64);
    verify(&public, "ecdsa", b"payload", &sig).unwrap();
    assert!(verify(&public, "ecdsa", b"payload!", &sig).is_err());

    let der = key.to_pkcs8_der();
    let again = SigningKey::from_pkcs8_der(&der).unwrap();
    assert_eq!(again.public_key(), public);

    let debug = format!("{key:?}");
    assert!(debug.contains(public.id().as_str()), "{debug}");
    let secret_hex = hex::encode(&der[der.len() - 32..]);
    assert!(!debug.contains(&secret_hex));
}

#[test]
fn notary_pkcs8_version_1_key_loads() {
    let key = SigningKey::from_pkcs8_der(&read("privkeys/notary_root_repo1_12da8df0.pkcs8.der"));
    let id = key.unwrap().public_key().id();
    assert_eq!(id.as_str(), "12da8df0193fe5dc262d1c38851f792e133f2fbcf422915a8e502f10846c0d97");

    assert!(SigningKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00").is_err());
}

#[test]
fn generated_root_certificate_passes_notary_checks_for_its_gun_only() {
    let key = SigningKey::generate_p256();
    let start = OffsetDateTime::now_utc();
    let gun = "example.com/team/app";
    let cert = root_certificate(&key, gun, start).unwrap();

    assert_eq!(cert.keytype(), KeyType::EcdsaX509);
    assert_eq!(cert.canonical_id().unwrap(), key.public_key().id());
    assert_eq!(cert.describe(), format!("ecdsa-x509 P-256 CN={gun}"));

    let info = check_root_certificate(&cert, gun, start).unwrap();
    assert_eq!(info.common_name, gun);
    assert_eq!(info.signature_algorithm, "ecdsa-with-SHA256");
    assert!(!info.is_ca);
    assert_eq!(info.not_after - info.not_before, Duration::days(3650));
    assert_eq!(info.not_before.unix_timestamp(), start.unix_timestamp());
    assert_eq!(certificate_info(cert.public_bytes()).unwrap(), info);

    let err = check_root_certificate(&cert, "example.com/team/other", start).unwrap_err();
    assert!(matches!(err, CryptoError::CnMismatch { .. }), "{err}");
    let later = start + Duration::days(3651);
    let err = check_root_certificate(&cert, gun, later).unwrap_err();
    assert!(matches!(err, CryptoError::CertExpired { .. }), "{err}");
    let earlier = start - Duration::days(2);
    let err = check_root_certificate(&cert, gun, earlier).unwrap_err();
    assert!(matches!(err, CryptoError::CertNotYetValid { .. }), "{err}");
    check_root_certificate(&cert, gun, start - Duration::hours(23)).unwrap();

    // A signature by the key verifies with the certificate.
    verify(&cert, "ecdsa", b"root bytes", &key.sign(b"root bytes").unwrap()).unwrap();
}

#[test]
fn generated_root_certificate_has_notarys_extensions() {
    let openssl = Path::new("/usr/bin/openssl");
    if !openssl.exists() {
        eprintln!("skipped: no /usr/bin/openssl");
        return;
    }

    let key = SigningKey::generate_p256();
    let cert = root_certificate(&key, "example.com/test/repo1", datetime!(2026-12-03 15:25:12 UTC));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root.pem");
    std::fs::write(&path, cert.unwrap().public_bytes()).unwrap();

    let out = std::process::Command::new(openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let squeezed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");

    for expected in [
        "Version: 3 (0x2)",
        "Signature Algorithm: ecdsa-with-SHA256",
        "Issuer: CN = example.com/test/repo1",
        "Subject: CN = example.com/test/repo1",
        "Not Before: Dec 3 15:25:12 2026 GMT",
        "Not After : Nov 30 15:25:12 2036 GMT",
        "X509v3 Key Usage: critical Digital Signature, Key Encipherment",
        "X509v3 Extended Key Usage: Code Signing",
        "X509v3 Basic Constraints: critical CA:FALSE",
        "NIST CURVE: P-256",
    ] {
        assert!(squeezed.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("Key Identifier"), "{text}");
    // "X509v3 extensions:" and the three extensions.
    assert_eq!(text.matches("X509v3").count(), 4, "{text}");
}

#[test]
fn real_root_certificates_pass_and_fail_like_notary() {
    let root = json("repos/notary-cli-repo1/root.json");
    let keys = &root["signed"]["keys"];
    let root_ids = root["signed"]["roles"]["root"]["keyids"].as_array().unwrap();
    let cert = key_object(&keys[root_ids[0].as_str().unwrap()]);

    let gun = "example.com/test/repo1";
    let now = datetime!(2027-06-01 00:00 UTC);
    let info = check_root_certificate(&cert, gun, now).unwrap();
    assert_eq!(info.key, "ecdsa P-256");
    assert!(check_root_certificate(&cert, "example.com/test/*", now).is_err());
    let err = check_root_certificate(&cert, gun, datetime!(2037-01-01 00:00 UTC)).unwrap_err();
    assert!(matches!(err, CryptoError::CertExpired { .. }), "{err}");

    // Notary re-encodes the PEM before hashing, so anything but Go's encoding is refused.
    let crlf = String::from_utf8(cert.public_bytes().to_vec()).unwrap().replace('\n', "\r\n");
    let crlf = PublicKey::new(KeyType::EcdsaX509, crlf.into_bytes());
    assert_eq!(check_root_certificate(&crlf, gun, now).unwrap_err(), CryptoError::NotGoPem);

    // A bare key cannot be a root key.
    let targets_id = root["signed"]["roles"]["targets"]["keyids"][0].as_str().unwrap();
    let bare = key_object(&keys[targets_id]);
    let err = check_root_certificate(&bare, gun, now).unwrap_err();
    assert!(matches!(err, CryptoError::NotCertificate { keytype: KeyType::Ecdsa }));

    let python =
        parse_public_pem(&read("repos/python-created-repo/generator-output/root-cert.pem"));
    check_root_certificate(&python.unwrap(), "example.com/py/newrepo", now).unwrap();
}

#[test]
fn wildcard_cn_is_a_prefix() {
    let key = SigningKey::generate_p256();
    let now = OffsetDateTime::now_utc();
    let cert = root_certificate(&key, "example.com/api/*", now).unwrap();

    check_root_certificate(&cert, "example.com/api/wildcard-cn", now).unwrap();
    assert!(check_root_certificate(&cert, "example.com/other", now).is_err());
    assert!(airlock::crypto::cn_matches_gun("a/**", "a/b"));
    assert!(!airlock::crypto::cn_matches_gun("a/b", "a/bc"));
}

/// alice is a self-signed CA certificate that notary accepted as a delegation key.
fn alice() -> PublicKey {
    let keys = json("keys/key_objects_and_ids.json");
    let alice = keys.as_array().unwrap().iter().find(|k| k["cert_subject"] == "CN=alice");
    let alice = alice.unwrap();
    PublicKey::from_b64(KeyType::EcdsaX509, alice["public_b64"].as_str().unwrap()).unwrap()
}

#[test]
fn delegation_certificates_skip_expiry_only_when_reading() {
    let alice = alice();
    let after_expiry = datetime!(2030-01-01 00:00 UTC);

    let info = check_delegation_certificate(&alice, after_expiry, false).unwrap();
    assert_eq!(info.common_name, "alice");
    assert!(info.is_ca);
    let err = check_delegation_certificate(&alice, after_expiry, true).unwrap_err();
    assert!(matches!(err, CryptoError::CertExpired { .. }), "{err}");
    check_delegation_certificate(&alice, datetime!(2027-01-01 00:00 UTC), true).unwrap();

    // The P-384 and RSA delegation certificates too.
    let keys = json("keys/key_objects_and_ids.json");
    for cn in ["CN=p384", "CN=bob"] {
        let k = keys.as_array().unwrap().iter().find(|k| k["cert_subject"] == cn).unwrap();
        let keytype = KeyType::parse(k["keytype"].as_str().unwrap()).unwrap();
        let key = PublicKey::from_b64(keytype, k["public_b64"].as_str().unwrap()).unwrap();
        check_delegation_certificate(&key, after_expiry, false).unwrap();
    }
}

fn pem(label: &str, headers: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{headers}{}\n-----END {label}-----\n", lines.join("\n"))
}

#[test]
fn docker_role_headed_public_key_is_read() {
    // dave's key, as `docker trust key generate dave` writes dave.pub.
    let id = "266640138d14f3dcf83a6da1e46b182fc724f8376c81558a37298cf6f20f7fa6";
    let keys = json("keys/key_objects_and_ids.json");
    let dave = keys.as_array().unwrap().iter().find(|k| k["key_id"] == id).unwrap();
    let der = b64(dave["public_b64"].as_str().unwrap());

    let text = pem("PUBLIC KEY", "role: dave\n\n", &der);
    let key = parse_public_pem(text.as_bytes()).unwrap();
    assert_eq!(key.keytype(), KeyType::Ecdsa);
    assert_eq!(key.id().as_str(), id);
    assert_eq!(key.describe(), "ecdsa P-256");
}

#[test]
fn rsa_public_key_pem_is_reencoded_like_go() {
    let id = "059fe622ae4b3b792bc4e6d3ee55c015ca8a26dc06717bc64658168d004440e3";
    let keys = json("keys/key_objects_and_ids.json");
    let k = keys.as_array().unwrap().iter().find(|k| k["key_id"] == id).unwrap();
    let der = b64(k["public_b64"].as_str().unwrap());

    let key = parse_public_pem(pem("PUBLIC KEY", "", &der).as_bytes()).unwrap();
    assert_eq!((key.keytype(), key.id().as_str()), (KeyType::Rsa, id));
    assert_eq!(key.describe(), "rsa 2048");

    // The same key with its AlgorithmIdentifier parameters left out gets Go's NULL back.
    // Layout: 30 82 01 22 | 30 0d 06 09 <rsaEncryption> 05 00 | 03 82 01 0f ...
    assert_eq!(&der[4..8], &[0x30, 0x0d, 0x06, 0x09]);
    let mut no_null = vec![0x30, 0x82, 0x01, 0x20, 0x30, 0x0b];
    no_null.extend_from_slice(&der[6..17]);
    no_null.extend_from_slice(&der[19..]);
    let key = parse_public_pem(pem("PUBLIC KEY", "", &no_null).as_bytes()).unwrap();
    assert_eq!(key.id().as_str(), id);

    // In metadata Go's parser refuses that form, so verification does too.
    let raw = PublicKey::new(KeyType::Rsa, no_null);
    let err = verify(&raw, "rsapss", b"msg", &[0u8; 256]).unwrap_err();
    assert!(matches!(err, CryptoError::MalformedKey { .. }), "{err}");

    let twice = format!("{}{}", pem("PUBLIC KEY", "", &der), pem("PUBLIC KEY", "", &der));
    let err = parse_public_pem(twice.as_bytes()).unwrap_err();
    assert_eq!(err, CryptoError::SeveralPublicKeys { count: 2 });
}

#[test]
fn certificates_chains_and_refusals() {
    let delegation = read("repos/python-created-repo/generator-output/delegation-cert.pem");
    let key = parse_public_pem(&delegation).unwrap();
    let ids = json("repos/python-created-repo/generator-output/key_ids.json");
    assert_eq!(key.keytype(), KeyType::EcdsaX509);
    assert_eq!(key.id().as_str(), ids["delegation_cert_key_id"].as_str().unwrap());
    assert_eq!(key.canonical_id().unwrap().as_str(), ids["delegation_canonical_key_id"]);

    // A chain: the CA certificate alice around the leaf; the leaf is kept, alone.
    let alice_pem = String::from_utf8(alice().public_bytes().to_vec()).unwrap();
    let delegation_pem = String::from_utf8(delegation.clone()).unwrap();
    let chain = format!("{alice_pem}{delegation_pem}");
    let from_chain = parse_public_pem(chain.as_bytes()).unwrap();
    assert_eq!(from_chain, key);

    let root = read("repos/python-created-repo/generator-output/root-cert.pem");
    let two_leaves = format!("{delegation_pem}{}", String::from_utf8(root).unwrap());
    let err = parse_public_pem(two_leaves.as_bytes()).unwrap_err();
    assert_eq!(err, CryptoError::AmbiguousLeaf { count: 2 });

    assert_eq!(parse_public_pem(b"").unwrap_err(), CryptoError::NoPublicKeyPem);
    let err = parse_public_pem(b"\x00\xffgarbage, not a key\n").unwrap_err();
    assert_eq!(err, CryptoError::NoPublicKeyPem);
    assert!(err.to_string().contains("no PUBLIC KEY or CERTIFICATE block"));

    let mixed = format!("{delegation_pem}{}", pem("PUBLIC KEY", "", &b64("AAAA")));
    assert_eq!(parse_public_pem(mixed.as_bytes()).unwrap_err(), CryptoError::MixedPem);

    let other = pem("RSA PUBLIC KEY", "", b"\x30\x00");
    assert!(matches!(parse_public_pem(other.as_bytes()), Err(CryptoError::UnsupportedPem { .. })));
}

#[test]
fn private_keys_are_refused_where_public_ones_are_expected() {
    let key = SigningKey::generate_p256();
    for label in ["PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"] {
        let text = pem(label, "role: root\n\n", &key.to_pkcs8_der());
        let err = parse_public_pem(text.as_bytes()).unwrap_err();
        assert_eq!(err, CryptoError::PrivateKeyGiven { label: label.to_string() });
        assert!(err.to_string().contains("private key"));
    }

    // Even next to a public key.
    let public = pem("PUBLIC KEY", "", key.public_key().public_bytes());
    let both = format!("{public}{}", pem("PRIVATE KEY", "", &key.to_pkcs8_der()));
    assert!(matches!(parse_public_pem(both.as_bytes()), Err(CryptoError::PrivateKeyGiven { .. })));
}

#[test]
fn unsupported_keys_are_refused() {
    let ed = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    let spki = ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_der(&ed).unwrap();
    let err = parse_public_pem(pem("PUBLIC KEY", "", spki.as_bytes()).as_bytes()).unwrap_err();
    assert!(matches!(err, CryptoError::UnsupportedKey(_)), "{err}");

    let short = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
    let text = pem("PUBLIC KEY", "", rsa_public(&short).public_bytes());
    let err = parse_public_pem(text.as_bytes()).unwrap_err();
    assert_eq!(err, CryptoError::RsaTooShort { bits: 1024 });
}

#[test]
fn key_ids_parse_strictly() {
    let id = "12da8df0193fe5dc262d1c38851f792e133f2fbcf422915a8e502f10846c0d97";
    let parsed = KeyId::parse(id).unwrap();
    assert_eq!(parsed.short(), "12da8df0193f");
    assert_eq!(parsed.prefix(8), "12da8df0");
    assert_eq!(parsed.prefix(100), id);
    assert_eq!(parsed.to_string(), id);

    assert!(KeyId::parse(&id.to_uppercase()).is_err());
    assert!(KeyId::parse(&id[1..]).is_err());
    assert!(KeyId::parse(&format!("{}g", &id[1..])).is_err());

    let json = serde_json::to_string(&parsed).unwrap();
    assert_eq!(serde_json::from_str::<KeyId>(&json).unwrap(), parsed);
    assert!(serde_json::from_str::<KeyId>("\"abc\"").is_err());
}

#[test]
fn key_types_round_trip() {
    for t in [KeyType::Ecdsa, KeyType::Rsa, KeyType::Ed25519, KeyType::EcdsaX509, KeyType::RsaX509]
    {
        assert_eq!(KeyType::parse(t.as_str()).unwrap(), t);
    }
    assert!(KeyType::parse("ECDSA").is_err());
    assert!(PublicKey::from_b64(KeyType::Ecdsa, "not base64!").is_err());
}
