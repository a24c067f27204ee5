//! Collection paging, ordering and filter parameters, and the nav links (c5.md §3).
//!
//! The original echoes the client's query in its `self`/`next`/`prev` hrefs and the upstream
//! tests compare `self` with the request, so the parameters other than `page` and `rows` are
//! kept raw, in the client's order and encoding.

use super::error::ApiError;

/// Largest `rows` accepted. The original has no cap; a generous one with a clear 400 is a
/// documented deviation (c5.md §11).
pub const MAX_ROWS: u64 = 1000;

/// Largest `page` accepted, so offsets stay far from overflow.
pub const MAX_PAGE: u64 = 1_000_000_000;

const DEFAULT_ROWS: u64 = 10;

const NOT_POSITIVE: &str =
    "Query parameters 'page' and 'rows', when specified, must be greater than 0.";

/// A collection query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub page: u64,
    pub rows: u64,
    /// The raw column name; the resource maps it, or ignores an unknown one. Empty is absent.
    pub order_by: Option<String>,
    /// `order_by_direction=desc` in any case; every other value is ascending.
    pub descending: bool,
    /// `no_count=1|true`: skip the count, read `rows + 1` to see whether there is a next page.
    pub no_count: bool,
    /// The filters: every parameter but the five above, decoded, in the client's order.
    pub params: Vec<(String, String)>,
    /// Every parameter but `page` and `rows`, as the client encoded it, for the nav hrefs.
    raw_rest: Vec<String>,
}

impl ListQuery {
    /// The number of rows before this page.
    pub fn offset(&self) -> u64 {
        self.page.saturating_sub(1).saturating_mul(self.rows)
    }

    /// How many rows to read: one extra under `no_count`, to learn whether a next page exists.
    pub fn fetch_rows(&self) -> u64 {
        if self.no_count {
            self.rows.saturating_add(1)
        } else {
            self.rows
        }
    }

    /// The first value of a filter parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            page: 1,
            rows: DEFAULT_ROWS,
            order_by: None,
            descending: false,
            no_count: false,
            params: Vec::new(),
            raw_rest: Vec::new(),
        }
    }
}

/// Parses the raw query string (without `?`). The first occurrence of a pager parameter wins.
pub fn parse(raw_query: Option<&str>) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::default();
    let (mut page, mut rows, mut order_by, mut direction, mut no_count) =
        (None, None, None, None, None);
    for segment in raw_query.unwrap_or("").split('&') {
        if segment.is_empty() {
            continue;
        }
        let Some((key, value)) = form_urlencoded::parse(segment.as_bytes()).next() else {
            continue;
        };
        let (key, value) = (key.into_owned(), value.into_owned());
        let slot = match key.as_str() {
            "page" => &mut page,
            "rows" => &mut rows,
            "order_by" => &mut order_by,
            "order_by_direction" => &mut direction,
            "no_count" => &mut no_count,
            _ => {
                q.raw_rest.push(href_safe(segment));
                q.params.push((key, value));
                continue;
            }
        };
        if !matches!(key.as_str(), "page" | "rows") {
            q.raw_rest.push(href_safe(segment));
        }
        if slot.is_none() {
            *slot = Some(value);
        }
    }

    if let Some(p) = page {
        q.page = positive(&p, MAX_PAGE, "page")?;
    }
    if let Some(r) = rows {
        q.rows = positive(&r, MAX_ROWS, "rows")?;
    }
    q.order_by = order_by.filter(|o| !o.is_empty());
    q.descending = direction.is_some_and(|d| d.eq_ignore_ascii_case("desc"));
    q.no_count = matches!(no_count.as_deref(), Some("1" | "true"));
    Ok(q)
}

/// A page or rows value: decimal digits, at least 1, at most `max`.
fn positive(value: &str, max: u64, name: &str) -> Result<u64, ApiError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(NOT_POSITIVE));
    }
    let digits = value.trim_start_matches('0');
    if digits.is_empty() {
        return Err(ApiError::bad_request(NOT_POSITIVE));
    }
    // Twenty digits may not fit a u64; anything that long is over the cap anyway.
    match digits.parse::<u64>() {
        Ok(n) if digits.len() < 20 && n <= max => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "Query parameter '{name}' must not exceed {max}."
        ))),
    }
}

