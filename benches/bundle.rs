//! The bundle path of import and export for a fleet of 500 repositories (issue 7):
//! `bundle::write` (export's last step), `bundle::read` (import's first step), and the whole
//! `ops::import` (read, verify every repository, save each GUN's state) into a fresh home;
//! and the import of one repository whose `targets/releases` holds 100,000 targets (about
//! 10 MiB), the case where one file, not the number of repositories, is what costs.
//! Run: `cargo bench --bench bundle`.

mod support;

use airlock::bundle::{self, BundleContents, BundleKind, Limits};
use airlock::home::Home;
use airlock::ops::import::{self, ImportOptions};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const REPOS: usize = 500;
/// Targets in each repository's `targets/releases`: a small, typical team repository.
const RELEASE_TARGETS: usize = 20;

fn bundle_500(c: &mut Criterion) {
    let now = support::now();
    let contents = pull(support::fleet(REPOS, RELEASE_TARGETS, now), now);
    let size: u64 =
        contents.repos.iter().flat_map(|r| r.metadata.values()).map(|b| b.len() as u64).sum();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.tar.zst");
    bundle::write(&path, &contents).unwrap();

    let mut group = c.benchmark_group("bundle_500_repos");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(size));
    let out = dir.path().join("out.tar.zst");
    group.bench_function("write", |b| {
        b.iter(|| {
            let _ = std::fs::remove_file(&out);
            bundle::write(&out, &contents).unwrap()
        })
    });
    group.bench_function("read", |b| b.iter(|| bundle::read(&path, &Limits::default()).unwrap()));
    group.bench_function("import", |b| bench_import(b, &path, now));
    group.finish();
}

fn one_large_repo(c: &mut Criterion) {
    let now = support::now();
    let gun = "bench.example.com/team/large";
    let repo = support::repo(gun, &support::RepoKeys::new(gun, now), LARGE_TARGETS, now);
    let size: u64 = repo.metadata.values().map(|b| b.len() as u64).sum();
    let contents = pull(vec![repo], now);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.tar.zst");
    bundle::write(&path, &contents).unwrap();

    let mut group = c.benchmark_group("bundle_one_repo_100000_targets");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(size));
    group.bench_function("import", |b| bench_import(b, &path, now));
    group.finish();
}

/// A pull bundle's contents.
fn pull(repos: Vec<airlock::bundle::RepoFiles>, now: time::OffsetDateTime) -> BundleContents {
    BundleContents { kind: BundleKind::Pull, created: now, answers: None, repos, audit: None }
}

/// Targets in the large repository's `targets/releases`.
const LARGE_TARGETS: usize = 100_000;

/// `ops::import` of the bundle at `path` into a fresh home each time.
fn bench_import(b: &mut criterion::Bencher, path: &std::path::Path, now: time::OffsetDateTime) {
    let opts = ImportOptions {
        now,
        allow_expired: false,
        pinned_root: None,
        tally: &airlock::ops::progress::NoTally,
    };
    b.iter_batched(
        || tempfile::tempdir().unwrap(),
        |home_dir| {
            let home = Home::open(home_dir.path()).unwrap();
            import::import(&home, path, &opts).unwrap();
            home_dir
        },
        BatchSize::PerIteration,
    )
}

criterion_group!(benches, bundle_500, one_large_repo);
criterion_main!(benches);
