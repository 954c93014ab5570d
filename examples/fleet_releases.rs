//! Writes a `targets/releases` with COUNT targets, signed by the delegation key in KEY (an
//! unencrypted PKCS#8 PEM), as the file Notary would upload. `bench/fleet.sh` posts it to the
//! server to make the 100,000-target role of the witness benchmark.
//!
//! Usage: fleet_releases KEY COUNT VERSION OUT

#[path = "../benches/support/mod.rs"]
mod support;

use std::process::ExitCode;

use airlock::crypto::load_private_pem;
use time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key, count, version, out] = args.as_slice() else {
        eprintln!("usage: fleet_releases KEY COUNT VERSION OUT");
        return ExitCode::from(2);
    };
    let (Ok(count), Ok(version)) = (count.parse::<usize>(), version.parse::<i64>()) else {
        eprintln!("fleet_releases: COUNT and VERSION are numbers");
        return ExitCode::from(2);
    };
    let pem = std::fs::read(key).expect("read the key file");
    let key = load_private_pem(&pem, None).expect("an unencrypted private key").key;

    let expires = support::now() + Duration::days(365);
    let role = support::releases_role(count, version, expires);
    let signed = support::sign_with(role, &key, "targets/releases");
    std::fs::write(out, signed.bytes()).expect("write the role file");
    eprintln!("fleet_releases: {} targets, {} bytes -> {out}", count, signed.bytes().len());
    ExitCode::SUCCESS
}
