//! Fuzzes the protobuf decoder where native histograms, exemplars and
//! created timestamps go: any bytes must decode or fail cleanly; whatever
//! decodes and passes the push checks must survive encode → decode
//! unchanged, and its native buckets must be walked and described (the
//! page's and the JSON API's reading of them) without a panic, whatever
//! its spans, schema or counts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgw::exposition::native::describe;
use pgw::exposition::proto::{decode_delimited, encode_delimited};
use pgw::exposition::validate::check_families;
use pgw::exposition::{Family, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(families) = decode_delimited(data) else {
        return;
    };
    // Described before the checks too: a stored family has passed them,
    // but the walk must not trust its input.
    for (native, count, sum) in natives(&families) {
        let _ = describe(native, count, sum);
    }
    if check_families(&families).is_err() {
        return;
    }
    let again = decode_delimited(&encode_delimited(&families))
        .unwrap_or_else(|e| panic!("encoded families do not decode: {e}"));
    // NaN is not equal to itself: compare the debug form, where every NaN
    // prints alike.
    assert_eq!(format!("{families:?}"), format!("{again:?}"));
});

fn natives<'f>(
    families: &'f [Family<'_>],
) -> impl Iterator<Item = (&'f pgw::exposition::Native, f64, f64)> {
    families.iter().flat_map(|f| &f.metrics).filter_map(|m| {
        let native = m.extras.as_ref()?.native.as_ref()?;
        match m.value {
            Value::Histogram {
                sample_count,
                sample_sum,
                ..
            } => Some((native, sample_count, sample_sum)),
            _ => None,
        }
    })
}
