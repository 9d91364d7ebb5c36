//! Fuzzes the reader of the official Pushgateway's persistence file (the
//! gob stream `--persistence.import` takes over): any bytes must give the
//! groups or a message naming the byte, never a panic or a runaway
//! allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgw::server::persist::{gob, official};

fuzz_target!(|data: &[u8]| {
    if let Err(e) = gob::decode(data) {
        assert!(e.offset <= data.len());
    }
    let _ = official::parse(data);
});
