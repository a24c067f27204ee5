//! Prepaid vouchers and the balance a subscriber sees. An administrator (root's login or the
//! operator) creates vouchers; a subscriber redeems one once with its id and secret number, which
//! adds funds through the one balance history (`balance_transactions`). Only a SHA-256 of each
//! number is stored, and it is compared in constant time.

use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::actor::Actor;
use super::audit::Event;
use super::permissions;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

pub use db::vouchers::{BalanceEntry, VoucherRow as Voucher};

/// Digits in a voucher's secret number.
const NUMBER_DIGITS: usize = 16;
/// The most vouchers one call creates.
pub const MAX_CREATE: i64 = 1000;
/// The largest value of one voucher.
const MAX_VALUE: f64 = 1_000_000.0;

/// A voucher just created: the only time its number is shown.
#[derive(Debug, Clone)]
pub struct NewVoucher {
    pub id: i64,
    pub number: String,
    pub value: f64,
    pub currency: String,
}

/// A subscriber's balance as a prepaid user reads it: credit (positive = money to spend).
#[derive(Debug, Clone)]
pub struct PrepaidView {
    pub credit: f64,
    pub currency: String,
    /// Newest first: each change, what it did to the credit, and the credit after it.
    pub history: Vec<(BalanceEntry, f64, f64)>,
}

fn number_digest(number: &str) -> String {
    hex::encode(Sha256::digest(number.as_bytes()))
}

fn fresh_number() -> CoreResult<String> {
    let mut bytes = [0u8; NUMBER_DIGITS];
    getrandom::fill(&mut bytes)
        .map_err(|e| CoreError::invalid("number", format!("no randomness: {e}")))?;
    // 256 is not a multiple of 10; the bias (6 in 256 towards 0-5) costs far less than a bit.
    Ok(bytes.iter().map(|b| char::from(b'0' + b % 10)).collect())
}

fn may_manage_vouchers(actor: &Actor) -> CoreResult<()> {
    if permissions::is_root_equivalent(&actor.principal) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(
            "only the operator or root's login manages prepaid vouchers".into(),
        ))
    }
}

/// The credit change a balance transaction made: funds and credits add, debits take away.
fn credit_delta(entry: &BalanceEntry) -> f64 {
    if entry.kind == "debit" {
        -entry.amount
    } else {
        entry.amount
    }
}

