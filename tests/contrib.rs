//! The service files in `contrib/` (and its folders) are valid systemd
//! units: each is checked
//! with `systemd-analyze verify`, with its `ExecStart` pointed at the built
//! binary and the project's man pages on MANPATH (the units name them as
//! their documentation, and verify looks them up).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{require, TempDir};

#[test]
fn service_files_pass_systemd_analyze_verify() {
    require("systemd-analyze");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = TempDir::new("contrib");
    let man1 = tmp.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    for page in std::fs::read_dir(repo.join("man")).unwrap().flatten() {
        std::fs::copy(page.path(), man1.join(page.file_name())).unwrap();
    }
    let mut units = 0;
    for path in service_files(&repo.join("contrib")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        units += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("ExecStart=/usr/local/bin/pgw "),
            "{name}: ExecStart should run /usr/local/bin/pgw, as the README installs it"
        );
        let unit = tmp.path().join(&name);
        std::fs::write(
            &unit,
            text.replace("/usr/local/bin/pgw", env!("CARGO_BIN_EXE_pgw")),
        )
        .unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit)
            .env("MANPATH", tmp.path().join("man"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains(&name),
            "systemd-analyze verify {name} failed:\n{stderr}"
        );
    }
    assert!(
        units >= 3,
        "contrib/ should hold the serve, relay and cluster units"
    );
}

/// Every `.service` file under `dir`, in its folders too, in name order.
/// Names are unique across folders: each is verified under its own name.
pub(crate) fn service_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "service") {
                out.push(path);
            }
        }
    }
    out.sort();
    let mut names: Vec<_> = out.iter().map(|p| p.file_name().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), out.len(), "two units share a name: {out:?}");
    out
}
