//! The DTS Avro `Record` schema: [`RECORD_SCHEMA_JSON`] and its parsed form
//! [`record_schema`].
//!
//! The text is this crate's own writing of the contract, `com.alibaba.dts.formats.avro.Record`
//! as published with Alibaba Cloud DTS: the same named types, fields, field order, union
//! branches, enum symbols and defaults. Unlike the published file, which is a JSON array of
//! named types (a union, when given to a parser as one schema), it is one self-contained record
//! schema with each named type defined at its first use, so it can be handed to any Avro library
//! as is. A test checks that both parse to the same Avro Parsing Canonical Form.

use std::sync::LazyLock;

use apache_avro::Schema;

/// The `com.alibaba.dts.formats.avro.Record` schema as Avro JSON (an `.avsc`), self-contained.
///
/// Write it to a file to hand it to Java, Python or Go consumers:
///
/// ```
/// std::fs::write(
///     std::env::temp_dir().join("Record.avsc"),
///     dts_avro::RECORD_SCHEMA_JSON,
/// )?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub const RECORD_SCHEMA_JSON: &str = r#"{
  "type": "record",
  "name": "Record",
  "namespace": "com.alibaba.dts.formats.avro",
  "fields": [
    {"name": "version", "type": "int", "doc": "version infomation"},
    {"name": "id", "type": "long", "doc": "unique id of this record in the whole stream"},
    {"name": "sourceTimestamp", "type": "long", "doc": "record log timestamp"},
    {"name": "sourcePosition", "type": "string", "doc": "record source location information"},
    {"name": "safeSourcePosition", "type": "string", "default": "",
     "doc": "safe record source location information, use to recovery."},
    {"name": "sourceTxid", "type": "string", "default": "", "doc": "record transation id"},
    {"name": "source", "doc": "source dataource", "type": {
      "type": "record", "name": "Source",
      "fields": [
        {"name": "sourceType", "type": {
          "type": "enum", "name": "SourceType",
          "symbols": ["MySQL", "Oracle", "SQLServer", "PostgreSQL", "MongoDB", "Redis", "DB2",
                      "PPAS", "DRDS", "HBASE", "HDFS", "FILE", "OTHER"]}},
        {"name": "version", "type": "string", "doc": "source datasource version information"}
      ]}},
    {"name": "operation", "type": {
      "type": "enum", "name": "Operation",
      "symbols": ["INSERT", "UPDATE", "DELETE", "DDL", "BEGIN", "COMMIT", "ROLLBACK", "ABORT",
                  "HEARTBEAT", "CHECKPOINT", "COMMAND", "FILL", "FINISH", "CONTROL", "RDB",
                  "NOOP", "INIT"]}},
    {"name": "objectName", "default": null, "type": ["null", "string"]},
    {"name": "processTimestamps", "default": null,
     "type": ["null", {"type": "array", "items": "long"}],
     "doc": "time when this record is processed along the stream dataflow"},
    {"name": "tags", "default": {}, "type": {"type": "map", "values": "string"},
     "doc": "tags to identify properties of this record"},
    {"name": "fields", "default": null, "type": ["null", "string", {"type": "array", "items": {
      "type": "record", "name": "Field",
      "fields": [
        {"name": "name", "type": "string"},
        {"name": "dataTypeNumber", "type": "int"}
      ]}}]},
    {"name": "beforeImages", "default": null, "type": ["null", "string", {"type": "array", "items": [
      "null",
      {"type": "record", "name": "Integer", "fields": [
        {"name": "precision", "type": "int"},
        {"name": "value", "type": "string"}]},
      {"type": "record", "name": "Character", "fields": [
        {"name": "charset", "type": "string"},
        {"name": "value", "type": "bytes"}]},
      {"type": "record", "name": "Decimal", "fields": [
        {"name": "value", "type": "string"},
        {"name": "precision", "type": "int"},
        {"name": "scale", "type": "int"}]},
      {"type": "record", "name": "Float", "fields": [
        {"name": "value", "type": "double"},
        {"name": "precision", "type": "int"},
        {"name": "scale", "type": "int"}]},
      {"type": "record", "name": "Timestamp", "fields": [
        {"name": "timestamp", "type": "long"},
        {"name": "millis", "type": "int"}]},
      {"type": "record", "name": "DateTime", "fields": [
        {"name": "year", "default": null, "type": ["null", "int"]},
        {"name": "month", "default": null, "type": ["null", "int"]},
        {"name": "day", "default": null, "type": ["null", "int"]},
        {"name": "hour", "default": null, "type": ["null", "int"]},
        {"name": "minute", "default": null, "type": ["null", "int"]},
        {"name": "second", "default": null, "type": ["null", "int"]},
        {"name": "millis", "default": null, "type": ["null", "int"]}]},
      {"type": "record", "name": "TimestampWithTimeZone", "fields": [
        {"name": "value", "type": "DateTime"},
        {"name": "timezone", "type": "string"}]},
      {"type": "record", "name": "BinaryGeometry", "fields": [
        {"name": "type", "type": "string"},
        {"name": "value", "type": "bytes"}]},
      {"type": "record", "name": "TextGeometry", "fields": [
        {"name": "type", "type": "string"},
        {"name": "value", "type": "string"}]},
      {"type": "record", "name": "BinaryObject", "fields": [
        {"name": "type", "type": "string"},
        {"name": "value", "type": "bytes"}]},
      {"type": "record", "name": "TextObject", "fields": [
        {"name": "type", "type": "string"},
        {"name": "value", "type": "string"}]},
      {"type": "enum", "name": "EmptyObject", "symbols": ["NULL", "NONE"]}
    ]}]},
    {"name": "afterImages", "default": null, "type": ["null", "string", {"type": "array", "items": [
      "null", "Integer", "Character", "Decimal", "Float", "Timestamp", "DateTime",
      "TimestampWithTimeZone", "BinaryGeometry", "TextGeometry", "BinaryObject", "TextObject",
      "EmptyObject"
    ]}]},
    {"name": "bornTimestamp", "default": 0, "type": "long",
     "doc": "the timestamp in unit of millisecond that record is born in source"}
  ]
}"#;