impl Core {
    /// Creates `count` vouchers worth `value` each; returns them with their numbers.
    pub async fn create_vouchers(
        &self,
        actor: &Actor,
        count: i64,
        value: f64,
        currency: String,
    ) -> CoreResult<Vec<NewVoucher>> {
        let checked = may_manage_vouchers(actor).and_then(|()| {
            if !(1..=MAX_CREATE).contains(&count) {
                return Err(CoreError::invalid(
                    "count",
                    format!("must be 1 to {MAX_CREATE}"),
                ));
            }
            if !value.is_finite() || value <= 0.0 || value > MAX_VALUE {
                return Err(CoreError::invalid(
                    "value",
                    format!("must be above 0 and at most {MAX_VALUE}"),
                ));
            }
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(CoreError::invalid(
                    "currency",
                    format!("'{currency}' is not an ISO 4217 code like USD"),
                ));
            }
            (0..count)
                .map(|_| fresh_number())
                .collect::<CoreResult<Vec<_>>>()
        });
        let numbers = match checked {
            Ok(n) => n,
            Err(e) => return self.refuse(actor, Event::VouchersCreated, e).await,
        };
        self.mutate(actor, Event::VouchersCreated, move |tx, actor, now| {
            let by = actor.display_name();
            let mut created = Vec::with_capacity(numbers.len());
            for number in numbers {
                let id =
                    db::vouchers::insert(tx, &number_digest(&number), value, &currency, &by, now)?;
                created.push(NewVoucher {
                    id,
                    number,
                    value,
                    currency: currency.clone(),
                });
            }
            let ids: Vec<i64> = created.iter().map(|v| v.id).collect();
            Ok(Done {
                target: "vouchers".into(),
                // The numbers are secrets: the audit row names the vouchers, never their numbers.
                detail: json!({ "ids": ids, "value": value, "currency": currency }).to_string(),
                value: created,
            })
        })
        .await
    }

    /// Vouchers, newest first.
    pub async fn list_vouchers(
        &self,
        actor: &Actor,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> CoreResult<Vec<Voucher>> {
        let page = may_manage_vouchers(actor).and_then(|()| super::page(offset, limit));
        let (offset, limit) = match page {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, Event::VouchersRead, e).await,
        };
        self.query(actor, Event::VouchersRead, move |conn| {
            Ok(db::vouchers::list(conn, offset, limit)?)
        })
        .await
    }

    /// Redeems voucher `voucher_id` with its secret `number` for subscriber `id`: adds its value
    /// to the balance, once. Returns the new credit.
    pub async fn redeem_voucher(
        &self,
        actor: &Actor,
        id: i64,
        voucher_id: i64,
        number: String,
    ) -> CoreResult<f64> {
        self.mutate(actor, Event::VoucherRedeemed, move |tx, actor, now| {
            let node = db::accounts::node_by_id(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            permissions::sees_subscriber(&actor.principal, id, &node.customer_path)?;
            // A wrong id and a wrong number read the same, so ids cannot be probed.
            let refused =
                || CoreError::invalid("number", "no unused voucher has this id and number");
            let voucher = db::vouchers::by_id(tx, voucher_id)?.ok_or_else(refused)?;
            let matches: bool = voucher
                .number_sha256
                .as_bytes()
                .ct_eq(number_digest(number.trim()).as_bytes())
                .into();
            if !matches || voucher.used_on.is_some() {
                return Err(refused());
            }
            if voucher.currency != node.payment_currency {
                return Err(CoreError::Unprocessable(format!(
                    "voucher {voucher_id} is in {}, the account pays in {}",
                    voucher.currency, node.payment_currency
                )));
            }
            if !db::vouchers::mark_used(tx, voucher_id, id, now)? {
                return Err(refused());
            }
            let notes = format!("Prepaid voucher {voucher_id}");
            let change = db::accounts::BalanceChange {
                kind: "add_funds",
                delta: -voucher.value,
                amount: voucher.value,
                currency: &voucher.currency,
                notes: &notes,
                payment_time: now,
            };
            let stored = db::accounts::change_balance(tx, id, &change, now)?;
            Ok(Done {
                value: -stored,
                target: format!("account:{id}"),
                detail: json!({
                    "voucher": voucher_id, "amount": voucher.value,
                    "currency": voucher.currency, "balance": stored,
                })
                .to_string(),
            })
        })
        .await
    }

    /// A subscriber's credit and its latest `limit` balance changes with the credit after each.
    pub async fn prepaid(&self, actor: &Actor, id: i64, limit: i64) -> CoreResult<PrepaidView> {
        let acting = actor.clone();
        self.query(actor, Event::AccountRead, move |conn| {
            let node = db::accounts::node_by_id(conn, id)?
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            permissions::sees_subscriber(&acting.principal, id, &node.customer_path)?;
            let (stored, entries) = db::vouchers::balance_history(conn, id, limit)?;
            // Stored balances carry Sippy's sign (what is owed); a prepaid user sees credit.
            let credit = -stored;
            let mut after = credit;
            let history = entries
                .into_iter()
                .map(|e| {
                    let delta = credit_delta(&e);
                    let row = (e, delta, after);
                    after -= delta;
                    row
                })
                .collect();
            Ok(PrepaidView {
                credit,
                currency: node.payment_currency,
                history,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_sixteen_digits_and_differ() {
        let a = fresh_number().unwrap();
        let b = fresh_number().unwrap();
        assert_eq!(a.len(), NUMBER_DIGITS);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
        assert_eq!(number_digest(&a).len(), 64);
    }
}
