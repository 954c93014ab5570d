//! The strict JSON parser, canonical JSON and the four role parsers on hostile bytes: never
//! panic, and canonical JSON must round-trip.
//!
//! Properties checked:
//! * `cjson::parse(canonical(v))` gives back `v`, or fails only because `v` holds a control
//!   character (canonical JSON writes those raw, and the parser refuses raw ones, as RFC 8259
//!   requires; `metadata::parse` refuses such metadata up front);
//! * `canonical` is idempotent on what it round-trips;
//! * a role that parses has the typed content the generic tree gives for its `signed`, and
//!   converts back to a value (`to_value`) whose canonical bytes parse to content with the
//!   same canonical bytes.
#![no_main]

use airlock::tuf::cjson::{self, Value};
use airlock::tuf::metadata::{self, Ctx, RoleType, Root, Snapshot, Targets, Timestamp};
use libfuzzer_sys::fuzz_target;

fn role<T: RoleType + PartialEq + std::fmt::Debug>(data: &[u8], name: &str) {
    let Ok(parsed) = metadata::parse::<T>(data, name) else { return };
    // The canonical bytes are those of the decoded `signed` value, and the typed content is
    // what the generic tree gives: whichever reader took the file (the one-pass reader for
    // Notary's layout, else the tree), the result is the tree's.
    let doc = cjson::parse(data).expect("a parsed role is JSON");
    let signed = doc.get("signed").expect("a parsed role has \"signed\"");
    assert_eq!(parsed.canonical(), cjson::canonical(signed));
    assert!(signed.find_control_char().is_none());
    let from_tree = T::from_value(signed, &Ctx(name)).expect("the tree reads what was taken");
    assert_eq!(from_tree, parsed.signed);

    // typed -> Value -> canonical -> Value -> typed gives the same content. Free-form values
    // (a target's `custom`) keep their members in file order, which canonical JSON sorts, so
    // the comparison is of canonical bytes, which is what signatures cover.
    let again = cjson::canonical(&parsed.signed.to_value());
    let value = cjson::parse(&again).expect("canonical bytes of typed content parse");
    let typed = T::from_value(&value, &Ctx(name)).expect("typed content re-parses");
    assert_eq!(cjson::canonical(&typed.to_value()), again);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = cjson::parse(data) {
        let canonical = cjson::canonical(&value);
        match cjson::parse(&canonical) {
            Ok(back) => {
                assert_eq!(back, canonical_order(&value), "canonical JSON changed the value");
                assert_eq!(cjson::canonical(&back), canonical, "canonical is not idempotent");
            }
            Err(e) => assert!(
                value.find_control_char().is_some() || has_raw_c0(&canonical),
                "canonical bytes of a parsed value do not parse: {e}"
            ),
        }
        let _ = cjson::file_form(&canonical);
    }

    role::<Root>(data, "root");
    role::<Targets>(data, "targets");
    role::<Snapshot>(data, "snapshot");
    role::<Timestamp>(data, "timestamp");
    role::<Targets>(data, "targets/releases");
});

/// Canonical JSON sorts object members by key bytes; the parser keeps file order.
fn canonical_order(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(canonical_order).collect()),
        Value::Object(members) => {
            let mut sorted: Vec<(String, Value)> =
                members.iter().map(|(k, v)| (k.clone(), canonical_order(v))).collect();
            sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            Value::Object(sorted)
        }
        other => other.clone(),
    }
}

fn has_raw_c0(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20)
}
