//! The address book (SIP2SIP's LDAP directory): for each SIP domain, the domain's active
//! subscribers as entries with standard person attributes, searched with LDAP-style filters.
//! The book is kept in memory per domain and rebuilt when the database's address-book version
//! moves, so a change from any dialect, the CLI or another instance shows in the next search.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::actor::Actor;
use super::audit::Event;
use super::{Core, CoreError, CoreResult, permissions};
use crate::db::{
    self,
    address_book::{PhonebookEntryRow, SubscriberEntryRow},
};

/// The most nodes a filter may have, and its deepest nesting.
pub const MAX_FILTER_NODES: usize = 256;
pub const MAX_FILTER_DEPTH: usize = 32;
/// Books kept in memory at most; beyond that the cache starts over.
const MAX_CACHED_BOOKS: usize = 1_000;

/// The object classes of every entry.
pub const OBJECT_CLASSES: [&str; 4] = ["top", "person", "organizationalPerson", "inetOrgPerson"];

/// The attributes an entry has, by their standard (inetOrgPerson) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attr {
    ObjectClass,
    Cn,
    GivenName,
    Sn,
    Uid,
    Mail,
    TelephoneNumber,
    Mobile,
    /// The SIP address, as `sip:user@domain`.
    LabeledUri,
}

impl Attr {
    pub const ALL: [Self; 9] = [
        Self::ObjectClass,
        Self::Cn,
        Self::GivenName,
        Self::Sn,
        Self::Uid,
        Self::Mail,
        Self::TelephoneNumber,
        Self::Mobile,
        Self::LabeledUri,
    ];

    /// The attribute an LDAP attribute description names (case-insensitive, with the standard
    /// long names); None for attributes entries do not have.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        Some(match name.as_str() {
            "objectclass" => Self::ObjectClass,
            "cn" | "commonname" => Self::Cn,
            "givenname" | "gn" => Self::GivenName,
            "sn" | "surname" => Self::Sn,
            "uid" | "userid" => Self::Uid,
            "mail" | "rfc822mailbox" => Self::Mail,
            "telephonenumber" => Self::TelephoneNumber,
            "mobile" | "mobiletelephonenumber" => Self::Mobile,
            "labeleduri" => Self::LabeledUri,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::ObjectClass => "objectClass",
            Self::Cn => "cn",
            Self::GivenName => "givenName",
            Self::Sn => "sn",
            Self::Uid => "uid",
            Self::Mail => "mail",
            Self::TelephoneNumber => "telephoneNumber",
            Self::Mobile => "mobile",
            Self::LabeledUri => "labeledURI",
        }
    }

    fn is_phone(self) -> bool {
        matches!(self, Self::TelephoneNumber | Self::Mobile)
    }

    /// Attributes whose values are kept sorted for prefix and equality look-ups.
    const INDEXED: [Self; 5] = [Self::Cn, Self::Sn, Self::GivenName, Self::Uid, Self::Mail];
}

/// One person in the address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uid: String,
    pub cn: String,
    pub given_name: Option<String>,
    pub sn: String,
    pub mail: Option<String>,
    pub telephone_numbers: Vec<String>,
    pub mobile: Option<String>,
    /// The SIP address; shared phonebook entries have none.
    pub sip_uri: Option<String>,
}

