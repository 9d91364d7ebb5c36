//! The committed man pages and completions are what `pgw generate` writes
//! from the current command line; this fails, naming the command that fixes
//! it, when a flag changed without them being regenerated.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::util::TempDir;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_file() {
                let name = e.file_name().to_string_lossy().into_owned();
                out.insert(name, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn man_pages_and_completions_are_up_to_date() {
    let tmp = TempDir::new("generated");
    let status = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args(["generate", "--out"])
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["man", "completions"] {
        let want = files(&tmp.path().join(dir));
        let have = files(&repo.join(dir));
        assert!(!want.is_empty());
        let differ: Vec<&String> = want
            .keys()
            .chain(have.keys())
            .filter(|name| want.get(*name) != have.get(*name))
            .collect();
        assert!(
            differ.is_empty(),
            "{dir}/ is out of date ({differ:?} differ): run `cargo run -- generate` and commit the result"
        );
    }
}
