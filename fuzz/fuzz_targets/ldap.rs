//! LDAP PDUs: any bytes decode, through the listener's header check and ldap3_proto's codec with
//! its size and depth limits, to messages or a refusal; each message encodes to bytes that
//! decode to the same operation and encode to the same bytes again; a search's filter converts
//! to an address-book filter within its limits, or is refused.

use bytes::BytesMut;
use ldap3_proto::proto::{LdapBindCred, LdapFilter, LdapOp};
use switchyard::core::CoreError;
use switchyard::core::address_book::{Filter, MAX_FILTER_DEPTH, MAX_FILTER_NODES};
use switchyard::fuzzing::{ldap_decode, ldap_encode, ldap_filter};

/// Depth and node count of a converted filter, counted as the limits count them.
fn size(f: &Filter, depth: usize, nodes: &mut usize, deepest: &mut usize) {
    *nodes += 1;
    *deepest = (*deepest).max(depth);
    match f {
        Filter::And(fs) | Filter::Or(fs) => {
            for f in fs {
                size(f, depth + 1, nodes, deepest);
            }
        }
        Filter::Not(f) => size(f, depth + 1, nodes, deepest),
        _ => {}
    }
}

fn check_filter(filter: &LdapFilter) {
    match ldap_filter(filter) {
        Ok(converted) => {
            let (mut nodes, mut deepest) = (0, 0);
            size(&converted, 1, &mut nodes, &mut deepest);
            assert!(nodes <= MAX_FILTER_NODES && deepest <= MAX_FILTER_DEPTH);
        }
        Err(e) => assert!(matches!(e, CoreError::Invalid { .. }), "{e:?}"),
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut buf = BytesMut::from(data);
        let (messages, _refused) = ldap_decode(&mut buf);
        for msg in messages {
            match &msg.op {
                LdapOp::SearchRequest(search) => check_filter(&search.filter),
                // A SASL bind decodes to a placeholder that ldap3_proto cannot encode again;
                // the server answers it and never encodes a bind request itself.
                LdapOp::BindRequest(bind) if matches!(bind.cred, LdapBindCred::Unsupported) => {
                    continue;
                }
                _ => {}
            }
            // ldap3_proto truncates an over-long INTEGER (a message id, an abandon's id) to
            // i32 on decode, so the first encoding may differ from the input; from then on the
            // bytes must be a fixed point, and the operation the same. It also decodes message
            // and abandon ids below 0 (RFC 4511 allows 0..2^31-1) but encodes them as other
            // numbers.
            if msg.msgid < 0 || matches!(msg.op, LdapOp::AbandonRequest(id) if id < 0) {
                continue;
            }
            let encoded = ldap_encode(msg.clone())
                .unwrap_or_else(|e| panic!("decoded message does not encode: {e} {msg:?}"));
            let (again, refused) = ldap_decode(&mut encoded.clone());
            assert!(refused.is_none(), "{refused:?} {msg:?}");
            let [again] = again.as_slice() else {
                panic!("{} messages from one: {msg:?}", again.len());
            };
            assert_eq!(
                std::mem::discriminant(&again.op),
                std::mem::discriminant(&msg.op)
            );
            let re_encoded = ldap_encode(again.clone())
                .unwrap_or_else(|e| panic!("re-decoded message does not encode: {e} {again:?}"));
            assert_eq!(re_encoded, encoded, "{msg:?}");
        }
    });
}
