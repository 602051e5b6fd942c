//! IAM actions over the AWS query protocol: decode the parameters, call the store, render
//! the `<…Result>` body the way IAM does (policy documents URL-encoded).

use axum::http::StatusCode;

use super::store::{Iam, IamError, OidcProvider, Role, RoleOptions};
use crate::aws_protocol::query::{AwsError, Params, Xml, aws_time, percent_encode};

/// The IAM actions this endpoint serves.
pub const ACTIONS: &[&str] = &[
    "CreateOpenIDConnectProvider",
    "GetOpenIDConnectProvider",
    "ListOpenIDConnectProviders",
    "DeleteOpenIDConnectProvider",
    "CreateRole",
    "GetRole",
    "ListRoles",
    "DeleteRole",
    "UpdateAssumeRolePolicy",
    "PutRolePolicy",
    "GetRolePolicy",
    "DeleteRolePolicy",
    "ListRolePolicies",
    "TagRole",
    "UntagRole",
    "ListRoleTags",
];

impl From<IamError> for AwsError {
    fn from(err: IamError) -> Self {
        match err {
            IamError::NoSuchEntity(m) => AwsError::new("NoSuchEntity", StatusCode::NOT_FOUND, m),
            IamError::EntityAlreadyExists(m) => {
                AwsError::new("EntityAlreadyExists", StatusCode::CONFLICT, m)
            }
            IamError::DeleteConflict(m) => AwsError::new("DeleteConflict", StatusCode::CONFLICT, m),
            IamError::MalformedPolicyDocument(m) => {
                AwsError::new("MalformedPolicyDocument", StatusCode::BAD_REQUEST, m)
            }
            IamError::Validation(m) => AwsError::validation(m),
            IamError::InvalidInput(m) => AwsError::new("InvalidInput", StatusCode::BAD_REQUEST, m),
        }
    }
}

/// Runs one IAM action and returns the inner XML of its `<…Result>` element (empty for
/// actions without a result).
pub fn handle(iam: &Iam, action: &str, params: &Params) -> Result<String, AwsError> {
    let mut xml = Xml::new();
    match action {
        "CreateOpenIDConnectProvider" => {
            let url = params.required("Url")?;
            let provider = iam.create_oidc_provider(
                url,
                &params.list("ClientIDList"),
                &params.list("ThumbprintList"),
            )?;
            xml.text("OpenIDConnectProviderArn", &provider.arn);
        }
        "GetOpenIDConnectProvider" => {
            let provider = iam.get_oidc_provider(params.required("OpenIDConnectProviderArn")?)?;
            write_provider(&mut xml, &provider);
        }
        "ListOpenIDConnectProviders" => {
            xml.open("OpenIDConnectProviderList");
            for provider in iam.list_oidc_providers() {
                xml.open("member")
                    .text("Arn", &provider.arn)
                    .close("member");
            }
            xml.close("OpenIDConnectProviderList");
        }
        "DeleteOpenIDConnectProvider" => {
            iam.delete_oidc_provider(params.required("OpenIDConnectProviderArn")?)?;
        }
        "CreateRole" => {
            let name = params.required("RoleName")?;
            let document = params.required("AssumeRolePolicyDocument")?;
            let max_session_duration = params
                .get("MaxSessionDuration")
                .map(|v| {
                    v.parse::<u32>().map_err(|_| {
                        AwsError::validation(format!("Invalid value '{v}' for MaxSessionDuration"))
                    })
                })
                .transpose()?;
            let options = RoleOptions {
                path: params.get("Path").map(str::to_owned),
                description: params.get("Description").map(str::to_owned),
                max_session_duration,
                tags: params.tags("Tags")?,
            };
            let role = iam.create_role_with(name, document, options)?;
            write_role(&mut xml, &role);
        }
        "GetRole" => {
            let role = iam.get_role(params.required("RoleName")?)?;
            write_role(&mut xml, &role);
        }
        "ListRoles" => {
            let prefix = params.get("PathPrefix").unwrap_or("/");
            xml.open("Roles");
            for role in iam.list_roles(prefix) {
                xml.open("member");
                write_role_fields(&mut xml, &role);
                xml.close("member");
            }
            xml.close("Roles").text("IsTruncated", "false");
        }
        "DeleteRole" => iam.delete_role(params.required("RoleName")?)?,
        "UpdateAssumeRolePolicy" => {
            iam.update_assume_role_policy(
                params.required("RoleName")?,
                params.required("PolicyDocument")?,
            )?;
        }
        "PutRolePolicy" => iam.put_role_policy(
            params.required("RoleName")?,
            params.required("PolicyName")?,
            params.required("PolicyDocument")?,
        )?,
        "GetRolePolicy" => {
            let role = iam.get_role(params.required("RoleName")?)?;
            let name = params.required("PolicyName")?;
            let document = iam.get_role_policy(&role.name, name)?;
            xml.text("RoleName", &role.name)
                .text("PolicyName", name)
                .text(
                    "PolicyDocument",
                    &percent_encode(&document.json().to_string()),
                );
        }
        "DeleteRolePolicy" => {
            iam.delete_role_policy(params.required("RoleName")?, params.required("PolicyName")?)?
        }
        "ListRolePolicies" => {
            let names = iam.list_role_policies(params.required("RoleName")?)?;
            xml.open("PolicyNames");
            for name in names {
                xml.text("member", &name);
            }
            xml.close("PolicyNames").text("IsTruncated", "false");
        }
        "TagRole" => iam.tag_role(params.required("RoleName")?, params.tags("Tags")?)?,
        "UntagRole" => iam.untag_role(params.required("RoleName")?, &params.list("TagKeys"))?,
        "ListRoleTags" => {
            let role = iam.get_role(params.required("RoleName")?)?;
            write_tags(&mut xml, &role.tags);
            xml.text("IsTruncated", "false");
        }
        other => return Err(AwsError::invalid_action(other, params.get("Version"))),
    }
    Ok(xml.finish())
}

