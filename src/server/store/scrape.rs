//! Writing scrapes: the whole store merged with the server's own families,
//! one HELP and TYPE per family name, by concatenating the text each family
//! was rendered to when it was pushed, with names that are not legacy-valid
//! escaped as the scraper asked; and one group's exposition for the web page.

use std::sync::Arc;

use crate::exposition::names::Escaping;
use crate::exposition::render::{write_header, write_header_escaped};
use crate::exposition::MetricType;
use crate::grouping::GroupingKey;
use crate::server::store::{Store, StoredFamily};

/// A family of the server's own metrics, rendered, merged into scrapes.
#[derive(Debug, Clone)]
pub struct OwnFamily {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) kind: MetricType,
    pub(crate) text: Vec<u8>,
}

impl Store {
    /// Writes the text exposition of one group (its families sorted by name,
    /// with the synthetic ones); false if there is no such group.
    pub(crate) fn write_group_exposition(&self, key: &GroupingKey, out: &mut Vec<u8>) -> bool {
        let inner = self.inner.read();
        let Some(group) = inner.groups.get(key.canonical().as_slice()) else {
            return false;
        };
        let mut families: Vec<&Arc<StoredFamily>> = group
            .families
            .values()
            .chain([&group.push_time_family, &group.failure_time_family])
            .collect();
        families.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for f in families {
            write_header(out, &f.name, f.help.as_deref(), f.kind);
            out.extend_from_slice(&f.text);
        }
        true
    }

    /// Writes the text exposition of the whole store merged with the server's
    /// own families (`own` sorted by name): families sorted by name, one HELP
    /// and TYPE each, then the series of every group in grouping-key order.
    /// Names that are not legacy-valid are written under `escaping` (quoted
    /// for `allow-utf-8`); as upstream, two names that escape alike (`a.b`
    /// and `a_b` under `underscores`) are not merged.
    pub fn write_exposition(&self, out: &mut Vec<u8>, own: &[OwnFamily], escaping: Escaping) {
        let inner = self.inner.read();
        // Reserving the whole size first saves the copies (and the memory
        // the allocator keeps afterwards) of growing a multi-megabyte buffer
        // by doubling.
        let series_bytes: usize = inner.families.values().map(|i| i.text_bytes).sum();
        let own_bytes: usize = own.iter().map(|o| o.text.len() + 256).sum();
        out.reserve(series_bytes + own_bytes + inner.names.len() * 256);
        let mut own = own.iter().peekable();
        for name in &inner.names {
            let index = &inner.families[name];
            while let Some(o) = own.next_if(|o| o.name < name.as_ref()) {
                write_header(out, o.name, Some(o.help), o.kind);
                out.extend_from_slice(&o.text);
            }
            let mine = own.next_if(|o| o.name == name.as_ref());
            // HELP is taken from the server's own family if there is one (as
            // upstream), else from the first group in key order that has one,
            // so that the choice does not change from scrape to scrape.
            let help = match &mine {
                Some(o) => Some(o.help),
                None => index.groups.values().find_map(|f| f.help.as_deref()),
            };
            write_header_escaped(out, name, help, index.kind, escaping);
            if let Some(o) = mine {
                out.extend_from_slice(&o.text);
            }
            for family in index.groups.values() {
                family.write_text(out, escaping);
            }
        }
        for o in own {
            write_header(out, o.name, Some(o.help), o.kind);
            out.extend_from_slice(&o.text);
        }
    }
}
