//! A small pool of scrape buffers. A scrape of a large store writes several
//! megabytes; allocating that afresh each time costs page faults on every
//! scrape (the allocator hands large blocks back to the kernel), so the
//! buffer goes back to the pool once the response body has been sent.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use parking_lot::Mutex;

/// Buffers kept for reuse: one per scrape that runs at the same time, and
/// scrapes rarely overlap.
const MAX_POOLED: usize = 2;

#[derive(Default)]
pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// An empty buffer, with the capacity of an earlier one if there is one.
    pub fn take(&self) -> Vec<u8> {
        self.free.lock().pop().unwrap_or_default()
    }

    /// Returns a buffer that is no longer needed.
    pub fn give_back(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut free = self.free.lock();
        if free.len() < MAX_POOLED {
            free.push(buf);
        }
    }

    /// A response body that returns `buf` to the pool once it has been sent.
    pub fn body(self: &Arc<Self>, buf: Vec<u8>) -> Body {
        Body::from(Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        }))
    }
}

struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_after_the_body_is_dropped() {
        let pool = Arc::new(BufferPool::default());
        let mut buf = pool.take();
        buf.extend_from_slice(&[7; 1000]);
        let body = pool.body(buf);
        assert!(pool.free.lock().is_empty());
        drop(body);
        let again = pool.take();
        assert!(again.is_empty() && again.capacity() >= 1000);
    }

    #[test]
    fn the_pool_keeps_at_most_a_few_buffers() {
        let pool = BufferPool::default();
        for _ in 0..5 {
            pool.give_back(Vec::with_capacity(10));
        }
        assert_eq!(pool.free.lock().len(), MAX_POOLED);
    }
}
