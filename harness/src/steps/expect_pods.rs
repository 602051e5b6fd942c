//! `expect_pods`: once a component has rolled out, every pod carries (or lacks) the env vars,
//! the projected token volume and its mount that the documents promise (R5, R16).

use crate::drivers::deadline::Deadline;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::ResourceExt as _;

use super::fields::Expect;
use super::kind::{COMPONENTS, Key, RELEASE, Refusals, Shape, StepKind};
use super::{Mismatches, ScenarioContext, StepError, fields};
use crate::capability::Capability;
use crate::chart::Component;
use crate::source::decode::{Ctx, Fields};
use crate::source::yaml::{Node, NodeKind};
use crate::template::Template;

/// The rendered expectations of one `expect_pods` step.
struct Wanted {
    env: BTreeMap<String, String>,
    env_absent: Vec<String>,
    volume: Option<Volume>,
}

enum Volume {
    Present {
        name: String,
        audience: String,
        mount_path: String,
    },
    Absent {
        name: String,
    },
}

/// Waits for each component's rollout, then checks all its pods; reports every mismatch.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectPods,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let namespace = ctx.namespace_of(&release);
    let wanted = render(ctx, step)?;
    let mut differences = Mismatches::default();
    let rolled_out = ctx
        .rolled_out_pods_of(&release, &step.components, deadline)
        .await?;
    for (component, pods) in rolled_out {
        for pod in &pods {
            log.push(format!("{component}: pod {namespace}/{}", pod.name_any()));
            check_pod(pod, &wanted, &mut differences);
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.into_failure("pod"))
    }
}

fn render(ctx: &ScenarioContext<'_>, step: &ExpectPods) -> Result<Wanted, StepError> {
    let env = ctx.render_map(&step.env)?;
    let env_absent = ctx.render_all(&step.env_absent)?;
    let volume = match &step.token_volume {
        None => None,
        Some(TokenVolumeExpectation::Present {
            name,
            audience,
            mount_path,
        }) => Some(Volume::Present {
            name: ctx.render(name)?,
            audience: ctx.render(audience)?,
            mount_path: ctx.render(mount_path)?,
        }),
        Some(TokenVolumeExpectation::Absent { name }) => Some(Volume::Absent {
            name: ctx.render(name)?,
        }),
    };
    Ok(Wanted {
        env,
        env_absent,
        volume,
    })
}

fn containers(pod: &Pod) -> Vec<&Container> {
    pod.spec
        .as_ref()
        .map(|s| s.containers.iter().collect())
        .unwrap_or_default()
}

fn env_of(container: &Container) -> BTreeMap<&str, &str> {
    container
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
        .collect()
}

fn check_pod(pod: &Pod, wanted: &Wanted, differences: &mut Mismatches) {
    let pod_name = pod.name_any();
    for container in containers(pod) {
        let env = env_of(container);
        for (key, want) in &wanted.env {
            let got = env.get(key.as_str());
            if got != Some(&want.as_str()) {
                differences.push(&pod_name, key, want, got.unwrap_or(&"<absent>"));
            }
        }
        for key in &wanted.env_absent {
            if let Some(got) = env.get(key.as_str()) {
                differences.push(&pod_name, key, "<absent>", got);
            }
        }
        if let Some(Volume::Present {
            name, mount_path, ..
        }) = &wanted.volume
        {
            let mount = container
                .volume_mounts
                .iter()
                .flatten()
                .find(|m| &m.name == name);
            let setting = format!("mount of {name}");
            match mount {
                Some(m) if &m.mount_path == mount_path => {}
                Some(m) => differences.push(&pod_name, &setting, mount_path, &m.mount_path),
                None => differences.push(&pod_name, &setting, mount_path, "<not mounted>"),
            }
        }
    }
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    match &wanted.volume {
        None => {}
        Some(Volume::Absent { name }) if volumes.iter().any(|v| &v.name == name) => {
            differences.push(&pod_name, &format!("volume {name}"), "<absent>", "present");
        }
        Some(Volume::Absent { .. }) => {}
        Some(Volume::Present { name, audience, .. }) => {
            let volume = volumes.iter().find(|v| &v.name == name);
            let audiences: Vec<String> = volume
                .and_then(|v| v.projected.as_ref())
                .and_then(|p| p.sources.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|s| s.service_account_token.as_ref())
                .map(|t| t.audience.clone().unwrap_or_default())
                .collect();
            let setting = format!("{name} token audience");
            if volume.is_none() {
                differences.push(&pod_name, &setting, audience, "<no volume>");
            } else if !audiences.iter().any(|a| a == audience) {
                differences.push(&pod_name, &setting, audience, &audiences.join(","));
            }
        }
    }
}

