//! What the admin page reads: the customer tree below a login with each customer's API gates, one
//! customer with what the caller may change about it, and counts for the dashboard. Changes made
//! in the page go through the ordinary core methods (`update_customer`, `create_customer`, the
//! trusted host methods), so they are checked and audited exactly like API changes.

use super::actor::Actor;
use super::audit::Event;
use super::gates::{ClosedGate, closed_gates};
use super::permissions::{self, Op};
use super::{Core, CoreError, CoreResult};
use crate::db::{self, customer_tree::TreeRow};

/// One customer as the admin page shows it.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // the two API switches and their consequences
pub struct CustomerEntry {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub description: String,
    /// Levels below the top of the caller's tree (0 for the caller's own customer).
    pub depth: usize,
    pub web_login: Option<String>,
    /// The parent's API permission box for this customer.
    pub api_permission: bool,
    /// The customer's own Allow API Calls.
    pub allow_api_calls: bool,
    pub blocked: bool,
    pub is_root: bool,
    /// The API gates that are closed for this customer's login.
    pub closed_gates: Vec<ClosedGate>,
    /// Whether an API password is set for this server's realm (without one, Digest cannot
    /// succeed whatever the switches say).
    pub has_api_password: bool,
}

impl CustomerEntry {
    pub fn can_call_api(&self) -> bool {
        self.web_login.is_some() && self.closed_gates.is_empty() && self.has_api_password
    }

    /// Why this customer cannot call the API now, in full sentences; empty when it can.
    pub fn api_refusals(&self) -> Vec<String> {
        let Some(login) = &self.web_login else {
            return vec!["this customer has no login".into()];
        };
        let mut reasons: Vec<String> = self.closed_gates.iter().map(|g| g.reason(login)).collect();
        if !self.has_api_password {
            reasons.push(format!("'{login}' has no API password set"));
        }
        reasons
    }

    /// Why this customer cannot call the API now, in a few words each.
    pub fn api_refusals_short(&self) -> Vec<&'static str> {
        if self.web_login.is_none() {
            return vec!["no login"];
        }
        let mut reasons: Vec<&'static str> = self.closed_gates.iter().map(|g| g.short()).collect();
        if !self.has_api_password {
            reasons.push("no API password");
        }
        reasons
    }

    fn from_row(row: TreeRow, top_depth: usize, realm: &str) -> Self {
        let depth = path_depth(&row.path).saturating_sub(top_depth);
        let is_root = row.parent_id.is_none();
        let (web_login, api_permission, allow_api_calls, blocked, gates, has_api_password) =
            match &row.login {
                Some(login) => (
                    Some(login.login.clone()),
                    login.api_permission,
                    login.allow_api_calls,
                    login.customer_blocked,
                    closed_gates(login),
                    login.api_realm.as_deref() == Some(realm)
                        && login.ha1_md5.is_some()
                        && login.ha1_sha256.is_some(),
                ),
                None => (None, false, false, false, Vec::new(), false),
            };
        Self {
            id: row.id,
            parent_id: row.parent_id,
            name: row.name,
            description: row.description,
            depth,
            web_login,
            api_permission,
            allow_api_calls,
            blocked,
            is_root,
            closed_gates: gates,
            has_api_password,
        }
    }
}

/// How many levels deep a materialized path is: '/1/' is 1, '/1/5/' is 2.
fn path_depth(path: &str) -> usize {
    path.matches('/').count().saturating_sub(1)
}

/// One customer's page: the customer, its direct sub-customers, what the caller may change.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)]
pub struct CustomerDetail {
    pub customer: CustomerEntry,
    /// The parent, if the caller may see it: (id, name).
    pub parent: Option<(i64, String)>,
    pub children: Vec<CustomerEntry>,
    /// More direct sub-customers exist than `children` holds.
    pub more_children: bool,
    /// Only a login above the customer may tick its API permission box.
    pub may_set_api_permission: bool,
    /// The customer itself, or a login above it allowed to edit sub-customers.
    pub may_set_allow_api_calls: bool,
    pub may_add_sub_customer: bool,
}