fn write_provider(xml: &mut Xml, provider: &OidcProvider) {
    xml.text("Url", &provider.url);
    xml.open("ClientIDList");
    for id in &provider.client_ids {
        xml.text("member", id);
    }
    xml.close("ClientIDList").open("ThumbprintList");
    for thumbprint in &provider.thumbprints {
        xml.text("member", thumbprint);
    }
    xml.close("ThumbprintList")
        .text("CreateDate", &aws_time(provider.create_date));
}

fn write_role(xml: &mut Xml, role: &Role) {
    xml.open("Role");
    write_role_fields(xml, role);
    xml.close("Role");
}

fn write_role_fields(xml: &mut Xml, role: &Role) {
    xml.text("Path", &role.path)
        .text("RoleName", &role.name)
        .text("RoleId", &role.role_id)
        .text("Arn", &role.arn)
        .text("CreateDate", &aws_time(role.create_date))
        .text(
            "AssumeRolePolicyDocument",
            &percent_encode(&role.trust_policy.json().to_string()),
        )
        .opt_text("Description", role.description.as_deref())
        .text("MaxSessionDuration", &role.max_session_duration.to_string());
    if !role.tags.is_empty() {
        write_tags(xml, &role.tags);
    }
}

fn write_tags(xml: &mut Xml, tags: &[(String, String)]) {
    xml.open("Tags");
    for (key, value) in tags {
        xml.open("member")
            .text("Key", key)
            .text("Value", value)
            .close("member");
    }
    xml.close("Tags");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_role_url_encodes_the_trust_policy() {
        let iam = Iam::new("123456789012".to_owned());
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        iam.create_role("r", doc).unwrap();
        let body = handle(&iam, "GetRole", &Params::parse(b"RoleName=r")).unwrap();
        assert!(
            body.contains("<AssumeRolePolicyDocument>%7B%22Statement%22%3A%5B%7B"),
            "{body}"
        );
        assert!(body.contains("<Arn>arn:aws:iam::123456789012:role/r</Arn>"));
    }

    #[test]
    fn errors_carry_aws_codes_and_statuses() {
        let iam = Iam::new("123456789012".to_owned());
        let err = handle(&iam, "GetRole", &Params::parse(b"RoleName=nope")).unwrap_err();
        assert_eq!(
            (err.code, err.status),
            ("NoSuchEntity", StatusCode::NOT_FOUND)
        );
        let err = handle(&iam, "GetRole", &Params::default()).unwrap_err();
        assert_eq!(err.code, "ValidationError");
        let err = handle(&iam, "Explode", &Params::default()).unwrap_err();
        assert_eq!(err.code, "InvalidAction");
    }
}