impl Entry {
    fn from_row(row: SubscriberEntryRow, domain: &str) -> Self {
        let non_empty = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let display = row.display_name.as_deref().and_then(non_empty);
        let (mut given_name, mut sn) = (non_empty(&row.first_name), non_empty(&row.last_name));
        // Without a contact's names, a display name of several words gives them.
        if given_name.is_none()
            && sn.is_none()
            && let Some((first, last)) = display.as_deref().and_then(|d| d.rsplit_once(' '))
        {
            (given_name, sn) = (non_empty(first), non_empty(last));
        }
        let full_name = [given_name.as_deref(), sn.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let cn = display
            .or_else(|| non_empty(&full_name))
            .unwrap_or_else(|| row.username.clone());
        Self {
            sip_uri: Some(format!("sip:{}@{domain}", row.username)),
            uid: row.username,
            sn: sn.unwrap_or_else(|| cn.clone()),
            given_name,
            mail: non_empty(&row.email),
            telephone_numbers: row.numbers,
            mobile: non_empty(&row.mobile),
            cn,
        }
    }

    /// A shared phonebook's entry: `uid` is `phonebook-<id>`, the number its telephoneNumber.
    fn from_phonebook(row: &PhonebookEntryRow) -> Self {
        let non_empty = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let uid = format!("phonebook-{}", row.id);
        let (given_name, last) = (non_empty(&row.first_name), non_empty(&row.last_name));
        let cn = [given_name.as_deref(), last.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let cn = non_empty(&cn)
            .or_else(|| non_empty(&row.number))
            .unwrap_or_else(|| uid.clone());
        Self {
            sn: last.unwrap_or_else(|| cn.clone()),
            given_name,
            mail: non_empty(&row.email),
            telephone_numbers: non_empty(&row.number).into_iter().collect(),
            mobile: non_empty(&row.mobile),
            sip_uri: None,
            cn,
            uid,
        }
    }

    /// The entry's values of `attr`.
    pub fn values(&self, attr: Attr) -> Vec<&str> {
        match attr {
            Attr::ObjectClass => OBJECT_CLASSES.to_vec(),
            Attr::Cn => vec![&self.cn],
            Attr::GivenName => self.given_name.as_deref().into_iter().collect(),
            Attr::Sn => vec![&self.sn],
            Attr::Uid => vec![&self.uid],
            Attr::Mail => self.mail.as_deref().into_iter().collect(),
            Attr::TelephoneNumber => self.telephone_numbers.iter().map(String::as_str).collect(),
            Attr::Mobile => self.mobile.as_deref().into_iter().collect(),
            Attr::LabeledUri => self.sip_uri.as_deref().into_iter().collect(),
        }
    }
}

/// A search filter over entries (LDAP's, less the matching rules entries cannot use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Equal(Attr, String),
    Present(Attr),
    Substring {
        attr: Attr,
        initial: Option<String>,
        any: Vec<String>,
        last: Option<String>,
    },
    /// An attribute entries do not have, or a match entries cannot make: true of no entry.
    Never,
}

impl Filter {
    /// Refuses filters larger or deeper than the limits.
    pub(crate) fn check(&self) -> CoreResult<()> {
        fn walk(f: &Filter, depth: usize, nodes: &mut usize) -> CoreResult<()> {
            *nodes += 1;
            if depth > MAX_FILTER_DEPTH || *nodes > MAX_FILTER_NODES {
                return Err(CoreError::Invalid {
                    name: "filter".into(),
                    message: format!(
                        "is too complex (at most {MAX_FILTER_NODES} terms, nested at most \
                         {MAX_FILTER_DEPTH} deep)"
                    ),
                });
            }
            match f {
                Filter::And(fs) | Filter::Or(fs) => {
                    fs.iter().try_for_each(|f| walk(f, depth + 1, nodes))
                }
                Filter::Not(f) => walk(f, depth + 1, nodes),
                _ => Ok(()),
            }
        }
        walk(self, 1, &mut 0)
    }
}

/// Values as they are compared: lowercase, and telephone numbers without spaces and hyphens
/// (LDAP's telephoneNumberMatch).
fn normalized(attr: Attr, value: &str) -> String {
    let lower = value.to_lowercase();
    if attr.is_phone() {
        lower.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
    } else {
        lower
    }
}

fn substring_matches(
    value: &str,
    initial: Option<&str>,
    any: &[String],
    last: Option<&str>,
) -> bool {
    let mut rest = value;
    if let Some(initial) = initial {
        let Some(after) = rest.strip_prefix(initial) else {
            return false;
        };
        rest = after;
    }
    for part in any {
        let Some(at) = rest.find(part.as_str()) else {
            return false;
        };
        rest = &rest[at + part.len()..];
    }
    last.is_none_or(|last| rest.ends_with(last))
}

/// A filter with its values normalized once, ready to test many entries.
enum Matcher {
    And(Vec<Matcher>),
    Or(Vec<Matcher>),
    Not(Box<Matcher>),
    Equal(Attr, String),
    Present(Attr),
    Substring(Attr, Option<String>, Vec<String>, Option<String>),
    Never,
}

impl Matcher {
    fn new(f: &Filter) -> Self {
        match f {
            Filter::And(fs) => Self::And(fs.iter().map(Self::new).collect()),
            Filter::Or(fs) => Self::Or(fs.iter().map(Self::new).collect()),
            Filter::Not(f) => Self::Not(Box::new(Self::new(f))),
            Filter::Equal(a, v) => Self::Equal(*a, normalized(*a, v)),
            Filter::Present(a) => Self::Present(*a),
            Filter::Substring {
                attr,
                initial,
                any,
                last,
            } => Self::Substring(
                *attr,
                initial.as_deref().map(|v| normalized(*attr, v)),
                any.iter().map(|v| normalized(*attr, v)).collect(),
                last.as_deref().map(|v| normalized(*attr, v)),
            ),
            Filter::Never => Self::Never,
        }
    }

