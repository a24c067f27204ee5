//! SIP2SIP parameters: a query string, a content type and a body (split at the first two NUL
//! bytes) read as at most 64 parameters, the first of each name winning, or refused; the
//! parameters, encoded again as a query, read back the same.

use switchyard::fuzzing::sip2sip_params;

const MAX_PARAMS: usize = 64;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let mut parts = data.splitn(3, |&b| b == 0);
        let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
        let content_type = parts.next().map(String::from_utf8_lossy);
        let body = parts.next().unwrap_or_default();
        let Some(read) = sip2sip_params(&query, content_type.as_deref(), body) else {
            return;
        };
        let Ok(params) = read else {
            return;
        };
        assert!(params.len() <= MAX_PARAMS);
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let again = sip2sip_params(&encoded, None, b"")
            .unwrap_or_else(|| panic!("encoded parameters are no URI: {encoded}"))
            .unwrap_or_else(|e| panic!("encoded parameters refused: {e}"));
        assert_eq!(again, params, "{encoded}");
    });
}
