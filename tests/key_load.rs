//! `load_private_pem` against the key files notary and docker wrote (copied from the shared
//! vector set into tests/vectors/privkeys/) and against every encoding OpenSSL makes of one
//! key.

use std::path::{Path, PathBuf};
use std::process::Command;

use airlock::crypto::{
    is_encrypted_private_pem, load_private_pem, parse_public_pem, verify, CryptoError, LoadedKey,
};
use base64::Engine;
use secrecy::SecretString;
use serde_json::Value;

const OPENSSL: &str = "/usr/bin/openssl";
const PASS: &str = "correct horse";
const WRONG: &str = "battery staple";

fn privkeys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/privkeys")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(privkeys().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn load(text: &[u8], pass: &str) -> Result<LoadedKey, CryptoError> {
    load_private_pem(text, Some(&secret(pass)))
}

fn canonical_id(loaded: &LoadedKey) -> String {
    loaded.key.public_key().canonical_id().unwrap().as_str().to_string()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
}

fn sorted_headers(loaded: &LoadedKey) -> Vec<(String, String)> {
    let mut headers = loaded.headers.clone();
    headers.sort();
    headers
}

/// The key ID the vector set expects for a summary entry: its file name.
fn expected_id(entry: &Value) -> &str {
    entry["file_name_is_key_id"].as_str().unwrap()
}

fn summary() -> Vec<Value> {
    serde_json::from_slice::<Value>(&read("summary.json")).unwrap().as_array().unwrap().clone()
}

