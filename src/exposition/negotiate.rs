//! The scrape's content negotiation: which format and name escaping a
//! scraper's `Accept` header asks for, and which compression its
//! `Accept-Encoding` allows. Pure, so every header Prometheus sends is
//! checked without a socket.
//!
//! The rules are the official server's: `Accept` is read as `goautoneg`
//! reads it and walked as `expfmt.Negotiate` walks it (text 0.0.4 or one of
//! the three protobuf encodings, never OpenMetrics), `Accept-Encoding` as
//! client_golang's `promhttp` reads it (gzip or identity).

use crate::exposition::names::Escaping;

/// A scrape format the server can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Text 0.0.4.
    Text,
    /// Varint-length-delimited `MetricFamily` messages.
    ProtoDelimited,
    /// The protobuf text format, one family after another.
    ProtoText,
    /// The protobuf text format, one line per family.
    ProtoCompact,
}

/// What a scrape is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) format: Format,
    pub(crate) escaping: Escaping,
}

const PROTO_TYPE: (&str, &str) = ("application", "vnd.google.protobuf");
const PROTO_PROTOCOL: &str = "io.prometheus.client.MetricFamily";

impl Negotiated {
    /// The reply's Content-Type, exactly as the official server writes it.
    pub(crate) fn content_type(self) -> String {
        let media = match self.format {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::ProtoDelimited => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
            Format::ProtoText => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text"
            }
            Format::ProtoCompact => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=compact-text"
            }
        };
        format!("{media}; escaping={}", self.escaping.as_str())
    }
}

/// One clause of an `Accept` header, as goautoneg splits it.
#[derive(Debug, Clone, PartialEq)]
struct Clause<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f64,
    /// In order; a name given twice is looked up by its last value, as
    /// goautoneg's map keeps it.
    params: Vec<(&'a str, &'a str)>,
}

impl Clause<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// Splits an `Accept` header into clauses sorted as goautoneg sorts them:
/// by `q`, highest first, then concrete types and subtypes before `*`;
/// clauses that tie keep their order.
fn parse_accept(header: &str) -> Vec<Clause<'_>> {
    let mut clauses: Vec<Clause<'_>> = header.split(',').filter_map(parse_clause).collect();
    let rank = |c: &Clause<'_>| (c.kind == "*", c.subtype == "*");
    clauses.sort_by(|a, b| {
        b.q.partial_cmp(&a.q)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| rank(a).cmp(&rank(b)))
    });
    clauses
}

fn parse_clause(part: &str) -> Option<Clause<'_>> {
    let part = part.trim_matches(' ');
    let mut pieces = part.split(';');
    let range = pieces.next().unwrap_or("");
    let mut sp = range.split('/');
    let kind = sp.next().unwrap_or("").trim_matches(' ');
    let subtype = match (sp.next(), sp.next()) {
        (None, None) if kind == "*" => "*",
        (Some(sub), None) => sub.trim_matches(' '),
        // No `/` (other than a bare `*`), or more than one: goautoneg
        // drops the clause.
        _ => return None,
    };
    let mut clause = Clause {
        kind,
        subtype,
        q: 1.0,
        params: Vec::new(),
    };
    for param in pieces {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let name = name.trim_matches(' ');
        if name == "q" {
            // goautoneg parses the value untrimmed, as a float32, and takes
            // 0 when that fails.
            clause.q = value.parse::<f32>().map_or(0.0, f64::from);
        } else {
            clause.params.push((name, value.trim_matches(' ')));
        }
    }
    Some(clause)
}

