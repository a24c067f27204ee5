//! Core behaviour tested in-process against a real SQLite file.

use std::sync::Arc;

use super::actor::{Actor, Principal};
use super::attrs::{Field, Fields};
use super::audit::AuditFilter;
use super::{Core, CoreError};
use crate::auth::digest::{Algorithm, ha1};
use crate::clock::ManualClock;
use crate::db::Db;

async fn core() -> (Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db"), 4).unwrap();
    let core = Core::new(
        db,
        Arc::new(ManualClock::new(1_700_000_000_000)),
        "switchyard".into(),
    );
    core.bootstrap(Some("rootpw".into())).await.unwrap();
    (core, dir)
}

fn trusted() -> Actor {
    let mut actor = Actor::operator("test");
    actor.principal = Principal::Trusted;
    actor
}

/// A complete set of account fields, for tests anywhere in the crate.
pub(crate) fn account(name: &str) -> Fields {
    let s = |v: &str| Field::Str(v.into());
    [
        ("username", s(name)),
        ("web_password", s("w")),
        ("authname", s(name)),
        ("voip_password", s("v")),
        ("translation_rule", s("")),
        ("cli_translation_rule", s("")),
        ("cpe_number", s("")),
        ("vm_password", s("1")),
        ("i_lang", s("en")),
        ("payment_currency", s("USD")),
        ("max_sessions", Field::Int(-1)),
        ("max_credit_time", Field::Int(-1)),
        ("i_billing_plan", Field::Int(1)),
        ("i_time_zone", Field::Int(1)),
        ("vm_enabled", Field::Int(0)),
        ("blocked", Field::Bool(false)),
        ("payment_method", Field::Int(1)),
        ("i_export_type", Field::Int(1)),
        ("credit_limit", Field::Double(0.0)),
        ("balance", Field::Int(0)),
        ("i_routing_group", Field::Int(1)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn login_actor(core: &Core, login: &str) -> Actor {
    let found = core.find_api_login(login).await.unwrap().unwrap();
    let principal = Principal::Login(found.pass_gates().unwrap());
    Actor {
        principal,
        ..Actor::operator("test")
    }
}

#[tokio::test]
async fn concurrent_creates_commit_together_with_one_audit_row_each() {
    let (core, _dir) = core().await;
    let actor = trusted();
    let creates = (0..200).map(|i| {
        let (core, actor) = (core.clone(), actor.clone());
        tokio::spawn(async move {
            core.create_account(&actor, Some(1), account(&format!("u{i}")))
                .await
        })
    });
    let mut ids = Vec::new();
    for handle in creates {
        ids.push(handle.await.unwrap().unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    let filter = AuditFilter {
        method: None,
        limit: 1000,
        ..AuditFilter::default()
    };
    let rows = core.audit_log(&actor, filter).await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.event == 1100).count(), 200);
}

#[tokio::test]
async fn root_password_is_kept_as_digests_only() {
    let (core, _dir) = core().await;
    let root = core.find_api_login("root").await.unwrap().unwrap();
    let (md5, sha) = root.ha1("switchyard").unwrap();
    assert_eq!(md5, ha1(Algorithm::Md5, "root", "switchyard", "rootpw"));
    assert_eq!(sha, ha1(Algorithm::Sha256, "root", "switchyard", "rootpw"));
    assert!(root.ha1("other-realm").is_none());
}

#[tokio::test]
async fn gates_and_scope() {
    let (core, _dir) = core().await;
    let root = login_actor(&core, "root").await;
    let new_customer = |name: &str, extra: &[(&str, Field)]| {
        let mut f: Fields = [
            ("name".to_string(), Field::Str(name.into())),
            ("web_password".to_string(), Field::Str("pw".into())),
            ("api_password".to_string(), Field::Str("api".into())),
            ("i_tariff".to_string(), Field::Null),
        ]
        .into_iter()
        .collect();
        f.extend(extra.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
        f
    };
    let a = core
        .create_customer(&root, None, new_customer("A", &[]))
        .await
        .unwrap();
    // Both switches off by default.
    let gate = core
        .find_api_login("A")
        .await
        .unwrap()
        .unwrap()
        .pass_gates()
        .unwrap_err();
    assert!(gate.contains("Allow API Calls"), "{gate}");
    let on = |k: &str| {
        [(k.to_string(), Field::Int(1))]
            .into_iter()
            .collect::<Fields>()
    };
    core.update_customer(&root, a, on("api_access"))
        .await
        .unwrap();
    let gate = core
        .find_api_login("A")
        .await
        .unwrap()
        .unwrap()
        .pass_gates()
        .unwrap_err();
    assert!(gate.contains("API permission box"), "{gate}");
    core.update_customer(&root, a, on("api_permission"))
        .await
        .unwrap();
    let a_actor = login_actor(&core, "A").await;

    // A may not tick its own box, nor raise its own limits.
    let err = core
        .update_customer(&a_actor, a, on("api_permission"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err}");
    let err = core
        .update_customer(&a_actor, a, on("customers_mgmt"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err}");

    // A's sub-customer B and B's account are in A's scope; root's account is not.
    let b = core
        .create_customer(
            &a_actor,
            None,
            new_customer("B", &[("api_access", Field::Int(1))]),
        )
        .await
        .unwrap();
    let mut b_account = account("b-acct");
    b_account.remove("i_routing_group");
    let b_acct = core
        .create_account(&a_actor, Some(b), b_account)
        .await
        .unwrap();
    let root_acct = core
        .create_account(&root, None, account("root-acct"))
        .await
        .unwrap();
    assert!(
        core.get_account(&a_actor, super::accounts::AccountKey::Id(b_acct))
            .await
            .is_ok()
    );
    let err = core
        .get_account(&a_actor, super::accounts::AccountKey::Id(root_acct))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::OutOfScope(_)));
    assert_eq!(
        err.to_string(),
        format!("account {root_acct} not found"),
        "indistinguishable"
    );
    let err = core
        .list_accounts(&a_actor, Some(1), None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::OutOfScope(_)));

    // B's login is gated by A's API permission box for it.
    assert!(
        core.find_api_login("B")
            .await
            .unwrap()
            .unwrap()
            .pass_gates()
            .is_err()
    );
    core.update_customer(&a_actor, b, on("api_permission"))
        .await
        .unwrap();
    let b_actor = login_actor(&core, "B").await;
    let err = core
        .get_customer(&b_actor, super::customers::CustomerKey::Id(a))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::OutOfScope(_)));
    // B cannot delete itself; A cannot delete B while B has an account.
    assert!(matches!(
        core.delete_customer(&b_actor, b).await.unwrap_err(),
        CoreError::Forbidden(_)
    ));
    assert!(matches!(
        core.delete_customer(&a_actor, b).await.unwrap_err(),
        CoreError::Conflict(_)
    ));
    core.delete_account(&a_actor, b_acct).await.unwrap();
    core.delete_customer(&a_actor, b).await.unwrap();
}

#[tokio::test]
async fn account_management_bits_are_enforced() {
    let (core, _dir) = core().await;
    let root = login_actor(&core, "root").await;
    let fields: Fields = [
        ("name", Field::Str("Limited".into())),
        ("web_password", Field::Str("pw".into())),
        ("api_password", Field::Str("api".into())),
        ("i_tariff", Field::Null),
        ("api_access", Field::Bool(true)),
        ("api_permission", Field::Bool(true)),
        ("accounts_mgmt", Field::Int(1)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    core.create_customer(&root, None, fields).await.unwrap();
    let limited = login_actor(&core, "Limited").await;
    let mut a = account("l1");
    a.remove("i_routing_group");
    let id = core.create_account(&limited, None, a).await.unwrap();
    let err = core.delete_account(&limited, id).await.unwrap_err();
    assert!(err.to_string().contains("accounts_mgmt"), "{err}");
}

#[tokio::test]
async fn a_changed_api_password_is_seen_at_once() {
    let (core, _dir) = core().await;
    let root = login_actor(&core, "root").await;
    assert!(
        core.find_api_login("root").await.unwrap().is_some(),
        "now cached"
    );
    let change: Fields = [("api_password".to_string(), Field::Str("new-pw".into()))]
        .into_iter()
        .collect();
    core.update_customer(&root, 1, change).await.unwrap();
    let root = core.find_api_login("root").await.unwrap().unwrap();
    let (md5, _) = root.ha1("switchyard").unwrap();
    assert_eq!(md5, ha1(Algorithm::Md5, "root", "switchyard", "new-pw"));
}

#[tokio::test]
async fn client_certificates_map_a_serial_to_the_login_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let db = Db::open(&dir.path().join("t.db"), 2).unwrap();
    let core = Core::new(db, Arc::new(clock.clone()), "switchyard".into());
    core.bootstrap(Some("rootpw".into())).await.unwrap();
    let root = login_actor(&core, "root").await;
    let day = 86_400_000;
    let not_after = core.now() + day;

    core.record_client_cert(&root, "0a1b2c", not_after)
        .await
        .unwrap();
    let found = core.find_login_by_cert_serial("0a1b2c").await.unwrap();
    assert_eq!(found.unwrap().login(), "root");
    assert!(
        core.find_login_by_cert_serial("0a1b2d")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        core.find_login_by_cert_serial("not hex")
            .await
            .unwrap()
            .is_none()
    );

    // Audited with the serial, nothing else.
    let rows = core
        .audit_log(
            &root,
            AuditFilter {
                limit: 5,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    let row = rows.iter().find(|r| r.event == 1950).unwrap();
    assert_eq!(
        (row.outcome.as_str(), row.principal.as_str()),
        ("ok", "root")
    );
    assert!(
        row.detail.contains("0a1b2c") && !row.detail.contains("KEY"),
        "{}",
        row.detail
    );

    // A serial is recorded once; bad input is refused.
    let err = core
        .record_client_cert(&root, "0a1b2c", not_after)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Duplicate(_)), "{err:?}");
    for (serial, until) in [("0A1B", not_after), ("", not_after), ("0a1c", core.now())] {
        let err = core
            .record_client_cert(&root, serial, until)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CoreError::Invalid { .. }),
            "{serial}: {err:?}"
        );
    }

    // Only a login gets a certificate of its own; the operator names one.
    for actor in [trusted(), Actor::operator("test")] {
        let err = core
            .record_client_cert(&actor, "0b", not_after)
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    }
    let err = core
        .record_client_cert_for(&trusted(), "root", "0b", not_after)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Forbidden(_)), "{err:?}");
    let err = core
        .record_client_cert_for(&Actor::operator("test"), "nobody", "0b", not_after)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound(_)), "{err:?}");
    core.record_client_cert_for(&Actor::operator("test"), "root", "0b", not_after)
        .await
        .unwrap();
    assert_eq!(
        core.find_login_by_cert_serial("0b")
            .await
            .unwrap()
            .unwrap()
            .login(),
        "root"
    );

    // Expired certificates no longer authenticate, cached or not.
    clock.advance(std::time::Duration::from_millis(
        u64::try_from(day).unwrap(),
    ));
    assert!(
        core.find_login_by_cert_serial("0a1b2c")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        core.find_login_by_cert_serial("0b")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_read_only_login_may_fetch_a_certificate_but_not_write() {
    let (core, _dir) = core().await;
    let mut actor = login_actor(&core, "root").await;
    if let Principal::Login(l) = &mut actor.principal {
        l.read_only = true;
    }
    core.record_client_cert(&actor, "7f", core.now() + 1000)
        .await
        .unwrap();
    let customer: Fields = [
        ("name".to_string(), Field::Str("RO".into())),
        ("web_password".to_string(), Field::Str("pw".into())),
        ("i_tariff".to_string(), Field::Null),
    ]
    .into_iter()
    .collect();
    let err = core
        .create_customer(&actor, None, customer)
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::ReadOnly), "{err:?}");
}

