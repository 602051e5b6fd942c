//! The AWS query protocol plumbing shared by IAM and STS: form parameters in, XML out,
//! and the `ErrorResponse` shape with the HTTP status AWS uses for each error code.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The XML namespace (and API version) of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// IAM, API version 2010-05-08.
    Iam,
    /// STS, API version 2011-06-15.
    Sts,
}

impl Service {
    /// The API version string clients send in `Version`.
    pub fn version(self) -> &'static str {
        match self {
            Service::Iam => "2010-05-08",
            Service::Sts => "2011-06-15",
        }
    }

    /// The XML namespace of responses.
    pub fn xmlns(self) -> &'static str {
        match self {
            Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }
}

/// An error as the AWS query protocol reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct AwsError {
    /// The error code (`InvalidIdentityToken`, `NoSuchEntity`, ...).
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// `Sender` (the client's fault) or `Receiver` (the service's).
    pub sender: bool,
}

impl AwsError {
    /// A client error with an explicit code and status.
    pub fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status,
            sender: true,
        }
    }

    /// `ValidationError` (400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", StatusCode::BAD_REQUEST, message)
    }

    /// `ValidationError` for a required parameter that is absent, worded like AWS.
    pub fn missing_parameter(name: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    }

    /// `InvalidAction` (400): an action this endpoint does not know.
    pub fn invalid_action(action: &str, version: Option<&str>) -> Self {
        let message = match version {
            Some(v) => format!("Could not find operation {action} for version {v}"),
            None => format!("Could not find operation {action}"),
        };
        Self::new("InvalidAction", StatusCode::BAD_REQUEST, message)
    }

    /// `MissingAction` (400): no `Action` parameter at all.
    pub fn missing_action() -> Self {
        Self::new("MissingAction", StatusCode::BAD_REQUEST, "Missing Action")
    }

    /// `InvalidIdentityToken` (400).
    pub fn invalid_identity_token(message: impl Into<String>) -> Self {
        Self::new("InvalidIdentityToken", StatusCode::BAD_REQUEST, message)
    }

    /// `AccessDenied` (403).
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDenied", StatusCode::FORBIDDEN, message)
    }

    /// An internal failure of the sim (`InternalFailure`, 500, `Receiver`).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: "InternalFailure",
            message: message.into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
            sender: false,
        }
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The decoded parameters of one request (form body and query string together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text; later duplicates win.
    pub fn parse(form: &[u8]) -> Self {
        let mut params = Self::default();
        params.extend_from(form);
        params
    }

    /// Adds the pairs of another form-encoded text.
    pub fn extend_from(&mut self, form: &[u8]) {
        for (k, v) in form_urlencoded_pairs(form) {
            self.0.insert(k, v);
        }
    }

    /// A parameter, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that must be present (`ValidationError` otherwise).
    pub fn required(&self, name: &str) -> Result<&str, AwsError> {
        self.get(name)
            .ok_or_else(|| AwsError::missing_parameter(name))
    }

    /// A list parameter `<name>.member.<N>` (N from 1), in index order.
    pub fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.member.");
        let mut items: Vec<(u32, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(&prefix)?.parse::<u32>().ok()?;
                Some((index, v.clone()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// A list of key/value structures `<name>.member.<N>.Key` / `.Value`.
    pub fn tags(&self, name: &str) -> Result<Vec<(String, String)>, AwsError> {
        let prefix = format!("{name}.member.");
        let mut indices: Vec<u32> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix)?.split('.').next()?.parse().ok())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
            .into_iter()
            .map(|i| {
                let key = self.get(&format!("{prefix}{i}.Key")).ok_or_else(|| {
                    AwsError::missing_parameter(&format!("{name}.member.{i}.member.key"))
                })?;
                let value = self.get(&format!("{prefix}{i}.Value")).unwrap_or_default();
                Ok((key.to_owned(), value.to_owned()))
            })
            .collect()
    }
}

fn form_urlencoded_pairs(form: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(form).unwrap_or_default()
}

/// Escapes text for an XML element body or attribute.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// Percent-encodes everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`),
/// as AWS does for policy documents in XML and SigV4 does for canonical requests.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A small XML builder for response bodies: elements are opened and closed explicitly,
/// text is always escaped.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
}

impl Xml {
    /// An empty document body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Self {
        let _ = write!(self.out, "<{tag}>");
        self
    }

    /// Closes `</tag>`.
    pub fn close(&mut self, tag: &str) -> &mut Self {
        let _ = write!(self.out, "</{tag}>");
        self
    }

    /// Writes `<tag>text</tag>`, escaping the text.
    pub fn text(&mut self, tag: &str, text: &str) -> &mut Self {
        let _ = write!(self.out, "<{tag}>{}</{tag}>", escape(text));
        self
    }

    /// Writes `<tag>text</tag>` when the value is present.
    pub fn opt_text(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.text(tag, text);
        }
        self
    }

    /// The XML written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A successful response: `<{Action}Response><{Action}Result>…</…><ResponseMetadata>…`.
pub fn success(service: Service, action: &str, result: &str, request_id: &str) -> Response {
    let mut body = String::with_capacity(result.len() + 256);
    let _ = write!(
        body,
        "<{action}Response xmlns=\"{ns}\">",
        ns = service.xmlns()
    );
    // Actions without a result (DeleteRole, PutRolePolicy, ...) have no Result element.
    if !result.is_empty() {
        let _ = write!(body, "<{action}Result>{result}</{action}Result>");
    }
    let _ = write!(
        body,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    );
    xml_response(StatusCode::OK, body)
}

/// An error response in the `ErrorResponse` shape.
pub fn failure(service: Service, error: &AwsError, request_id: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{ty}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>",
        ns = service.xmlns(),
        ty = if error.sender { "Sender" } else { "Receiver" },
        code = escape(error.code),
        message = escape(&error.message),
        rid = escape(request_id),
    );
    xml_response(error.status, body)
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// A fresh request id (a UUID, as AWS sends).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Formats a time like AWS does in XML (`2024-01-02T03:04:05Z`).
pub fn aws_time(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_tags_are_read_in_index_order() {
        let p = Params::parse(
            b"Action=X&ClientIDList.member.2=b&ClientIDList.member.1=a&ClientIDList.member.10=c&Tags.member.1.Key=k&Tags.member.1.Value=v%20w",
        );
        assert_eq!(p.list("ClientIDList"), ["a", "b", "c"]);
        assert_eq!(
            p.tags("Tags").unwrap(),
            [("k".to_owned(), "v w".to_owned())]
        );
        assert_eq!(p.get("Action"), Some("X"));
        assert_eq!(p.required("RoleArn").unwrap_err().code, "ValidationError");
    }

    #[tokio::test]
    async fn error_body_is_escaped_and_shaped_like_aws() {
        let err = AwsError::validation("a <b> & c");
        let resp = failure(Service::Sts, &err, "rid");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>a &lt;b&gt; &amp; c</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            percent_encode("{\"a\": \"b/c~d\"}"),
            "%7B%22a%22%3A%20%22b%2Fc~d%22%7D"
        );
    }
}
