//! Criterion benchmarks of the text format hot paths: parsing a push body and
//! rendering it back, on a real node_exporter scrape (507 sample lines) and a
//! small batch-job push, both checked in under `benches/data/`. Throughput is
//! reported in bytes of the text body.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pgw::exposition::render::write_family;
use pgw::exposition::text::parse;

// The server's allocator, so that the figures are the server's: glibc's
// malloc doubles the cost of applying a push.
#[cfg(not(windows))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn data(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn bench(c: &mut Criterion) {
    for name in ["node_exporter.prom", "batch_job.prom"] {
        let text = data(name);
        let families = parse(&text).expect("bench data parses");
        let mut rendered = Vec::new();
        for f in &families {
            write_family(&mut rendered, f);
        }

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function("parse", |b| b.iter(|| parse(black_box(&text)).unwrap()));
        group.throughput(Throughput::Bytes(rendered.len() as u64));
        group.bench_function("render", |b| {
            let mut out = Vec::with_capacity(rendered.len());
            b.iter(|| {
                out.clear();
                for f in black_box(&families) {
                    write_family(&mut out, f);
                }
                out.len()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
