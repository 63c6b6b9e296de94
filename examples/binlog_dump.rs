//! `binlog_dump FILE`: prints every event of a binlog file as one JSON object per line, like
//! `mysqlbinlog -vv` but machine-readable: type, position (file offset), timestamp, server id,
//! and for rows events the table and each row's before/after values. Exits non-zero with the
//! error (event type, field, offset) on a bad file.
//!
//! ```text
//! cargo run -p dts-examples --bin binlog_dump -- /path/to/mysql-bin.000001
//! ```

use std::process::ExitCode;

use dts::core::Value;
use dts_mysql_source::binlog::{
    BinlogFile, DecodeOptions, DecodedEvent, Event, EventDecoder, RowPlan,
};
use serde_json::{Map, Value as Json, json};

fn text(b: &[u8]) -> Json {
    match std::str::from_utf8(b) {
        Ok(s) => Json::String(s.to_owned()),
        Err(_) => json!({ "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() }),
    }
}

fn value(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::Double(d) => json!(d),
        Value::Decimal(d) => json!({ "decimal": d.as_str() }),
        Value::Bit(b) => json!({ "bit": b }),
        Value::Year(y) => json!({ "year": y }),
        Value::Date(d) => json!(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
        Value::Time(t) => json!(format!(
            "{}{:02}:{:02}:{:02}.{:06}",
            if t.negative { "-" } else { "" },
            t.hours,
            t.minutes,
            t.seconds,
            t.micros
        )),
        Value::DateTime(dt) => json!(format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            dt.date.year, dt.date.month, dt.date.day, dt.hour, dt.minute, dt.second, dt.micros
        )),
        Value::Timestamp { secs, micros } => json!({ "timestamp": secs, "micros": micros }),
        Value::String(b) => text(b),
        Value::Bytes(b) => {
            json!({ "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        Value::Enum(i) => json!({ "enum": i }),
        Value::Set(s) => json!({ "set": s }),
        Value::Json(j) => json!({ "json": String::from_utf8_lossy(j) }),
        Value::Geometry(g) => {
            json!({ "geometry_hex": g.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        Value::Vector(v) => {
            json!({ "vector_hex": v.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        other => json!(format!("{other:?}")),
    }
}

fn describe(offset: u64, ev: &DecodedEvent, out: &mut Map<String, Json>) -> Result<(), String> {
    out.insert("type".into(), json!(ev.header.event_type.to_string()));
    out.insert("position".into(), json!(offset));
    out.insert("timestamp".into(), json!(ev.header.timestamp));
    out.insert("server_id".into(), json!(ev.header.server_id));
    out.insert("size".into(), json!(ev.header.event_size));
    match &ev.event {
        Event::FormatDescription(f) => {
            out.insert("server_version".into(), json!(f.server_version));
            out.insert("checksum".into(), json!(format!("{:?}", f.checksum)));
        }
        Event::Rotate {
            position,
            next_file,
        } => {
            out.insert("next_file".into(), text(next_file));
            out.insert("next_position".into(), json!(position));
        }
        Event::Query(q) => {
            out.insert("schema".into(), text(&q.schema));
            out.insert("query".into(), text(&q.query));
            out.insert("thread_id".into(), json!(q.thread_id));
        }
        Event::Xid { xid } => {
            out.insert("xid".into(), json!(xid));
        }
        Event::TableMap(m) => {
            out.insert("table_id".into(), json!(m.table_id));
            out.insert("table".into(), json!(m.name()));
            out.insert(
                "column_types".into(),
                json!(m.columns.iter().map(|c| c.real_type).collect::<Vec<_>>()),
            );
        }
        Event::Rows(rows) => {
            out.insert("table".into(), json!(rows.table.name()));
            out.insert("kind".into(), json!(format!("{:?}", rows.kind)));
            let plan = RowPlan::new(&rows.table);
            let mut list = Vec::new();
            for row in rows.rows(&plan) {
                let row = row.map_err(|e| e.to_string())?;
                let image = |img: &Option<Vec<Value>>| {
                    img.as_ref()
                        .map(|v| v.iter().map(value).collect::<Vec<_>>())
                };
                list.push(json!({ "before": image(&row.before), "after": image(&row.after) }));
            }
            out.insert("rows".into(), Json::Array(list));
        }
        Event::Gtid(g) => {
            out.insert("gtid".into(), json!(g.gtid_text()));
        }
        Event::PreviousGtids(p) => {
            out.insert("gtid_set".into(), json!(p.set.to_string()));
        }
        Event::MariaGtid(g) => {
            out.insert("gtid".into(), json!(g.gtid.to_string()));
        }
        Event::MariaGtidList(l) => {
            out.insert(
                "gtid_list".into(),
                json!(l.iter().map(ToString::to_string).collect::<Vec<_>>()),
            );
        }
        Event::MariaAnnotateRows { query } | Event::RowsQuery { query } => {
            out.insert("query".into(), text(query));
        }
        Event::TransactionPayload(p) => {
            out.insert("compression".into(), json!(format!("{:?}", p.compression)));
            out.insert("uncompressed_size".into(), json!(p.uncompressed_size));
        }
        _ => {}
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: binlog_dump FILE");
        return ExitCode::from(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("binlog_dump: cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut file = match BinlogFile::new(data.into(), EventDecoder::new(DecodeOptions::default())) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("binlog_dump: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    while let Some(next) = file.next_event() {
        let (offset, ev) = match next {
            Ok(x) => x,
            Err(e) => {
                eprintln!("binlog_dump: {path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut obj = Map::new();
        if let Err(e) = describe(offset, &ev, &mut obj) {
            eprintln!("binlog_dump: {path}: event at {offset}: {e}");
            return ExitCode::FAILURE;
        }
        println!("{}", Json::Object(obj));
        if let Event::TransactionPayload(p) = &ev.event {
            let inner: Vec<_> = file.decoder().payload_events(p).collect();
            for item in inner {
                match item {
                    Ok(ev) => {
                        let mut obj = Map::new();
                        obj.insert("in_payload_at".into(), json!(offset));
                        if let Err(e) = describe(offset, &ev, &mut obj) {
                            eprintln!("binlog_dump: {path}: payload at {offset}: {e}");
                            return ExitCode::FAILURE;
                        }
                        println!("{}", Json::Object(obj));
                    }
                    Err(e) => {
                        eprintln!("binlog_dump: {path}: payload at {offset}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    }
    ExitCode::SUCCESS
}
