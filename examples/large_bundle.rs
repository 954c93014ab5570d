//! Writes a pull bundle holding one repository whose `targets/releases` lists COUNT targets,
//! every role signed by fresh keys, for profiling `airlock import` and `bundle inspect`
//! without a server (`benches/fleet.sh` measures the same shape pulled from notary-server).
//!
//! Usage: large_bundle COUNT OUT

#[path = "../benches/support/mod.rs"]
mod support;

use std::process::ExitCode;

use airlock::bundle::{self, BundleContents, BundleKind};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [count, out] = args.as_slice() else {
        eprintln!("usage: large_bundle COUNT OUT");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("large_bundle: COUNT is a number");
        return ExitCode::from(2);
    };

    let now = support::now();
    let gun = "bench.example.com/team/large";
    let repo = support::repo(gun, &support::RepoKeys::new(gun, now), count, now);
    let contents = BundleContents {
        kind: BundleKind::Pull,
        created: now,
        answers: None,
        repos: vec![repo],
        audit: None,
    };
    match bundle::write(std::path::Path::new(out), &contents) {
        Ok(digest) => {
            println!("{digest}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("large_bundle: {e}");
            ExitCode::FAILURE
        }
    }
}
