//! The body of an S3 write: checked against `x-amz-content-sha256`, decoded from
//! `aws-chunked` (with the chunk-signature chain checked when the chunks are signed), and
//! checked against the `x-amz-checksum-*` values sent in headers or trailers.

use aws_lc_rs::{digest, hmac};
use axum::body::Bytes;
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::auth::{Authenticated, PayloadHash};
use super::error::S3Error;
use crate::aws_protocol::sigv4::{hex, signing_key};

/// The SHA-256 of the empty string, part of every chunk's string to sign.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A decoded body and the checksums that came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The object content.
    pub body: Bytes,
    /// `x-amz-checksum-<algorithm>` names (lower case) and values, from headers or trailers.
    pub checksums: Vec<(String, String)>,
}

/// Decodes and checks the body of an authenticated request.
pub fn decode(
    auth: &Authenticated,
    headers: &HeaderMap,
    amz_date: &str,
    body: Bytes,
) -> Result<Payload, S3Error> {
    let (body, trailers) = match &auth.payload {
        PayloadHash::Sha256(expected) => {
            let computed = hex(digest::digest(&digest::SHA256, &body).as_ref());
            if &computed != expected {
                return Err(S3Error::content_sha256_mismatch(expected, &computed));
            }
            (body, Vec::new())
        }
        PayloadHash::Unsigned => (body, Vec::new()),
        PayloadHash::StreamingUnsigned => unchunk(&body, None)?,
        PayloadHash::StreamingSigned => {
            let a = &auth.authorization;
            let chain = SignatureChain {
                key: signing_key(
                    &auth.session.secret_access_key,
                    &a.date,
                    &a.region,
                    &a.service,
                ),
                prefix: format!("AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{}\n", a.scope()),
                previous: a.signature.clone(),
            };
            unchunk(&body, Some(chain))?
        }
    };
    if let Some(declared) = headers
        .get("x-amz-decoded-content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && declared != body.len()
    {
        return Err(S3Error::incomplete_body());
    }
    let mut checksums: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| {
            name.as_str().starts_with("x-amz-checksum-") && name.as_str() != "x-amz-checksum-type"
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    checksums.extend(
        trailers
            .into_iter()
            .filter(|(name, _)| name.starts_with("x-amz-checksum-")),
    );
    for (name, value) in &checksums {
        verify_checksum(name, value, &body)?;
    }
    Ok(Payload { body, checksums })
}

/// The running state of a signed chunk chain.
struct SignatureChain {
    key: hmac::Key,
    /// `AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n`.
    prefix: String,
    previous: String,
}

impl SignatureChain {
    fn check(&mut self, signature: Option<&str>, data: &[u8]) -> Result<(), S3Error> {
        let to_sign = format!(
            "{}{}\n{EMPTY_SHA256}\n{}",
            self.prefix,
            self.previous,
            hex(digest::digest(&digest::SHA256, data).as_ref())
        );
        let expected = hex(hmac::sign(&self.key, to_sign.as_bytes()).as_ref());
        match signature {
            Some(given) if given.eq_ignore_ascii_case(&expected) => {
                self.previous = expected;
                Ok(())
            }
            _ => Err(S3Error::new(
                "SignatureDoesNotMatch",
                axum::http::StatusCode::FORBIDDEN,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )),
        }
    }
}

/// Splits off one `\r\n`-terminated line.
fn line(input: &[u8]) -> Result<(&[u8], &[u8]), S3Error> {
    let end = input
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(S3Error::incomplete_body)?;
    Ok((&input[..end], &input[end + 2..]))
}

/// Decodes an `aws-chunked` body: `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n`…, a
/// zero-size chunk, then optional `name:value` trailer lines and an empty line.
fn unchunk(
    mut input: &[u8],
    mut chain: Option<SignatureChain>,
) -> Result<(Bytes, Vec<(String, String)>), S3Error> {
    let mut body = Vec::new();
    loop {
        let (header, rest) = line(input)?;
        let header = std::str::from_utf8(header).map_err(|_| S3Error::incomplete_body())?;
        let (size, extension) = header.split_once(';').unwrap_or((header, ""));
        let size =
            usize::from_str_radix(size.trim(), 16).map_err(|_| S3Error::incomplete_body())?;
        let signature = extension.trim().strip_prefix("chunk-signature=");
        let data = rest.get(..size).ok_or_else(S3Error::incomplete_body)?;
        if let Some(chain) = chain.as_mut() {
            chain.check(signature, data)?;
        }
        body.extend_from_slice(data);
        input = &rest[size..];
        if size == 0 {
            break;
        }
        input = input
            .strip_prefix(b"\r\n")
            .ok_or_else(S3Error::incomplete_body)?;
    }
    let mut trailers = Vec::new();
    // The final empty line may be missing when there are no trailers.
    while let Ok((text, rest)) = line(input) {
        input = rest;
        if text.is_empty() {
            break;
        }
        let text = std::str::from_utf8(text).map_err(|_| S3Error::incomplete_body())?;
        if let Some((name, value)) = text.split_once(':') {
            trailers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Ok((Bytes::from(body), trailers))
}

/// Checks one `x-amz-checksum-<algorithm>` value (base64 of the big-endian digest).
/// Algorithms the sim cannot compute (`crc64nvme`) are kept unchecked.
fn verify_checksum(name: &str, value: &str, body: &[u8]) -> Result<(), S3Error> {
    let algorithm = name.trim_start_matches("x-amz-checksum-");
    let computed = match algorithm {
        "crc32" => STANDARD.encode(crc32(body, 0xEDB8_8320).to_be_bytes()),
        "crc32c" => STANDARD.encode(crc32(body, 0x82F6_3B78).to_be_bytes()),
        "sha1" => STANDARD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, body)),
        "sha256" => STANDARD.encode(digest::digest(&digest::SHA256, body)),
        _ => return Ok(()),
    };
    if computed == value {
        Ok(())
    } else {
        Err(S3Error::bad_digest(&algorithm.to_ascii_uppercase()))
    }
}

/// A reflected CRC-32 with the given polynomial (IEEE `0xEDB88320`, Castagnoli `0x82F63B78`).
fn crc32(data: &[u8], polynomial: u32) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (polynomial & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(b"123456789", 0xEDB8_8320, 0xCBF4_3926)]
    #[case(b"123456789", 0x82F6_3B78, 0xE306_9283)]
    #[case(b"", 0xEDB8_8320, 0)]
    fn crc_check_values(#[case] data: &[u8], #[case] polynomial: u32, #[case] expected: u32) {
        assert_eq!(crc32(data, polynomial), expected);
    }

    #[test]
    fn unsigned_chunks_and_trailers_are_decoded() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let (data, trailers) = unchunk(body, None).unwrap();
        assert_eq!(&data[..], b"hello world");
        assert_eq!(
            trailers,
            [("x-amz-checksum-crc32".to_owned(), "DUoRhQ==".to_owned())]
        );
        assert_eq!(
            verify_checksum("x-amz-checksum-crc32", "DUoRhQ==", &data),
            Ok(())
        );
        assert_eq!(
            verify_checksum("x-amz-checksum-crc32", "AAAAAA==", &data)
                .unwrap_err()
                .code,
            "BadDigest"
        );
    }

    #[rstest]
    #[case::short_data(&b"5\r\nhel"[..])]
    #[case::bad_size(&b"zz\r\nhello\r\n0\r\n\r\n"[..])]
    #[case::no_line_end(&b"5"[..])]
    #[case::missing_separator(&b"5\r\nhelloX0\r\n\r\n"[..])]
    fn broken_chunks_are_incomplete_bodies(#[case] body: &[u8]) {
        assert_eq!(unchunk(body, None).unwrap_err().code, "IncompleteBody");
    }

    /// The chunked-upload example of the S3 SigV4 documentation (first chunk of 64 KiB of `a`).
    #[test]
    fn documented_chunk_signature_chain_verifies() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "20130524",
            "us-east-1",
            "s3",
        );
        let mut chain = SignatureChain {
            key,
            prefix:
                "AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                    .to_owned(),
            previous: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".to_owned(),
        };
        let data = vec![b'a'; 65536];
        chain
            .check(
                Some("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
                &data,
            )
            .unwrap();
        assert!(chain.check(Some("00"), b"").is_err());
    }
}