/// The `env` key of `expect_pods` and `expect_pod`.
pub(super) const ENV: Key = Key::optional(
    "env",
    Shape::TextMap,
    "env vars every container carries with exactly these values",
);

/// The `env_absent` key of `expect_pods` and `expect_pod`.
pub(super) const ENV_ABSENT: Key =
    Key::optional("env_absent", Shape::TextList, "env vars no container carries");

/// Fields of `expect_pods`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectPods {
    /// Release name.
    pub release: Template,
    /// Components whose pods are checked (every pod of each component).
    pub components: Vec<Component>,
    /// Env vars every container must carry with exactly these values.
    pub env: BTreeMap<Template, Template>,
    /// Env vars no container may carry.
    pub env_absent: Vec<Template>,
    /// The projected token volume every pod must (or must not) have.
    pub token_volume: Option<TokenVolumeExpectation>,
}

/// What the projected service-account token volume must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenVolumeExpectation {
    /// A projected volume with this name, audience, path and mount.
    Present {
        /// Volume name (`aws-iam-token`).
        name: Template,
        /// Token audience (`sts.amazonaws.com`).
        audience: Template,
        /// Directory it is mounted at in every container.
        mount_path: Template,
    },
    /// No volume with this name.
    Absent {
        /// Volume name.
        name: Template,
    },
}

impl StepKind for ExpectPods {
    const ABOUT: &'static str = "Every rolled-out pod of the listed components carries these env vars with exactly these values (in every container), none of `env_absent`, and the projected token volume (or not). Needs `webhook`.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        COMPONENTS,
        ENV,
        ENV_ABSENT,
        Key::optional(
            "token_volume",
            Shape::AnyOf(&[
                &[
                    Key::required("name", Shape::Text, "volume name"),
                    Key::required("audience", Shape::Text, "token audience"),
                    Key::required("mount_path", Shape::Text, "where every container mounts it"),
                ],
                &[Key::required(
                    "absent",
                    Shape::Text,
                    "the name of a volume no pod has",
                )],
            ]),
            "`{name, audience, mount_path}` or `{absent: name}`",
        ),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let components = fields::components(ctx, fields);
        let env = fields::template_map(ctx, fields, "env");
        let env_absent = fields::template_list(ctx, fields, "env_absent");
        let token_volume = match fields.get("token_volume") {
            Some(node) => token_volume(ctx, node).map(Some),
            None => Some(None),
        };
        Some(ExpectPods {
            release: release?,
            components: components?,
            env: env?,
            env_absent: env_absent?,
            token_volume: token_volume?,
        })
    }

    /// Pod env and token volume: R5, and through them the feature switch (R1), the current
    /// role (R6), scope (R7) and which pods were rolled (R16).
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[1, 5, 6, 7, 16]
    }
    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        vec![Capability::Webhook]
    }
}

/// `{name, audience, mount_path}` or `{absent: name}`.
fn token_volume(ctx: &mut Ctx<'_>, node: &Node) -> Option<TokenVolumeExpectation> {
    let absent_form =
        matches!(&node.kind, NodeKind::Map(e) if e.iter().any(|(k, _)| k.text == "absent"));
    if absent_form {
        let fields = Fields::new(ctx, node, "token_volume `{absent: ...}`", &["absent"])?;
        let name = fields::required_template(ctx, &fields, "absent")?;
        return Some(TokenVolumeExpectation::Absent { name });
    }
    let fields = Fields::new(
        ctx,
        node,
        "token_volume",
        &["name", "audience", "mount_path", "absent"],
    )?;
    let name = fields::required_template(ctx, &fields, "name");
    let audience = fields::required_template(ctx, &fields, "audience");
    let mount_path = fields::required_template(ctx, &fields, "mount_path");
    Some(TokenVolumeExpectation::Present {
        name: name?,
        audience: audience?,
        mount_path: mount_path?,
    })
}
