//! Reference tables (tariffs, billing plans, routing groups, time zones).

use super::{Conn, DbResult, fields};
use crate::core::attrs::RefTable;

fn table(t: RefTable) -> &'static str {
    match t {
        RefTable::BillingPlans => "billing_plans",
        RefTable::Tariffs => "tariffs",
        RefTable::RoutingGroups => "routing_groups",
        RefTable::TimeZones => "time_zones",
    }
}

pub fn exists(conn: &Conn<'_>, t: RefTable, id: i64) -> DbResult<bool> {
    fields::exists(conn, table(t), id)
}
