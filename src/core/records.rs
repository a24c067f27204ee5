//! Paged, filtered, ordered listings of the model's rows, described once per kind of record: which
//! columns it shows, which filters and sort keys it takes, and which node of the customer tree
//! owns each row (that decides who may see it). The database builds the SQL from these static
//! descriptions; client input only ever reaches it as bound values.

use super::attrs::{AttrDef, Field};
use super::error::{CoreError, CoreResult};

/// How a filter compares a column with the value a client gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Equal; `$null` and `$not_null` test for null.
    Eq,
    /// SQL LIKE with `*` as the wildcard.
    Like,
    /// One of a comma-separated list.
    In,
    /// None of a comma-separated list.
    NotIn,
    /// A timestamp column after (`_gt`) or before (`_lt`) a date.
    After,
    Before,
}

/// A filter a listing accepts: the parameter's name, the column (an SQL expression over the
/// listing's table) and how they compare.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub param: &'static str,
    pub column: &'static str,
    pub how: Match,
}

/// The static description of one kind of record for listing and reading.
#[derive(Debug)]
pub struct Listing {
    pub table: &'static str,
    /// The columns shown, by output name; `column` is an SQL expression over `table`.
    pub columns: &'static [AttrDef],
    /// A condition every listed row meets (for example "not terminated").
    pub base: &'static str,
    /// An SQL expression giving the path of the tree node that owns the row.
    pub owner_path: &'static str,
    /// Sort keys a client may name, with their columns.
    pub sort: &'static [(&'static str, &'static str)],
    pub filters: &'static [Filter],
}

/// A list request, dialect-neutral.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub offset: i64,
    pub limit: i64,
    pub order_by: Option<String>,
    pub descending: bool,
    /// Whether to count all matching rows; without a count, `limit` should be one more than the
    /// page so the caller can tell whether another page follows.
    pub count: bool,
    /// Filters as the client named them; unknown names are ignored.
    pub filters: Vec<(String, String)>,
}

/// One condition of a list query, checked and typed.
#[derive(Debug, Clone)]
pub enum Condition {
    IsNull(&'static str, bool),
    Eq(&'static str, String),
    Like(&'static str, String),
    In(&'static str, Vec<String>, bool),
    Compare(&'static str, &'static str, i64),
}

/// One row: its id and its shown columns by output name.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub fields: Vec<(&'static str, Field)>,
}

impl Record {
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// A page of records and, when asked for, how many match in all.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<Record>,
    pub total: Option<i64>,
}

/// The most values an `In` filter takes.
const MAX_LIST_VALUES: usize = 64;

impl Listing {
    /// The checked conditions for the client's filters; unknown filters are ignored.
    pub fn conditions(&self, given: &[(String, String)]) -> CoreResult<Vec<Condition>> {
        let mut out = Vec::new();
        for (param, value) in given {
            let Some(filter) = self.filters.iter().find(|f| f.param == param) else {
                continue;
            };
            let column = filter.column;
            let condition = match (filter.how, value.as_str()) {
                (Match::Eq | Match::Like, "$null") => Condition::IsNull(column, true),
                (Match::Eq | Match::Like, "$not_null") => Condition::IsNull(column, false),
                (Match::Eq, v) => Condition::Eq(column, v.to_string()),
                (Match::Like, v) => Condition::Like(column, v.replace('*', "%")),
                (Match::In | Match::NotIn, v) => {
                    let items: Vec<String> = v.split(',').map(str::to_string).collect();
                    if items.len() > MAX_LIST_VALUES {
                        return Err(CoreError::invalid(
                            param,
                            format!("at most {MAX_LIST_VALUES} values"),
                        ));
                    }
                    Condition::In(column, items, filter.how == Match::In)
                }
                (Match::After | Match::Before, v) => {
                    let at = parse_timestamp(v).ok_or_else(|| {
                        CoreError::invalid(
                            param,
                            format!("'{v}' is not a date like 2026-11-23 or 2026-11-23 10:00:00"),
                        )
                    })?;
                    let op = if filter.how == Match::After { ">" } else { "<" };
                    Condition::Compare(column, op, at)
                }
            };
            out.push(condition);
        }
        Ok(out)
    }

    /// The column to order by: a known sort key, else the id.
    pub fn order_column(&self, order_by: Option<&str>) -> &'static str {
        order_by
            .and_then(|name| self.sort.iter().find(|(n, _)| *n == name))
            .map_or("id", |(_, column)| column)
    }
}

/// Reads `2026-11-23` or `2026-11-23 10:00:00` (UTC) as milliseconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    use time::macros::format_description;
    let text = text.trim();
    let full = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let day = format_description!("[year]-[month]-[day]");
    let at = time::PrimitiveDateTime::parse(text, full)
        .ok()
        .or_else(|| {
            time::Date::parse(text, day)
                .ok()
                .map(|d| d.with_time(time::Time::MIDNIGHT))
        })?;
    Some((at.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    static LISTING: Listing = Listing {
        table: "t",
        columns: &[],
        base: "1",
        owner_path: "'/1/'",
        sort: &[("name", "t.name")],
        filters: &[
            Filter {
                param: "email",
                column: "email",
                how: Match::Like,
            },
            Filter {
                param: "status",
                column: "status",
                how: Match::In,
            },
            Filter {
                param: "create_timestamp_gt",
                column: "created_on",
                how: Match::After,
            },
        ],
    };

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn filters_become_typed_conditions_and_unknown_ones_are_ignored() {
        let c = LISTING
            .conditions(&given(&[
                ("email", "*@example.com"),
                ("status", "active,locked"),
                ("nonsense", "x"),
                ("create_timestamp_gt", "2026-01-02"),
            ]))
            .expect("valid");
        assert_eq!(c.len(), 3);
        assert!(matches!(&c[0], Condition::Like("email", v) if v == "%@example.com"));
        assert!(matches!(&c[1], Condition::In("status", v, true) if v.len() == 2));
        assert!(matches!(&c[2], Condition::Compare("created_on", ">", _)));
    }

    #[test]
    fn null_tests_and_bad_dates() {
        let c = LISTING
            .conditions(&given(&[("email", "$null")]))
            .expect("valid");
        assert!(matches!(c[0], Condition::IsNull("email", true)));
        assert!(
            LISTING
                .conditions(&given(&[("create_timestamp_gt", "yesterday")]))
                .is_err()
        );
    }

    #[test]
    fn unknown_sort_keys_fall_back_to_the_id() {
        assert_eq!(LISTING.order_column(Some("name")), "t.name");
        assert_eq!(LISTING.order_column(Some("id; DROP TABLE t")), "id");
        assert_eq!(LISTING.order_column(None), "id");
    }
}
