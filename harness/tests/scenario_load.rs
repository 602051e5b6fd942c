//! Good scenario files load into exactly the expected model; templates render per run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rolecheck::capability::Capability;
use rolecheck::chart::Component;
use rolecheck::platform::{Actor, Executor, PlatformErrorKind};
use rolecheck::rules::RuleId;
use rolecheck::scenario::attribution;
use rolecheck::scenario::{Action, Scenario, Step};
use rolecheck::scenario::{
    BUILTINS, BuiltinValues, TemplateContext, TemplateError, load_paths, load_str, release_name,
};
use rolecheck::source::Location;
use rolecheck::steps::assume_role::{AssumeRole, TokenTamper};
use rolecheck::steps::create_deployment::CreateDeployment;
use rolecheck::steps::create_service_account::CreateServiceAccount;
use rolecheck::steps::delete_deployment::DeleteDeployment;
use rolecheck::steps::expect_pods::{ExpectPods, TokenVolumeExpectation};
use rolecheck::steps::expect_service_accounts::ExpectServiceAccounts;
use rolecheck::steps::fields::{Expect, RoleInput, TokenSource};
use rolecheck::steps::s3_access::{S3Access, S3Action, S3Expect, S3Operation};
use rolecheck::steps::update_deployment::UpdateDeployment;
use rolecheck::template::{TargetFacts, Template};
use rstest::rstest;

fn good_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios-good")
}

