//! The reseller-shaped collections of the model that the C5-style `/api/` serves: resellers, their
//! admin logins, contacts, customers (C5 contracts), domains, billing profiles and subscribers.
//! None is a copy: a subscriber is the same row as a Sippy account, a reseller or customer a node
//! of the one customer tree, a contact the same row Sippy's contact details use.

mod tables;
mod writes;

use serde_json::json;

use super::actor::Actor;
use super::attrs::{AttrDef, Fields};
use super::audit::Event;
use super::permissions::{self, Reach};
use super::records::{ListRequest, Listing, Page, Record};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::{self, Conn};

pub use tables::{CONTRACT_TYPES, CUSTOMER_STATUS, RESELLER_STATUS, SUBSCRIBER_STATUS};

/// A collection of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Resellers,
    Admins,
    SystemContacts,
    CustomerContacts,
    Customers,
    Domains,
    BillingProfiles,
    Subscribers,
}

/// The audit events of a collection's operations.
struct Events {
    create: Event,
    update: Event,
    delete: Event,
    read: Event,
}

impl Collection {
    pub const ALL: [Self; 8] = [
        Self::Resellers,
        Self::Admins,
        Self::SystemContacts,
        Self::CustomerContacts,
        Self::Customers,
        Self::Domains,
        Self::BillingProfiles,
        Self::Subscribers,
    ];

    pub fn listing(self) -> &'static Listing {
        match self {
            Self::Resellers => &tables::RESELLERS,
            Self::Admins => &tables::ADMINS,
            Self::SystemContacts => &tables::SYSTEM_CONTACTS,
            Self::CustomerContacts => &tables::CUSTOMER_CONTACTS,
            Self::Customers => &tables::CONTRACTS,
            Self::Domains => &tables::DOMAINS,
            Self::BillingProfiles => &tables::BILLING_PROFILES,
            Self::Subscribers => &tables::SUBSCRIBERS,
        }
    }

    /// The fields a client writes, with their types and whether create needs them.
    pub fn writable(self) -> &'static [AttrDef] {
        match self {
            Self::Resellers => tables::RESELLER_WRITE,
            Self::Admins => tables::ADMIN_WRITE,
            Self::SystemContacts | Self::CustomerContacts => tables::CONTACT_WRITE,
            Self::Customers => tables::CONTRACT_WRITE,
            Self::Domains => tables::DOMAIN_WRITE,
            Self::BillingProfiles => tables::BILLING_WRITE,
            Self::Subscribers => tables::SUBSCRIBER_WRITE,
        }
    }

    /// The singular noun used in messages and audit targets.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Resellers => "reseller",
            Self::Admins => "admin",
            Self::SystemContacts => "systemcontact",
            Self::CustomerContacts => "customercontact",
            Self::Customers => "customer",
            Self::Domains => "domain",
            Self::BillingProfiles => "billingprofile",
            Self::Subscribers => "subscriber",
        }
    }

    fn events(self) -> Events {
        let (create, update, delete, read) = match self {
            Self::Resellers | Self::Customers => (
                Event::CustomerCreated,
                Event::CustomerUpdated,
                Event::CustomerDeleted,
                Event::CustomerRead,
            ),
            Self::Admins => (
                Event::LoginCreated,
                Event::LoginUpdated,
                Event::LoginDeleted,
                Event::LoginRead,
            ),
            Self::SystemContacts | Self::CustomerContacts => (
                Event::ContactCreated,
                Event::ContactUpdated,
                Event::ContactDeleted,
                Event::ContactRead,
            ),
            Self::Domains => (
                Event::DomainCreated,
                Event::DomainCreated,
                Event::DomainDeleted,
                Event::DomainRead,
            ),
            Self::BillingProfiles => (
                Event::BillingProfileCreated,
                Event::BillingProfileUpdated,
                Event::BillingProfileDeleted,
                Event::BillingProfileRead,
            ),
            Self::Subscribers => (
                Event::AccountCreated,
                Event::AccountUpdated,
                Event::AccountDeleted,
                Event::AccountRead,
            ),
        };
        Events {
            create,
            update,
            delete,
            read,
        }
    }
}

/// Reads one record the principal may see; one it may not see is answered as not found.
fn visible(conn: &Conn<'_>, reach: &Reach, c: Collection, id: i64) -> CoreResult<Record> {
    let what = format!("{} {id}", c.noun());
    let (record, path) = db::records::get(conn, c.listing(), id)?
        .ok_or_else(|| CoreError::NotFound(what.clone()))?;
    if !reach.sees(&path) {
        return Err(CoreError::OutOfScope(what));
    }
    Ok(record)
}

