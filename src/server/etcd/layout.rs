//! Where the store lives under the etcd prefix, and what each key holds
//! (format version 1, documented in the README):
//!
//! - `<prefix>version`: `1`; a replica refuses to start on another value;
//! - `<prefix>head`: written by every transaction pgw commits, so its mod
//!   revision is the revision of the store's last change: the fence every
//!   transaction compares against (see `commit`);
//! - `<prefix>imported`: written once an import filled the prefix, so that
//!   a start with the same import flag after a wipe does not fill it again;
//! - `<prefix>groups/<canonical grouping key>`: one group, whole (families
//!   as text and protobuf, push and failure times, time to live), as the
//!   snapshot's group record, compressed.
//!
//! Pure: keys and values in, keys and values out.

use anyhow::Context as _;

use crate::grouping::GroupingKey;
use crate::server::persist::record::{self, GroupRecord};
use crate::server::store::GroupView;

/// The layout this pgw writes and reads.
pub(crate) const VERSION: &str = "1";

/// The keys under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: Vec<u8>,
}

/// What a key under the prefix is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    Version,
    Head,
    /// A group, by its canonical key.
    Group(&'a [u8]),
    /// Not one of pgw's keys.
    Other,
}

impl Layout {
    pub(crate) fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.as_bytes().to_vec(),
        }
    }

    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    pub(crate) fn version(&self) -> Vec<u8> {
        self.key(b"version")
    }

    pub(crate) fn head(&self) -> Vec<u8> {
        self.key(b"head")
    }

    pub(crate) fn imported(&self) -> Vec<u8> {
        self.key(b"imported")
    }

    /// The prefix of every group's key.
    pub(crate) fn groups(&self) -> Vec<u8> {
        self.key(b"groups/")
    }

    pub(crate) fn group(&self, canonical: &[u8]) -> Vec<u8> {
        let mut k = self.groups();
        k.extend_from_slice(canonical);
        k
    }

    /// What `key` (a full etcd key) is.
    pub(crate) fn classify<'a>(&self, key: &'a [u8]) -> Key<'a> {
        let Some(rest) = key.strip_prefix(self.prefix.as_slice()) else {
            return Key::Other;
        };
        match rest {
            b"version" => Key::Version,
            b"head" => Key::Head,
            _ => match rest.strip_prefix(b"groups/".as_slice()) {
                Some(canonical) if !canonical.is_empty() => Key::Group(canonical),
                _ => Key::Other,
            },
        }
    }

    fn key(&self, name: &[u8]) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(name);
        k
    }
}

/// The value of a group's key.
pub(crate) fn encode_group(view: &GroupView) -> Vec<u8> {
    record::encode_group(view)
}

/// A group's value read back; `canonical` (from its key) must be the
/// record's own key, or the value was written under the wrong key.
pub(crate) fn decode_group(canonical: &[u8], value: &[u8]) -> anyhow::Result<GroupRecord> {
    let group = record::decode_group(value).context("the group's record does not decode")?;
    if group.key.canonical() != canonical {
        anyhow::bail!(
            "the record holds group {}, not the group its key names",
            group.key
        );
    }
    Ok(group)
}

/// The grouping key that a group's etcd key names.
pub(crate) fn group_key(canonical: &[u8]) -> anyhow::Result<GroupingKey> {
    GroupingKey::from_canonical(canonical)
        .context("the key is not a canonical grouping key (label name and value pairs)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_told_apart() {
        let l = Layout::new("/pgw/");
        assert_eq!(l.classify(&l.version()), Key::Version);
        assert_eq!(l.classify(&l.head()), Key::Head);
        let k = GroupingKey::new([("job", "j"), ("instance", "i")]);
        let canonical = k.canonical();
        assert_eq!(
            l.classify(&l.group(&canonical)),
            Key::Group(canonical.as_slice())
        );
        assert_eq!(group_key(&canonical).unwrap(), k);
        assert_eq!(l.classify(b"/pgw/groups/"), Key::Other);
        assert_eq!(l.classify(b"/other/head"), Key::Other);
        assert_eq!(l.classify(b"/pgw/headx"), Key::Other);
    }

    #[test]
    fn a_group_value_round_trips_and_names_its_key() {
        use crate::server::store::{prepare, Mode, Store};
        let store = Store::new(&[]);
        let key = GroupingKey::new([("job", "j")]);
        let families = crate::exposition::text::parse("# TYPE a counter\na 1\n").unwrap();
        let now = std::time::SystemTime::now();
        store
            .push(
                prepare(key.clone(), families, now).unwrap(),
                Mode::Replace,
                now,
            )
            .unwrap();
        let view = store.group(&key).unwrap();
        let value = encode_group(&view);
        let back = decode_group(&key.canonical(), &value).unwrap();
        assert_eq!(back.key, key);
        assert_eq!(back.families.len(), 1);
        assert_eq!(back.families[0].text, view.families[0].text.to_vec());
        let other = GroupingKey::new([("job", "k")]).canonical();
        let err = decode_group(&other, &value).unwrap_err().to_string();
        assert!(err.contains("not the group its key names"), "{err}");
        assert!(decode_group(&key.canonical(), b"\x01garbage").is_err());
    }
}
