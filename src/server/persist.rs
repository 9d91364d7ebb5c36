//! Persistence of the store to `--persistence.file`: a snapshot written at
//! most once per `--persistence.interval` after a change, and on shutdown.
//! Each save writes a temporary file beside the target, syncs it, renames it
//! over the target and syncs the directory, so the file on disk is always
//! one whole snapshot, never a torn one.
//!
//! The format is pgw's own (upstream's is a Go `gob` stream): a magic line,
//! the groups, and an xxh3 checksum of everything before it. Families are
//! stored as the text the store already holds, so a snapshot costs little
//! more than copying the exposition. A file that fails any check is never
//! replaced: the server refuses to start and says why.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};

use crate::exposition::render::write_header;
use crate::exposition::{text, MetricType};
use crate::grouping::GroupingKey;
use crate::server::store::{self, GroupView, Store};
use crate::server::State;

const MAGIC: &[u8; 8] = b"PGWSNAP1";

/// What a restore found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub groups: usize,
    pub series: usize,
}

/// Serialises saves: the periodic task may still be writing (on a blocking
/// thread that cannot be cancelled) when the final save at shutdown starts,
/// and both use the same temporary file.
static SAVING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// Writes the whole store to `path`, atomically and durably.
pub fn save(path: &Path, store: &Store) -> anyhow::Result<()> {
    let _one_at_a_time = SAVING.lock();
    let groups = store.groups();
    let bytes = encode(&groups);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temp_path(path);
    let result = (|| -> anyhow::Result<()> {
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
        // The rename is durable only once the directory entry is on disk.
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Loads `path` into an empty store. A missing file is an empty store; a
/// file that cannot be read completely and correctly is an error.
pub fn load(path: &Path, store: &Store) -> anyhow::Result<Option<Restored>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("cannot read the persistence file"),
    };
    let restored = decode_into(&bytes, store).with_context(|| {
        format!(
            "the persistence file {} is damaged or not a pgw snapshot; it was left untouched: \
             move it aside to start with an empty store",
            path.display()
        )
    })?;
    Ok(Some(restored))
}

/// Saves after changes, at most once per interval, until the task is aborted.
pub async fn run(state: Arc<State>, path: PathBuf) {
    let interval = state.config.persistence_interval;
    let mut last = Instant::now();
    loop {
        state.changed.notified().await;
        let due = last + interval;
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        last = Instant::now();
        let (state2, path2) = (state.clone(), path.clone());
        let result = tokio::task::spawn_blocking(move || save(&path2, &state2.store)).await;
        match result {
            Ok(Ok(())) => crate::debug!("saved the store", file = path.display()),
            Ok(Err(e)) => crate::error!(
                "cannot save the store",
                file = path.display(),
                err = format!("{e:#}")
            ),
            Err(e) => crate::error!("cannot save the store", err = e),
        }
    }
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

fn kind_code(k: MetricType) -> u8 {
    match k {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Summary => 2,
        MetricType::Untyped => 3,
        MetricType::Histogram => 4,
        MetricType::GaugeHistogram => 5,
    }
}

fn kind_from_code(c: u8) -> Option<MetricType> {
    Some(match c {
        0 => MetricType::Counter,
        1 => MetricType::Gauge,
        2 => MetricType::Summary,
        3 => MetricType::Untyped,
        4 => MetricType::Histogram,
        5 => MetricType::GaugeHistogram,
        _ => return None,
    })
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn encode(groups: &[GroupView]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        groups
            .iter()
            .flat_map(|g| g.families.iter())
            .map(|f| f.text.len() + 64)
            .sum::<usize>()
            + 64,
    );
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, groups.len());
    for g in groups {
        put_u32(&mut out, g.key.labels().len());
        for (n, v) in g.key.labels() {
            put_bytes(&mut out, n.as_bytes());
            put_bytes(&mut out, v.as_bytes());
        }
        out.extend_from_slice(&g.push_time.to_le_bytes());
        out.extend_from_slice(&g.failure_time.to_le_bytes());
        out.extend_from_slice(&unix_nanos(g.synthetic[1].pushed_at).to_le_bytes());
        put_u32(&mut out, g.families.len());
        for f in &g.families {
            put_bytes(&mut out, f.name.as_bytes());
            out.push(kind_code(f.kind));
            put_bytes(&mut out, f.help.as_deref().unwrap_or("").as_bytes());
            out.extend_from_slice(&unix_nanos(f.pushed_at).to_le_bytes());
            put_bytes(&mut out, &f.text);
        }
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            bail!("unexpected end of data at byte {}", self.pos);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> anyhow::Result<usize> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize)
    }
    fn u64(&mut self) -> anyhow::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn f64(&mut self) -> anyhow::Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn str(&mut self) -> anyhow::Result<&'a str> {
        let n = self.u32()?;
        let at = self.pos;
        std::str::from_utf8(self.take(n)?).with_context(|| format!("invalid UTF-8 at byte {at}"))
    }
}

