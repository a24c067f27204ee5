//! C5 collection queries: any query string is read as page, rows, order and filters or refused
//! with 400; the nav links built from what was read read back as the same query.

use switchyard::dialects::c5::paging::{nav, parse};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(raw) = std::str::from_utf8(data) else {
            return;
        };
        let query = match parse(Some(raw)) {
            Ok(query) => query,
            Err(e) => {
                assert_eq!(e.status, 400, "{e:?}");
                return;
            }
        };
        assert!(query.page >= 1 && query.rows >= 1);
        let links = nav("subscribers", &query, true);
        for href in [
            Some(&links.self_href),
            links.next.as_ref(),
            links.prev.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                href.is_ascii() && !href.contains(['#', ' ', '"', '<', '>']),
                "{href}"
            );
        }
        let (_, self_query) = links.self_href.split_once('?').unwrap_or_default();
        let again = parse(Some(self_query))
            .unwrap_or_else(|e| panic!("own self link refused: {e:?} {}", links.self_href));
        assert_eq!(again, query, "{}", links.self_href);
    });
}