    fn matches(&self, e: &IndexedEntry) -> bool {
        match self {
            Self::And(ms) => ms.iter().all(|m| m.matches(e)),
            Self::Or(ms) => ms.iter().any(|m| m.matches(e)),
            Self::Not(m) => !m.matches(e),
            Self::Equal(a, v) => e.normalized(*a).iter().any(|x| x == v),
            Self::Present(a) => !e.normalized(*a).is_empty(),
            Self::Substring(a, initial, any, last) => e
                .normalized(*a)
                .iter()
                .any(|x| substring_matches(x, initial.as_deref(), any, last.as_deref())),
            Self::Never => false,
        }
    }
}

/// An entry with its values normalized for matching.
struct IndexedEntry {
    entry: Entry,
    normalized: HashMap<Attr, Vec<String>>,
}

impl IndexedEntry {
    fn new(entry: Entry) -> Self {
        let normalized = Attr::ALL
            .iter()
            .map(|&a| {
                (
                    a,
                    entry.values(a).iter().map(|v| normalized(a, v)).collect(),
                )
            })
            .collect();
        Self { entry, normalized }
    }

    fn normalized(&self, attr: Attr) -> &[String] {
        self.normalized.get(&attr).map_or(&[], Vec::as_slice)
    }
}

/// One domain's address book at one version.
struct Book {
    version: i64,
    entries: Vec<IndexedEntry>,
    /// For each indexed attribute: (normalized value, entry position), sorted.
    sorted: HashMap<Attr, Vec<(String, usize)>>,
}

impl Book {
    fn new(
        version: i64,
        domain: &str,
        rows: Vec<SubscriberEntryRow>,
        phonebook: &[PhonebookEntryRow],
    ) -> Self {
        let entries: Vec<IndexedEntry> = rows
            .into_iter()
            .map(|r| Entry::from_row(r, domain))
            .chain(phonebook.iter().map(Entry::from_phonebook))
            .map(IndexedEntry::new)
            .collect();
        let sorted = Attr::INDEXED
            .iter()
            .map(|&a| {
                let mut values: Vec<(String, usize)> = entries
                    .iter()
                    .enumerate()
                    .flat_map(|(i, e)| e.normalized(a).iter().map(move |v| (v.clone(), i)))
                    .collect();
                values.sort_unstable();
                (a, values)
            })
            .collect();
        Self {
            version,
            entries,
            sorted,
        }
    }

    /// The sorted values that can match `m`, when the filter is (or is an AND starting with)
    /// an equality or a prefix on an indexed attribute; None: every entry must be tested. The
    /// indexed attributes hold one value per entry, so no entry comes twice.
    fn candidates(&self, m: &Matcher) -> Option<&[(String, usize)]> {
        let (attr, value, prefix) = match m {
            Matcher::Equal(a, v) => (*a, v, false),
            Matcher::Substring(a, Some(initial), ..) => (*a, initial, true),
            Matcher::And(ms) => return ms.iter().find_map(|m| self.candidates(m)),
            _ => return None,
        };
        let sorted = self.sorted.get(&attr)?;
        let start = sorted.partition_point(|(v, _)| v.as_str() < value.as_str());
        let len = sorted[start..]
            .iter()
            .take_while(|(v, _)| {
                if prefix {
                    v.starts_with(value.as_str())
                } else {
                    v == value
                }
            })
            .count();
        Some(&sorted[start..start + len])
    }

    /// The entries matching `filter` from `offset`, at most `limit`, and whether more match.
    /// Entries come in the order of the index used (by value), else in book order: stable while
    /// the book is unchanged, so pages follow on. Stops at the first match past the page.
    fn search(&self, filter: &Filter, offset: usize, limit: usize) -> (Vec<Entry>, bool) {
        let m = Matcher::new(filter);
        let positions: Box<dyn Iterator<Item = usize>> = match self.candidates(&m) {
            Some(sorted) => Box::new(sorted.iter().map(|&(_, i)| i)),
            None => Box::new(0..self.entries.len()),
        };
        let mut matching = positions
            .map(|i| &self.entries[i])
            .filter(|e| m.matches(e))
            .skip(offset);
        let page: Vec<Entry> = matching
            .by_ref()
            .take(limit)
            .map(|e| e.entry.clone())
            .collect();
        let more = matching.next().is_some();
        (page, more)
    }
}

/// The in-memory books and the anonymous-search switch.
#[derive(Default)]
pub(crate) struct AddressBooks {
    anonymous: AtomicBool,
    books: Mutex<HashMap<String, Arc<Book>>>,
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub entries: Vec<Entry>,
    /// Whether more entries match after this page.
    pub more: bool,
}

impl Core {
    /// Allows searches without a bind (a lab switch, off by default).
    pub fn allow_anonymous_address_book(&self, on: bool) {
        self.address_books.anonymous.store(on, Ordering::Relaxed);
    }

