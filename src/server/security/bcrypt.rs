//! The cache of verified bcrypt credentials: bcrypt is slow on purpose, and
//! a fleet of clients pushing every few seconds with the same few
//! credentials would otherwise spend a CPU on it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::OnceCell;

/// Remembers credentials whose bcrypt verification succeeded, keyed by a
/// SHA-256 of user, password and hash (as exporter-toolkit does), so that a
/// fleet pushing every few seconds costs one bcrypt per distinct credential,
/// not one per request. Concurrent checks of one credential share a single
/// bcrypt run (a fleet's first pushes arrive together). Failures are not
/// kept: they would let a guesser fill the cache. A changed hash in a
/// reloaded file makes a different key.
#[derive(Default)]
pub(crate) struct BcryptCache {
    entries: Mutex<HashMap<[u8; 32], Arc<OnceCell<bool>>>>,
}

/// Enough for every credential of a large fleet; beyond it the cache starts
/// over rather than growing without bound.
const CACHE_CAPACITY: usize = 16_384;

impl BcryptCache {
    fn key(user: &str, password: &str, hash: &str) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [user, password, hash] {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part.as_bytes());
        }
        ctx.finish()
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes")
    }

    /// Whether `password` matches `hash`, running bcrypt (on the blocking
    /// pool) only when this credential is not known to be good.
    pub(super) async fn verify(&self, user: &str, password: &str, hash: &str) -> bool {
        let key = BcryptCache::key(user, password, hash);
        let cell = {
            let mut entries = self.entries.lock();
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
            entries.entry(key).or_default().clone()
        };
        let ok = *cell
            .get_or_init(|| {
                let (password, hash) = (password.to_string(), hash.to_string());
                async move {
                    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(false)
                }
            })
            .await;
        if !ok {
            let mut entries = self.entries.lock();
            if entries.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                entries.remove(&key);
            }
        }
        ok
    }

    #[cfg(test)]
    pub(super) fn holds(&self, user: &str, password: &str, hash: &str) -> bool {
        let key = BcryptCache::key(user, password, hash);
        self.entries
            .lock()
            .get(&key)
            .is_some_and(|c| c.get() == Some(&true))
    }
}
