//! Character set facts the DDL needs: names, default collations, bytes per character.
//!
//! From the MySQL manual's "Character Sets and Collations in MySQL" table (`SHOW CHARACTER
//! SET`), which MariaDB shares except for utf8mb4's default collation.

use super::Flavor;

/// (charset, default collation, maximum bytes per character).
const CHARSETS: &[(&str, &str, u64)] = &[
    ("armscii8", "armscii8_general_ci", 1),
    ("ascii", "ascii_general_ci", 1),
    ("big5", "big5_chinese_ci", 2),
    ("binary", "binary", 1),
    ("cp1250", "cp1250_general_ci", 1),
    ("cp1251", "cp1251_general_ci", 1),
    ("cp1256", "cp1256_general_ci", 1),
    ("cp1257", "cp1257_general_ci", 1),
    ("cp850", "cp850_general_ci", 1),
    ("cp852", "cp852_general_ci", 1),
    ("cp866", "cp866_general_ci", 1),
    ("cp932", "cp932_japanese_ci", 2),
    ("dec8", "dec8_swedish_ci", 1),
    ("eucjpms", "eucjpms_japanese_ci", 3),
    ("euckr", "euckr_korean_ci", 2),
    ("gb18030", "gb18030_chinese_ci", 4),
    ("gb2312", "gb2312_chinese_ci", 2),
    ("gbk", "gbk_chinese_ci", 2),
    ("geostd8", "geostd8_general_ci", 1),
    ("greek", "greek_general_ci", 1),
    ("hebrew", "hebrew_general_ci", 1),
    ("hp8", "hp8_english_ci", 1),
    ("keybcs2", "keybcs2_general_ci", 1),
    ("koi8r", "koi8r_general_ci", 1),
    ("koi8u", "koi8u_general_ci", 1),
    ("latin1", "latin1_swedish_ci", 1),
    ("latin2", "latin2_general_ci", 1),
    ("latin5", "latin5_turkish_ci", 1),
    ("latin7", "latin7_general_ci", 1),
    ("macce", "macce_general_ci", 1),
    ("macroman", "macroman_general_ci", 1),
    ("sjis", "sjis_japanese_ci", 2),
    ("swe7", "swe7_swedish_ci", 1),
    ("tis620", "tis620_thai_ci", 1),
    ("ucs2", "ucs2_general_ci", 2),
    ("ujis", "ujis_japanese_ci", 3),
    ("utf16", "utf16_general_ci", 4),
    ("utf16le", "utf16le_general_ci", 4),
    ("utf32", "utf32_general_ci", 4),
    ("utf8mb3", "utf8mb3_general_ci", 3),
    ("utf8mb4", "utf8mb4_0900_ai_ci", 4),
];

fn lookup(charset: &str) -> Option<&'static (&'static str, &'static str, u64)> {
    CHARSETS.iter().find(|(name, _, _)| *name == charset)
}

/// The canonical spelling of a charset name: lower case, `utf8` as `utf8mb3` (what MySQL
/// 8.0.30+ and MariaDB 10.6+ report).
#[must_use]
pub fn normalize_charset(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if lower == "utf8" {
        "utf8mb3".to_owned()
    } else {
        lower
    }
}

/// The canonical spelling of a collation name: lower case, `utf8_…` as `utf8mb3_…`.
#[must_use]
pub fn normalize_collation(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.strip_prefix("utf8_") {
        Some(rest) => format!("utf8mb3_{rest}"),
        None => lower,
    }
}

/// The default collation of `charset` (normalized name) on `flavor`, or `None` for a charset
/// not in the built-in table. MySQL's are 8.0's (`utf8mb4_0900_ai_ci`); MariaDB's utf8mb4
/// default is `utf8mb4_general_ci`.
#[must_use]
pub fn default_collation(charset: &str, flavor: Flavor) -> Option<String> {
    if charset == "utf8mb4" && flavor == Flavor::MariaDb {
        return Some("utf8mb4_general_ci".to_owned());
    }
    lookup(charset).map(|(_, c, _)| (*c).to_owned())
}

/// Maximum bytes per character of `charset`; 4 for a charset not in the table (the widest
/// any charset has, so that a type chosen from it is never too small).
pub(crate) fn max_bytes_per_char(charset: &str) -> u64 {
    lookup(charset).map_or(4, |(_, _, n)| *n)
}

/// The charset of a (normalized) collation: the part before the first `_` when it names a
/// known charset (`utf8mb4_bin` → `utf8mb4`), `binary` for `binary`. `None` for MariaDB's
/// charset-less names (`uca1400_ai_ci`), which take the charset from elsewhere.
pub(crate) fn charset_of_collation(collation: &str) -> Option<String> {
    if collation == "binary" {
        return Some("binary".to_owned());
    }
    let (prefix, _) = collation.split_once('_')?;
    lookup(prefix).map(|(name, _, _)| (*name).to_owned())
}

/// The full collation name for `charset` of a (normalized) collation that may omit the
/// charset (MariaDB 10.10+: `COLLATE uca1400_ai_ci` means `<charset>_uca1400_ai_ci`).
pub(crate) fn qualify_collation(collation: &str, charset: &str) -> String {
    if collation == "binary" || charset_of_collation(collation).is_some() {
        collation.to_owned()
    } else {
        format!("{charset}_{collation}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_defaults() {
        assert_eq!(normalize_charset(" UTF8 "), "utf8mb3");
        assert_eq!(normalize_collation("UTF8_General_CI"), "utf8mb3_general_ci");
        assert_eq!(
            default_collation("utf8mb4", Flavor::MySql).as_deref(),
            Some("utf8mb4_0900_ai_ci")
        );
        assert_eq!(
            default_collation("utf8mb4", Flavor::MariaDb).as_deref(),
            Some("utf8mb4_general_ci")
        );
        assert_eq!(default_collation("klingon", Flavor::MySql), None);
        assert_eq!(
            charset_of_collation("latin1_bin").as_deref(),
            Some("latin1")
        );
        assert_eq!(charset_of_collation("uca1400_ai_ci"), None);
        assert_eq!(
            qualify_collation("uca1400_ai_ci", "utf8mb4"),
            "utf8mb4_uca1400_ai_ci"
        );
        assert_eq!(max_bytes_per_char("latin1"), 1);
        assert_eq!(max_bytes_per_char("utf8mb3"), 3);
    }
}