/// Every notary and docker key file: the P-256 and RSA ones load to the ID in their file name
/// with their headers; the P-384 one is refused by name.
#[test]
fn notary_and_docker_key_files() {
    let entries = summary();
    assert_eq!(entries.len(), 16);

    for entry in &entries {
        let rel = entry["file"].as_str().unwrap().strip_prefix("privkeys/").unwrap();
        let text = read(rel);
        let pass = entry["passphrase"].as_str().unwrap();
        assert!(is_encrypted_private_pem(&text), "{rel}");

        let oids = entry["algorithm_oids_hex"].to_string();
        if oids.contains("2b81040022") {
            let keytype = "ECDSA P-384".to_string();
            assert_eq!(
                load(&text, pass).unwrap_err(),
                CryptoError::UnsupportedPrivateKey { keytype }
            );
            continue;
        }

        let loaded = load(&text, pass).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(canonical_id(&loaded), expected_id(entry), "{rel}");
        let rsa = oids.contains("2a864886f70d010101");
        assert_eq!(loaded.key.method(), if rsa { "rsapss" } else { "ecdsa" });

        let headers: Vec<(String, String)> = entry["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(sorted_headers(&loaded), headers, "{rel}");
    }
}

/// The plaintext PKCS#8 beside each file (Notary's version-1 ECDSA form, its RSA form without
/// the NULL parameter) gives the same key as the encrypted file.
#[test]
fn notary_plaintext_pkcs8_matches() {
    for entry in summary() {
        let rel = entry["file"].as_str().unwrap().strip_prefix("privkeys/").unwrap().to_string();
        let der = read(&format!("{rel}.decrypted-pkcs8.der"));
        let text = pem("PRIVATE KEY", &der);
        assert!(!is_encrypted_private_pem(text.as_bytes()));

        match load_private_pem(text.as_bytes(), None) {
            Ok(loaded) => assert_eq!(canonical_id(&loaded), expected_id(&entry), "{rel}"),
            Err(CryptoError::UnsupportedPrivateKey { keytype }) => {
                assert_eq!(keytype, "ECDSA P-384", "{rel}")
            }
            Err(e) => panic!("{rel}: {e}"),
        }
    }
}

/// Without a passphrase, and with a wrong one, the errors say so and never echo it.
#[test]
fn notary_file_passphrase_errors() {
    let text =
        read("notary-cli/12da8df0193fe5dc262d1c38851f792e133f2fbcf422915a8e502f10846c0d97.key");

    assert_eq!(load_private_pem(&text, None).unwrap_err(), CryptoError::PassphraseRequired);
    let err = load(&text, "targetspass123").unwrap_err();
    assert_eq!(err, CryptoError::WrongPassphrase);
    assert!(!err.to_string().contains("targetspass123"));
}

/// `notary key export` adds a `path:` header holding the key ID.
#[test]
fn notary_key_export_files() {
    let cases = [
        (
            "exported_root.pem",
            "rootpass123",
            "12da8df0193fe5dc262d1c38851f792e133f2fbcf422915a8e502f10846c0d97",
        ),
        (
            "exported_targets.pem",
            "targetspass123",
            "1896decd23a7a6df6bb2a5d876cbc6ad922c6158a6b00998f691e19b8a5176b4",
        ),
    ];

    for (file, pass, id) in cases {
        let loaded = load(&read(&format!("notary-key-export/{file}")), pass).unwrap();
        assert_eq!(canonical_id(&loaded), id);
        assert!(loaded.headers.contains(&("path".to_string(), id.to_string())), "{file}");
    }
}

/// Python-written keys: Notary's own encryption, PBKDF2-HMAC-SHA256 (which Notary cannot read
/// but OpenSSL writes), and both Ed25519 encodings, refused by name.
#[test]
fn python_generated_key_files() {
    let ids: Value =
        serde_json::from_slice(&read("python-generated-import-tests/expected_ids.json")).unwrap();
    let dir = "python-generated-import-tests";

    for name in ["ecdsa_notarystyle_enc", "ecdsa_pbkdf2sha256_enc"] {
        for file in [format!("{name}.key"), format!("{name}.withpath.key")] {
            let loaded = load(&read(&format!("{dir}/{file}")), "delegpass123").unwrap();
            assert_eq!(canonical_id(&loaded), ids[name].as_str().unwrap(), "{file}");
        }
    }

    let notary_ed = read(&format!("{dir}/ed25519_notary.key"));
    let keytype = "Ed25519 (Notary's encoding)".to_string();
    assert_eq!(
        load(&notary_ed, "delegpass123").unwrap_err(),
        CryptoError::UnsupportedPrivateKey { keytype }
    );

    let rfc_ed = read(&format!("{dir}/ed25519_rfc8410.key"));
    let keytype = "Ed25519 (RFC 8410)".to_string();
    assert_eq!(
        load_private_pem(&rfc_ed, None).unwrap_err(),
        CryptoError::UnsupportedPrivateKey { keytype }
    );
}

/// A scratch directory where `openssl` writes key files.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Scratch {
        Scratch(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> String {
        self.0.path().join(name).to_str().unwrap().to_string()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Runs openssl with `args`, where `@name` stands for a file in the directory.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let args: Vec<String> = args
            .iter()
            .map(|a| match a.strip_prefix('@') {
                Some(name) => self.path(name),
                None => a.to_string(),
            })
            .collect();
        Command::new(OPENSSL).args(&args).output().expect("openssl runs")
    }

    fn try_openssl(&self, args: &[&str]) -> bool {
        self.run(args).status.success()
    }

    fn openssl(&self, args: &[&str]) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "openssl {args:?} failed: {stderr}");
    }

    /// `openssl pkcs8 -topk8` of `@ec.pem` with `extra` arguments, into `out`.
    fn topk8(&self, out: &str, extra: &[&str]) -> Vec<u8> {
        let pass = format!("pass:{PASS}");
        let mut args = vec!["pkcs8", "-topk8", "-in", "@ec.pem", "-out", out, "-passout", &pass];
        args.extend_from_slice(extra);
        self.openssl(&args);
        self.read(out.trim_start_matches('@'))
    }
}

