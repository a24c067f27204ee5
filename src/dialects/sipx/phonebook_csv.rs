//! sipXconfig's phonebook CSV: the header `"First name","Last name","Number"`, every field
//! double-quoted, LF line ends, a `"` inside a field written `\"` (not doubled). Read leniently:
//! the header is optional, unquoted fields and doubled quotes are taken too.

use crate::core::phonebooks::Entry;

const HEADER: [&str; 3] = ["First name", "Last name", "Number"];

fn writer(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .double_quote(false)
        .escape(b'\\')
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

/// The entries as CSV, header first.
pub fn write(entries: &[Entry]) -> String {
    let mut out = Vec::new();
    {
        let mut w = writer(&mut out);
        // Writing to memory cannot fail.
        let _ = w.write_record(HEADER);
        for e in entries {
            // The writer escapes quotes only; a backslash is doubled here, as the reader takes
            // `\\` for one backslash and `\x` for a bare `x`.
            let fields = [&e.first_name, &e.last_name, &e.number].map(|f| f.replace('\\', "\\\\"));
            let _ = w.write_record(&fields);
        }
        let _ = w.flush();
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads CSV into entries; a bad line is refused with its number.
pub fn read(text: &str) -> Result<Vec<Entry>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .escape(Some(b'\\'))
        .from_reader(text.as_bytes());
    let mut entries = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 1;
        let record = record.map_err(|e| format!("line {line}: {e}"))?;
        let fields: Vec<&str> = record.iter().collect();
        if line == 1
            && fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .eq(HEADER.iter().map(|h| h.to_ascii_lowercase()))
        {
            continue;
        }
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let [first, last, number] = fields.as_slice() else {
            return Err(format!(
                "line {line}: {} fields; each line is \"First name\",\"Last name\",\"Number\"",
                fields.len()
            ));
        };
        entries.push(Entry {
            first_name: first.trim().to_string(),
            last_name: last.trim().to_string(),
            number: number.trim().to_string(),
            ..Entry::default()
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(first: &str, last: &str, number: &str) -> Entry {
        Entry {
            first_name: first.into(),
            last_name: last.into(),
            number: number.into(),
            ..Entry::default()
        }
    }

    #[test]
    fn written_with_every_field_quoted_and_backslash_escapes() {
        let csv = write(&[
            entry("Alice", "Example", "1001"),
            entry("Bob \"B\"", "", "1002"),
        ]);
        assert_eq!(
            csv,
            "\"First name\",\"Last name\",\"Number\"\n\"Alice\",\"Example\",\"1001\"\n\
             \"Bob \\\"B\\\"\",\"\",\"1002\"\n"
        );
        let back = read(&csv).unwrap();
        assert_eq!(
            back,
            [
                entry("Alice", "Example", "1001"),
                entry("Bob \"B\"", "", "1002")
            ]
        );
    }

    /// Found by fuzzing: a backslash (read from an unquoted field) was written bare, so the
    /// file read back with it taken as an escape.
    #[test]
    fn backslashes_are_written_escaped_and_read_back() {
        let entries = read("Ann,L\\\"x\",200\n").unwrap();
        assert_eq!(entries, [entry("Ann", "L\\\"x\"", "200")]);
        let csv = write(&entries);
        assert!(
            csv.ends_with("\"Ann\",\"L\\\\\\\"x\\\"\",\"200\"\n"),
            "{csv}"
        );
        assert_eq!(read(&csv).unwrap(), entries);
    }

    #[test]
    fn read_leniently_and_refuses_bad_lines() {
        assert_eq!(
            read("Carol,C,1003\n\n").unwrap(),
            [entry("Carol", "C", "1003")]
        );
        let err = read("\"a\",\"b\"\n").unwrap_err();
        assert!(err.contains("line 1: 2 fields"), "{err}");
    }
}
