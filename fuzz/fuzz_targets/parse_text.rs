//! Fuzzes the text parser: any bytes must parse or fail cleanly, and whatever
//! parses must survive render → parse unchanged (NaN compared as NaN; an
//! empty HELP is rendered as none; a histogram without a `+Inf` bucket gets
//! one on rendering, as expfmt does, so it is compared without it). Bodies
//! where a family is named like another's `_sum`/`_count`/`_bucket` lines
//! cannot round-trip and are refused by validation, so they are skipped.
//! UTF-8 names are on, so the quoted-name syntax is fuzzed too (a body of
//! legacy names parses the same either way).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgw::exposition::render::write_family;
use pgw::exposition::text::parse_bytes_with;
use pgw::exposition::validate::{check_suffix_collisions, ParseLimits};
use pgw::exposition::{Family, Value};

const UTF8: ParseLimits = ParseLimits {
    utf8_names: true,
    ..ParseLimits::NONE
};

fuzz_target!(|data: &[u8]| {
    let Ok(families) = parse_bytes_with(data, &UTF8) else {
        return;
    };
    // `x_sum 1` before `# TYPE x summary` gives a family `x_sum` whose lines
    // would come back as part of `x`: ambiguous, and refused at push time.
    if check_suffix_collisions(&families).is_err() {
        return;
    }
    let mut text = Vec::new();
    for f in &families {
        write_family(&mut text, f);
    }
    let again = parse_bytes_with(&text, &UTF8).unwrap_or_else(|e| {
        panic!("rendered text does not parse: {e}\n{}", String::from_utf8_lossy(&text))
    });
    assert_eq!(normalize(&families), normalize(&again));
});

/// A comparable form: floats as bit patterns with every NaN alike, empty
/// HELP as none, a trailing synthetic `+Inf` bucket dropped.
fn normalize(families: &[Family<'_>]) -> Vec<String> {
    let bits = |v: f64| if v.is_nan() { u64::MAX } else { (v + 0.0).to_bits() };
    families
        .iter()
        .map(|f| {
            let metrics: Vec<String> = f
                .metrics
                .iter()
                .map(|m| {
                    let value = match &m.value {
                        Value::Single(v) => vec![bits(*v)],
                        Value::Summary {
                            sample_count,
                            sample_sum,
                            quantiles: points,
                        }
                        | Value::Histogram {
                            sample_count,
                            sample_sum,
                            buckets: points,
                        } => {
                            let mut points = points.clone();
                            let synthetic = matches!(m.value, Value::Histogram { .. })
                                && points.last()
                                    == Some(&(f64::INFINITY, *sample_count))
                                && points.iter().filter(|p| p.0 == f64::INFINITY).count() == 1;
                            if synthetic {
                                points.pop();
                            }
                            let mut v = vec![bits(*sample_count), bits(*sample_sum)];
                            v.extend(points.iter().flat_map(|p| [bits(p.0), bits(p.1)]));
                            v
                        }
                    };
                    format!("{:?} {:?} {:?}", m.labels, value, m.timestamp_ms)
                })
                .collect();
            let help = f.help.as_deref().filter(|h| !h.is_empty());
            format!("{} {:?} {:?} {:?}", f.name, help, f.kind, metrics)
        })
        .collect()
}