    /// The domains that have an address book.
    pub async fn address_book_domains(&self) -> CoreResult<Vec<String>> {
        Ok(self.db.read(db::address_book::domains).await?)
    }

    /// The entries of `domain`'s address book that match `filter`, from `offset`, at most
    /// `limit`. An account searches its own domain's book only; without a bind only when
    /// anonymous search is on. An unknown domain is `NotFound`.
    pub async fn search_address_book(
        &self,
        actor: &Actor,
        domain: &str,
        filter: Filter,
        offset: usize,
        limit: usize,
    ) -> CoreResult<SearchPage> {
        if let Err(e) = filter.check() {
            return self.refuse(actor, Event::AddressBookSearched, e).await;
        }
        let anonymous = self.address_books.anonymous.load(Ordering::Relaxed);
        let principal = actor.principal.clone();
        let domain = domain.to_ascii_lowercase();
        let books = self.address_books_handle();
        self.query(actor, Event::AddressBookSearched, move |conn| {
            let own_domain = match principal.own_subscriber() {
                Some(id) => db::address_book::subscriber_domain(conn, id)?,
                None => None,
            };
            permissions::may_search_address_book(
                &principal,
                own_domain.as_deref(),
                &domain,
                anonymous,
            )?;
            let version = db::address_book::version(conn)?;
            let cached = books
                .books
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&domain)
                .filter(|b| b.version == version)
                .cloned();
            let book = if let Some(book) = cached {
                book
            } else {
                let rows = db::address_book::subscribers_of_domain(conn, &domain)?
                    .ok_or_else(|| CoreError::NotFound(format!("domain {domain}")))?;
                let phonebook = db::address_book::phonebook_entries_of_domain(conn, &domain)?;
                let book = Arc::new(Book::new(version, &domain, rows, &phonebook));
                let mut all = books.books.lock().unwrap_or_else(PoisonError::into_inner);
                if all.len() >= MAX_CACHED_BOOKS {
                    all.clear();
                }
                all.insert(domain.clone(), book.clone());
                book
            };
            let (entries, more) = book.search(&filter, offset, limit);
            Ok(SearchPage { entries, more })
        })
        .await
    }

    fn address_books_handle(&self) -> Arc<AddressBooks> {
        self.address_books.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, user: &str, first: &str, last: &str, numbers: &[&str]) -> SubscriberEntryRow {
        SubscriberEntryRow {
            id,
            username: user.into(),
            display_name: None,
            first_name: first.into(),
            last_name: last.into(),
            email: format!("{user}@mail.example"),
            mobile: String::new(),
            numbers: numbers.iter().map(|n| (*n).to_string()).collect(),
        }
    }

    fn book() -> Book {
        book_with(&[])
    }

    fn book_with(phonebook: &[PhonebookEntryRow]) -> Book {
        Book::new(
            1,
            "example.com",
            vec![
                row(1, "alice", "Alice", "Liddell", &["+43 1 234-567"]),
                row(2, "alan", "Alan", "Turing", &[]),
                row(3, "bob", "", "", &["1002"]),
            ],
            phonebook,
        )
    }

    /// The uids matching `f`, sorted (searches by an index come in value order).
    fn uids(b: &Book, f: &Filter) -> Vec<String> {
        let mut uids: Vec<String> = b.search(f, 0, 100).0.into_iter().map(|e| e.uid).collect();
        uids.sort();
        uids
    }

    fn prefix(attr: Attr, p: &str) -> Filter {
        Filter::Substring {
            attr,
            initial: Some(p.into()),
            any: vec![],
            last: None,
        }
    }

    #[test]
    fn entries_take_names_from_the_contact_and_fall_back_to_the_user_name() {
        let b = book();
        let bob = &b.entries[2].entry;
        assert_eq!((bob.cn.as_str(), bob.sn.as_str()), ("bob", "bob"));
        assert_eq!(bob.given_name, None);
        let alice = &b.entries[0].entry;
        assert_eq!(alice.cn, "Alice Liddell");
        let mut named = row(4, "dora", "", "", &[]);
        named.display_name = Some("Dora van Explorer".into());
        let dora = Entry::from_row(named, "example.com");
        assert_eq!(
            (dora.given_name.as_deref(), dora.sn.as_str()),
            (Some("Dora van"), "Explorer")
        );
        assert_eq!(alice.sip_uri.as_deref(), Some("sip:alice@example.com"));
    }

