//! `my/voicemail/pin/{pin}`, `my/portal/password/{pw}` (PUT; any body or none) and
//! `my/logindetails` (GET). The SIP password is not returned: it is a secret switchyard never
//! hands out (XStream leaves absent fields out, so clients see no `sipPassword`).

use super::repr::{Doc, Item, Media};
use super::{Answer, Mine, document, done};

pub async fn put_voicemail_pin(mine: &Mine<'_>, pin: &str) -> Answer {
    mine.state
        .core
        .set_voicemail_pin(&mine.actor, mine.subscriber_id, pin.to_string())
        .await?;
    Ok(done())
}

pub async fn put_portal_password(mine: &Mine<'_>, pin: &str) -> Answer {
    mine.state
        .core
        .set_portal_pin(&mine.actor, mine.subscriber_id, pin.to_string())
        .await?;
    Ok(done())
}

pub async fn get_login_details(mine: &Mine<'_>) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let details = mine
        .state
        .core
        .login_details(&mine.actor, mine.subscriber_id)
        .await?;
    let doc = Doc::new(
        "login-details",
        Item::Record(vec![
            ("userName", Item::text(&details.user_name)),
            ("imId", Item::text(&details.im_id)),
            ("ldapImAuth", Item::Bool(false)),
            ("privateUserKey", Item::text(&details.private_user_key)),
        ]),
    );
    Ok(document(media, &doc))
}