fn t(text: &str) -> Template {
    Template(text.to_owned())
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<Template, Template> {
    pairs.iter().map(|(k, v)| (t(k), t(v))).collect()
}

fn step(file: &Path, line: usize, action: Action) -> Step {
    Step {
        action,
        timeout: None,
        expect: Expect::Success,
        rules: vec![],
        location: Location {
            file: file.to_path_buf(),
            line,
            column: 5,
        },
    }
}

fn rules(numbers: &[u8]) -> Vec<RuleId> {
    numbers.iter().map(|n| RuleId::new(*n).unwrap()).collect()
}

#[test]
fn every_step_kind_loads_into_the_exact_model() {
    let file = good_dir().join("every-step-kind.yaml");
    let scenarios = load_paths(std::slice::from_ref(&file)).unwrap();
    let f = file.as_path();
    let release = || t("{{release}}");
    let mut expected = Scenario {
        name: "every-step-kind".into(),
        description: "A scenario that uses every step kind.".into(),
        rules: rules(&[2, 4, 5, 10, 12]),
        tags: vec!["smoke".into(), "full".into()],
        requires: vec![Capability::PlatformApi, Capability::Webhook],
        vars: [
            ("role".to_owned(), t("{{role_arn}}")),
            (
                "other_role".to_owned(),
                t("arn:aws:iam::{{account}}:role/other"),
            ),
        ]
        .into_iter()
        .collect(),
        steps: vec![
            step(
                f,
                11,
                Action::CreateDeployment(CreateDeployment {
                    release: release(),
                    executor: Executor::Celery,
                    cloud_role: RoleInput::Value(t("{{role}}")),
                    actor: Actor::Admin,
                }),
            ),
            Step {
                expect: Expect::PlatformError(PlatformErrorKind::PermissionDenied),
                ..step(
                    f,
                    12,
                    Action::UpdateDeployment(UpdateDeployment {
                        release: release(),
                        cloud_role: RoleInput::Value(t("")),
                        actor: Actor::Editor,
                    }),
                )
            },
            Step {
                timeout: Some(Duration::from_secs(120)),
                ..step(
                    f,
                    13,
                    Action::UpdateDeployment(UpdateDeployment {
                        release: release(),
                        cloud_role: RoleInput::Null,
                        actor: Actor::Admin,
                    }),
                )
            },
            Step {
                expect: Expect::PlatformError(PlatformErrorKind::Any),
                ..step(
                    f,
                    14,
                    Action::UpdateDeployment(UpdateDeployment {
                        release: release(),
                        cloud_role: RoleInput::Omitted,
                        actor: Actor::Viewer,
                    }),
                )
            },
            Step {
                timeout: Some(Duration::from_secs(30)),
                ..step(
                    f,
                    15,
                    Action::ExpectServiceAccounts(ExpectServiceAccounts {
                        release: release(),
                        components: Component::ALL.to_vec(),
                        annotations: map(&[("eks.amazonaws.com/role-arn", "{{role}}")]),
                        absent: vec![t("some/key")],
                    }),
                )
            },
            step(
                f,
                21,
                Action::ExpectPods(ExpectPods {
                    release: release(),
                    components: vec![Component::Worker],
                    env: map(&[("AWS_ROLE_ARN", "{{role}}")]),
                    env_absent: vec![t("AWS_ACCESS_KEY_ID")],
                    token_volume: Some(TokenVolumeExpectation::Present {
                        name: t("aws-iam-token"),
                        audience: t("sts.amazonaws.com"),
                        mount_path: t("/var/run/secrets/eks.amazonaws.com/serviceaccount"),
                    }),
                }),
            ),
            step(
                f,
                27,
                Action::ExpectPods(ExpectPods {
                    release: release(),
                    components: Component::ALL.to_vec(),
                    env: BTreeMap::new(),
                    env_absent: vec![],
                    token_volume: Some(TokenVolumeExpectation::Absent {
                        name: t("aws-iam-token"),
                    }),
                }),
            ),
            step(
                f,
                30,
                Action::AssumeRole(AssumeRole {
                    token: TokenSource::Pod {
                        release: release(),
                        component: Component::Worker,
                    },
                    role: t("{{role}}"),
                    audience: None,
                    expiration_seconds: None,
                    tamper: TokenTamper::None,
                    session_name: None,
                }),
            ),
            step(
                f,
                31,
                Action::CreateServiceAccount(CreateServiceAccount {
                    namespace: t("outside-{{run_id}}"),
                    name: t("intruder"),
                }),
            ),
            Step {
                expect: Expect::StsError("AccessDenied".into()),
                ..step(
                    f,
                    32,
                    Action::AssumeRole(AssumeRole {
                        token: TokenSource::ServiceAccount {
                            namespace: t("outside-{{run_id}}"),
                            name: t("intruder"),
                        },
                        role: t("{{other_role}}"),
                        audience: Some(t("sts.amazonaws.com")),
                        expiration_seconds: Some(3600),
                        tamper: TokenTamper::ResignWithForeignKey,
                        session_name: Some(t("x")),
                    }),
                )
            },
            step(
                f,
                40,
                Action::DeleteDeployment(DeleteDeployment {
                    release: release(),
                    actor: Actor::Admin,
                }),
            ),
        ],
        finally: vec![step(
            f,
            42,
            Action::DeleteDeployment(DeleteDeployment {
                release: release(),
                actor: Actor::Admin,
            }),
        )],
        location: Location {
            file: file.clone(),
            line: 1,
            column: 1,
        },
    };
    // Which rules each step checks is the default for its kind (tested in `attribution`).
    for step in &mut expected.steps {
        step.rules = attribution::default_rules(&step.action, &step.expect, &expected.rules);
    }
    assert_eq!(scenarios, vec![expected]);
}

#[test]
fn a_directory_loads_its_yaml_files_in_name_order() {
    let scenarios = load_paths(&[good_dir()]).unwrap();
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["first", "every-step-kind", "second"]);
    assert_eq!(
        scenarios[2].location.file.file_name().unwrap(),
        "second.yml"
    );
}

#[test]
fn paths_keep_their_command_line_order() {
    let dir = good_dir();
    let scenarios = load_paths(&[dir.join("second.yml"), dir.join("0-first.yaml")]).unwrap();
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["second", "first"]);
}

#[test]
fn the_same_file_twice_is_a_duplicate_name() {
    let file = good_dir().join("second.yml");
    let errors = load_paths(&[file.clone(), file.clone()]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!(
            "{f}:1:7: duplicate scenario name `second` (first defined at {f}:1:7)",
            f = file.display()
        )
    );
}

fn builtins() -> BuiltinValues {
    BuiltinValues {
        run_id: "4f1c9a2e-77aa".into(),
        release: "rc-4f1c9a2e-3".into(),
        facts: TargetFacts {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            role_arn: "arn:aws:iam::000000000000:role/airflow".into(),
            oidc_provider_arn: "arn:aws:iam::000000000000:oidc-provider/oidc.example".into(),
            bucket: "astronomer-bucket".into(),
            other_bucket: "other-bucket".into(),
        },
        namespaces: rolecheck::namespaces::ReleaseNamespaces::default(),
    }
}

