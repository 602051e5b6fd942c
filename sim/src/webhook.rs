//! The pod-identity webhook: what amazon-eks-pod-identity-webhook does to a pod on CREATE.
//!
//! For a pod whose ServiceAccount carries `eks.amazonaws.com/role-arn`, every container and
//! init container (except those the pod names in `eks.amazonaws.com/skip-containers`) gets
//! `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (unless the container already defines
//! either of them, exactly like the real webhook), optionally `AWS_STS_REGIONAL_ENDPOINTS`
//! and the region variables, and a read-only mount of the projected token volume
//! `aws-iam-token`, which is added to the pod.
//!
//! [`mutate`] is a pure function over (pod, service account, options); the API server calls
//! it from its admission path and, under [`Fault::MutateExistingPods`], on running pods.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, EnvVar, Pod, ProjectedVolumeSource, ServiceAccount, ServiceAccountTokenProjection,
    Volume, VolumeMount, VolumeProjection,
};

use crate::faults::{Fault, FaultSet};

/// The annotation domain of the real webhook (`--annotation-prefix` default).
const ANNOTATION_DOMAIN: &str = "eks.amazonaws.com";
/// Where the projected token is mounted.
const MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
/// The projected volume's name.
const VOLUME_NAME: &str = "aws-iam-token";
/// The file name of the token inside the mount.
const TOKEN_FILE: &str = "token";
/// The audience of the projected token unless the ServiceAccount names another.
const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// The token lifetime unless an annotation names another (`--token-expiration` default).
const DEFAULT_TOKEN_EXPIRATION: i64 = 86_400;
/// The shortest token lifetime the webhook asks for.
const MIN_TOKEN_EXPIRATION: i64 = 600;

/// The token path [`Fault::WrongTokenPath`] injects: the default ServiceAccount token, which
/// STS cannot use for web identity.
const WRONG_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// The audience [`Fault::WrongTokenAudience`] asks for: the API server's own audience.
const WRONG_AUDIENCE: &str = "https://kubernetes.default.svc";

/// Settings of the webhook (its command-line flags) and the fault switches it honours.
#[derive(Debug, Clone, Default)]
pub struct WebhookOptions {
    /// `--aws-default-region`: injected as `AWS_REGION`/`AWS_DEFAULT_REGION` when set.
    pub default_region: Option<String>,
    /// `--sts-regional-endpoint`: inject `AWS_STS_REGIONAL_ENDPOINTS=regional` by default.
    pub sts_regional_endpoints: bool,
    /// Fault switches; only the webhook's own (`WebhookDisabled`, `EnvVarMissing`,
    /// `WrongTokenPath`, `TokenVolumeMissing`, `WrongTokenAudience`) matter here.
    pub faults: FaultSet,
}

/// What the ServiceAccount's annotations ask for, parsed like the webhook's SA cache does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBinding {
    /// The role ARN (`eks.amazonaws.com/role-arn`).
    pub role_arn: String,
    /// The token audience (`eks.amazonaws.com/audience`, default `sts.amazonaws.com`).
    pub audience: String,
    /// Whether to inject `AWS_STS_REGIONAL_ENDPOINTS=regional`.
    pub regional_sts: bool,
    /// Token lifetime from the ServiceAccount annotation or the default.
    pub token_expiration: i64,
}

fn key(name: &str) -> String {
    format!("{ANNOTATION_DOMAIN}/{name}")
}

