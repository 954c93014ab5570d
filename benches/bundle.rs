//! The bundle path of import and export for a fleet of 500 repositories (issue 7):
//! `bundle::write` (export's last step), `bundle::read` (import's first step), and the whole
//! `ops::import` (read, verify every repository, save each GUN's state) into a fresh home.
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
    let contents = BundleContents {
        kind: BundleKind::Pull,
        created: now,
        answers: None,
        repos: support::fleet(REPOS, RELEASE_TARGETS, now),
        audit: None,
    };
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
    let opts = ImportOptions {
        now,
        allow_expired: false,
        pinned_root: None,
        tally: &airlock::ops::progress::NoTally,
    };
    group.bench_function("import", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |home_dir| {
                let home = Home::open(home_dir.path()).unwrap();
                import::import(&home, &path, &opts).unwrap();
                home_dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bundle_500);
criterion_main!(benches);
