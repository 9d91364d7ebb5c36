//! The checks a pushed body must pass before anything is stored.
use super::Family;

/// Legacy metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(_name: &str) -> bool {
    todo!()
}

/// Legacy label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(_name: &str) -> bool {
    todo!()
}

/// Checks one push body on its own: valid names, no reserved `__` labels, no
/// duplicate label names in a series, no duplicate series, no timestamps.
pub fn check_families(_families: &[Family<'_>]) -> Result<(), String> {
    todo!()
}
