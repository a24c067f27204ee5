//! Conference bridges owned by a subscriber (sipXconfig `my/conferences`). switchyard keeps
//! their settings; the media server that hosts them is outside it, so live members are not
//! known here.

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::call_sequence::check_subscriber;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

/// The most conferences one subscriber owns.
const MAX_PER_OWNER: i64 = 100;

/// A conference's settings.
// The flags are sipXconfig's `setting` document, one for one; an enum would not fit them.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conference {
    pub name: String,
    pub enabled: bool,
    pub description: String,
    pub extension: String,
    /// The participant PIN.
    pub access_code: String,
    pub moderator_code: String,
    pub autorecorded: bool,
    pub quickstart: bool,
    pub video: bool,
    pub send_active_video_only: bool,
    /// 0: no limit.
    pub max_members: i64,
    pub moh: String,
    pub moderated_room: bool,
    pub public_room: bool,
    pub locked: bool,
}

impl Conference {
    fn new(name: String) -> Self {
        Self {
            name,
            enabled: true,
            description: String::new(),
            extension: String::new(),
            access_code: String::new(),
            moderator_code: String::new(),
            autorecorded: false,
            quickstart: true,
            video: false,
            send_active_video_only: false,
            max_members: 0,
            moh: String::new(),
            moderated_room: false,
            public_room: false,
            locked: false,
        }
    }
}

/// A change of settings: None leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceUpdate {
    pub enabled: Option<bool>,
    pub description: Option<String>,
    pub extension: Option<String>,
    pub access_code: Option<String>,
    pub moderator_code: Option<String>,
    pub autorecorded: Option<bool>,
    pub quickstart: Option<bool>,
    pub video: Option<bool>,
    pub send_active_video_only: Option<bool>,
    pub max_members: Option<i64>,
    pub moh: Option<String>,
    pub moderated_room: Option<bool>,
    pub public_room: Option<bool>,
}