/// The format and escaping the official server answers an `Accept` header
/// (`None`: no header) with.
pub(crate) fn negotiate(accept: Option<&str>) -> Negotiated {
    let mut escaping = Escaping::default();
    for clause in parse_accept(accept.unwrap_or("")) {
        // As upstream, an escaping named on any clause walked past counts,
        // even one whose type is not served; values it does not know are
        // ignored.
        if let Some(e) = clause.param("escaping").and_then(Escaping::parse) {
            escaping = e;
        }
        let media = (clause.kind, clause.subtype);
        if media == PROTO_TYPE && clause.param("proto") == Some(PROTO_PROTOCOL) {
            let format = match clause.param("encoding") {
                Some("delimited") => Some(Format::ProtoDelimited),
                Some("text") => Some(Format::ProtoText),
                Some("compact-text") => Some(Format::ProtoCompact),
                _ => None,
            };
            if let Some(format) = format {
                return Negotiated { format, escaping };
            }
        }
        if media == ("text", "plain") && matches!(clause.param("version"), None | Some("0.0.4")) {
            return Negotiated {
                format: Format::Text,
                escaping,
            };
        }
    }
    Negotiated {
        format: Format::Text,
        escaping,
    }
}

/// The compression of a scrape's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
}

/// The compression for the `Accept-Encoding` header values of a request
/// (every occurrence of the header, in order), as promhttp chooses it: the
/// offer (identity, then gzip) with the highest `q` wins, identity on a tie;
/// when the best match has q=0, upstream logs an error and answers
/// uncompressed, so this is identity too.
pub(crate) fn negotiate_encoding<'a>(values: impl IntoIterator<Item = &'a str>) -> Encoding {
    let specs: Vec<(&str, f64)> = values.into_iter().flat_map(parse_accept_encoding).collect();
    let mut best = (Encoding::Identity, -1.0);
    for (offer, name) in [(Encoding::Identity, "identity"), (Encoding::Gzip, "gzip")] {
        for &(value, q) in &specs {
            if q > best.1 && (value == "*" || value == name) {
                best = (offer, q);
            }
        }
    }
    if best.1 == 0.0 {
        Encoding::Identity
    } else {
        best.0
    }
}

/// One `Accept-Encoding` value as the HTTP helpers promhttp uses read it:
/// `token[;q=N]` separated by commas; parsing stops at the first thing that
/// does not fit (what came before it counts).
fn parse_accept_encoding(value: &str) -> Vec<(&str, f64)> {
    let mut specs = Vec::new();
    let mut s = value;
    loop {
        let s1 = s.trim_start_matches([' ', '\t']);
        let end = s1
            // Token characters, and `/`, as the helper's `expectTokenSlash`.
            .find(|c: char| !c.is_ascii_graphic() || "()<>@,;:\\\"[]?={}".contains(c))
            .unwrap_or(s1.len());
        let (token, rest) = s1.split_at(end);
        if token.is_empty() {
            return specs;
        }
        let mut q = 1.0;
        let mut rest = rest.trim_start_matches([' ', '\t']);
        if let Some(r) = rest.strip_prefix(';') {
            let Some(r) = r.trim_start_matches([' ', '\t']).strip_prefix("q=") else {
                return specs;
            };
            let Some((quality, r)) = parse_quality(r) else {
                return specs;
            };
            q = quality;
            rest = r;
        }
        specs.push((token, q));
        let Some(r) = rest.trim_start_matches([' ', '\t']).strip_prefix(',') else {
            return specs;
        };
        s = r;
    }
}

