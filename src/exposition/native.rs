//! Native histograms read as buckets with bounds: the bucket boundaries of
//! the exponential schemas, the walk over spans and deltas (or float
//! counts), and the two ways pgw shows them to people, the JSON API's
//! bucket arrays and the one-line form of Prometheus's `Histogram.String()`.
//!
//! Bounds are computed as Prometheus computes them (`model/histogram`,
//! `getBoundExponential`): the fraction `2^(i/2^schema)/2` scaled by a power
//! of two, so that a bound printed here is the bound Prometheus prints.

use super::render::format_float;
use super::Native;

/// Which ends of a bucket are inside it, numbered as in the Prometheus
/// query API (and upstream's JSON): 0 `(l,u]`, 1 `[l,u)`, 3 `[l,u]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boundaries {
    /// `(l,u]`: every positive bucket.
    LeftOpen = 0,
    /// `[l,u)`: every negative bucket.
    RightOpen = 1,
    /// `[l,u]`: the zero bucket.
    Closed = 3,
}

/// One bucket with a count other than zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) boundaries: Boundaries,
    pub(crate) lower: f64,
    pub(crate) upper: f64,
    pub(crate) count: f64,
}

/// The buckets of a native histogram in upstream's order: negative ones
/// from the most negative, the zero bucket, then the positive ones upwards.
/// Buckets that count nothing are left out. A float histogram (by
/// [`Native::is_float`]) reads its float counts, an integer one its deltas.
pub(crate) fn buckets(n: &Native) -> Vec<Bucket> {
    let schema = n.schema();
    let float = n.is_float();
    let mut out = Vec::new();
    let negative = side(
        &n.negative_spans,
        &n.negative_deltas,
        &n.negative_counts,
        float,
    );
    for &(idx, count) in negative.iter().rev() {
        out.push(Bucket {
            boundaries: Boundaries::RightOpen,
            lower: -bound(idx, schema),
            upper: -bound(idx.saturating_sub(1), schema),
            count,
        });
    }
    let zero = if float {
        n.zero_count_float.unwrap_or(0.0)
    } else {
        n.zero_count.unwrap_or(0) as f64
    };
    if zero != 0.0 {
        let t = n.zero_threshold();
        out.push(Bucket {
            boundaries: Boundaries::Closed,
            lower: -t,
            upper: t,
            count: zero,
        });
    }
    for (idx, count) in side(
        &n.positive_spans,
        &n.positive_deltas,
        &n.positive_counts,
        float,
    ) {
        out.push(Bucket {
            boundaries: Boundaries::LeftOpen,
            lower: bound(idx.saturating_sub(1), schema),
            upper: bound(idx, schema),
            count,
        });
    }
    out
}

/// (bucket index, count) of one side, counts other than zero only. The
/// walk stops where the values run out, as Prometheus's iterator does.
pub(crate) fn side(
    spans: &[super::Span],
    deltas: &[i64],
    counts: &[f64],
    float: bool,
) -> Vec<(i32, f64)> {
    let mut out = Vec::new();
    let mut idx: i64 = 0;
    let mut position = 0usize;
    let mut running: i64 = 0;
    let values = if float { counts.len() } else { deltas.len() };
    // The first offset is the index of the first bucket; every later one
    // counts from the bucket after the previous span's last.
    for span in spans {
        idx += i64::from(span.offset);
        for _ in 0..span.length {
            if position >= values {
                return out;
            }
            let count = if float {
                counts[position]
            } else {
                running = running.saturating_add(deltas[position]);
                running as f64
            };
            position += 1;
            if count != 0.0 {
                out.push((i32::try_from(idx).unwrap_or(i32::MAX), count));
            }
            idx += 1;
        }
    }
    out
}