static RECORD_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    // A constant of this crate, checked by the tests: parsing cannot fail at run time.
    #[allow(clippy::expect_used)]
    Schema::parse_str(RECORD_SCHEMA_JSON).expect("RECORD_SCHEMA_JSON is a valid Avro schema")
});

/// The parsed `Record` schema, for use with `apache-avro` (parsed once, on first use).
///
/// # Panics
/// Never: the schema is a constant, parsed by this crate's tests.
#[must_use]
pub fn record_schema() -> &'static Schema {
    &RECORD_SCHEMA
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use apache_avro::schema::Name;
    use serde_json::Value as Json;

    use super::*;

    /// The shared contract: `DTS_AVRO_SCHEMA`, else `../shared/dts-avro/Record.avsc` beside
    /// the workspace. Missing is a test failure, never a pass.
    fn shared_avsc() -> (PathBuf, String) {
        let path = std::env::var_os("DTS_AVRO_SCHEMA").map_or_else(
            || {
                PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../shared/dts-avro/Record.avsc"
                ))
            },
            PathBuf::from,
        );
        match std::fs::read_to_string(&path) {
            Ok(text) => (path, text),
            Err(e) => panic!(
                "cannot read the DTS Avro contract {}: {e}. Set DTS_AVRO_SCHEMA to the path of \
                 shared/dts-avro/Record.avsc; this test must not pass without it",
                path.display()
            ),
        }
    }

    /// Parses the published array of named types and returns the `Record` schema with every
    /// reference resolved, and the JSON of its `Record` definition.
    fn shared_record() -> (Schema, Json) {
        let (path, text) = shared_avsc();
        let Json::Array(items) = serde_json::from_str::<Json>(&text).unwrap() else {
            panic!("{} is not a JSON array of named types", path.display());
        };
        let texts: Vec<String> = items.iter().map(Json::to_string).collect();
        let schemata = Schema::parse_list(&texts).unwrap();
        let record_name = Name::new("com.alibaba.dts.formats.avro.Record").unwrap();
        let record = schemata
            .iter()
            .find(|s| s.name() == Some(&record_name))
            .expect("the contract defines com.alibaba.dts.formats.avro.Record");
        // Self-contained: every named type defined at its first use, then parsed again.
        let canonical = record.independent_canonical_form(&schemata).unwrap();
        let resolved = Schema::parse_str(&canonical).unwrap();
        let json = items.into_iter().find(|i| i["name"] == "Record").unwrap();
        (resolved, json)
    }

    #[test]
    fn same_canonical_form_as_the_shared_contract() {
        let (shared, _) = shared_record();
        assert_eq!(record_schema().canonical_form(), shared.canonical_form());
        assert_eq!(
            record_schema()
                .fingerprint::<apache_avro::rabin::Rabin>()
                .bytes,
            shared.fingerprint::<apache_avro::rabin::Rabin>().bytes
        );
    }

    #[test]
    fn same_defaults_as_the_shared_contract() {
        // The canonical form drops defaults, which matter to readers with another schema.
        let (_, shared) = shared_record();
        let ours: Json = serde_json::from_str(RECORD_SCHEMA_JSON).unwrap();
        let defaults = |j: &Json| -> Vec<(String, Option<Json>)> {
            j["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["name"].as_str().unwrap().to_owned(),
                        f.get("default").cloned(),
                    )
                })
                .collect()
        };
        assert_eq!(defaults(&ours), defaults(&shared));
        assert_eq!(defaults(&ours).len(), 15);
    }

    #[test]
    fn the_schema_is_a_record_named_record() {
        let name = record_schema().name().unwrap();
        assert_eq!(name.fullname(None), "com.alibaba.dts.formats.avro.Record");
    }
}
