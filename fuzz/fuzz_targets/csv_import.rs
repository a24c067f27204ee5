//! CSV and JSON-lines imports: a `switchyard cdr import` file (JSON lines or CSV with a header)
//! reads as rows named by their line, or is refused; a sipXconfig phonebook CSV reads as
//! entries, which written out read back the same. The first byte picks the reader.

use switchyard::dialects::sipx::phonebook_csv;
use switchyard::fuzzing::cdr_file;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&selector, body)) = data.split_first() else {
            return;
        };
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        if selector & 1 == 0 {
            if let Ok(rows) = cdr_file(text) {
                let lines = text.split('\n').count() as u64;
                let mut last = 0;
                for row in &rows {
                    let line: u64 = row
                        .place
                        .strip_prefix("line ")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("row named {:?}", row.place));
                    assert!(
                        line > last && line <= lines,
                        "{} after line {last}",
                        row.place
                    );
                    last = line;
                }
            }
            return;
        }
        if let Ok(entries) = phonebook_csv::read(text) {
            let written = phonebook_csv::write(&entries);
            let again = phonebook_csv::read(&written)
                .unwrap_or_else(|e| panic!("written phonebook refused: {e}\n{written}"));
            let fields = |es: &[switchyard::core::phonebooks::Entry]| -> Vec<[String; 3]> {
                es.iter()
                    .map(|e| [e.first_name.clone(), e.last_name.clone(), e.number.clone()])
                    .collect()
            };
            assert_eq!(fields(&again), fields(&entries), "{written}");
        }
    });
}