fn decode_into(bytes: &[u8], store: &Store) -> anyhow::Result<Restored> {
    if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
        bail!("it does not start with the pgw snapshot header");
    }
    let (content, sum) = bytes.split_at(bytes.len() - 8);
    let expected = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    if xxhash_rust::xxh3::xxh3_64(content) != expected {
        bail!("its checksum does not match (the file is truncated or corrupt)");
    }
    let mut r = Reader {
        buf: content,
        pos: MAGIC.len(),
    };
    let ngroups = r.u32()?;
    let mut restored = Restored {
        groups: 0,
        series: 0,
    };
    for gi in 0..ngroups {
        let nlabels = r.u32()?;
        let mut labels = Vec::with_capacity(nlabels);
        for _ in 0..nlabels {
            labels.push((r.str()?.to_string(), r.str()?.to_string()));
        }
        let key = GroupingKey::new(labels);
        let push_time = r.f64()?;
        let failure_time = r.f64()?;
        let changed_at = UNIX_EPOCH + Duration::from_nanos(r.u64()?);
        let nfamilies = r.u32()?;
        let mut body = Vec::new();
        let mut times = Vec::with_capacity(nfamilies);
        for _ in 0..nfamilies {
            let name = r.str()?;
            let kind = kind_from_code(r.take(1)?[0])
                .with_context(|| format!("unknown metric type in group {gi}"))?;
            let help = r.str()?;
            let nanos = r.u64()?;
            let len = r.u32()?;
            let series = r.take(len)?;
            write_header(&mut body, name, Some(help), kind);
            body.extend_from_slice(series);
            times.push((name.to_string(), UNIX_EPOCH + Duration::from_nanos(nanos)));
        }
        let families =
            text::parse_bytes(&body).with_context(|| format!("group {key} does not parse"))?;
        let mut prepared = store::prepare(key.clone(), families, SystemTime::now())
            .with_context(|| format!("group {key} is invalid"))?;
        for (name, at) in times {
            prepared.set_pushed_at(&name, at);
        }
        restored.series += prepared.series_count();
        store
            .restore(prepared, push_time, failure_time, changed_at)
            .with_context(|| format!("group {key} conflicts with another group"))?;
        restored.groups += 1;
    }
    if r.pos != content.len() {
        bail!(
            "{} bytes of unexpected data after the last group",
            content.len() - r.pos
        );
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::metrics::OWN_TYPES;
    use crate::server::store::Mode;

    fn store_with(groups: &[(&str, &str)]) -> Store {
        let store = Store::new(OWN_TYPES);
        for (job, body) in groups {
            let key = GroupingKey::new([("job", *job)]);
            let families = text::parse(body).unwrap();
            let p = store::prepare(key, families, SystemTime::now()).unwrap();
            store.push(p, Mode::Replace, SystemTime::now()).unwrap();
        }
        store
    }

    fn exposition(store: &Store) -> String {
        let mut out = Vec::new();
        store.write_exposition(&mut out, &[]);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn snapshot_round_trips() {
        let store = store_with(&[
            ("a", "# HELP x An x.\n# TYPE x counter\nx{l=\"1\"} 3\n"),
            (
                "b",
                "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\ny 1.5\n",
            ),
        ]);
        let bytes = encode(&store.groups());
        let again = Store::new(OWN_TYPES);
        let r = decode_into(&bytes, &again).unwrap();
        assert_eq!(r.groups, 2);
        assert_eq!(exposition(&store), exposition(&again));
        let (a, b) = (store.groups(), again.groups());
        assert_eq!(a[0].families[0].pushed_at, b[0].families[0].pushed_at);
        assert_eq!(a[1].push_time, b[1].push_time);
        assert_eq!(a[1].synthetic[1].pushed_at, b[1].synthetic[1].pushed_at);
    }

    #[test]
    fn damaged_snapshots_are_refused() {
        let store = store_with(&[("a", "x 1\n")]);
        let bytes = encode(&store.groups());
        for damaged in [
            bytes[..bytes.len() - 3].to_vec(),
            b"not a snapshot at all".to_vec(),
            {
                let mut b = bytes.clone();
                b[12] ^= 1;
                b
            },
        ] {
            let empty = Store::new(OWN_TYPES);
            assert!(decode_into(&damaged, &empty).is_err());
            assert_eq!(empty.stats().groups, 0);
        }
    }
}
