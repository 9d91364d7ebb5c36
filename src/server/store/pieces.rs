//! An answer written in pieces: bytes written for it (headers, the
//! server's own families, what is not kept) and bytes the store kept for
//! runs of groups, shared rather than copied. A scrape or a JSON answer of a
//! large store is mostly kept runs; copying them into one buffer was the
//! largest share of its CPU after the loopback send.

use bytes::Bytes;

pub(crate) struct Pieces {
    done: Vec<Bytes>,
    /// What was written since the last shared piece.
    buf: Vec<u8>,
}

impl Pieces {
    /// An answer that starts with what `buf` holds, written on into it
    /// where it is not shared.
    pub(crate) fn new(buf: Vec<u8>) -> Pieces {
        Pieces {
            done: Vec::new(),
            buf,
        }
    }

    /// Where the answer is written next.
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Appends kept bytes, shared. What was written before them is copied
    /// out first: a few headers, as the large parts are kept.
    pub(crate) fn share(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if !self.buf.is_empty() {
            self.done.push(Bytes::copy_from_slice(&self.buf));
            self.buf.clear();
        }
        self.done.push(bytes);
    }

    /// Appends every piece of `other`, shared.
    pub(crate) fn append(&mut self, other: Pieces) {
        let (done, last) = other.finish();
        for piece in done {
            self.share(piece);
        }
        self.buf.extend_from_slice(&last);
    }

    /// The answer's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.done.iter().map(Bytes::len).sum::<usize>() + self.buf.len()
    }

    /// The pieces in order, and the buffer written last, which ends the
    /// answer: handed back so that its caller may pool it.
    pub(crate) fn finish(self) -> (Vec<Bytes>, Vec<u8>) {
        (self.done, self.buf)
    }

    /// The answer as one buffer.
    pub(crate) fn concat(self) -> Vec<u8> {
        if self.done.is_empty() {
            return self.buf;
        }
        let mut out = Vec::with_capacity(self.len());
        for piece in &self.done {
            out.extend_from_slice(piece);
        }
        out.extend_from_slice(&self.buf);
        out
    }

    /// Every piece in order, the last buffer included.
    pub(crate) fn each(&self) -> impl Iterator<Item = &[u8]> {
        self.done
            .iter()
            .map(|p| &p[..])
            .chain(std::iter::once(&self.buf[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_their_order() {
        let mut p = Pieces::new(b"# a".to_vec());
        p.buf().extend_from_slice(b"\n");
        p.share(Bytes::from_static(b"a 1\n"));
        p.share(Bytes::new());
        p.share(Bytes::from_static(b"a 2\n"));
        p.buf().extend_from_slice(b"# b\nb 3\n");
        assert_eq!(p.len(), 20);
        let each: Vec<u8> = p.each().flatten().copied().collect();
        assert_eq!(each, b"# a\na 1\na 2\n# b\nb 3\n");
        let (done, last) = p.finish();
        assert_eq!(done.len(), 3, "the header, then the two shared pieces");
        assert_eq!(last, b"# b\nb 3\n");
        let mut q = Pieces::new(Vec::new());
        q.buf().extend_from_slice(b"x");
        q.share(Bytes::from_static(b"y"));
        q.buf().extend_from_slice(b"z");
        let mut r = Pieces::new(b"<".to_vec());
        r.share(Bytes::from_static(b"w"));
        r.buf().extend_from_slice(b">");
        q.append(r);
        assert_eq!(q.len(), 6);
        assert_eq!(q.concat(), b"xyz<w>");
    }
}
