//! Audit events: stable numeric codes that never change meaning, and the one function that writes
//! an audit row inside the caller's transaction.

use super::actor::Actor;
use crate::db::{self, WriteTx};

/// Stable event codes. Append new codes; never renumber or reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum Event {
    Bootstrap = 1000,
    AccountCreated = 1100,
    AccountUpdated = 1101,
    AccountDeleted = 1102,
    AccountBalanceChanged = 1103,
    AccountRead = 1104,
    CustomerCreated = 1200,
    CustomerUpdated = 1201,
    CustomerDeleted = 1202,
    CustomerRead = 1204,
    AuthRuleCreated = 1300,
    AuthRuleUpdated = 1301,
    AuthRuleDeleted = 1302,
    AuthRuleRead = 1304,
    TrustedHostAdded = 1400,
    TrustedHostRemoved = 1401,
    AuditRead = 1500,
    ContactCreated = 1600,
    ContactUpdated = 1601,
    ContactDeleted = 1602,
    ContactRead = 1604,
    DomainCreated = 1700,
    DomainDeleted = 1702,
    DomainRead = 1704,
    BillingProfileCreated = 1800,
    BillingProfileUpdated = 1801,
    BillingProfileDeleted = 1802,
    BillingProfileRead = 1804,
    LoginCreated = 1900,
    LoginUpdated = 1901,
    LoginDeleted = 1902,
    LoginRead = 1904,
    ClientCertIssued = 1950,
    ForwardingChanged = 2100,
    ForwardingRead = 2104,
    PreferencesChanged = 2200,
    PreferencesRead = 2204,
    CdrsImported = 2300,
    RegistrationsPushed = 2301,
    CallHistoryRead = 2304,
    VouchersCreated = 2400,
    VoucherRedeemed = 2401,
    VouchersRead = 2404,
    /// A refused address-book search (successful searches are reads and write no row).
    AddressBookSearched = 2604,
    JournalEntriesPut = 2700,
    JournalEntriesDeleted = 2702,
    /// The oldest entries of a full journal, dropped to make room.
    JournalEntriesDropped = 2703,
    JournalRead = 2704,
    /// sipXconfig SOAP: `addUser`, `manageUser`, and reads of users and the system domain.
    SipxUserCreated = 3200,
    SipxUsersManaged = 3201,
    SipxUsersRead = 3204,
    PhoneCreated = 3210,
    PhonesManaged = 3211,
    PhonesRead = 3214,
    CallGroupCreated = 3220,
    CallGroupsManaged = 3221,
    CallGroupsRead = 3224,
    ParkOrbitCreated = 3230,
    ParkOrbitsRead = 3234,
    PermissionCreated = 3240,
    PermissionsManaged = 3241,
    PermissionsRead = 3244,
    /// sipXconfig REST: a subscriber's private user key made.
    PrivateKeyIssued = 3100,
    ContactInformationChanged = 3101,
    ContactInformationRead = 3104,
    PhonebookImported = 3110,
    PhonebookEntryCreated = 3111,
    PhonebookEntryUpdated = 3112,
    PhonebookEntryDeleted = 3113,
    PhonebookRead = 3114,
    ConferenceChanged = 3120,
    ConferenceRead = 3124,
    ClickToCallRequested = 3130,
    ClickToCallFinished = 3131,
    ClickToCallRead = 3134,
    VoicemailPinChanged = 3140,
    PortalPinChanged = 3141,
    LoginDetailsRead = 3144,
    /// The operator put a backup in place of the database (`switchyard restore`).
    DatabaseRestored = 8000,
    AdminSignedIn = 2000,
    AdminSignedOut = 2001,
    AuthFailed = 9000,
    ApiRefused = 9001,
    /// An address reached the failed-authentication limit of a login path and is refused
    /// every credential until its window ends (written once per window).
    AddressThrottled = 9100,
}

impl Event {
    pub fn code(self) -> i64 {
        self as i64
    }

    /// Whether a change of this kind can change a login's credentials or API gates, so cached
    /// logins must be read again. A new event that touches logins must be listed here.
    pub fn touches_logins(self) -> bool {
        matches!(
            self,
            Self::Bootstrap
                | Self::CustomerCreated
                | Self::CustomerUpdated
                | Self::CustomerDeleted
                | Self::LoginCreated
                | Self::LoginUpdated
                | Self::LoginDeleted
                | Self::ClientCertIssued
                | Self::DatabaseRestored
        )
    }

    /// Whether a read-only login may make a change of this kind: only fetching a client
    /// certificate for itself (C5 lets read-only admins `POST /api/admincerts/`).
    pub fn allowed_read_only(self) -> bool {
        matches!(self, Self::ClientCertIssued)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Refused,
    FailedAuth,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::FailedAuth => "failed_auth",
        }
    }
}

/// One row of the audit log as read back.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub at_millis: i64,
    pub event: i64,
    pub outcome: String,
    pub principal: String,
    pub auth_method: String,
    pub peer_ip: Option<String>,
    pub user_ip: Option<String>,
    pub user_agent: Option<String>,
    pub action_by: Option<String>,
    pub dialect: String,
    pub method: String,
    pub target: String,
    pub detail: String,
}

/// Filters for reading the log, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub principal: Option<String>,
    pub method: Option<String>,
    pub since_millis: Option<i64>,
    pub until_millis: Option<i64>,
    /// Only rows with an id below this (for paging backwards).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// What one audit row says besides who and where.
pub struct Entry<'a> {
    pub event: Event,
    pub outcome: Outcome,
    pub target: &'a str,
    pub detail: &'a str,
}

/// Appends one audit row inside `tx`, the same transaction as the change it describes.
pub fn record(
    tx: &WriteTx<'_>,
    actor: &Actor,
    at_millis: i64,
    entry: &Entry<'_>,
) -> db::DbResult<()> {
    let user_ip = actor
        .user_ip
        .clone()
        .or_else(|| actor.peer_ip.map(|ip| ip.to_string()));
    let action_by = actor
        .action_by
        .clone()
        .or_else(|| Some(actor.principal.audit_name()));
    db::audit::insert(
        tx,
        &db::audit::NewAuditRow {
            at: at_millis,
            event: entry.event.code(),
            outcome: entry.outcome.as_str(),
            principal: actor.principal.audit_name(),
            login_id: actor.principal.login_id(),
            auth_method: actor.auth_method,
            peer_ip: actor.peer_ip.map(|ip| ip.to_string()),
            user_ip,
            user_agent: actor.user_agent.clone(),
            action_by,
            dialect: actor.dialect,
            method: &actor.method,
            target: entry.target,
            detail: entry.detail,
        },
    )
}
