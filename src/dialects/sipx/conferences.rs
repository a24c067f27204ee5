//! `my/conferences` (list), `my/conferences/{name}` (GET and PUT of `setting`; a setting left
//! out stays as it is; PUT of a new name creates the conference) and
//! `my/conferencedetails/{name}`.

use super::repr::{Doc, Fields, Item, Media};
use super::{Answer, Mine, Refusal, document, done};
use crate::core::conferences::{Conference, ConferenceUpdate};

pub async fn list(mine: &Mine<'_>) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let conferences = mine
        .state
        .core
        .list_conferences(&mine.actor, mine.subscriber_id)
        .await?;
    let items = conferences
        .iter()
        .map(|c| {
            Item::Record(vec![
                ("enabled", Item::Bool(c.enabled)),
                ("name", Item::text(&c.name)),
                ("description", Item::text(&c.description)),
                ("extension", Item::text(&c.extension)),
                ("accessCode", Item::text(&c.access_code)),
            ])
        })
        .collect();
    let doc = Doc::new(
        "conferences",
        Item::List {
            item: "conference",
            items,
        },
    );
    Ok(document(media, &doc))
}

fn setting(c: &Conference) -> Item {
    Item::Record(vec![
        ("enabled", Item::Bool(c.enabled)),
        ("name", Item::text(&c.name)),
        ("description", Item::text(&c.description)),
        ("autorecorded", Item::Bool(c.autorecorded)),
        ("accessCode", Item::text(&c.access_code)),
        ("moderatorCode", Item::text(&c.moderator_code)),
        ("quickstart", Item::Bool(c.quickstart)),
        ("video", Item::Bool(c.video)),
        ("sendActiveVideoOnly", Item::Bool(c.send_active_video_only)),
        ("maxMembers", Item::Int(c.max_members)),
        ("moh", Item::text(&c.moh)),
        ("moderatedRoom", Item::Bool(c.moderated_room)),
        ("publicRoom", Item::Bool(c.public_room)),
    ])
}

pub async fn get(mine: &Mine<'_>, name: &str) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let c = mine
        .state
        .core
        .get_conference(&mine.actor, mine.subscriber_id, name.to_string())
        .await?;
    Ok(document(media, &Doc::new("setting", setting(&c))))
}

pub async fn put(mine: &Mine<'_>, name: &str) -> Answer {
    let content = mine.parse(&["setting"])?;
    let update = parse_checked(&content, name)?;
    mine.state
        .core
        .put_conference(&mine.actor, mine.subscriber_id, name.to_string(), update)
        .await?;
    Ok(done())
}

fn parse_checked(content: &serde_json::Value, name: &str) -> Result<ConferenceUpdate, Refusal> {
    let f = Fields(content);
    match f.text("name").map_err(Refusal::bad_request)? {
        Some(given) if !given.is_empty() && given != name => {
            return Err(Refusal::bad_request(format!(
                "'name' must be the conference's name in the path ('{name}'), not '{given}'"
            )));
        }
        _ => {}
    }
    parse_settings(content).map_err(Refusal::bad_request)
}

fn parse_settings(content: &serde_json::Value) -> Result<ConferenceUpdate, String> {
    let f = Fields(content);
    Ok(ConferenceUpdate {
        enabled: f.bool("enabled")?,
        description: f.text("description")?,
        extension: f.text("extension")?,
        access_code: f.text("accessCode")?,
        moderator_code: f.text("moderatorCode")?,
        autorecorded: f.bool("autorecorded")?,
        quickstart: f.bool("quickstart")?,
        video: f.bool("video")?,
        send_active_video_only: f.bool("sendActiveVideoOnly")?,
        max_members: f.int("maxMembers")?,
        moh: f.text("moh")?,
        moderated_room: f.bool("moderatedRoom")?,
        public_room: f.bool("publicRoom")?,
    })
}

/// The conference with its members; the media server is not switchyard's, so no member is
/// known and the list is empty.
pub async fn details(mine: &Mine<'_>, name: &str) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let c = mine
        .state
        .core
        .get_conference(&mine.actor, mine.subscriber_id, name.to_string())
        .await?;
    let doc = Doc::new(
        "conference",
        Item::Record(vec![
            ("extension", Item::text(&c.extension)),
            ("description", Item::text(&c.description)),
            ("locked", Item::Bool(c.locked)),
            (
                "members",
                Item::List {
                    item: "member",
                    items: Vec::new(),
                },
            ),
        ]),
    );
    Ok(document(media, &doc))
}