fn digits(field: &str, value: &str, max: usize) -> CoreResult<()> {
    if value.len() > max || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CoreError::invalid(
            field,
            format!("'{value}' must be at most {max} digits"),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> CoreResult<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(CoreError::invalid(
            "name",
            format!("'{name}' must be 1 to 64 letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(())
}

/// Applies `update` to `c`, checking each value.
fn apply(c: &mut Conference, update: ConferenceUpdate) -> CoreResult<()> {
    let text = |field: &str, v: &str| {
        if v.len() > 255 || v.chars().any(char::is_control) {
            Err(CoreError::invalid(
                field,
                "must be at most 255 bytes without control characters",
            ))
        } else {
            Ok(())
        }
    };
    if let Some(v) = update.description {
        text("description", &v)?;
        c.description = v;
    }
    if let Some(v) = update.moh {
        text("moh", &v)?;
        c.moh = v;
    }
    if let Some(v) = update.extension {
        digits("extension", &v, 32)?;
        c.extension = v;
    }
    if let Some(v) = update.access_code {
        digits("accessCode", &v, 16)?;
        c.access_code = v;
    }
    if let Some(v) = update.moderator_code {
        digits("moderatorCode", &v, 16)?;
        c.moderator_code = v;
    }
    if let Some(v) = update.max_members {
        if !(0..=1000).contains(&v) {
            return Err(CoreError::invalid(
                "maxMembers",
                format!("{v} must be 0 (no limit) to 1000"),
            ));
        }
        c.max_members = v;
    }
    let flags = [
        (update.enabled, &mut c.enabled),
        (update.autorecorded, &mut c.autorecorded),
        (update.quickstart, &mut c.quickstart),
        (update.video, &mut c.video),
        (update.send_active_video_only, &mut c.send_active_video_only),
        (update.moderated_room, &mut c.moderated_room),
        (update.public_room, &mut c.public_room),
    ];
    for (given, slot) in flags {
        if let Some(v) = given {
            *slot = v;
        }
    }
    Ok(())
}

impl Core {
    /// The subscriber's conferences, by name.
    pub async fn list_conferences(&self, actor: &Actor, id: i64) -> CoreResult<Vec<Conference>> {
        let acting = actor.clone();
        self.query(actor, Event::ConferenceRead, move |conn| {
            check_subscriber(conn, &acting, id)?;
            Ok(db::conferences::of_owner(conn, id)?)
        })
        .await
    }

    /// One of the subscriber's conferences; another owner's is refused.
    pub async fn get_conference(
        &self,
        actor: &Actor,
        id: i64,
        name: String,
    ) -> CoreResult<Conference> {
        let acting = actor.clone();
        self.query(actor, Event::ConferenceRead, move |conn| {
            check_subscriber(conn, &acting, id)?;
            owned(conn, id, &name)?
                .ok_or_else(|| CoreError::NotFound(format!("conference '{name}'")))
        })
        .await
    }

    /// Changes the settings of the subscriber's conference `name`, creating it if no conference
    /// has that name yet. Returns whether it was created.
    pub async fn put_conference(
        &self,
        actor: &Actor,
        id: i64,
        name: String,
        update: ConferenceUpdate,
    ) -> CoreResult<bool> {
        if let Err(e) = check_name(&name) {
            return self.refuse(actor, Event::ConferenceChanged, e).await;
        }
        self.mutate(actor, Event::ConferenceChanged, move |tx, actor, _| {
            check_subscriber(tx, actor, id)?;
            // Names are one namespace (they are dialled): another owner's name cannot be taken,
            // and saying so is unavoidable, unlike on a read, which answers "not found".
            let existing = owned(tx, id, &name).map_err(|e| match e {
                CoreError::OutOfScope(_) => {
                    CoreError::Forbidden(format!("conference '{name}' belongs to another user"))
                }
                other => other,
            })?;
            let created = existing.is_none();
            if created && db::conferences::count_of_owner(tx, id)? >= MAX_PER_OWNER {
                return Err(CoreError::Unprocessable(format!(
                    "a subscriber owns at most {MAX_PER_OWNER} conferences"
                )));
            }
            let mut conference = existing.unwrap_or_else(|| Conference::new(name.clone()));
            apply(&mut conference, update)?;
            db::conferences::upsert(tx, id, &conference)?;
            Ok(Done {
                value: created,
                target: format!("conference:{name}"),
                detail: json!({
                    "created": created,
                    "enabled": conference.enabled,
                    "extension": conference.extension,
                    "accessCode": "(secret)",
                })
                .to_string(),
            })
        })
        .await
    }
}

/// The conference `name` if subscriber `id` owns it; None if there is none; out of scope (read
/// like a missing one) if another subscriber owns it.
fn owned(conn: &crate::db::Conn<'_>, id: i64, name: &str) -> CoreResult<Option<Conference>> {
    match db::conferences::by_name(conn, name)? {
        Some((owner, c)) if owner == id => Ok(Some(c)),
        Some(_) => Err(CoreError::OutOfScope(format!("conference '{name}'"))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_change_only_what_they_name_and_are_checked() {
        let mut c = Conference::new("team".into());
        apply(
            &mut c,
            ConferenceUpdate {
                access_code: Some("1234".into()),
                video: Some(true),
                ..ConferenceUpdate::default()
            },
        )
        .unwrap();
        assert_eq!(
            (c.access_code.as_str(), c.video, c.quickstart),
            ("1234", true, true)
        );
        let bad = ConferenceUpdate {
            access_code: Some("12a".into()),
            ..ConferenceUpdate::default()
        };
        assert!(apply(&mut c, bad).is_err());
        let too_many = ConferenceUpdate {
            max_members: Some(5000),
            ..ConferenceUpdate::default()
        };
        assert!(apply(&mut c, too_many).is_err());
        assert!(check_name("team call").is_err());
    }
}
