//! The AWS wire protocol the sim's AWS endpoint speaks, shared by the services behind it
//! (STS, IAM, S3, EKS): the query protocol (form parameters in, XML and error documents
//! out) and Signature Version 4.

pub mod query;
pub mod sigv4;

/// The largest request body the AWS listener reads (16 MiB: more than any single S3 `PUT`
/// the AWS CLI sends before it switches to multipart). A larger one is answered in the
/// shape of the API asked: S3 `EntityTooLarge`, or an STS/IAM `ErrorResponse`.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