/// The upper bound of bucket `idx` of an exponential schema (-4..8; others,
/// which the push checks refuse, are read as the nearest).
pub(crate) fn bound(idx: i32, schema: i32) -> f64 {
    let schema = schema.clamp(-4, 8);
    if schema < 0 {
        let exp = i64::from(idx) << -schema;
        if exp == 1024 {
            // The last bucket of finite numbers ends at the largest float,
            // not at +Inf, which has a bucket of its own.
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let frac = fractions(schema)[(idx & ((1 << schema) - 1)) as usize];
    let exp = i64::from(idx >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// The fractions of the bounds of one power of two for `schema` (0..8).
fn fractions(schema: i32) -> &'static [f64] {
    let n = 1usize << schema;
    &FRACTIONS[n - 1..2 * n - 1]
}

/// `2^(i/2^schema)/2` for schema 0 to 8 and each `i` below `2^schema`, one
/// schema after the other (schema `s` starts at index `2^s - 1`): the exact
/// float64 values Prometheus and client_golang use. Many are a few units in
/// the last place away from the correctly rounded value, so computing them
/// here would print bounds that differ from Prometheus's
/// (`1.4142135623730951` for its `1.414213562373095`); a test checks that
/// each is that close to the power of two it stands for.
#[rustfmt::skip]
const FRACTIONS: [f64; 511] = [
    0.5, 0.5, 0.7071067811865475, 0.5,
    0.5946035575013605, 0.7071067811865475, 0.8408964152537144, 0.5,
    0.5452538663326288, 0.5946035575013605, 0.6484197773255048, 0.7071067811865475,
    0.7711054127039704, 0.8408964152537144, 0.9170040432046711, 0.5,
    0.5221368912137069, 0.5452538663326288, 0.5693943173783458, 0.5946035575013605,
    0.620928906036742, 0.6484197773255048, 0.6771277734684463, 0.7071067811865475,
    0.7384130729697496, 0.7711054127039704, 0.805245165974627, 0.8408964152537144,
    0.8781260801866495, 0.9170040432046711, 0.9576032806985735, 0.5,
    0.5109485743270583, 0.5221368912137069, 0.5335702003384117, 0.5452538663326288,
    0.5571933712979462, 0.5693943173783458, 0.5818624293887887, 0.5946035575013605,
    0.6076236799902344, 0.620928906036742, 0.6345254785958666, 0.6484197773255048,
    0.6626183215798706, 0.6771277734684463, 0.6919549409819159, 0.7071067811865475,
    0.7225904034885232, 0.7384130729697496, 0.7545822137967112, 0.7711054127039704,
    0.7879904225539431, 0.805245165974627, 0.8228777390769823, 0.8408964152537144,
    0.8593096490612387, 0.8781260801866495, 0.8973545375015533, 0.9170040432046711,
    0.9370838170551498, 0.9576032806985735, 0.9785720620876999, 0.5,
    0.5054446430258502, 0.5109485743270583, 0.5165124395106142, 0.5221368912137069,
    0.5278225891802786, 0.5335702003384117, 0.5393803988785598, 0.5452538663326288,
    0.5511912916539204, 0.5571933712979462, 0.5632608093041209, 0.5693943173783458,
    0.5755946149764913, 0.5818624293887887, 0.5881984958251406, 0.5946035575013605,
    0.6010783657263515, 0.6076236799902344, 0.6142402680534349, 0.620928906036742,
    0.6276903785123455, 0.6345254785958666, 0.6414350080393891, 0.6484197773255048,
    0.6554806057623822, 0.6626183215798706, 0.6698337620266515, 0.6771277734684463,
    0.6845012114872953, 0.6919549409819159, 0.6994898362691555, 0.7071067811865475,
    0.7148066691959849, 0.7225904034885232, 0.7304588970903234, 0.7384130729697496,
    0.7464538641456323, 0.7545822137967112, 0.762799075372269, 0.7711054127039704,
    0.7795022001189185, 0.7879904225539431, 0.7965710756711334, 0.805245165974627,
    0.8140137109286738, 0.8228777390769823, 0.8318382901633681, 0.8408964152537144,
    0.8500531768592616, 0.8593096490612387, 0.8686669176368529, 0.8781260801866495,
    0.8876882462632604, 0.8973545375015533, 0.9071260877501991, 0.9170040432046711,
    0.9269895625416926, 0.9370838170551498, 0.9472879907934827, 0.9576032806985735,
    0.9680308967461471, 0.9785720620876999, 0.9892280131939752, 0.5,
    0.5027149505564014, 0.5054446430258502, 0.5081891574554764, 0.5109485743270583,
    0.5137229745593818, 0.5165124395106142, 0.5193170509806894, 0.5221368912137069,
    0.5249720429003435, 0.5278225891802786, 0.5306886136446309, 0.5335702003384117,
    0.5364674337629877, 0.5393803988785598, 0.5423091811066545, 0.5452538663326288,
    0.5482145409081883, 0.5511912916539204, 0.5541842058618393, 0.5571933712979462,
    0.5602188762048033, 0.5632608093041209, 0.5663192597993595, 0.5693943173783458,
    0.572486072215902, 0.5755946149764913, 0.5787200368168754, 0.5818624293887887,
    0.585021884841625, 0.5881984958251406, 0.5913923554921704, 0.5946035575013605,
    0.5978321960199137, 0.6010783657263515, 0.6043421618132907, 0.6076236799902344,
    0.6109230164863786, 0.6142402680534349, 0.6175755319684665, 0.620928906036742,
    0.6243004885946023, 0.6276903785123455, 0.6310986751971253, 0.6345254785958666,
    0.637970889198196, 0.6414350080393891, 0.6449179367033329, 0.6484197773255048,
    0.6519406325959679, 0.6554806057623822, 0.659039800633032, 0.6626183215798706,
    0.6662162735415805, 0.6698337620266515, 0.6734708931164728, 0.6771277734684463,
    0.6808045103191123, 0.6845012114872953, 0.688217985377265, 0.6919549409819159,
    0.6957121878859629, 0.6994898362691555, 0.7032879969095076, 0.7071067811865475,
    0.7109463010845827, 0.7148066691959849, 0.718687998724491, 0.7225904034885232,
    0.7265139979245261, 0.7304588970903234, 0.7344252166684908, 0.7384130729697496,
    0.7424225829363761, 0.7464538641456323, 0.7505070348132126, 0.7545822137967112,
    0.7586795205991071, 0.762799075372269, 0.7669409989204777, 0.7711054127039704,
    0.7752924388424999, 0.7795022001189185, 0.7837348199827764, 0.7879904225539431,
    0.7922691326262467, 0.7965710756711334, 0.8008963778413465, 0.805245165974627,
    0.8096175675974316, 0.8140137109286738, 0.8184337248834821, 0.8228777390769823,
    0.8273458838280969, 0.8318382901633681, 0.8363550898207981, 0.8408964152537144,
    0.8454623996346523, 0.8500531768592616, 0.8546688815502312, 0.8593096490612387,
    0.8639756154809185, 0.8686669176368529, 0.8733836930995842, 0.8781260801866495,
    0.8828942179666361, 0.8876882462632604, 0.8925083056594671, 0.8973545375015533,
    0.9022270839033115, 0.9071260877501991, 0.9120516927035263, 0.9170040432046711,
    0.9219832844793128, 0.9269895625416926, 0.9320230241988943, 0.9370838170551498,
    0.9421720895161669, 0.9472879907934827, 0.9524316709088368, 0.9576032806985735,
    0.9628029718180622, 0.9680308967461471, 0.9732872087896164, 0.9785720620876999,
    0.9838856116165875, 0.9892280131939752, 0.9945994234836328, 0.5,
    0.5013556375251013, 0.5027149505564014, 0.5040779490592088, 0.5054446430258502,
    0.5068150424757447, 0.5081891574554764, 0.509566998038869, 0.5109485743270583,
    0.5123338964485679, 0.5137229745593818, 0.5151158188430205, 0.5165124395106142,
    0.5179128468009786, 0.5193170509806894, 0.520725062344158, 0.5221368912137069,
    0.5235525479396449, 0.5249720429003435, 0.526395386502313, 0.5278225891802786,
    0.5292536613972564, 0.5306886136446309, 0.5321274564422321, 0.5335702003384117,
    0.5350168559101208, 0.5364674337629877, 0.5379219445313954, 0.5393803988785598,
    0.5408428074966075, 0.5423091811066545, 0.5437795304588847, 0.5452538663326288,
    0.5467321995364429, 0.5482145409081883, 0.549700901315111, 0.5511912916539204,
    0.5526857228508706, 0.5541842058618393, 0.5556867516724088, 0.5571933712979462,
    0.5587040757836845, 0.5602188762048033, 0.5617377836665098, 0.5632608093041209,
    0.564787964283144, 0.5663192597993595, 0.5678547070789026, 0.5693943173783458,
    0.5709381019847808, 0.572486072215902, 0.5740382394200894, 0.5755946149764913,
    0.5771552102951081, 0.5787200368168754, 0.5802891060137493, 0.5818624293887887,
    0.5834400184762408, 0.585021884841625, 0.5866080400818185, 0.5881984958251406,
    0.5897932637314379, 0.5913923554921704, 0.5929957828304968, 0.5946035575013605,
    0.5962156912915756, 0.5978321960199137, 0.5994530835371903, 0.6010783657263515,
    0.6027080545025619, 0.6043421618132907, 0.6059806996384005, 0.6076236799902344,
    0.6092711149137041, 0.6109230164863786, 0.6125793968185725, 0.6142402680534349,
    0.6159056423670379, 0.6175755319684665, 0.6192499490999082, 0.620928906036742,
    0.622612415087629, 0.6243004885946023, 0.6259931389331581, 0.6276903785123455,
    0.6293922197748583, 0.6310986751971253, 0.6328097572894031, 0.6345254785958666,
    0.6362458516947014, 0.637970889198196, 0.6397006037528346, 0.6414350080393891,
    0.6431741147730128, 0.6449179367033329, 0.6466664866145447, 0.6484197773255048,
    0.6501778216898253, 0.6519406325959679, 0.6537082229673385, 0.6554806057623822,
    0.6572577939746774, 0.659039800633032, 0.6608266388015788, 0.6626183215798706,
    0.6644148621029772, 0.6662162735415805, 0.6680225691020727, 0.6698337620266515,
    0.6716498655934177, 0.6734708931164728, 0.6752968579460171, 0.6771277734684463,
    0.6789636531064505, 0.6808045103191123, 0.6826503586020058, 0.6845012114872953,
    0.6863570825438342, 0.688217985377265, 0.690083933630119, 0.6919549409819159,
    0.6938310211492645, 0.6957121878859629, 0.6975984549830999, 0.6994898362691555,
    0.7013863456101023, 0.7032879969095076, 0.7051948041086352, 0.7071067811865475,
    0.7090239421602076, 0.7109463010845827, 0.7128738720527471, 0.7148066691959849,
    0.7167447066838943, 0.718687998724491, 0.7206365595643126, 0.7225904034885232,
    0.7245495448210174, 0.7265139979245261, 0.7284837772007218, 0.7304588970903234,
    0.7324393720732029, 0.7344252166684908, 0.7364164454346837, 0.7384130729697496,
    0.7404151139112358, 0.7424225829363761, 0.7444354947621984, 0.7464538641456323,
    0.7484777058836176, 0.7505070348132126, 0.7525418658117031, 0.7545822137967112,
    0.7566280937263048, 0.7586795205991071, 0.7607365094544071, 0.762799075372269,
    0.7648672334736434, 0.7669409989204777, 0.7690203869158282, 0.7711054127039704,
    0.7731960915705107, 0.7752924388424999, 0.7773944698885442, 0.7795022001189185,
    0.7816156449856788, 0.7837348199827764, 0.7858597406461707, 0.7879904225539431,
    0.7901268813264122, 0.7922691326262467, 0.7944171921585818, 0.7965710756711334,
    0.7987307989543135, 0.8008963778413465, 0.8030678282083853, 0.805245165974627,
    0.8074284071024302, 0.8096175675974316, 0.8118126635086642, 0.8140137109286738,
    0.8162207259936375, 0.8184337248834821, 0.820652723822003, 0.8228777390769823,
    0.8251087869603088, 0.8273458838280969, 0.8295890460808079, 0.8318382901633681,
    0.8340936325652911, 0.8363550898207981, 0.8386226785089391, 0.8408964152537144,
    0.8431763167241966, 0.8454623996346523, 0.8477546807446661, 0.8500531768592616,
    0.8523579048290255, 0.8546688815502312, 0.8569861239649629, 0.8593096490612387,
    0.8616394738731368, 0.8639756154809185, 0.8663180910111553, 0.8686669176368529,
    0.871022112577578, 0.8733836930995842, 0.8757516765159389, 0.8781260801866495,
    0.8805069215187917, 0.8828942179666361, 0.8852879870317771, 0.8876882462632604,
    0.890095013257712, 0.8925083056594671, 0.8949281411607002, 0.8973545375015533,
    0.8997875124702672, 0.9022270839033115, 0.9046732696855155, 0.9071260877501991,
    0.909585556079304, 0.9120516927035263, 0.9145245157024483, 0.9170040432046711,
    0.9194902933879467, 0.9219832844793128, 0.9244830347552253, 0.9269895625416926,
    0.92950288621441, 0.9320230241988943, 0.9345499949706191, 0.9370838170551498,
    0.93962450902828, 0.9421720895161669, 0.9447265771954693, 0.9472879907934827,
    0.9498563490882775, 0.9524316709088368, 0.9550139751351947, 0.9576032806985735,
    0.9601996065815236, 0.9628029718180622, 0.9654133954938133, 0.9680308967461471,
    0.9706554947643201, 0.9732872087896164, 0.9759260581154889, 0.9785720620876999,
    0.9812252401044634, 0.9838856116165875, 0.9865531961276168, 0.9892280131939752,
    0.9919100824251095, 0.9945994234836328, 0.9972960560854698,
];

/// `frac * 2^exp`, exact while the result is a normal number.
fn ldexp(frac: f64, exp: i64) -> f64 {
    let mut x = frac;
    let mut e = exp.clamp(-2200, 2200);
    // Steps that stay within the exponents an f64 can hold.
    while e > 1000 {
        x *= pow2(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= pow2(-1000);
        e += 1000;
    }
    x * pow2(e as i32)
}

/// 2^e for -1022 <= e <= 1023 (and a little beyond, through two steps).
fn pow2(e: i32) -> f64 {
    if (-1022..=1023).contains(&e) {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else if e > 1023 {
        f64::INFINITY
    } else {
        f64::from_bits(1u64 << 52) * pow2(e + 1022)
    }
}

/// A count as upstream prints it with `%v`: an integer for an integer
/// histogram, Go's shortest float otherwise.
pub(crate) fn format_count(count: f64, float: bool) -> String {
    if !float && count.fract() == 0.0 && count.abs() < 1.8e19 {
        format!("{}", count as u64)
    } else {
        format_float(count)
    }
}

/// One line in the form of Prometheus's `Histogram.String()`:
/// `{count:4, sum:3.5, [-0.001,0.001]:1, (0.5,1]:2, (1,2]:1}`.
pub fn describe(n: &Native, count: f64, sum: f64) -> String {
    let float = n.is_float();
    let mut out = format!(
        "{{count:{}, sum:{}",
        format_count(count, float),
        format_float(sum)
    );
    for b in buckets(n) {
        let (open, close) = match b.boundaries {
            Boundaries::LeftOpen => ('(', ']'),
            Boundaries::RightOpen => ('[', ')'),
            Boundaries::Closed => ('[', ']'),
        };
        out.push_str(&format!(
            ", {open}{},{}{close}:{}",
            format_float(b.lower),
            format_float(b.upper),
            format_count(b.count, float)
        ));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Span;

    fn rpc_seconds() -> Native {
        Native {
            sample_count: Some(4),
            schema: Some(0),
            zero_threshold: Some(0.001),
            zero_count: Some(1),
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_deltas: vec![2, -1],
            ..Default::default()
        }
    }

    #[test]
    fn bounds_are_those_prometheus_prints() {
        assert_eq!(bound(0, 0), 1.0);
        assert_eq!(bound(1, 0), 2.0);
        assert_eq!(bound(-1, 0), 0.5);
        assert_eq!(format_float(bound(1, 1)), "1.414213562373095");
        assert_eq!(format_float(bound(1, 3)), "1.0905077326652577");
        assert_eq!(bound(1, -2), 16.0);
        assert_eq!(bound(256, -2), f64::MAX);
        assert_eq!(bound(1024 << 8, 8), f64::MAX);
        assert_eq!(bound(-1, -4), 2f64.powi(-16));
    }

    #[test]
    fn fractions_match_the_powers_of_two_they_stand_for() {
        // Every eighth step of schema 8 is a step of schema 5, and so on.
        for schema in 1..=8 {
            let n = 1usize << schema;
            for i in 0..n {
                let coarser = fractions(schema - 1);
                if i % 2 == 0 {
                    assert_eq!(
                        fractions(schema)[i],
                        coarser[i / 2],
                        "schema {schema} index {i}"
                    );
                }
            }
        }
        // Each is 2^(i/2^schema)/2 to within a few units in the last place.
        for schema in 0..=8 {
            let n = 1u32 << schema;
            for (i, &f) in fractions(schema).iter().enumerate() {
                let exact = (f64::from(i as u32) / f64::from(n)).exp2() / 2.0;
                let ulps = (f.to_bits() as i64 - exact.to_bits() as i64).abs();
                assert!(ulps <= 4, "schema {schema} index {i}: {f} vs {exact}");
            }
        }
    }

    #[test]
    fn the_spec_example_in_json_order() {
        let got: Vec<_> = buckets(&rpc_seconds())
            .iter()
            .map(|b| (b.boundaries as u8, b.lower, b.upper, b.count))
            .collect();
        assert_eq!(
            got,
            [
                (3, -0.001, 0.001, 1.0),
                (0, 0.5, 1.0, 2.0),
                (0, 1.0, 2.0, 1.0)
            ]
        );
        assert_eq!(
            describe(&rpc_seconds(), 4.0, 3.5),
            "{count:4, sum:3.5, [-0.001,0.001]:1, (0.5,1]:2, (1,2]:1}"
        );
    }

    #[test]
    fn negative_buckets_come_most_negative_first_and_empty_ones_are_left_out() {
        let spans = vec![
            Span {
                offset: 0,
                length: 2,
            },
            Span {
                offset: 2,
                length: 2,
            },
        ];
        let n = Native {
            schema: Some(1),
            negative_spans: spans.clone(),
            negative_deltas: vec![0, 2, -2, 1],
            positive_spans: spans,
            positive_deltas: vec![0, 2, -2, 0],
            zero_threshold: Some(0.0),
            zero_count: Some(0),
            ..Default::default()
        };
        assert_eq!(
            describe(&n, 5.0, 1.0),
            "{count:5, sum:1, [-5.65685424949238,-4):1, [-1.414213562373095,-1):2, (1,1.414213562373095]:2}"
        );
    }

    #[test]
    fn a_zero_threshold_of_zero_prints_as_minus_zero_and_float_counts_as_floats() {
        let n = Native {
            sample_count_float: Some(2.5),
            zero_threshold: Some(0.0),
            zero_count_float: Some(0.5),
            positive_spans: vec![Span {
                offset: -1,
                length: 1,
            }],
            positive_counts: vec![2.0],
            ..Default::default()
        };
        assert!(n.is_float());
        assert_eq!(
            describe(&n, 2.5, 1.0),
            "{count:2.5, sum:1, [-0,0]:0.5, (0.25,0.5]:2}"
        );
    }

    #[test]
    fn unchecked_input_is_walked_without_a_panic() {
        for schema in [-53, -1000, 9, i32::MAX, i32::MIN] {
            let n = Native {
                schema: Some(schema),
                negative_spans: vec![Span {
                    offset: i32::MIN,
                    length: 2,
                }],
                negative_deltas: vec![i64::MAX, i64::MAX],
                positive_spans: vec![Span {
                    offset: i32::MAX,
                    length: 3,
                }],
                positive_deltas: vec![1, 1, 1],
                ..Default::default()
            };
            assert_eq!(buckets(&n).len(), 5, "schema {schema}");
        }
    }

    #[test]
    fn spans_longer_than_their_values_stop_early() {
        let mut n = rpc_seconds();
        n.positive_deltas.pop();
        assert_eq!(buckets(&n).len(), 2);
    }
}