/// One P-256 key in every encoding OpenSSL writes loads to one key ID, the ID of the public key
/// OpenSSL derives from it.
#[test]
fn openssl_encodings_of_one_key() {
    let dir = Scratch::new();
    dir.openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-out", "@ec.pem"]);
    dir.openssl(&["ec", "-in", "@ec.pem", "-pubout", "-out", "@pub.pem"]);
    dir.openssl(&["ec", "-in", "@ec.pem", "-out", "@sec1.pem"]);
    let id = parse_public_pem(&dir.read("pub.pem")).unwrap().canonical_id().unwrap();

    let with_params = dir.read("ec.pem");
    assert!(String::from_utf8_lossy(&with_params).contains("BEGIN EC PARAMETERS"));
    let plain = [with_params, dir.read("sec1.pem"), dir.topk8("@p8.pem", &["-nocrypt"])];
    for text in plain {
        assert!(!is_encrypted_private_pem(&text));
        let loaded = load_private_pem(&text, None).unwrap();
        assert_eq!(loaded.key.public_key().canonical_id().unwrap(), id);
        assert!(loaded.headers.is_empty());
    }

    let encrypted = [
        dir.topk8("@sha256.pem", &["-v2", "aes-256-cbc"]),
        dir.topk8("@sha1.pem", &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1"]),
        dir.topk8("@aes128.pem", &["-v2", "aes-128-cbc"]),
        dir.topk8("@aes192.pem", &["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"]),
    ];
    for text in encrypted {
        assert!(is_encrypted_private_pem(&text));
        assert_eq!(load(&text, PASS).unwrap().key.public_key().canonical_id().unwrap(), id);
        assert_eq!(load_private_pem(&text, None).unwrap_err(), CryptoError::PassphraseRequired);

        let err = load(&text, WRONG).unwrap_err();
        assert_eq!(err, CryptoError::WrongPassphrase);
        assert!(!err.to_string().contains(WRONG) && !err.to_string().contains(PASS));
    }
}

fn unsupported_scheme(text: &[u8]) -> String {
    assert!(is_encrypted_private_pem(text));
    match load(text, PASS) {
        Err(CryptoError::UnsupportedEncryption { scheme }) => {
            let err = load_private_pem(text, None).unwrap_err();
            assert_eq!(err, CryptoError::UnsupportedEncryption { scheme: scheme.clone() });
            scheme
        }
        other => panic!("expected UnsupportedEncryption, got {other:?}"),
    }
}

/// PBES1, PKCS#12 PBE, 3DES, scrypt and OpenSSL's legacy PEM encryption are refused by name,
/// with or without a passphrase, and not mistaken for a wrong passphrase.
#[test]
fn openssl_unsupported_encryption() {
    let dir = Scratch::new();
    dir.openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-out", "@ec.pem"]);

    let pass = format!("pass:{PASS}");
    let md5_des = ["pkcs8", "-topk8", "-in", "@ec.pem", "-out", "@v1.pem", "-passout", &pass];
    let scheme = if dir.try_openssl(&[&md5_des[..], &["-v1", "PBE-MD5-DES"]].concat()) {
        unsupported_scheme(&dir.read("v1.pem"))
    } else {
        unsupported_scheme(&dir.topk8("@v1.pem", &["-v1", "PBE-SHA1-3DES"]))
    };
    let expected =
        ["PBES1 / pbeWithMD5AndDES-CBC", "PKCS#12 PBE / pbeWithSHAAnd3-KeyTripleDES-CBC"];
    assert!(expected.contains(&scheme.as_str()), "{scheme}");

    let des3 = unsupported_scheme(&dir.topk8("@des3.pem", &["-v2", "des3"]));
    assert_eq!(des3, "PBES2 with des-ede3-cbc");
    let scrypt = unsupported_scheme(&dir.topk8("@scrypt.pem", &["-scrypt"]));
    assert_eq!(scrypt, "PBES2 with scrypt");

    dir.openssl(&["ec", "-in", "@ec.pem", "-aes256", "-passout", &pass, "-out", "@legacy.pem"]);
    let legacy = unsupported_scheme(&dir.read("legacy.pem"));
    assert_eq!(legacy, "OpenSSL's legacy PEM encryption (Proc-Type: 4,ENCRYPTED, AES-256-CBC)");
}

/// RSA keys load from PKCS#8 and PKCS#1 to one key that signs `rsapss` as Notary verifies it;
/// short RSA keys and curves other than P-256 are refused with their own errors.
#[test]
fn openssl_rsa_and_other_curves() {
    let dir = Scratch::new();
    dir.openssl(&["genrsa", "-out", "@rsa.pem", "2048"]);
    dir.openssl(&["rsa", "-in", "@rsa.pem", "-traditional", "-out", "@pkcs1.pem"]);

    let p8 = load_private_pem(&dir.read("rsa.pem"), None).unwrap();
    let p1 = load_private_pem(&dir.read("pkcs1.pem"), None).unwrap();
    assert_eq!(p8.key.public_key(), p1.key.public_key());
    assert_eq!(p1.key.method(), "rsapss");
    let sig = p1.key.sign(b"signed bytes").unwrap();
    verify(&p8.key.public_key(), "rsapss", b"signed bytes", &sig).unwrap();

    dir.openssl(&["genrsa", "-out", "@short.pem", "1024"]);
    let err = load_private_pem(&dir.read("short.pem"), None).unwrap_err();
    assert_eq!(err, CryptoError::RsaTooShort { bits: 1024 });

    dir.openssl(&["ecparam", "-genkey", "-name", "secp384r1", "-out", "@p384.pem"]);
    let err = load_private_pem(&dir.read("p384.pem"), None).unwrap_err();
    let keytype = "ECDSA P-384".to_string();
    assert_eq!(err, CryptoError::UnsupportedPrivateKey { keytype });
}

/// Files with no key, several keys, or a key format not read here fail, never load nothing.
#[test]
fn files_without_one_usable_key() {
    let dir = Scratch::new();
    dir.openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "@ec.pem"]);
    let subj = ["-subj", "/CN=airlock-test"];
    dir.openssl(
        &[
            &["req", "-x509", "-new", "-key", "@ec.pem", "-days", "1"][..],
            &subj,
            &["-out", "@cert.pem"],
        ]
        .concat(),
    );

    let found = "found CERTIFICATE".to_string();
    let err = load_private_pem(&dir.read("cert.pem"), None).unwrap_err();
    assert_eq!(err, CryptoError::NoPrivateKeyPem { found });
    let found = "no PEM block".to_string();
    assert_eq!(load_private_pem(b"", None).unwrap_err(), CryptoError::NoPrivateKeyPem { found });
    assert!(!is_encrypted_private_pem(b""));

    let key = dir.read("ec.pem");
    let with_cert = [key.clone(), dir.read("cert.pem")].concat();
    assert!(load_private_pem(&with_cert, None).is_ok());
    let two = [key.clone(), key].concat();
    assert_eq!(
        load_private_pem(&two, None).unwrap_err(),
        CryptoError::SeveralPrivateKeys { count: 2 }
    );

    let ssh = pem("OPENSSH PRIVATE KEY", b"openssh-key-v1\0");
    let label = "OPENSSH PRIVATE KEY".to_string();
    let err = load_private_pem(ssh.as_bytes(), None).unwrap_err();
    assert_eq!(err, CryptoError::UnsupportedPrivatePem { label });
}

/// Headers before the blank line are returned in file order and do not disturb the key.
#[test]
fn headers_are_returned() {
    let dir = Scratch::new();
    dir.openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "@ec.pem"]);
    let der = load_private_pem(&dir.read("ec.pem"), None).unwrap().key.to_pkcs8_der();

    let b64 = base64::engine::general_purpose::STANDARD.encode(&*der);
    let text = format!(
        "-----BEGIN PRIVATE KEY-----\nrole: jeff\ngun: example.com/app\n\n{b64}\n\
         -----END PRIVATE KEY-----\n"
    );
    let loaded = load_private_pem(text.as_bytes(), None).unwrap();
    let expected =
        [("role", "jeff"), ("gun", "example.com/app")].map(|(k, v)| (k.into(), v.into()));
    assert_eq!(loaded.headers, expected.to_vec());
}
