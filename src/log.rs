//! Logging in the official Pushgateway's two formats, logfmt (the default)
//! and JSON, one line per event on stderr, filtered by `--log.level`. It is
//! small on purpose: every line is written whole, with one `write` call, so
//! lines from concurrent tasks never interleave.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::SystemTime;

/// `--log.level`; clap reads it through the impl in `cli`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub(crate) const ALL: [Level; 4] = [Level::Debug, Level::Info, Level::Warn, Level::Error];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// `--log.format`; clap reads it through the impl in `cli`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Logfmt,
    Json,
}

impl Format {
    pub(crate) const ALL: [Format; 2] = [Format::Logfmt, Format::Json];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Format::Logfmt => "logfmt",
            Format::Json => "json",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static JSON: AtomicU8 = AtomicU8::new(0);

/// Sets the level and format for the rest of the process.
pub(crate) fn init(level: Level, format: Format) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store(u8::from(format == Format::Json), Ordering::Relaxed);
}

pub(crate) fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Writes one event: a message and key/value pairs.
pub(crate) fn log(level: Level, msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    if !enabled(level) {
        return;
    }
    let ts = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let line = if JSON.load(Ordering::Relaxed) == 1 {
        let mut obj = serde_json::Map::new();
        obj.insert("ts".into(), ts.into());
        obj.insert("level".into(), level.as_str().into());
        obj.insert("msg".into(), msg.into());
        for (k, v) in fields {
            obj.insert((*k).into(), v.to_string().into());
        }
        let mut s = serde_json::Value::Object(obj).to_string();
        s.push('\n');
        s
    } else {
        // msg is always quoted, as upstream's logger writes it.
        let mut s = format!("ts={ts} level={} msg={msg:?}", level.as_str());
        for (k, v) in fields {
            let _ = write!(s, " {k}={}", logfmt_value(&v.to_string()));
        }
        s.push('\n');
        s
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Quotes a logfmt value when it needs it (spaces, quotes, `=`, empty).
fn logfmt_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| !c.is_whitespace() && c != '"' && c != '=' && !c.is_control());
    if plain {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

#[macro_export]
macro_rules! log_at {
    ($level:expr, $msg:expr $(, $k:ident = $v:expr)* $(,)?) => {
        $crate::log::log($level, $msg, &[$((stringify!($k), &$v as &dyn ::std::fmt::Display)),*])
    };
}

#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log_at!($crate::log::Level::Info, $($t)*) }; }
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log_at!($crate::log::Level::Warn, $($t)*) }; }
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log_at!($crate::log::Level::Error, $($t)*) }; }
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log_at!($crate::log::Level::Debug, $($t)*) }; }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_quotes_only_when_needed() {
        assert_eq!(logfmt_value("127.0.0.1:9091"), "127.0.0.1:9091");
        assert_eq!(logfmt_value("two words"), "\"two words\"");
        assert_eq!(logfmt_value(""), "\"\"");
        assert_eq!(logfmt_value("a=b"), "\"a=b\"");
    }
}
