//! Whether the files that hold what the store acknowledged are still where
//! the next start will look for them. A segment or snapshot deleted while
//! the server runs (a clean-up script, an operator's `rm`) leaves that data
//! in memory only; the journal then rewrites the files from the store.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::Path;

/// Why `file`, opened at `path`, is no longer the file at `path`: deleted,
/// renamed or replaced. `None` while it is there, and where that cannot be
/// told (not Unix, or an error other than "not found").
pub(crate) fn gone(file: &File, path: &Path) -> Option<String> {
    let at_path = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Some(format!("{} was deleted", path.display()))
        }
        Err(_) => return None,
    };
    let open = file.metadata().ok()?;
    (!same_file(&open, &at_path))
        .then(|| format!("{} was replaced by another file", path.display()))
}

/// Why a file that should be at `path` is not. `None` while it is there.
pub(crate) fn missing(path: &Path) -> Option<String> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Some(format!("{} was deleted", path.display()))
        }
        _ => None,
    }
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino() && a.nlink() > 0
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_or_replaced_file_is_told_apart_from_one_in_place() {
        let dir = std::env::temp_dir().join(format!("pgw-unit-presence-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seg");
        let file = File::create(&path).unwrap();
        assert_eq!(gone(&file, &path), None);
        assert_eq!(missing(&path), None);
        fs::remove_file(&path).unwrap();
        assert!(gone(&file, &path).unwrap().ends_with("seg was deleted"));
        assert!(missing(&path).unwrap().ends_with("seg was deleted"));
        File::create(&path).unwrap();
        assert!(gone(&file, &path)
            .unwrap()
            .ends_with("seg was replaced by another file"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