    #[test]
    fn filters_match_case_insensitively_with_and_or_not() {
        let b = book();
        assert_eq!(uids(&b, &prefix(Attr::Cn, "AL")), ["alan", "alice"]);
        assert_eq!(
            uids(&b, &Filter::Equal(Attr::Sn, "turing".into())),
            ["alan"]
        );
        assert_eq!(
            uids(&b, &Filter::Present(Attr::GivenName)),
            ["alan", "alice"]
        );
        assert_eq!(
            uids(
                &b,
                &Filter::And(vec![
                    prefix(Attr::Cn, "al"),
                    Filter::Not(Box::new(Filter::Equal(Attr::Uid, "alan".into())))
                ])
            ),
            ["alice"]
        );
        assert_eq!(
            uids(
                &b,
                &Filter::Or(vec![Filter::Equal(Attr::Uid, "bob".into()), Filter::Never])
            ),
            ["bob"]
        );
        let middle = Filter::Substring {
            attr: Attr::Cn,
            initial: None,
            any: vec!["ice".into()],
            last: Some("dell".into()),
        };
        assert_eq!(uids(&b, &middle), ["alice"]);
        assert_eq!(
            uids(
                &b,
                &Filter::Equal(Attr::ObjectClass, "inetorgperson".into())
            )
            .len(),
            3
        );
    }

    #[test]
    fn telephone_numbers_match_without_spaces_and_hyphens() {
        let b = book();
        assert_eq!(
            uids(
                &b,
                &Filter::Equal(Attr::TelephoneNumber, "+431234567".into())
            ),
            ["alice"]
        );
        assert_eq!(uids(&b, &prefix(Attr::TelephoneNumber, "10")), ["bob"]);
    }

    #[test]
    fn shared_phonebook_entries_are_people_without_a_sip_address() {
        let b = book_with(&[PhonebookEntryRow {
            id: 7,
            first_name: "Alina".into(),
            last_name: "Shared".into(),
            number: "+1 555 0100".into(),
            email: String::new(),
            mobile: "+1 555 0199".into(),
        }]);
        assert_eq!(uids(&b, &prefix(Attr::Cn, "ali")), ["alice", "phonebook-7"]);
        let entry = &b.entries[3].entry;
        assert_eq!(entry.cn, "Alina Shared");
        assert_eq!(entry.values(Attr::LabeledUri), Vec::<&str>::new());
        assert_eq!(entry.values(Attr::Mobile), ["+1 555 0199"]);
        assert_eq!(
            uids(
                &b,
                &Filter::Equal(Attr::TelephoneNumber, "+15550100".into())
            ),
            ["phonebook-7"]
        );
    }

    #[test]
    fn pages_follow_on_and_say_whether_more_match() {
        let b = book();
        let all = Filter::Present(Attr::ObjectClass);
        let (first, more) = b.search(&all, 0, 2);
        assert!(more);
        let (rest, more) = b.search(&all, 2, 2);
        assert!(!more);
        let mut seen: Vec<String> = first.into_iter().chain(rest).map(|e| e.uid).collect();
        seen.sort();
        assert_eq!(seen, ["alan", "alice", "bob"]);
        let (by_prefix, more) = b.search(&prefix(Attr::Cn, "al"), 1, 5);
        assert_eq!((by_prefix.len(), more), (1, false));
    }

    #[test]
    fn substrings_do_not_overlap() {
        assert!(substring_matches("abcabc", Some("abc"), &[], Some("abc")));
        assert!(!substring_matches("abc", Some("ab"), &[], Some("bc")));
        assert!(substring_matches(
            "xaybz",
            None,
            &["a".into(), "b".into()],
            None
        ));
        assert!(!substring_matches(
            "xbyaz",
            None,
            &["a".into(), "b".into()],
            None
        ));
    }

    #[test]
    fn oversized_and_deep_filters_are_refused() {
        let wide = Filter::Or(vec![Filter::Present(Attr::Cn); MAX_FILTER_NODES]);
        assert!(wide.check().is_err());
        let mut deep = Filter::Present(Attr::Cn);
        for _ in 0..MAX_FILTER_DEPTH {
            deep = Filter::Not(Box::new(deep));
        }
        assert!(deep.check().is_err());
        assert!(prefix(Attr::Cn, "a").check().is_ok());
    }
}
