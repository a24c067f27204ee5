//! The reseller-shaped collections, tested in-process against a real SQLite file.

use std::sync::Arc;

use super::Collection;
use crate::clock::ManualClock;
use crate::core::actor::{Actor, Principal};
use crate::core::attrs::{Field, Fields};
use crate::core::records::ListRequest;
use crate::core::{Core, CoreError};
use crate::db::Db;

async fn core() -> (Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db"), 2).unwrap();
    let core = Core::new(
        db,
        Arc::new(ManualClock::new(1_700_000_000_000)),
        "switchyard".into(),
    );
    core.bootstrap(Some("rootpw12".into())).await.unwrap();
    (core, dir)
}

fn trusted() -> Actor {
    let mut actor = Actor::operator("test");
    actor.principal = Principal::Trusted;
    actor
}

fn fields(pairs: &[(&str, Field)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

fn s(v: &str) -> Field {
    Field::Str(v.into())
}

fn all() -> ListRequest {
    ListRequest {
        offset: 0,
        limit: 100,
        count: true,
        ..ListRequest::default()
    }
}

async fn reseller_login(core: &Core, name: &str) -> (i64, Actor) {
    let t = trusted();
    let reseller = core
        .create_record(
            &t,
            Collection::Resellers,
            fields(&[("name", s(name)), ("status", s("active"))]),
        )
        .await
        .unwrap();
    let admin = fields(&[
        ("login", s(&format!("{name}-admin"))),
        ("password", s("secret123")),
        ("reseller_id", Field::Int(reseller)),
    ]);
    core.create_record(&t, Collection::Admins, admin)
        .await
        .unwrap();
    let found = core
        .find_api_login(&format!("{name}-admin"))
        .await
        .unwrap()
        .unwrap();
    let actor = Actor {
        principal: Principal::Login(found.pass_gates().unwrap()),
        ..Actor::operator("test")
    };
    (reseller, actor)
}

#[tokio::test]
async fn a_new_database_has_reseller_1_a_system_contact_and_the_default_profile() {
    let (core, _dir) = core().await;
    let t = trusted();
    for (c, id) in [
        (Collection::Resellers, 1),
        (Collection::SystemContacts, 1),
        (Collection::BillingProfiles, 1),
    ] {
        let record = core.get_record(&t, c, id).await.unwrap();
        assert_eq!(record.id, 1, "{c:?}");
    }
    let profile = core
        .get_record(&t, Collection::BillingProfiles, 1)
        .await
        .unwrap();
    assert_eq!(profile.get("handle"), Some(&s("default")));
}

#[tokio::test]
async fn a_subscriber_is_a_sippy_account_with_numbers() {
    let (core, _dir) = core().await;
    let t = trusted();
    let contact = core
        .create_record(
            &t,
            Collection::CustomerContacts,
            fields(&[
                ("email", s("a@example.com")),
                ("reseller_id", Field::Int(1)),
            ]),
        )
        .await
        .unwrap();
    let customer = core
        .create_record(
            &t,
            Collection::Customers,
            fields(&[
                ("contact_id", Field::Int(contact)),
                ("status", s("active")),
                ("type", s("sipaccount")),
                ("billing_profile_id", Field::Int(1)),
            ]),
        )
        .await
        .unwrap();
    core.create_record(
        &t,
        Collection::Domains,
        fields(&[
            ("domain", s("voip.example.com")),
            ("reseller_id", Field::Int(1)),
        ]),
    )
    .await
    .unwrap();
    let number = serde_json::json!({"cc": 43, "ac": "1", "sn": "100"});
    let sub = fields(&[
        ("customer_id", Field::Int(customer)),
        ("domain", s("voip.example.com")),
        ("username", s("alice")),
        ("password", s("sip-secret")),
        ("primary_number", Field::Json(number.clone())),
    ]);
    let id = core
        .create_record(&t, Collection::Subscribers, sub.clone())
        .await
        .unwrap();
    let account = core
        .get_account(&t, crate::core::accounts::AccountKey::Id(id))
        .await
        .unwrap();
    assert_eq!(account.customer_id, customer);
    let record = core
        .get_record(&t, Collection::Subscribers, id)
        .await
        .unwrap();
    let Some(Field::Json(primary)) = record.get("primary_number") else {
        panic!("no primary number: {record:?}");
    };
    assert_eq!(primary["sn"], "100");

    let mut again = sub;
    again.insert("username".into(), s("bob"));
    let err = core
        .create_record(&t, Collection::Subscribers, again)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Unprocessable(m) if m == "Number '431100' already exists."),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_reseller_sees_only_its_own_objects_and_gets_its_own_id_forced() {
    let (core, _dir) = core().await;
    let (first, first_admin) = reseller_login(&core, "first").await;
    let (_, second_admin) = reseller_login(&core, "second").await;
    let contact = core
        .create_record(
            &first_admin,
            Collection::CustomerContacts,
            fields(&[
                ("email", s("x@example.com")),
                ("reseller_id", Field::Int(1)),
            ]),
        )
        .await
        .unwrap();
    let own = core
        .get_record(&first_admin, Collection::CustomerContacts, contact)
        .await
        .unwrap();
    assert_eq!(
        own.get("reseller_id"),
        None,
        "a reseller is not shown its own id"
    );
    let record = core
        .get_record(&trusted(), Collection::CustomerContacts, contact)
        .await
        .unwrap();
    assert_eq!(record.get("reseller_id"), Some(&Field::Int(first)));
    let err = core
        .get_record(&second_admin, Collection::CustomerContacts, contact)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::OutOfScope(_)), "{err:?}");
    let page = core
        .list_records(&second_admin, Collection::CustomerContacts, all())
        .await
        .unwrap();
    assert_eq!(page.total, Some(0));
    let err = core
        .create_record(
            &second_admin,
            Collection::Resellers,
            fields(&[("name", s("third")), ("status", s("active"))]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn a_contact_in_use_is_refused_and_a_read_only_login_cannot_write() {
    let (core, _dir) = core().await;
    let t = trusted();
    let contact = core
        .create_record(
            &t,
            Collection::CustomerContacts,
            fields(&[
                ("email", s("c@example.com")),
                ("reseller_id", Field::Int(1)),
            ]),
        )
        .await
        .unwrap();
    core.create_record(
        &t,
        Collection::Customers,
        fields(&[
            ("contact_id", Field::Int(contact)),
            ("status", s("active")),
            ("billing_profile_id", Field::Int(1)),
        ]),
    )
    .await
    .unwrap();
    let err = core
        .delete_record(&t, Collection::CustomerContacts, contact)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::InUse(_)), "{err:?}");

    core.create_record(
        &t,
        Collection::Admins,
        fields(&[
            ("login", s("viewer")),
            ("password", s("secret123")),
            ("reseller_id", Field::Int(1)),
            ("read_only", Field::Bool(true)),
        ]),
    )
    .await
    .unwrap();
    let found = core.find_api_login("viewer").await.unwrap().unwrap();
    let viewer = Actor {
        principal: Principal::Login(found.pass_gates().unwrap()),
        ..Actor::operator("test")
    };
    assert!(
        core.list_records(&viewer, Collection::Subscribers, all())
            .await
            .is_ok()
    );
    let err = core
        .delete_record(&viewer, Collection::CustomerContacts, contact)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::ReadOnly), "{err:?}");
}

#[tokio::test]
async fn overlapping_peak_times_are_refused() {
    let (core, _dir) = core().await;
    let peaks = serde_json::json!([
        {"weekday": 1, "start": "08:00:00", "stop": "12:00:00"},
        {"weekday": 1, "start": "11:00:00", "stop": "18:00:00"},
    ]);
    let err = core
        .create_record(
            &trusted(),
            Collection::BillingProfiles,
            fields(&[
                ("name", s("peak")),
                ("handle", s("peak")),
                ("reseller_id", Field::Int(1)),
                ("peaktime_weekdays", Field::Json(peaks)),
            ]),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("overlap"), "{err}");
}