/// Counts for the dashboard, within the caller's tree.
#[derive(Debug, Clone, Copy)]
pub struct Overview {
    pub customers: i64,
    pub accounts: i64,
}

/// How many sub-customers a customer's page lists.
const CHILDREN_SHOWN: i64 = 100;

impl Core {
    /// A page of the customer tree the caller sees (root: all of it), parents before their
    /// children. Returns the rows and whether more follow.
    pub async fn customer_tree(
        &self,
        actor: &Actor,
        offset: i64,
        limit: i64,
    ) -> CoreResult<(Vec<CustomerEntry>, bool)> {
        let (offset, limit) = match super::page(Some(offset), Some(limit)) {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, Event::CustomerRead, e).await,
        };
        let top = permissions::visible_root(&actor.principal)?;
        let realm = self.realm.clone();
        self.query(actor, Event::CustomerRead, move |conn| {
            let mut rows = db::customer_tree::subtree(conn, &top, offset, limit + 1)?;
            let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let top_depth = path_depth(&top);
            let entries = rows
                .into_iter()
                .map(|r| CustomerEntry::from_row(r, top_depth, &realm))
                .collect();
            Ok((entries, more))
        })
        .await
    }

    /// One customer in the caller's tree, with its direct sub-customers and what the caller may
    /// change. A customer outside the tree is answered as not found (and audited as refused).
    pub async fn customer_detail(&self, actor: &Actor, id: i64) -> CoreResult<CustomerDetail> {
        let top = permissions::visible_root(&actor.principal)?;
        let realm = self.realm.clone();
        let acting = actor.clone();
        self.query(actor, Event::CustomerRead, move |conn| {
            let what = || format!("customer {id}");
            let row =
                db::customer_tree::one(conn, id)?.ok_or_else(|| CoreError::NotFound(what()))?;
            let principal = &acting.principal;
            if !permissions::sees_customer(principal, &row.path) {
                return Err(CoreError::OutOfScope(what()));
            }
            let above = permissions::is_above(principal, &row.path);
            let may_edit_below = permissions::may_manage_customers(principal, Op::Edit).is_ok();
            let may_add = permissions::may_manage_customers(principal, Op::Add).is_ok();
            let parent = match row.parent_id {
                Some(pid) if above => db::customer_tree::name(conn, pid)?.map(|n| (pid, n)),
                _ => None,
            };
            let top_depth = path_depth(&top);
            let mut children: Vec<CustomerEntry> =
                db::customer_tree::children(conn, id, CHILDREN_SHOWN + 1)?
                    .into_iter()
                    .map(|c| CustomerEntry::from_row(c, top_depth, &realm))
                    .collect();
            let more_children = children.len() > usize::try_from(CHILDREN_SHOWN).unwrap_or(0);
            children.truncate(usize::try_from(CHILDREN_SHOWN).unwrap_or(0));
            let customer = CustomerEntry::from_row(row, top_depth, &realm);
            Ok(CustomerDetail {
                may_set_api_permission: above && may_edit_below && !customer.is_root,
                may_set_allow_api_calls: !above || may_edit_below,
                may_add_sub_customer: may_add,
                customer,
                parent,
                children,
                more_children,
            })
        })
        .await
    }

    /// How many customers and accounts the caller's tree holds.
    pub async fn overview(&self, actor: &Actor) -> CoreResult<Overview> {
        let top = permissions::visible_root(&actor.principal)?;
        self.query(actor, Event::CustomerRead, move |conn| {
            let (customers, accounts) = db::customer_tree::counts(conn, &top)?;
            Ok(Overview {
                customers,
                accounts,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::path_depth;

    #[test]
    fn depth_counts_levels() {
        assert_eq!(path_depth("/"), 0);
        assert_eq!(path_depth("/1/"), 1);
        assert_eq!(path_depth("/1/5/9/"), 3);
    }
}
