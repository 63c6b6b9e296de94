//! GTID set / GTID list parsing and checkpoint loading never panic, and what parses prints
//! back to a text that parses to the same value.
#![no_main]

use dts_core::{Checkpoint, MariaDbGtidList, MySqlGtidSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Checkpoint>(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(set) = text.parse::<MySqlGtidSet>() {
        let again: MySqlGtidSet = set.to_string().parse().expect("printed GTID set parses");
        assert_eq!(again, set);
    }
    if let Ok(list) = text.parse::<MariaDbGtidList>() {
        let again: MariaDbGtidList = list.to_string().parse().expect("printed GTID list parses");
        assert_eq!(again, list);
    }
});
