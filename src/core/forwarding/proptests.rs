//! Property tests: any forwarding the core accepts reads back as written (destinations
//! completed), and a refused change leaves what was stored untouched.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use super::{Destination, ForwardRule, KINDS, PartySet, SPECIAL_DESTINATIONS, TimeEntry};
use crate::clock::ManualClock;
use crate::core::Core;
use crate::core::actor::{Actor, Principal};
use crate::core::attrs::{Field, Fields};
use crate::core::resources::Collection;
use crate::db::Db;

const DOMAIN: &str = "prop.example.com";

fn destination() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{3,12}",
        proptest::sample::select(SPECIAL_DESTINATIONS).prop_map(str::to_string),
        "[a-z]{1,8}@[a-z]{1,8}\\.example",
        "sip:[a-z0-9]{1,8}@[a-z]{1,8}\\.example",
    ]
}

fn time_entry() -> impl Strategy<Value = TimeEntry> {
    let part = |lo: u32, hi: u32| {
        prop_oneof![
            (lo..=hi).prop_map(|v| v.to_string()),
            (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        ]
    };
    (
        proptest::option::of(part(1, 12)),
        proptest::option::of(part(1, 7)),
        proptest::option::of(part(0, 23)),
        proptest::option::of(part(0, 59)),
    )
        .prop_map(|(month, wday, hour, minute)| {
            let parts = [
                ("month", month),
                ("wday", wday),
                ("hour", hour),
                ("minute", minute),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect();
            TimeEntry { parts }
        })
}

fn party_set() -> impl Strategy<Value = PartySet> {
    (
        proptest::collection::vec("[0-9*]{1,10}", 1..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(entries, whitelist, is_regex)| PartySet {
            entries,
            whitelist,
            is_regex,
        })
}

fn rule() -> impl Strategy<Value = ForwardRule> {
    (
        proptest::collection::vec((destination(), 0..=1000_i64, 1..=3600_i64), 1..6),
        proptest::option::of(proptest::collection::vec(time_entry(), 1..4)),
        proptest::option::of(party_set()),
        proptest::option::of(party_set()),
    )
        .prop_map(|(destinations, times, sources, bnumbers)| ForwardRule {
            destinations: destinations
                .into_iter()
                .map(|(destination, priority, timeout)| Destination {
                    destination,
                    priority,
                    timeout,
                    announcement_id: None,
                })
                .collect(),
            times,
            sources,
            bnumbers,
        })
}

fn rules() -> impl Strategy<Value = BTreeMap<String, ForwardRule>> {
    proptest::collection::btree_map(
        proptest::sample::select(KINDS.as_slice()).prop_map(str::to_string),
        rule(),
        0..KINDS.len(),
    )
}

/// What the core stores for a rule: destinations completed as `normalize_destination` does.
fn completed(mut rules: BTreeMap<String, ForwardRule>) -> BTreeMap<String, ForwardRule> {
    for rule in rules.values_mut() {
        for d in &mut rule.destinations {
            d.destination =
                super::normalize_destination(&d.destination, Some(DOMAIN), "d").unwrap();
        }
    }
    rules
}

fn fields(pairs: &[(&str, Field)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// A core with one subscriber in `DOMAIN`; returns the core, the subscriber and the actor.
async fn setup(dir: &tempfile::TempDir) -> (Core, i64, Actor) {
    let db = Db::open(&dir.path().join("p.db"), 2).unwrap();
    let core = Core::new(
        db,
        Arc::new(ManualClock::new(1_700_000_000_000)),
        "switchyard".into(),
    );
    core.bootstrap(Some("rootpw12".into())).await.unwrap();
    let mut actor = Actor::operator("proptest");
    actor.principal = Principal::Trusted;
    let s = |v: &str| Field::Str(v.into());
    let contact = core
        .create_record(
            &actor,
            Collection::CustomerContacts,
            fields(&[
                ("email", s("p@example.com")),
                ("reseller_id", Field::Int(1)),
            ]),
        )
        .await
        .unwrap();
    let customer = core
        .create_record(
            &actor,
            Collection::Customers,
            fields(&[
                ("contact_id", Field::Int(contact)),
                ("status", s("active")),
                ("type", s("pbxaccount")),
                ("billing_profile_id", Field::Int(1)),
            ]),
        )
        .await
        .unwrap();
    core.create_record(
        &actor,
        Collection::Domains,
        fields(&[("domain", s(DOMAIN)), ("reseller_id", Field::Int(1))]),
    )
    .await
    .unwrap();
    let subscriber = core
        .create_record(
            &actor,
            Collection::Subscribers,
            fields(&[
                ("customer_id", Field::Int(customer)),
                ("domain", s(DOMAIN)),
                ("username", s("prop")),
                ("password", s("pw")),
            ]),
        )
        .await
        .unwrap();
    (core, subscriber, actor)
}

#[test]
fn accepted_forwarding_reads_back_and_refused_changes_leave_it_alone() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (core, id, actor) = runtime.block_on(setup(&dir));
    let config = ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    };
    proptest!(config, |(written in rules(), broken_timeout in prop_oneof![Just(0_i64), 3601..100_000_i64])| {
        runtime.block_on(async {
            core.set_forwarding(&actor, id, written.clone(), None).await.unwrap();
            let stored = core.get_forwarding(&actor, id).await.unwrap();
            prop_assert_eq!(&stored.rules, &completed(written.clone()));

            // A refused change (a timeout out of range) writes nothing.
            let mut refused = written.clone();
            refused.insert(
                "cfu".into(),
                ForwardRule {
                    destinations: vec![Destination {
                        destination: "1234".into(),
                        priority: 1,
                        timeout: broken_timeout,
                        announcement_id: None,
                    }],
                    ..ForwardRule::default()
                },
            );
            prop_assert!(core.set_forwarding(&actor, id, refused, None).await.is_err());
            let after = core.get_forwarding(&actor, id).await.unwrap();
            prop_assert_eq!(after.rules, stored.rules);
            Ok(())
        })?;
    });
}