/// Parses the webhook-relevant annotations of a ServiceAccount; `None` when it has no
/// (non-empty) role ARN, i.e. the webhook leaves its pods alone.
pub fn role_binding(sa: &ServiceAccount, options: &WebhookOptions) -> Option<RoleBinding> {
    let annotations = sa.metadata.annotations.as_ref()?;
    let role_arn = annotations.get(&key("role-arn"))?.trim().to_owned();
    if role_arn.is_empty() {
        return None;
    }
    let audience = annotations
        .get(&key("audience"))
        .filter(|a| !a.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
    let regional_sts = match annotations.get(&key("sts-regional-endpoints")) {
        Some(v) => v.trim() == "true",
        None => options.sts_regional_endpoints,
    };
    let token_expiration = annotations
        .get(&key("token-expiration"))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(DEFAULT_TOKEN_EXPIRATION, clamp_expiration);
    Some(RoleBinding {
        role_arn,
        audience,
        regional_sts,
        token_expiration,
    })
}

fn clamp_expiration(seconds: i64) -> i64 {
    seconds.max(MIN_TOKEN_EXPIRATION)
}

/// Mutates `pod` as the webhook would when it is created under `sa` (`None`: the
/// ServiceAccount is not known to the webhook). Returns whether anything changed.
pub fn mutate(pod: &mut Pod, sa: Option<&ServiceAccount>, options: &WebhookOptions) -> bool {
    if options.faults.has(Fault::WebhookDisabled) {
        return false;
    }
    let Some(binding) = sa.and_then(|sa| role_binding(sa, options)) else {
        return false;
    };
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();
    let token_expiration = annotations
        .get(&key("token-expiration"))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(binding.token_expiration, clamp_expiration);
    let skip = containers_to_skip(&annotations);

    let token_path = if options.faults.has(Fault::WrongTokenPath) {
        WRONG_TOKEN_PATH.to_owned()
    } else {
        windows_aware_path(pod, &format!("{MOUNT_PATH}/{TOKEN_FILE}"))
    };
    let with_volume = !options.faults.has(Fault::TokenVolumeMissing);
    let env = EnvPlan {
        role_arn: (!options.faults.has(Fault::EnvVarMissing)).then_some(binding.role_arn.as_str()),
        token_path: &token_path,
        regional_sts: binding.regional_sts,
        region: options.default_region.as_deref(),
        mount: with_volume,
    };

    let Some(spec) = pod.spec.as_mut() else {
        return false;
    };
    let mut changed = false;
    for container in spec
        .init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
    {
        if !skip.contains(&container.name) {
            changed |= env.apply(container);
        }
    }

    if with_volume {
        let volumes = spec.volumes.get_or_insert_with(Vec::new);
        if !volumes.iter().any(|v| v.name == VOLUME_NAME) {
            let audience = if options.faults.has(Fault::WrongTokenAudience) {
                WRONG_AUDIENCE.to_owned()
            } else {
                binding.audience.clone()
            };
            volumes.insert(0, token_volume(audience, token_expiration));
            changed = true;
        }
    }
    changed
}

/// The env vars and mount to add to each container.
struct EnvPlan<'a> {
    role_arn: Option<&'a str>,
    token_path: &'a str,
    regional_sts: bool,
    region: Option<&'a str>,
    mount: bool,
}

