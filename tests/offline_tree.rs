//! The offline signer (`--no-default-features`) must not contain HTTP, TLS or socket code:
//! its dependency tree is checked against crates that provide them. The same check on the
//! default build must find them, so the test can tell the two apart.

use std::process::Command;

/// Crates that speak HTTP, TLS or open sockets.
const NETWORK_CRATES: &[&str] = &[
    "ureq",
    "reqwest",
    "hyper",
    "h2",
    "http",
    "http-body",
    "rustls",
    "rustls-pemfile",
    "webpki-roots",
    "rustls-webpki",
    "native-tls",
    "openssl",
    "openssl-sys",
    "tokio",
    "mio",
    "socket2",
    "curl",
    "curl-sys",
    "ring",
    "url",
];

fn tree(args: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-e", "normal", "--prefix", "none", "--offline"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

fn network_crates_in(crates: &[String]) -> Vec<&'static str> {
    NETWORK_CRATES.iter().copied().filter(|n| crates.iter().any(|c| c == n)).collect()
}

#[test]
fn offline_build_has_no_network_crates() {
    let found = network_crates_in(&tree(&["--no-default-features"]));
    assert!(found.is_empty(), "the offline build depends on {found:?}");
}

#[test]
fn online_build_does_have_them() {
    let found = network_crates_in(&tree(&[]));
    assert!(found.contains(&"ureq") && found.contains(&"rustls"), "found only {found:?}");
}
