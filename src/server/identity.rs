//! What this build is, as `pushgateway_build_info` and the
//! `build_information` of `/api/v1/status` tell it, with the official
//! label and key sets. The values come from `build.rs`; the Go-named ones
//! hold their Rust counterparts (`goversion` is the rustc version).

/// The crate's version.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit built, 40 hex digits; empty when built without git.
pub(crate) const REVISION: &str = env!("PGW_BUILD_REVISION");
/// The git branch built (`HEAD` when detached); empty without git.
pub(crate) const BRANCH: &str = env!("PGW_BUILD_BRANCH");
/// When the build ran, UTC, in Go's `20060102-15:04:05` layout.
pub(crate) const BUILD_DATE: &str = env!("PGW_BUILD_DATE");
/// `user@host` of the build.
pub(crate) const BUILD_USER: &str = env!("PGW_BUILD_USER");
/// `rustc --version` of the compiler that built pgw.
pub(crate) const COMPILER: &str = env!("PGW_BUILD_RUSTC");

/// Go's name for this machine architecture, as `goarch` holds it.
pub(crate) fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The labels of `pushgateway_build_info`, sorted, exactly the official
/// set. Where upstream's VCS lookup finds nothing it says `unknown`, so
/// the same holds for the revision here, and for `tags` (pgw has no build
/// tags).
pub(crate) fn build_info_labels() -> Vec<(&'static str, String)> {
    let or_unknown = |v: &str| {
        if v.is_empty() {
            "unknown".to_string()
        } else {
            v.to_string()
        }
    };
    vec![
        ("branch", BRANCH.to_string()),
        ("goarch", goarch().to_string()),
        ("goos", std::env::consts::OS.to_string()),
        ("goversion", COMPILER.to_string()),
        ("revision", or_unknown(REVISION)),
        ("tags", "unknown".to_string()),
        ("version", VERSION.to_string()),
    ]
}

/// `build_information` of `/api/v1/status`: the six official keys, with
/// the raw values (empty where unknown, as upstream's are without its
/// release build's flags).
pub(crate) fn build_information() -> serde_json::Value {
    serde_json::json!({
        "branch": BRANCH,
        "buildDate": BUILD_DATE,
        "buildUser": BUILD_USER,
        "goVersion": COMPILER,
        "revision": REVISION,
        "version": VERSION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_facts_have_their_shapes() {
        assert!(
            REVISION.is_empty()
                || (REVISION.len() == 40 && REVISION.bytes().all(|b| b.is_ascii_hexdigit())),
            "{REVISION}"
        );
        let d = BUILD_DATE.as_bytes();
        assert_eq!(d.len(), 17, "{BUILD_DATE}");
        assert!(
            d[..8]
                .iter()
                .chain(&d[9..11])
                .chain(&d[12..14])
                .chain(&d[15..])
                .all(u8::is_ascii_digit),
            "{BUILD_DATE}"
        );
        assert_eq!((d[8], d[11], d[14]), (b'-', b':', b':'), "{BUILD_DATE}");
        assert!(BUILD_USER.contains('@'), "{BUILD_USER}");
        assert!(COMPILER.starts_with("rustc "), "{COMPILER}");
        let names: Vec<&str> = build_info_labels().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "branch",
                "goarch",
                "goos",
                "goversion",
                "revision",
                "tags",
                "version"
            ]
        );
        let keys: Vec<String> = build_information()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "branch",
                "buildDate",
                "buildUser",
                "goVersion",
                "revision",
                "version"
            ]
        );
    }
}