/// `0`, `1`, `0.ddd` or `1.ddd` (digits as many as given), as the helper
/// reads a quality; `None` for anything else.
fn parse_quality(s: &str) -> Option<(f64, &str)> {
    let q = match s.as_bytes().first()? {
        b'0' => 0.0,
        b'1' => 1.0,
        _ => return None,
    };
    let s = &s[1..];
    let Some(s) = s.strip_prefix('.') else {
        return Some((q, s));
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (mut n, mut d) = (0.0, 1.0);
    for b in s[..digits].bytes() {
        n = n * 10.0 + f64::from(b - b'0');
        d *= 10.0;
    }
    Some((q + n / d, &s[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELIMITED: &str =
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

    fn answer(accept: &str) -> String {
        negotiate(Some(accept)).content_type()
    }

    fn text(e: &str) -> String {
        format!("text/plain; version=0.0.4; charset=utf-8; escaping={e}")
    }

    fn delimited(e: &str) -> String {
        format!("{DELIMITED}; escaping={e}")
    }

    #[test]
    fn every_header_prometheus_sends_gets_the_official_answer() {
        let table = [
            // 2.42 default
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                text("underscores"),
            ),
            // 2.42 with native histograms
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                delimited("underscores"),
            ),
            // 3.0-3.2 default: escaping twice on Text1.0.0
            (
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
                text("allow-utf-8"),
            ),
            // 3.3 default
            (
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
                text("allow-utf-8"),
            ),
            // 3.0-3.3 with native histograms
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;q=0.1",
                delimited("allow-utf-8"),
            ),
            // 3.4+ default
            (
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
                text("allow-utf-8"),
            ),
            // 3.4+ with native histograms: the proto clause has no escaping
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                delimited("underscores"),
            ),
            // 3.4+ with metric_name_validation_scheme: legacy
            (
                "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
                text("underscores"),
            ),
        ];
        for (accept, want) in table {
            assert_eq!(answer(accept), want, "Accept: {accept}");
        }
    }

    #[test]
    fn no_header_star_and_unknown_types_fall_back_to_text() {
        assert_eq!(negotiate(None).content_type(), text("underscores"));
        for accept in [
            "",
            "*/*",
            "*",
            "application/json",
            "application/openmetrics-text; version=1.0.0",
            "text/plain;version=1.0.0",
            "text/html,application/xhtml+xml",
            ",,,;;;===",
            "garbage",
            "a/b/c",
        ] {
            assert_eq!(answer(accept), text("underscores"), "Accept: {accept:?}");
        }
    }

    #[test]
    fn protobuf_needs_the_protocol_and_a_known_encoding() {
        let p = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily";
        assert_eq!(
            answer(&format!("{p};encoding=delimited")),
            delimited("underscores")
        );
        assert_eq!(
            negotiate(Some(&format!("{p};encoding=text"))).format,
            Format::ProtoText
        );
        assert_eq!(
            negotiate(Some(&format!("{p};encoding=compact-text"))).format,
            Format::ProtoCompact
        );
        assert_eq!(
            answer(&format!("{p};encoding=text")),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text; escaping=underscores"
        );
        assert_eq!(
            answer(&format!("{p};encoding=compact-text;escaping=dots")),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=compact-text; escaping=dots"
        );
        for accept in [
            p.to_string(),
            format!("{p};encoding=json"),
            "application/vnd.google.protobuf;encoding=delimited".to_string(),
            "application/vnd.google.protobuf;proto=other;encoding=delimited".to_string(),
            // Types and parameter names are compared case-sensitively.
            "Application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited".to_string(),
            "application/vnd.google.protobuf;Proto=io.prometheus.client.MetricFamily;encoding=delimited".to_string(),
            "Text/plain;version=0.0.4,application/json".to_string(),
        ] {
            assert_eq!(negotiate(Some(&accept)).format, Format::Text, "{accept}");
        }
        // Spaces around parameters are allowed.
        assert_eq!(
            answer("application/vnd.google.protobuf ; proto=io.prometheus.client.MetricFamily ; encoding=delimited"),
            delimited("underscores")
        );
    }

    #[test]
    fn clauses_are_taken_by_weight_then_concreteness_then_order() {
        let proto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
        assert_eq!(
            negotiate(Some(&format!("text/plain;q=0.5,{proto};q=0.9"))).format,
            Format::ProtoDelimited
        );
        assert_eq!(
            negotiate(Some(&format!("text/plain;q=0.9,{proto};q=0.5"))).format,
            Format::Text
        );
        // Equal weight: the order written decides.
        assert_eq!(
            negotiate(Some(&format!("{proto},text/plain"))).format,
            Format::ProtoDelimited
        );
        assert_eq!(
            negotiate(Some(&format!("text/plain,{proto}"))).format,
            Format::Text
        );
        // `*/*` first at the same weight is walked after the concrete types.
        assert_eq!(
            negotiate(Some(&format!("*/*,{proto}"))).format,
            Format::ProtoDelimited
        );
        // Upstream does not skip q=0: it only orders by it.
        assert_eq!(
            negotiate(Some(&format!("{proto};q=0"))).format,
            Format::ProtoDelimited
        );
        // A weight that does not parse is 0 (goautoneg does not trim it).
        assert_eq!(
            negotiate(Some(&format!("{proto};q=abc,text/plain;q=0.1"))).format,
            Format::Text
        );
        assert_eq!(
            negotiate(Some(&format!("text/plain;q= 0.9,{proto};q=0.05"))).format,
            Format::ProtoDelimited
        );
    }

    #[test]
    fn escaping_is_the_last_one_walked_past_and_unknown_ones_are_ignored() {
        // On a clause that does not match, it still counts.
        assert_eq!(
            answer("application/json;escaping=values,text/plain;q=0.5"),
            text("values")
        );
        // A later clause never reached does not.
        assert_eq!(
            answer("text/plain;escaping=dots,application/json;escaping=values;q=0.5"),
            text("dots")
        );
        assert_eq!(answer("text/plain;escaping=UTF8"), text("underscores"));
        assert_eq!(answer("text/plain;escaping="), text("underscores"));
        // The fallback keeps the last one seen.
        assert_eq!(
            answer("application/json;escaping=allow-utf-8,image/png;escaping=nope"),
            text("allow-utf-8")
        );
        // A parameter given twice counts by its last value.
        assert_eq!(
            answer("text/plain;escaping=dots;escaping=values"),
            text("values")
        );
    }

    #[test]
    fn gzip_when_it_weighs_most_identity_on_ties_and_zero() {
        let enc = |v: &[&str]| negotiate_encoding(v.iter().copied());
        assert_eq!(enc(&[]), Encoding::Identity);
        assert_eq!(enc(&["gzip"]), Encoding::Gzip);
        assert_eq!(enc(&["gzip, deflate, br"]), Encoding::Gzip);
        assert_eq!(enc(&["br, zstd"]), Encoding::Identity);
        assert_eq!(enc(&["*"]), Encoding::Identity);
        assert_eq!(enc(&["identity"]), Encoding::Identity);
        assert_eq!(enc(&["gzip;q=0.5, identity;q=0.5"]), Encoding::Identity);
        assert_eq!(enc(&["gzip;q=0.6, identity;q=0.5"]), Encoding::Gzip);
        // `*` matches identity first, and gzip does not weigh more.
        assert_eq!(enc(&["identity;q=0.4, *;q=0.5"]), Encoding::Identity);
        assert_eq!(enc(&["*;q=0.5, gzip;q=0.7"]), Encoding::Gzip);
        assert_eq!(enc(&["gzip;q=0"]), Encoding::Identity);
        assert_eq!(enc(&["gzip;q=0, identity;q=0"]), Encoding::Identity);
        assert_eq!(enc(&["identity;q=0, gzip;q=0.001"]), Encoding::Gzip);
        // Case matters, as upstream compares exactly.
        assert_eq!(enc(&["GZIP"]), Encoding::Identity);
        // Every occurrence of the header counts.
        assert_eq!(enc(&["identity;q=0.5", "gzip"]), Encoding::Gzip);
        // What follows a bad quality is not read; what came before is.
        assert_eq!(enc(&["gzip;q=2"]), Encoding::Identity);
        assert_eq!(enc(&["gzip;level=9"]), Encoding::Identity);
        assert_eq!(enc(&["gzip, identity;q=x"]), Encoding::Gzip);
    }

    #[test]
    fn qualities_read_like_the_go_helper() {
        assert_eq!(parse_quality("1"), Some((1.0, "")));
        assert_eq!(parse_quality("0.25,x"), Some((0.25, ",x")));
        assert_eq!(parse_quality("1.000"), Some((1.0, "")));
        assert_eq!(parse_quality("0."), Some((0.0, "")));
        assert_eq!(parse_quality(".5"), None);
        assert_eq!(parse_quality(""), None);
    }
}