const VARS_SCENARIO: &str = r#"
name: vars
description: Uses vars built from built-ins.
rules: [R2]
vars:
  role: "arn:aws:iam::{{account}}:role/{{ release }}"
  plain: text
steps:
  - delete_deployment: {release: "{{release}}", rules: [R2]}
"#;

#[test]
fn builtins_cover_the_documented_names() {
    let map = builtins().to_map();
    assert_eq!(map.keys().count(), BUILTINS.len());
    assert!(BUILTINS.iter().all(|b| map.contains_key(*b)));
    assert_eq!(map["namespace"], "astronomer-rc-4f1c9a2e-3");
}

#[rstest]
#[case("{{release}}", "rc-4f1c9a2e-3")]
#[case("{{namespace}}", "astronomer-rc-4f1c9a2e-3")]
#[case("outside-{{run_id}}", "outside-4f1c9a2e-77aa")]
#[case("{{region}}/{{account}}", "us-east-1/000000000000")]
#[case("{{role_arn}}", "arn:aws:iam::000000000000:role/airflow")]
#[case(
    "{{oidc_provider_arn}}",
    "arn:aws:iam::000000000000:oidc-provider/oidc.example"
)]
#[case("{{role}}", "arn:aws:iam::000000000000:role/rc-4f1c9a2e-3")]
#[case("{{plain}}-{{ plain }}", "text-text")]
#[case("no placeholders {x} }}", "no placeholders {x} }}")]
#[case("", "")]
fn templates_render_builtins_and_vars(#[case] template: &str, #[case] rendered: &str) {
    let scenario = load_str(Path::new("vars.yaml"), VARS_SCENARIO).unwrap();
    let ctx = TemplateContext::new(&scenario, &builtins()).unwrap();
    assert_eq!(ctx.render(&t(template)).unwrap(), rendered);
}

#[test]
fn rendering_an_unknown_name_is_an_error_with_a_suggestion() {
    let scenario = load_str(Path::new("vars.yaml"), VARS_SCENARIO).unwrap();
    let ctx = TemplateContext::new(&scenario, &builtins()).unwrap();
    assert_eq!(
        ctx.render(&t("{{rolee}}")).unwrap_err(),
        TemplateError::Unknown {
            name: "rolee".into(),
            suggestion: " (did you mean `role`?)".into()
        }
    );
    assert_eq!(
        ctx.render(&t("{{role")).unwrap_err(),
        TemplateError::Unterminated { offset: 0 }
    );
}

#[test]
fn a_var_may_not_use_another_var_when_rendering() {
    let vars = [("a".to_owned(), t("x")), ("b".to_owned(), t("{{a}}"))]
        .into_iter()
        .collect();
    let err = TemplateContext::with_vars(&vars, &builtins()).unwrap_err();
    assert!(matches!(err, TemplateError::Unknown { name, .. } if name == "a"));
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[rstest]
#[case("4F1C9A2E-77AA-4E0B-9C3D-0123456789AB")]
#[case("run_2026-11-03T10:00:00Z")]
#[case("")]
#[case("---")]
#[case("ÄÖÜ")]
fn release_names_are_short_unique_dns_labels(#[case] run_id: &str) {
    let names: Vec<String> = [0, 1, 2, 10, 11, usize::MAX]
        .iter()
        .map(|i| release_name(run_id, *i))
        .collect();
    for name in &names {
        assert!(is_dns_label(name), "`{name}` is not a DNS label");
        assert!(format!("astronomer-{name}").len() <= 63);
    }
    let unique: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
}

#[test]
fn release_name_keeps_the_run_id_recognisable() {
    assert_eq!(release_name("4F1C9A2E-77AA", 3), "rc-4f1c9a2e-3");
}

#[rstest]
#[case("success", Expect::Success)]
#[case("allowed", Expect::Success)]
#[case("accepted_or_refused", Expect::AcceptedOrRefused)]
#[case(
    "{error: permission_denied}",
    Expect::PlatformError(PlatformErrorKind::PermissionDenied)
)]
#[case(
    "{error: invalid_request}",
    Expect::PlatformError(PlatformErrorKind::InvalidRequest)
)]
#[case("{error: any}", Expect::PlatformError(PlatformErrorKind::Any))]
fn platform_step_expect_values(#[case] written: &str, #[case] expected: Expect) {
    let text = format!(
        "name: e\ndescription: d\nrules: [R10]\nsteps:\n  - update_deployment: {{release: x, cloud_role: \"\", expect: {written}, rules: [R10]}}\n"
    );
    let scenario = load_str(Path::new("e.yaml"), &text).unwrap();
    assert_eq!(scenario.steps[0].expect, expected);
}