impl EnvPlan<'_> {
    fn apply(&self, container: &mut Container) -> bool {
        let env = container.env.get_or_insert_with(Vec::new);
        let defines = |names: &[&str]| env.iter().any(|e| names.contains(&e.name.as_str()));
        let reserved_defined = defines(&["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
        let region_defined = defines(&["AWS_REGION", "AWS_DEFAULT_REGION"]);
        let sts_defined = defines(&["AWS_STS_REGIONAL_ENDPOINTS"]);

        let mut changed = false;
        let mut push = |name: &str, value: &str| {
            env.push(EnvVar {
                name: name.to_owned(),
                value: Some(value.to_owned()),
                value_from: None,
            });
            changed = true;
        };
        if self.regional_sts && !sts_defined {
            push("AWS_STS_REGIONAL_ENDPOINTS", "regional");
        }
        if let Some(region) = self.region.filter(|r| !r.is_empty() && !region_defined) {
            push("AWS_DEFAULT_REGION", region);
            push("AWS_REGION", region);
        }
        if !reserved_defined {
            if let Some(arn) = self.role_arn {
                push("AWS_ROLE_ARN", arn);
            }
            push("AWS_WEB_IDENTITY_TOKEN_FILE", self.token_path);
        }
        if container.env.as_ref().is_some_and(Vec::is_empty) {
            container.env = None;
        }

        if self.mount {
            let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
            if !mounts.iter().any(|m| m.name == VOLUME_NAME) {
                mounts.push(VolumeMount {
                    name: VOLUME_NAME.to_owned(),
                    mount_path: MOUNT_PATH.to_owned(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                });
                changed = true;
            }
        }
        changed
    }
}

/// Container names listed (comma-separated) in the pod's skip-containers annotation.
fn containers_to_skip(annotations: &BTreeMap<String, String>) -> BTreeSet<String> {
    annotations
        .get(&key("skip-containers"))
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Windows pods get `C:\var\run\...` like the real webhook.
fn windows_aware_path(pod: &Pod, path: &str) -> String {
    let windows = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref())
        .is_some_and(|sel| {
            ["kubernetes.io/os", "beta.kubernetes.io/os"]
                .iter()
                .any(|k| sel.get(*k).is_some_and(|v| v == "windows"))
        });
    if windows {
        format!("C:{}", path.replace('/', "\\"))
    } else {
        path.to_owned()
    }
}

fn token_volume(audience: String, expiration: i64) -> Volume {
    Volume {
        name: VOLUME_NAME.to_owned(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![VolumeProjection {
                service_account_token: Some(ServiceAccountTokenProjection {
                    audience: Some(audience),
                    expiration_seconds: Some(expiration),
                    path: TOKEN_FILE.to_owned(),
                    ..ServiceAccountTokenProjection::default()
                }),
                ..VolumeProjection::default()
            }]),
            ..ProjectedVolumeSource::default()
        }),
        ..Volume::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    const ARN: &str = "arn:aws:iam::123456789012:role/r";

    fn sa(annotations: serde_json::Value) -> ServiceAccount {
        serde_json::from_value(
            json!({"metadata": {"name": "sa", "namespace": "ns", "annotations": annotations}}),
        )
        .unwrap()
    }

    fn pod(annotations: serde_json::Value, main_env: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "annotations": annotations},
            "spec": {
                "serviceAccountName": "sa",
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [
                    {"name": "main", "image": "airflow", "env": main_env},
                    {"name": "sidecar", "image": "envoy"}
                ]
            }
        }))
        .unwrap()
    }

    fn env_of(pod: &Pod, container: &str) -> BTreeMap<String, String> {
        let spec = pod.spec.as_ref().unwrap();
        spec.init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .find(|c| c.name == container)
            .and_then(|c| c.env.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect()
    }

    fn mounted(pod: &Pod, container: &str) -> bool {
        let spec = pod.spec.as_ref().unwrap();
        spec.init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .find(|c| c.name == container)
            .and_then(|c| c.volume_mounts.as_ref())
            .is_some_and(|m| {
                m.iter().any(|m| {
                    m.name == VOLUME_NAME && m.mount_path == MOUNT_PATH && m.read_only == Some(true)
                })
            })
    }

    /// (audience, expirationSeconds) of the projected volume, if present.
    fn volume(pod: &Pod) -> Option<(String, i64)> {
        let vol = pod
            .spec
            .as_ref()?
            .volumes
            .as_ref()?
            .iter()
            .find(|v| v.name == VOLUME_NAME)?;
        let proj = vol.projected.as_ref()?.sources.as_ref()?[0]
            .service_account_token
            .clone()?;
        assert_eq!(proj.path, "token");
        Some((proj.audience?, proj.expiration_seconds?))
    }

    struct Expect {
        changed: bool,
        role_env: Option<&'static str>,
        token_file: Option<&'static str>,
        volume: Option<(&'static str, i64)>,
        sidecar_mounted: bool,
    }

    const TOKEN: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
    const FULL: Expect = Expect {
        changed: true,
        role_env: Some(ARN),
        token_file: Some(TOKEN),
        volume: Some(("sts.amazonaws.com", 86_400)),
        sidecar_mounted: true,
    };
    const NONE: Expect = Expect {
        changed: false,
        role_env: None,
        token_file: None,
        volume: None,
        sidecar_mounted: false,
    };

    #[rstest]
    #[case::annotated(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), None, FULL)]
    #[case::unannotated(json!({"other": "x"}), json!({}), None, NONE)]
    #[case::empty_arn(json!({"eks.amazonaws.com/role-arn": ""}), json!({}), None, NONE)]
    #[case::skip_sidecar(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/skip-containers": "init, sidecar"}), None,
        Expect { sidecar_mounted: false, ..FULL })]
    #[case::sa_audience(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/audience": "custom"}), json!({}), None,
        Expect { volume: Some(("custom", 86_400)), ..FULL })]
    #[case::sa_expiration(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "3600"}), json!({}), None,
        Expect { volume: Some(("sts.amazonaws.com", 3600)), ..FULL })]
    #[case::pod_expiration_wins(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "3600"}),
        json!({"eks.amazonaws.com/token-expiration": "7200"}), None, Expect { volume: Some(("sts.amazonaws.com", 7200)), ..FULL })]
    #[case::expiration_minimum(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/token-expiration": "60"}), None,
        Expect { volume: Some(("sts.amazonaws.com", 600)), ..FULL })]
    #[case::disabled(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), Some(Fault::WebhookDisabled), NONE)]
    #[case::env_var_missing(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), Some(Fault::EnvVarMissing),
        Expect { role_env: None, ..FULL })]
    #[case::wrong_token_path(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), Some(Fault::WrongTokenPath),
        Expect { token_file: Some(WRONG_TOKEN_PATH), ..FULL })]
    #[case::volume_missing(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), Some(Fault::TokenVolumeMissing),
        Expect { volume: None, sidecar_mounted: false, ..FULL })]
    #[case::wrong_audience(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), Some(Fault::WrongTokenAudience),
        Expect { volume: Some((WRONG_AUDIENCE, 86_400)), ..FULL })]
    fn mutation_table(
        #[case] sa_annotations: serde_json::Value,
        #[case] pod_annotations: serde_json::Value,
        #[case] fault: Option<Fault>,
        #[case] expect: Expect,
    ) {
        let options = WebhookOptions {
            faults: fault.map(FaultSet::only).unwrap_or_default(),
            ..WebhookOptions::default()
        };
        let mut p = pod(pod_annotations, json!([]));
        let changed = mutate(&mut p, Some(&sa(sa_annotations)), &options);
        assert_eq!(changed, expect.changed);
        let main = env_of(&p, "main");
        assert_eq!(
            main.get("AWS_ROLE_ARN").map(String::as_str),
            expect.role_env
        );
        assert_eq!(
            main.get("AWS_WEB_IDENTITY_TOKEN_FILE").map(String::as_str),
            expect.token_file
        );
        assert!(!main.contains_key("AWS_REGION"));
        assert!(!main.contains_key("AWS_STS_REGIONAL_ENDPOINTS"));
        let vol = volume(&p);
        assert_eq!(vol.as_ref().map(|(a, e)| (a.as_str(), *e)), expect.volume);
        assert_eq!(mounted(&p, "main"), expect.volume.is_some());
        assert_eq!(mounted(&p, "sidecar"), expect.sidecar_mounted);
        assert_eq!(
            env_of(&p, "sidecar").contains_key("AWS_WEB_IDENTITY_TOKEN_FILE"),
            expect.sidecar_mounted || (expect.changed && expect.volume.is_none())
        );
    }

    #[test]
    fn an_unknown_service_account_changes_nothing() {
        let mut p = pod(json!({}), json!([]));
        let before = p.clone();
        assert!(!mutate(&mut p, None, &WebhookOptions::default()));
        assert_eq!(p, before);
    }

    #[test]
    fn existing_env_vars_are_kept() {
        let mut p = pod(
            json!({}),
            json!([{"name": "AWS_ROLE_ARN", "value": "arn:mine"}, {"name": "AWS_REGION", "value": "eu-west-1"}]),
        );
        let options = WebhookOptions {
            default_region: Some("us-west-2".to_owned()),
            sts_regional_endpoints: true,
            ..WebhookOptions::default()
        };
        let s = sa(json!({"eks.amazonaws.com/role-arn": ARN}));
        assert!(mutate(&mut p, Some(&s), &options));
        let main = env_of(&p, "main");
        assert_eq!(main["AWS_ROLE_ARN"], "arn:mine");
        // Like the real webhook: one reserved key defined means neither is added.
        assert!(!main.contains_key("AWS_WEB_IDENTITY_TOKEN_FILE"));
        assert_eq!(main["AWS_REGION"], "eu-west-1");
        assert!(!main.contains_key("AWS_DEFAULT_REGION"));
        assert_eq!(main["AWS_STS_REGIONAL_ENDPOINTS"], "regional");
        assert!(mounted(&p, "main"));
        let sidecar = env_of(&p, "sidecar");
        assert_eq!(sidecar["AWS_ROLE_ARN"], ARN);
        assert_eq!(sidecar["AWS_REGION"], "us-west-2");
        assert_eq!(sidecar["AWS_DEFAULT_REGION"], "us-west-2");
        let init = env_of(&p, "init");
        assert_eq!(init["AWS_WEB_IDENTITY_TOKEN_FILE"], TOKEN);
    }

    #[rstest]
    #[case::sa_true(Some("true"), false, true)]
    #[case::sa_false_overrides_default(Some("false"), true, false)]
    #[case::default_on(None, true, true)]
    #[case::default_off(None, false, false)]
    fn regional_sts(
        #[case] annotation: Option<&str>,
        #[case] default: bool,
        #[case] expected: bool,
    ) {
        let mut annotations = json!({"eks.amazonaws.com/role-arn": ARN});
        if let Some(a) = annotation {
            annotations["eks.amazonaws.com/sts-regional-endpoints"] = json!(a);
        }
        let options = WebhookOptions {
            sts_regional_endpoints: default,
            ..WebhookOptions::default()
        };
        let mut p = pod(json!({}), json!([]));
        mutate(&mut p, Some(&sa(annotations)), &options);
        assert_eq!(
            env_of(&p, "main")
                .get("AWS_STS_REGIONAL_ENDPOINTS")
                .map(String::as_str),
            expected.then_some("regional")
        );
    }

    #[test]
    fn mutating_twice_changes_nothing_more() {
        let s = sa(json!({"eks.amazonaws.com/role-arn": ARN}));
        let mut p = pod(json!({}), json!([]));
        assert!(mutate(&mut p, Some(&s), &WebhookOptions::default()));
        let once = p.clone();
        assert!(!mutate(&mut p, Some(&s), &WebhookOptions::default()));
        assert_eq!(p, once);
    }
}