/// Resellers do not see which reseller owns their own objects (C5 shows `reseller_id` to the
/// platform's admins only).
fn shown_to(reach: &Reach, c: Collection, mut record: Record) -> Record {
    let owned = matches!(
        c,
        Collection::CustomerContacts | Collection::Domains | Collection::BillingProfiles
    );
    if owned && *reach != Reach::All {
        record.fields.retain(|(name, _)| *name != "reseller_id");
    }
    record
}

/// The audit detail of a change: the collection and the fields given, secrets masked.
fn change_detail(c: Collection, given: &Fields) -> String {
    let fields = super::accounts::audit_detail(given, &[c.writable()]);
    json!({ "resource": c.noun(), "fields": fields }).to_string()
}

impl Core {
    /// One page of a collection, filtered and ordered as asked, limited to what the caller
    /// reaches.
    pub async fn list_records(
        &self,
        actor: &Actor,
        c: Collection,
        request: ListRequest,
    ) -> CoreResult<Page> {
        let conditions = match c.listing().conditions(&request.filters) {
            Ok(conditions) => conditions,
            Err(e) => return self.refuse(actor, c.events().read, e).await,
        };
        let acting = actor.clone();
        self.query(actor, c.events().read, move |conn| {
            let reach = permissions::reach(&acting.principal)?;
            let listing = c.listing();
            let order = listing.order_column(request.order_by.as_deref());
            let mut page = db::records::list(
                conn,
                listing,
                reach.scope(),
                &conditions,
                order,
                request.descending,
                (request.offset, request.limit, request.count),
            )?;
            page.records = page
                .records
                .into_iter()
                .map(|r| shown_to(&reach, c, r))
                .collect();
            Ok(page)
        })
        .await
    }

    pub async fn get_record(&self, actor: &Actor, c: Collection, id: i64) -> CoreResult<Record> {
        let acting = actor.clone();
        self.query(actor, c.events().read, move |conn| {
            let reach = permissions::reach(&acting.principal)?;
            visible(conn, &reach, c, id).map(|r| shown_to(&reach, c, r))
        })
        .await
    }

    /// Creates a record from the given fields; returns its id.
    pub async fn create_record(
        &self,
        actor: &Actor,
        c: Collection,
        given: Fields,
    ) -> CoreResult<i64> {
        let event = c.events().create;
        let prepared = match writes::prepare(c, &given, None, self.realm()).await {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, event, e).await,
        };
        let detail = change_detail(c, &given);
        self.mutate(actor, event, move |tx, actor, now| {
            let reach = permissions::reach(&actor.principal)?;
            let id = writes::create(tx, actor, &reach, c, prepared, now)?;
            Ok(Done {
                value: id,
                target: format!("{}:{id}", c.noun()),
                detail,
            })
        })
        .await
    }

    /// Replaces a record with the given whole representation (C5's PUT, and PATCH after the
    /// patch is applied). Write-only fields left out (passwords) keep their values.
    pub async fn replace_record(
        &self,
        actor: &Actor,
        c: Collection,
        id: i64,
        given: Fields,
    ) -> CoreResult<()> {
        let event = c.events().update;
        let prepared = match writes::prepare(c, &given, Some(id), self.realm()).await {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, event, e).await,
        };
        let detail = change_detail(c, &given);
        self.mutate(actor, event, move |tx, actor, now| {
            let reach = permissions::reach(&actor.principal)?;
            visible(tx, &reach, c, id)?;
            writes::replace(tx, actor, &reach, c, id, prepared, now)?;
            Ok(Done {
                value: (),
                target: format!("{}:{id}", c.noun()),
                detail,
            })
        })
        .await
    }

    /// Deletes or terminates a record, as the collection's life cycle says.
    pub async fn delete_record(&self, actor: &Actor, c: Collection, id: i64) -> CoreResult<()> {
        self.mutate(actor, c.events().delete, move |tx, actor, now| {
            let reach = permissions::reach(&actor.principal)?;
            visible(tx, &reach, c, id)?;
            writes::delete(tx, actor, &reach, c, id, now)?;
            Ok(Done {
                value: (),
                target: format!("{}:{id}", c.noun()),
                detail: json!({ "resource": c.noun() }).to_string(),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests;
