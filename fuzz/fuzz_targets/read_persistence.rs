//! Fuzzes the reader of pgw's persistence files: any bytes, read as a log
//! segment or as a snapshot, must give valid records and damage reports, or
//! be refused as another format, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgw::server::persist::record::{scan, LOG_MAGIC, SNAPSHOT_MAGIC};

fuzz_target!(|data: &[u8]| {
    for magic in [LOG_MAGIC, SNAPSHOT_MAGIC] {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(data);
        let found = scan(&bytes, magic).expect("the magic is there");
        for d in &found.damage {
            assert!(d.offset + d.len <= bytes.len());
        }
        let _ = scan(data, magic);
    }
});