#[test]
fn the_suite_in_the_repository_loads() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let scenarios = load_paths(&[suite]).unwrap_or_else(|e| panic!("{e}"));
    assert!(!scenarios.is_empty());
}

#[test]
fn s3_access_loads_its_token_source_and_operations() {
    let text = r#"name: s
description: d
rules: [R13]
requires: [s3]
steps:
  - s3_access:
      service_account: {namespace: "{{namespace}}", name: worker}
      role: "{{role_arn}}"
      session_name: s3-check
      operations:
        - {action: put_object, bucket: astronomer-bucket, key: "rolecheck/{{run_id}}.txt", expect: allowed}
        - {action: list_bucket, bucket: other-bucket, expect: denied}
"#;
    let file = Path::new("s.yaml");
    let scenario = load_str(file, text).unwrap_or_else(|e| panic!("{e}"));
    let at = |line| Location {
        file: file.to_path_buf(),
        line,
        column: 11,
    };
    assert_eq!(
        scenario.steps[0].action,
        Action::S3Access(S3Access {
            token: TokenSource::ServiceAccount {
                namespace: t("{{namespace}}"),
                name: t("worker"),
            },
            role: t("{{role_arn}}"),
            session_name: Some(t("s3-check")),
            operations: vec![
                S3Operation {
                    action: S3Action::PutObject,
                    bucket: t("astronomer-bucket"),
                    key: Some(t("rolecheck/{{run_id}}.txt")),
                    expect: S3Expect::Allowed,
                    location: at(11),
                },
                S3Operation {
                    action: S3Action::ListBucket,
                    bucket: t("other-bucket"),
                    key: None,
                    expect: S3Expect::Denied,
                    location: at(12),
                },
            ],
        })
    );
    assert_eq!(scenario.steps[0].action.kind(), "s3_access");
    assert!(rolecheck::plan::needs(&scenario).contains(&Capability::S3));
}

/// A step about a deployment may leave out `release` (the scenario's own) and `components`
/// (all three); the token source of `assume_role` may then be only `component`.
#[test]
fn release_and_components_default_to_the_scenarios_own_and_all() {
    let yaml = "name: a\ndescription: d\nrules: [R2, R4]\nsteps:\n  - create_deployment: {cloud_role: r}\n  - expect_service_accounts: {annotations: {k: v}}\n  - assume_role: {component: worker, role: r}\n  - delete_deployment: {as: admin}\n";
    let scenario = load_str(Path::new("a.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"));
    let release = t("{{release}}");
    let Action::CreateDeployment(create) = &scenario.steps[0].action else {
        panic!("{:?}", scenario.steps[0].action);
    };
    assert_eq!(create.release, release);
    let Action::ExpectServiceAccounts(sa) = &scenario.steps[1].action else {
        panic!("{:?}", scenario.steps[1].action);
    };
    assert_eq!(sa.release, release);
    assert_eq!(sa.components, Component::ALL.to_vec());
    let Action::AssumeRole(assume) = &scenario.steps[2].action else {
        panic!("{:?}", scenario.steps[2].action);
    };
    assert_eq!(
        assume.token,
        TokenSource::Pod {
            release: release.clone(),
            component: Component::Worker
        }
    );
    let Action::DeleteDeployment(delete) = &scenario.steps[3].action else {
        panic!("{:?}", scenario.steps[3].action);
    };
    assert_eq!(delete.release, release);
}
