//! Benchmarks of the store, the server's hot paths without HTTP: a
//! node_exporter push into a store of 200 such groups (and a batch-job push
//! into 5,000), whole and in its three pieces (parse; prepare: grouping
//! labels, the checks that need no other group, rendering; apply: the checks
//! against the store and the change, under its lock), and rendering the
//! whole store for a scrape, at 200 node_exporter groups and at 50,000
//! batch-job groups.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pgw::exposition::names::Escaping;
use pgw::exposition::text;
use pgw::grouping::GroupingKey;
use pgw::server::metrics::OWN_TYPES;
use pgw::server::store::{prepare, Mode, Store};

// The server's allocator, so that the figures are the server's: glibc's
// malloc doubles the cost of applying a push.
#[cfg(not(windows))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const NODE: &str = include_str!("data/node_exporter.prom");
const BATCH: &str = include_str!("data/batch_job.prom");

fn key(i: usize) -> GroupingKey {
    GroupingKey::new([
        ("job", "node".to_string()),
        ("instance", format!("host-{i}")),
    ])
}

fn filled(groups: usize, body: &str) -> Store {
    let store = Store::new(OWN_TYPES);
    for i in 0..groups {
        let p = prepare(key(i), text::parse(body).unwrap(), SystemTime::now()).unwrap();
        store.push(p, Mode::Replace, SystemTime::now()).unwrap();
    }
    store
}

/// The three pieces of a push of `body` into `store` (of `groups` groups).
fn pieces(c: &mut Criterion, name: &str, body: &'static str, store: &Store, groups: usize) {
    let mut g = c.benchmark_group(format!("push pieces {name}"));
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| text::parse(black_box(body)).unwrap())
    });
    g.bench_function("prepare", |b| {
        b.iter_batched(
            || text::parse(body).unwrap(),
            |families| prepare(key(7), families, SystemTime::now()).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let mut i = 0;
    g.bench_function(format!("apply into {groups} groups"), |b| {
        b.iter_batched(
            || {
                i = (i + 1) % groups;
                prepare(key(i), text::parse(body).unwrap(), SystemTime::now()).unwrap()
            },
            |p| store.push(p, Mode::Replace, SystemTime::now()).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn store(c: &mut Criterion) {
    let store = filled(200, NODE);
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Bytes(NODE.len() as u64));
    let mut i = 0;
    g.bench_function("push node_exporter into 200 groups", |b| {
        b.iter(|| {
            i = (i + 1) % 200;
            let p = prepare(key(i), text::parse(NODE).unwrap(), SystemTime::now()).unwrap();
            store.push(p, Mode::Replace, SystemTime::now()).unwrap();
        })
    });
    let batch = Store::new(OWN_TYPES);
    g.throughput(Throughput::Bytes(BATCH.len() as u64));
    let mut j = 0;
    g.bench_function("push batch_job into 5000 groups", |b| {
        b.iter(|| {
            j = (j + 1) % 5000;
            let p = prepare(key(j), text::parse(BATCH).unwrap(), SystemTime::now()).unwrap();
            batch.push(p, Mode::Replace, SystemTime::now()).unwrap();
        })
    });
    let mut out = Vec::new();
    store.write_exposition(&mut out, &[], Escaping::Underscores);
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function("scrape 200 node_exporter groups", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(16 << 20);
            store.write_exposition(&mut out, &[], Escaping::Underscores);
            black_box(out.len())
        })
    });
    let mut out = Vec::new();
    store.write_protobuf(&mut out, &[], Escaping::Underscores);
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function("protobuf scrape 200 node_exporter groups", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(16 << 20);
            store.write_protobuf(&mut out, &[], Escaping::Underscores);
            black_box(out.len())
        })
    });
    g.finish();
    pieces(c, "node_exporter", NODE, &store, 200);
    pieces(c, "batch_job", BATCH, &batch, 5000);
    let many = filled(50_000, BATCH);
    let mut g = c.benchmark_group("store");
    let mut out = Vec::new();
    many.write_exposition(&mut out, &[], Escaping::Underscores);
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function("scrape 50000 batch_job groups", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(32 << 20);
            many.write_exposition(&mut out, &[], Escaping::Underscores);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
