//! sipXconfig's call sequence (`my/forward`, `my/callfwd`) as a view of the core forwarding: the
//! rings are the destinations of the subscriber's `cft` rule, in order; a ring that rings "at the
//! same time" as the one before it shares its priority, one that rings "if no response" takes the
//! next; each ring's expiration is its destination's timeout; the sequence's `expiration` is the
//! `ringtimeout` preference; a trailing `voicebox` destination is `withVoicemail`. Rings switched
//! off do not ring, so they are no destinations: they are kept in `disabled_rings` at their place.

use std::collections::BTreeMap;

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::forwarding::{Destination, ForwardRule, Forwarding, normalize_destination};
use super::{Core, CoreError, CoreResult, Done, permissions};
use crate::db::{self, Conn};

/// The forwarding type a call sequence is.
const KIND: &str = "cft";
/// The destination that sends a call to the subscriber's mailbox.
const VOICEBOX: &str = "voicebox";
/// A ring's expiration when the client gives none (sipXconfig's default).
pub const DEFAULT_RING_EXPIRATION: i64 = 30;
/// The sequence's timer when the subscriber has no `ringtimeout` (sipXconfig's default).
pub const DEFAULT_EXPIRATION: i64 = 20;
/// The most rings one sequence holds.
pub const MAX_RINGS: usize = 50;

/// One ring of a call sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    /// As the subscriber wrote it: a number, `user@host` or a SIP URI.
    pub number: String,
    /// Seconds it rings.
    pub expiration: i64,
    /// Rings together with the ring before it ("At the same time") rather than after it ("If no
    /// response").
    pub simultaneous: bool,
    pub enabled: bool,
}

/// A subscriber's call sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSequence {
    pub rings: Vec<Ring>,
    /// Seconds the subscriber's own phones ring before the sequence starts.
    pub expiration: i64,
    /// Whether unanswered calls end in the mailbox (read only here).
    pub with_voicemail: bool,
}

/// A disabled ring as stored: its place in the whole list and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledRing {
    pub position: i64,
    pub ring: Ring,
}

/// The subscriber `id`, if the principal may act on it; its customer's path otherwise refused.
pub(crate) fn check_subscriber(conn: &Conn<'_>, actor: &Actor, id: i64) -> CoreResult<()> {
    let node = db::accounts::node_by_id(conn, id)?
        .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
    permissions::sees_subscriber(&actor.principal, id, &node.customer_path)
}

/// Builds the view from the stored forwarding and the disabled rings.
fn view(forwarding: &Forwarding, disabled: Vec<DisabledRing>) -> CallSequence {
    let mut destinations: &[Destination] = forwarding
        .rules
        .get(KIND)
        .map_or(&[], |r| r.destinations.as_slice());
    let with_voicemail = destinations
        .last()
        .is_some_and(|d| d.destination == VOICEBOX);
    if with_voicemail {
        destinations = &destinations[..destinations.len() - 1];
    }
    let mut rings: Vec<Ring> = Vec::with_capacity(destinations.len() + disabled.len());
    let mut previous: Option<i64> = None;
    for d in destinations {
        // The first ring shares the subscriber's own phones' turn when its priority is 0.
        let simultaneous = previous.map_or(d.priority == 0, |p| p == d.priority);
        previous = Some(d.priority);
        rings.push(Ring {
            number: forwarding.simple_destination(&d.destination),
            expiration: d.timeout,
            simultaneous,
            enabled: true,
        });
    }
    for d in disabled {
        let at = usize::try_from(d.position)
            .unwrap_or(usize::MAX)
            .min(rings.len());
        rings.insert(at, d.ring);
    }
    CallSequence {
        rings,
        expiration: forwarding.ringtimeout.unwrap_or(DEFAULT_EXPIRATION),
        with_voicemail,
    }
}

/// Checks the rings a client sent; numbers are completed with the subscriber's domain.
fn check_rings(rings: &[Ring], domain: Option<&str>) -> CoreResult<Vec<String>> {
    if rings.len() > MAX_RINGS {
        return Err(CoreError::invalid(
            "rings",
            format!("at most {MAX_RINGS} rings"),
        ));
    }
    rings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if !(1..=3600).contains(&r.expiration) {
                return Err(CoreError::invalid(
                    &format!("rings.{i}.expiration"),
                    format!("{} must be 1 to 3600 seconds", r.expiration),
                ));
            }
            normalize_destination(&r.number, domain, &format!("rings.{i}.number"))
        })
        .collect()
}

impl Core {
    pub async fn get_call_sequence(&self, actor: &Actor, id: i64) -> CoreResult<CallSequence> {
        let acting = actor.clone();
        self.query(actor, Event::ForwardingRead, move |conn| {
            check_subscriber(conn, &acting, id)?;
            let forwarding = super::forwarding::read_many(conn, &[id])?
                .pop()
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            let disabled = db::call_sequence::disabled_rings(conn, id)?;
            Ok(view(&forwarding, disabled))
        })
        .await
    }

