//! SQL for contact details shared by customers and accounts.

use super::{Conn, DbResult, WriteTx, fields};
use crate::core::attrs::{CONTACT_ATTRS, Field};

pub fn insert(tx: &WriteTx<'_>, values: &[(&'static str, Field)]) -> DbResult<i64> {
    fields::insert(tx, "contacts", values)
}

pub fn update(tx: &WriteTx<'_>, id: i64, values: &[(&'static str, Field)]) -> DbResult<()> {
    fields::update(tx, "contacts", id, values)?;
    Ok(())
}

pub fn read(conn: &Conn<'_>, id: i64) -> DbResult<Vec<(&'static str, Field)>> {
    Ok(fields::read(conn, "contacts", id, CONTACT_ATTRS)?.unwrap_or_default())
}
