//! Canonical JSON, signing and verification of a `targets/releases` with 1,000 and 100,000
//! targets (issue 7). Run: `cargo bench --bench tuf`.

mod support;

use std::hint::black_box;

use airlock::crypto::SigningKey;
use airlock::tuf::metadata::RoleType;
use airlock::tuf::verify::{self, Options, RepoFiles};
use airlock::tuf::{cjson, Gun};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use time::Duration;

const SIZES: [usize; 2] = [1_000, 100_000];

fn canonical(c: &mut Criterion) {
    let mut group = c.benchmark_group("cjson_canonical");
    group.sample_size(10);
    let expires = support::now() + Duration::days(365);
    for n in SIZES {
        let value = support::releases_role(n, 1, expires).to_value();
        group.throughput(Throughput::Bytes(cjson::canonical(&value).len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &value, |b, value| {
            b.iter(|| cjson::canonical(black_box(value)))
        });
    }
    group.finish();
}

fn sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign_releases");
    group.sample_size(10);
    let key = SigningKey::generate_p256();
    let expires = support::now() + Duration::days(365);
    for n in SIZES {
        let role = support::releases_role(n, 1, expires);
        group.bench_with_input(BenchmarkId::from_parameter(n), &role, |b, role| {
            b.iter(|| support::sign_with(role.clone(), &key, "targets/releases"))
        });
    }
    group.finish();
}

/// `verify_repo` of a whole repository (first use) whose `targets/releases` holds n targets:
/// parsing, canonical re-encoding, signatures, hashes and expiry of every role.
fn verify_repo(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_repo");
    group.sample_size(10);
    let now = support::now();
    for n in SIZES {
        let gun = "bench.example.com/team/app";
        let files = support::repo(gun, &support::RepoKeys::new(gun, now), n, now);
        let gun = Gun::parse(gun).unwrap();
        let size = files.metadata.values().map(|b| b.len() as u64).sum();
        group.throughput(Throughput::Bytes(size));
        let opts = Options { now, allow_expired: false, pinned_root: None };
        let repo = RepoFiles { metadata: &files.metadata, root_history: &files.root_history };
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| verify::verify_repo(&gun, black_box(&repo), None, &opts).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, canonical, sign, verify_repo);
criterion_main!(benches);
