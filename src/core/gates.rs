//! The API gates (design §2), decided in one place: [`crate::core::logins::ApiLogin::pass_gates`]
//! refuses an API call with the first closed gate, and the admin page shows every closed gate.

use crate::db::logins::ApiLoginRow;

/// A reason a login may not call the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedGate {
    /// The login's own Allow API Calls setting is off.
    AllowApiCalls,
    /// Below root: the parent customer has not ticked the login's API permission box.
    ApiPermission,
    /// The login itself is switched off (C5's `is_active`).
    Inactive,
    /// The login's customer is blocked.
    Blocked,
}

impl ClosedGate {
    /// The refusal as an API client reads it.
    pub fn reason(self, login: &str) -> String {
        match self {
            Self::AllowApiCalls => format!(
                "API access is off for '{login}': its Allow API Calls setting is not enabled"
            ),
            Self::ApiPermission => format!(
                "API access is off for '{login}': its parent customer has not ticked the API \
                 permission box"
            ),
            Self::Inactive => format!("login '{login}' is not active"),
            Self::Blocked => format!("customer of '{login}' is blocked"),
        }
    }

    /// A few words for a table cell.
    pub fn short(self) -> &'static str {
        match self {
            Self::AllowApiCalls => "Allow API Calls is off",
            Self::ApiPermission => "API box not ticked by its parent",
            Self::Inactive => "login is not active",
            Self::Blocked => "customer is blocked",
        }
    }
}

/// Every closed gate of a login, in the order the API reports them; empty when it may call.
pub fn closed_gates(row: &ApiLoginRow) -> Vec<ClosedGate> {
    let mut closed = Vec::new();
    if !row.allow_api_calls {
        closed.push(ClosedGate::AllowApiCalls);
    }
    if !row.is_root && !row.api_permission {
        closed.push(ClosedGate::ApiPermission);
    }
    if !row.is_active {
        closed.push(ClosedGate::Inactive);
    }
    if row.customer_blocked {
        closed.push(ClosedGate::Blocked);
    }
    closed
}