#[tokio::test]
async fn a_subscriber_acting_on_itself_reaches_its_own_forwarding_and_no_other() {
    use super::forwarding::{Destination, ForwardRule};

    let (core, _dir) = core().await;
    let op = Actor::operator("test");
    let own = core
        .create_account(&op, Some(1), account("own"))
        .await
        .unwrap();
    let other = core
        .create_account(&op, Some(1), account("other"))
        .await
        .unwrap();
    let me = subscriber_actor(own);
    let rule = ForwardRule {
        destinations: vec![Destination {
            destination: "sip:bob@example.org".into(),
            priority: 1,
            timeout: 30,
            announcement_id: None,
        }],
        times: None,
        sources: None,
        bnumbers: None,
    };
    let rules = [("cfu".to_string(), rule)].into_iter().collect();
    core.set_forwarding(&me, own, rules, None).await.unwrap();
    let read = core.get_forwarding(&me, own).await.unwrap();
    assert_eq!(
        read.rules["cfu"].destinations[0].destination,
        "sip:bob@example.org"
    );
    assert!(matches!(
        core.get_forwarding(&me, other).await,
        Err(CoreError::OutOfScope(_))
    ));
    assert!(matches!(
        core.set_forwarding(&me, other, std::collections::BTreeMap::new(), None)
            .await,
        Err(CoreError::OutOfScope(_))
    ));
    assert!(core.get_preferences(&me, own).await.is_ok());
    assert!(matches!(
        core.get_preferences(&me, other).await,
        Err(CoreError::OutOfScope(_))
    ));
}

