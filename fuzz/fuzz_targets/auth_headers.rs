//! Authorization headers: any value is read as Digest credentials or refused; what is read,
//! written back with every value quoted and escaped, reads back the same. Basic credentials
//! read from the same value, encoded again, read back the same.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use switchyard::auth::digest::{DigestCredentials, parse_authorization};
use switchyard::fuzzing::basic_credentials;

fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The credentials as a client writes them, every value quoted.
fn header(c: &DigestCredentials) -> String {
    let mut params = vec![
        ("username", c.username.clone()),
        ("realm", c.realm.clone()),
        ("nonce", c.nonce.clone()),
        ("uri", c.uri.clone()),
        ("response", c.response.clone()),
        ("algorithm", c.algorithm.as_str().to_string()),
    ];
    let optional = [
        ("qop", &c.qop),
        ("nc", &c.nc_raw),
        ("cnonce", &c.cnonce),
        ("opaque", &c.opaque),
    ];
    params.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.clone()))),
    );
    let params: Vec<String> = params
        .into_iter()
        .map(|(k, v)| format!("{k}={}", quoted(&v)))
        .collect();
    format!("Digest {}", params.join(", "))
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(value) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(creds) = parse_authorization(value) {
            let written = header(&creds);
            let again = parse_authorization(&written)
                .unwrap_or_else(|e| panic!("written header refused: {e:?}\n{written}"));
            assert_eq!(format!("{again:?}"), format!("{creds:?}"), "{written}");
            assert_eq!(again.response, creds.response);
        }
        if let Some((user, password)) = basic_credentials(value) {
            assert!(!user.contains(':'));
            let written = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
            assert_eq!(
                basic_credentials(&written),
                Some((user, password)),
                "{written}"
            );
        }
    });
}