/// A raw query segment made safe to echo in a JSON href and a `Link` header: the client's
/// encoding is kept, bytes that may not appear there bare are percent-encoded.
fn href_safe(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for &b in segment.as_bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

/// A collection page's `self`, `next` and `prev` hrefs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nav {
    pub self_href: String,
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// The nav hrefs: `/api/<res>/?page=N&rows=M` and then `&k=v` for every other parameter,
/// `order_by`, `order_by_direction` and `no_count` included. `next` iff `has_next`; `prev`
/// iff `page > 1`. There are no first/last links.
pub fn nav(res: &str, q: &ListQuery, has_next: bool) -> Nav {
    let href = |page: u64| {
        let mut h = format!("/api/{res}/?page={page}&rows={}", q.rows);
        for segment in &q.raw_rest {
            h.push('&');
            h.push_str(segment);
        }
        h
    };
    Nav {
        self_href: href(q.page),
        next: has_next.then(|| href(q.page.saturating_add(1))),
        prev: (q.page > 1).then(|| href(q.page - 1)),
    }
}

/// Whether a counted collection has a page after this one: `total > page * rows`.
pub fn has_next_counted(q: &ListQuery, total: u64) -> bool {
    q.page.checked_mul(q.rows).is_some_and(|seen| total > seen)
}

/// Whether an uncounted (`no_count`) collection has a next page, given how many rows the
/// query returned when asked for [`ListQuery::fetch_rows`].
pub fn has_next_uncounted(q: &ListQuery, fetched: usize) -> bool {
    fetched as u64 > q.rows
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn query(raw: &str) -> ListQuery {
        parse(Some(raw)).unwrap()
    }

    fn err(raw: &str) -> ApiError {
        parse(Some(raw)).unwrap_err()
    }

    #[test]
    fn defaults() {
        for raw in [None, Some(""), Some("&&")] {
            let q = parse(raw).unwrap();
            assert_eq!((q.page, q.rows, q.offset()), (1, 10, 0));
            assert_eq!(q.order_by, None);
            assert!(!q.descending && !q.no_count);
            assert!(q.params.is_empty());
            assert_eq!(q.fetch_rows(), 10);
        }
        // A hand-built query never panics.
        let odd = ListQuery {
            page: 0,
            rows: u64::MAX,
            no_count: true,
            ..ListQuery::default()
        };
        assert_eq!((odd.offset(), odd.fetch_rows()), (0, u64::MAX));
        let huge = ListQuery { page: 2, ..odd };
        assert!(!has_next_counted(&huge, u64::MAX));
    }

    #[test]
    fn page_and_rows() {
        let q = query("page=3&rows=25");
        assert_eq!((q.page, q.rows, q.offset()), (3, 25, 50));
        assert_eq!(query("rows=007").rows, 7);
        assert_eq!(query("rows=1000").rows, 1000);
        assert_eq!(query("page=1000000000").page, MAX_PAGE);
        // The first occurrence wins.
        assert_eq!(query("page=2&page=5").page, 2);
    }

    #[test]
    fn refuses_zero_and_garbage() {
        for raw in [
            "page=0", "rows=0", "rows=000", "page=", "rows=-1", "page=abc", "rows=1.5", "page=+1",
            "rows= 1", "page=1e3",
        ] {
            let e = err(raw);
            assert_eq!(e.status, 400, "{raw}");
            assert_eq!(e.message, NOT_POSITIVE, "{raw}");
        }
    }

    #[test]
    fn caps_rows_and_page_without_overflow() {
        assert_eq!(
            err("rows=1001").message,
            "Query parameter 'rows' must not exceed 1000."
        );
        assert_eq!(
            err("rows=99999999999999999999999").message,
            "Query parameter 'rows' must not exceed 1000."
        );
        assert_eq!(
            err("page=1000000001").message,
            "Query parameter 'page' must not exceed 1000000000."
        );
        for raw in [
            "page=99999999999999999999",
            "page=18446744073709551615",
            "page=18446744073709551616",
        ] {
            assert_eq!(err(raw).status, 400, "{raw}");
        }
        // Leading zeros do not count against the length.
        assert_eq!(query(&format!("page={}2", "0".repeat(40))).page, 2);
        let q = query("page=1000000000&rows=1000");
        assert_eq!(q.offset(), 999_999_999_000);
        assert!(has_next_counted(&q, u64::MAX));
        assert!(!has_next_counted(&q, 999_999_999_000));
    }

    #[test]
    fn ordering_and_no_count() {
        let q = query("order_by=email&order_by_direction=DeSc&no_count=true");
        assert_eq!(q.order_by.as_deref(), Some("email"));
        assert!(q.descending && q.no_count);
        assert_eq!(q.fetch_rows(), 11);
        assert!(q.params.is_empty());
        assert!(query("order_by_direction=desc").descending);
        assert!(!query("order_by_direction=asc").descending);
        assert!(!query("order_by_direction=down").descending);
        assert!(query("no_count=1").no_count);
        for off in ["no_count=0", "no_count=yes", "no_count=TRUE", "no_count="] {
            assert!(!query(off).no_count, "{off}");
        }
        assert_eq!(query("order_by=").order_by, None);
    }

    #[test]
    fn filters_keep_order_and_decode() {
        let q = query("email=a%40b.c&page=2&handle=x+y&reseller_id=1&email=second&flag");
        assert_eq!(
            q.params,
            vec![
                ("email".to_owned(), "a@b.c".to_owned()),
                ("handle".to_owned(), "x y".to_owned()),
                ("reseller_id".to_owned(), "1".to_owned()),
                ("email".to_owned(), "second".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(q.param("email"), Some("a@b.c"));
        assert_eq!(q.param("flag"), Some(""));
        assert_eq!(q.param("missing"), None);
        assert_eq!(q.param("page"), None);
        assert_eq!(query("na%6De=v").param("name"), Some("v"));
    }

    #[test]
    fn nav_echoes_the_query() {
        let q = query("page=1&rows=10");
        let n = nav("customercontacts", &q, false);
        assert_eq!(n.self_href, "/api/customercontacts/?page=1&rows=10");
        assert_eq!((n.next, n.prev), (None, None));

        // page/rows are normalised to the front; the rest keep order and encoding.
        let q = query("email=a%40b.c&rows=5&order_by=id&page=3&no_count=1&handle=x+y");
        let n = nav("customers", &q, true);
        let rest = "&email=a%40b.c&order_by=id&no_count=1&handle=x+y";
        assert_eq!(n.self_href, format!("/api/customers/?page=3&rows=5{rest}"));
        assert_eq!(
            n.next.unwrap(),
            format!("/api/customers/?page=4&rows=5{rest}")
        );
        assert_eq!(
            n.prev.unwrap(),
            format!("/api/customers/?page=2&rows=5{rest}")
        );

        // Defaults are spelled out.
        let n = nav("domains", &parse(None).unwrap(), false);
        assert_eq!(n.self_href, "/api/domains/?page=1&rows=10");
    }

    #[test]
    fn nav_makes_raw_segments_safe() {
        let q = query("name=a\"b<c>d%20e&x=\u{e9}");
        let n = nav("r", &q, false);
        assert_eq!(
            n.self_href,
            "/api/r/?page=1&rows=10&name=a%22b%3Cc%3Ed%20e&x=%C3%A9"
        );
        assert_eq!(q.param("name"), Some("a\"b<c>d e"));
        assert_eq!(q.param("x"), Some("\u{e9}"));
    }

    #[test]
    fn next_page_rules() {
        let q = query("page=2&rows=10");
        assert!(!has_next_counted(&q, 20));
        assert!(has_next_counted(&q, 21));
        assert!(!has_next_counted(&q, 0));
        let q1 = query("rows=3");
        assert!(has_next_counted(&q1, 4));
        assert!(!has_next_counted(&q1, 3));

        let q = query("no_count=1&rows=3");
        assert!(!has_next_uncounted(&q, 3));
        assert!(has_next_uncounted(&q, 4));
        assert!(!has_next_uncounted(&q, 0));
    }
}