/// An actor that is subscriber `id` acting on itself.
fn subscriber_actor(id: i64) -> Actor {
    use super::actor::{LoginPrincipal, Scope};
    let mut me = Actor::operator("test");
    me.principal = Principal::Login(LoginPrincipal {
        login_id: None,
        login: format!("s{id}"),
        scope: Scope::Subscriber { id, customer_id: 1 },
        accounts_mgmt: 0,
        customers_mgmt: 0,
        read_only: false,
        is_reseller: false,
    });
    me
}

#[tokio::test]
async fn a_journal_replicates_between_devices_and_keeps_to_its_capacity() {
    use super::journal::{JournalPut, JournalQuery};

    let (core, _dir) = core().await;
    let op = Actor::operator("test");
    let own = core
        .create_account(&op, Some(1), account("j1"))
        .await
        .unwrap();
    let other = core
        .create_account(&op, Some(1), account("j2"))
        .await
        .unwrap();
    let me = subscriber_actor(own);
    let add = |id: &str, data: &str| JournalPut::Add {
        client_id: id.into(),
        data: data.into(),
    };
    let put = core
        .put_journal_entries(
            &me,
            own,
            "laptop".into(),
            vec![add("m1", "a=="), add("m2", "b\u{e9}\n")],
        )
        .await
        .unwrap();
    assert_eq!(put.len(), 2);
    let (j1, j2) = (put[0].journal_id.unwrap(), put[1].journal_id.unwrap());
    core.put_journal_entries(&me, own, "phone".into(), vec![add("m3", "c")])
        .await
        .unwrap();

    let from_phone = core
        .get_journal_entries(
            &me,
            own,
            JournalQuery {
                except_uuid: Some("phone".into()),
                summary: true,
                ..JournalQuery::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<i64> = from_phone.entries.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        [j1, j2],
        "the asking device's own entries are left out"
    );
    assert_eq!(from_phone.entries[1].data, "b\u{e9}\n", "data kept exactly");
    assert_eq!(
        from_phone.summary.unwrap().len(),
        3,
        "the summary lists every device's"
    );
    let after = core
        .get_journal_entries(
            &me,
            own,
            JournalQuery {
                after_id: Some(j1),
                limit: Some(1),
                ..JournalQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.entries.len(), 1);
    assert_eq!(after.entries[0].id, j2);

    // Removing by the device's id, and deleting by journal id; another's journal is out of reach.
    let removed = core
        .put_journal_entries(
            &me,
            own,
            "laptop".into(),
            vec![JournalPut::Remove {
                client_id: "m1".into(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(removed[0].journal_id, Some(j1));
    assert_eq!(
        core.delete_journal_entries(&me, own, vec![j2, 999])
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        core.get_journal_entries(&me, other, JournalQuery::default())
            .await,
        Err(CoreError::OutOfScope(_))
    ));
    assert!(matches!(
        core.put_journal_entries(&me, other, "x".into(), vec![add("z", "z")])
            .await,
        Err(CoreError::OutOfScope(_))
    ));

    // A full journal drops its oldest entries, and says so in the audit log.
    core.set_journal_capacity(2);
    core.put_journal_entries(
        &me,
        own,
        "laptop".into(),
        vec![add("m4", "d"), add("m5", "e")],
    )
    .await
    .unwrap();
    let left = core
        .get_journal_entries(&me, own, JournalQuery::default())
        .await
        .unwrap();
    let data: Vec<&str> = left.entries.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["d", "e"]);
    let rows = core
        .audit_log(
            &op,
            AuditFilter {
                limit: 50,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(
        rows.iter().any(|r| r.detail.contains("\"dropped\":1")),
        "{rows:?}"
    );
    assert!(
        core.put_journal_entries(&me, own, String::new(), vec![add("m6", "f")])
            .await
            .is_err()
    );
}