    /// Replaces the rings of the subscriber's call sequence; `expiration` Some sets the timer.
    /// The cft rule's times and caller sets, and a trailing mailbox, are kept.
    pub async fn set_call_sequence(
        &self,
        actor: &Actor,
        id: i64,
        rings: Vec<Ring>,
        expiration: Option<i64>,
    ) -> CoreResult<()> {
        if let Some(t) = expiration.filter(|t| !(1..=3600).contains(t)) {
            let e = CoreError::invalid("expiration", format!("{t} must be 1 to 3600 seconds"));
            return self.refuse(actor, Event::ForwardingChanged, e).await;
        }
        self.mutate(actor, Event::ForwardingChanged, move |tx, actor, _| {
            check_subscriber(tx, actor, id)?;
            let forwarding = super::forwarding::read_many(tx, &[id])?
                .pop()
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            let numbers = check_rings(&rings, forwarding.domain.as_deref())?;
            let mut rules: BTreeMap<String, ForwardRule> = forwarding.rules;
            let mut rule = rules.remove(KIND).unwrap_or_default();
            let voicebox = rule
                .destinations
                .last()
                .filter(|d| d.destination == VOICEBOX)
                .cloned();
            rule.destinations.clear();
            let mut disabled = Vec::new();
            let mut priority = 0;
            for (position, (ring, destination)) in rings.iter().zip(numbers).enumerate() {
                if position == 0 || !ring.simultaneous {
                    priority += 1;
                }
                if position == 0 && ring.simultaneous {
                    priority = 0;
                }
                if ring.enabled {
                    rule.destinations.push(Destination {
                        destination,
                        priority,
                        timeout: ring.expiration,
                        announcement_id: None,
                    });
                } else {
                    disabled.push(DisabledRing {
                        position: i64::try_from(position).unwrap_or(i64::MAX),
                        ring: ring.clone(),
                    });
                }
            }
            let last_priority = rule.destinations.last().map_or(1, |d| d.priority + 1);
            if let Some(mut v) = voicebox {
                v.priority = last_priority.max(v.priority);
                rule.destinations.push(v);
            }
            let summary: Vec<&str> = rule
                .destinations
                .iter()
                .map(|d| d.destination.as_str())
                .collect();
            let detail = json!({
                "resource": "call-sequence",
                "cft": summary,
                "disabled": disabled.len(),
                "ringtimeout": expiration,
            })
            .to_string();
            if !rule.destinations.is_empty() {
                rules.insert(KIND.to_string(), rule);
            }
            db::forwarding::replace(tx, id, &rules)?;
            db::call_sequence::replace_disabled(tx, id, &disabled)?;
            if let Some(t) = expiration {
                db::preferences::replace(tx, id, &[("ringtimeout".into(), vec![json!(t)])], false)?;
            }
            Ok(Done {
                value: (),
                target: format!("subscriber:{id}"),
                detail,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(to: &str, priority: i64, timeout: i64) -> Destination {
        Destination {
            destination: to.into(),
            priority,
            timeout,
            announcement_id: None,
        }
    }

    #[test]
    fn priorities_become_ring_types_and_a_trailing_mailbox_is_with_voicemail() {
        let mut forwarding = Forwarding {
            domain: Some("d.example".into()),
            ringtimeout: Some(25),
            ..Forwarding::default()
        };
        forwarding.rules.insert(
            KIND.into(),
            ForwardRule {
                destinations: vec![
                    destination("sip:1001@d.example", 1, 20),
                    destination("sip:1002@d.example", 1, 30),
                    destination("sip:bob@other.example", 2, 40),
                    destination(VOICEBOX, 3, 300),
                ],
                ..ForwardRule::default()
            },
        );
        let disabled = vec![DisabledRing {
            position: 1,
            ring: Ring {
                number: "9".into(),
                expiration: 5,
                simultaneous: false,
                enabled: false,
            },
        }];
        let seq = view(&forwarding, disabled);
        assert!(seq.with_voicemail);
        assert_eq!(seq.expiration, 25);
        let summary: Vec<(&str, bool, bool)> = seq
            .rings
            .iter()
            .map(|r| (r.number.as_str(), r.simultaneous, r.enabled))
            .collect();
        assert_eq!(
            summary,
            [
                ("1001", false, true),
                ("9", false, false),
                ("1002", true, true),
                ("bob@other.example", false, true)
            ]
        );
    }

    #[test]
    fn no_rule_is_an_empty_sequence_with_the_default_timer() {
        let seq = view(&Forwarding::default(), Vec::new());
        assert_eq!(
            seq,
            CallSequence {
                rings: Vec::new(),
                expiration: DEFAULT_EXPIRATION,
                with_voicemail: false
            }
        );
    }

    #[test]
    fn rings_are_checked() {
        let ring = |number: &str, expiration| Ring {
            number: number.into(),
            expiration,
            simultaneous: false,
            enabled: true,
        };
        assert_eq!(
            check_rings(&[ring("1001", 30)], Some("d.example")).unwrap(),
            ["sip:1001@d.example"]
        );
        assert!(check_rings(&[ring("1001", 0)], None).is_err());
        assert!(check_rings(&[ring("not a number", 30)], None).is_err());
        assert!(check_rings(&vec![ring("1", 30); MAX_RINGS + 1], None).is_err());
    }
}
