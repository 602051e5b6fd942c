//! Steps: one file per step kind. A step renders its templates, calls drivers, and compares
//! what they saw with what the scenario (that is, the documents) promises. Each kind's file
//! also holds its typed fields, keys, `expect` forms and capability needs; [`registry`]
//! lists the kinds.

pub mod fields;
pub mod kind;
pub mod propagation;
pub mod reference;
pub mod registry;

// One `pub mod <kind>;` for every kind in the registry's list.
registry::kinds!(declare_kind_modules);

use std::sync::Mutex;

use kind::declare_kind_modules;

use crate::chart::{Component, component_selector};
use crate::drivers::DriverError;
use crate::drivers::deadline::Deadline;
use crate::drivers::platform::PlatformDriver;
use crate::ledger::{Ledger, Owned};
use crate::platform::Installation;
use crate::platform::{PlatformRefusal, RoleArg};
use crate::target::Target;
use crate::template::{Template, TemplateContext};
use fields::{Expect, RoleInput};
pub use registry::{Action, KINDS, Step};

/// Why a step did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// A documented promise did not hold.
    Failed {
        /// One line: what went wrong.
        message: String,
        /// What the documents promise.
        expected: String,
        /// What the target showed.
        actual: String,
    },
    /// The harness or the target broke; no verdict on the contract.
    Broken(String),
}

impl StepError {
    /// A failure with expected and actual values.
    pub fn failed(
        message: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        StepError::Failed {
            message: message.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl From<DriverError> for StepError {
    fn from(err: DriverError) -> Self {
        match err {
            // A wait that never saw its condition is a broken promise (pods never rolled out,
            // an object never appeared); what was last seen is the actual value.
            DriverError::Timeout { waited, last_seen } => StepError::failed(
                format!("timed out after {}", humantime::format_duration(waited)),
                "the condition to hold within the step's timeout",
                last_seen,
            ),
            other => StepError::Broken(other.to_string()),
        }
    }
}

/// What one scenario's steps share: the target, the templates, and what the scenario created.
pub struct ScenarioContext<'a> {
    /// The target.
    pub target: &'a Target,
    /// The run id (label value of everything created).
    pub run_id: &'a str,
    /// Fills in `{{...}}`.
    pub templates: TemplateContext,
    /// What the run created and has not removed; this scenario's entries are under
    /// `scope`.
    pub ledger: Ledger,
    /// This scenario's name in the ledger.
    pub scope: String,
    /// The release name the platform gave each release the scenario asked for under another
    /// name (Houston generates names unless `manualReleaseNames` is on).
    pub release_names: Mutex<std::collections::BTreeMap<String, String>>,
    /// Which of the target's platform installations the scenario's platform steps use.
    pub installation: Installation,
    /// The token the last `assume_role` step presented (for `token: previous`).
    pub last_token: Mutex<Option<String>>,
    /// What the target showed that reports put at hand (see [`ScenarioContext::note`]).
    pub evidence: Mutex<Vec<(String, String)>>,
}

impl ScenarioContext<'_> {
    /// Renders a template.
    pub fn render(&self, template: &Template) -> Result<String, StepError> {
        self.templates
            .render(template)
            .map_err(|e| StepError::Broken(format!("template `{template}`: {e}")))
    }

    /// Renders every key and value of a template map.
    pub fn render_map(
        &self,
        map: &std::collections::BTreeMap<Template, Template>,
    ) -> Result<std::collections::BTreeMap<String, String>, StepError> {
        map.iter()
            .map(|(k, v)| Ok((self.render(k)?, self.render(v)?)))
            .collect()
    }

    /// Renders every template of a list.
    pub fn render_all(&self, list: &[Template]) -> Result<Vec<String>, StepError> {
        list.iter().map(|t| self.render(t)).collect()
    }

    /// The platform driver, or a broken step if the target has none (the planner skips
    /// scenarios that need one, so this is a harness bug when it happens).
    pub fn platform(&self) -> Result<&PlatformDriver, StepError> {
        self.target
            .platform_of(self.installation)
            .ok_or_else(|| StepError::Broken("this target has no such platform API".to_owned()))
    }

    /// Renders a role input into what the platform driver sends.
    pub fn role_arg(&self, role: &RoleInput) -> Result<RoleArg, StepError> {
        Ok(match role {
            RoleInput::Omitted => RoleArg::Omitted,
            RoleInput::Null => RoleArg::Null,
            RoleInput::Value(t) => RoleArg::Value(self.render(t)?),
        })
    }

    /// Notes a piece of evidence for the reports (`namespace`, `role_arn`,
    /// `assumed_role_arn`); a later value of the same name replaces the earlier one.
    pub fn note(&self, name: &str, value: &str) {
        if let Ok(mut list) = self.evidence.lock() {
            match list.iter_mut().find(|(n, _)| n == name) {
                Some(entry) => entry.1 = value.to_owned(),
                None => list.push((name.to_owned(), value.to_owned())),
            }
        }
    }

    /// Records something this scenario created (or is about to ask for) for clean-up.
    pub fn owns(&self, owned: Owned) {
        self.ledger.record(&self.scope, owned);
    }

    /// Renders a step's `release` and maps it to the name the platform gave that release (the
    /// scenario's own name when the platform kept it, or nothing was created yet).
    pub fn release_of(&self, template: &Template) -> Result<String, StepError> {
        let asked = self.render(template)?;
        Ok(self.platform_name(&asked))
    }

    /// The name the platform gave the release the scenario asked for as `asked`.
    pub fn platform_name(&self, asked: &str) -> String {
        self.release_names
            .lock()
            .ok()
            .and_then(|names| names.get(asked).cloned())
            .unwrap_or_else(|| asked.to_owned())
    }

    /// The namespace the platform puts `release` in (`<platform namespace>-<release>`).
    pub fn namespace_of(&self, release: &str) -> String {
        self.target.namespaces.of(release)
    }

    /// Renders a namespace; the namespace of a release the scenario asked for under its own
    /// name (`{{namespace}}`) becomes the namespace of the release the platform created.
    pub fn namespace_of_template(&self, template: &Template) -> Result<String, StepError> {
        let rendered = self.render(template)?;
        let names = self
            .release_names
            .lock()
            .map(|names| names.clone())
            .unwrap_or_default();
        Ok(names
            .iter()
            .find(|(asked, _)| self.namespace_of(asked) == rendered)
            .map_or(rendered, |(_, actual)| self.namespace_of(actual)))
    }

    /// Records the name the platform gave a release asked for as `asked`.
    pub fn record_release_name(&self, asked: &str, actual: &str) {
        if asked != actual
            && let Ok(mut names) = self.release_names.lock()
        {
            names.insert(asked.to_owned(), actual.to_owned());
        }
    }

    /// Forgets something a step removed itself.
    pub fn disowns(&self, owned: &Owned) {
        self.ledger.forget(&self.scope, owned);
    }

    /// This scenario's platform deployment `release` as the ledger names it.
    pub fn release(&self, release: &str, answered: bool) -> Owned {
        Owned::Release {
            installation: self.installation,
            release: release.to_owned(),
            answered,
        }
    }
}

/// The first rolled-out pod of a release's component (waiting for the rollout until
/// `deadline`); a failure when the component has none running.
pub async fn first_rolled_out_pod(
    ctx: &ScenarioContext<'_>,
    release: &str,
    component: Component,
    deadline: &Deadline,
) -> Result<k8s_openapi::api::core::v1::Pod, StepError> {
    let pods = ctx
        .target
        .kube
        .rolled_out_pods(
            &ctx.namespace_of(release),
            &component_selector(release, component),
            deadline,
        )
        .await?;
    pods.into_iter().next().ok_or_else(|| {
        StepError::failed(
            "no running pod",
            format!("a running {component} pod"),
            "none",
        )
    })
}

/// One component of a release a step names, as the target knows it: the release's name on
/// the platform and the namespace it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentAt {
    /// The release, as the platform named it.
    pub release: String,
    /// The release's namespace.
    pub namespace: String,
    /// The component.
    pub component: Component,
}

impl ComponentAt {
    /// The component's label selector (the chart's labels).
    pub fn selector(&self) -> String {
        component_selector(&self.release, self.component)
    }
}

impl ScenarioContext<'_> {
    /// A step's `release` and `component` as the target knows them.
    pub fn component_at(
        &self,
        release: &Template,
        component: Component,
    ) -> Result<ComponentAt, StepError> {
        let release = self.release_of(release)?;
        Ok(ComponentAt {
            namespace: self.namespace_of(&release),
            release,
            component,
        })
    }

    /// The ServiceAccount the component's workload runs under (waiting for the workload
    /// until `deadline`).
    pub async fn component_service_account(
        &self,
        at: &ComponentAt,
        deadline: &Deadline,
    ) -> Result<String, StepError> {
        Ok(self
            .target
            .kube
            .component_service_account(&at.namespace, &at.selector(), deadline)
            .await?)
    }

    /// The first rolled-out pod of the component (see [`first_rolled_out_pod`]).
    pub async fn first_rolled_out_pod(
        &self,
        at: &ComponentAt,
        deadline: &Deadline,
    ) -> Result<k8s_openapi::api::core::v1::Pod, StepError> {
        first_rolled_out_pod(self, &at.release, at.component, deadline).await
    }

    /// The rolled-out pods of each listed component of `release` (waiting for the rollouts
    /// until `deadline`, all at once: the components roll out independently).
    pub async fn rolled_out_pods_of(
        &self,
        release: &str,
        components: &[Component],
        deadline: &Deadline,
    ) -> Result<Vec<(Component, Vec<k8s_openapi::api::core::v1::Pod>)>, StepError> {
        let namespace = self.namespace_of(release);
        futures::future::try_join_all(components.iter().map(|component| {
            let selector = component_selector(release, *component);
            let namespace = &namespace;
            async move {
                let pods = self
                    .target
                    .kube
                    .rolled_out_pods(namespace, &selector, deadline)
                    .await?;
                Ok::<_, StepError>((*component, pods))
            }
        }))
        .await
    }

    /// Notes the role a platform call sent, when it sent one (for the reports).
    pub fn note_role(&self, role: &RoleArg) {
        if let RoleArg::Value(arn) = role
            && !arn.is_empty()
        {
            self.note("role_arn", arn);
        }
    }
}

/// Runs one step's action; its waits end at `deadline` (the runner bounds the whole step by
/// it, see [`crate::runner`]). Appends what it does to `log`.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &Step,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    step.action.run(ctx, &step.expect, deadline, log).await
}

/// Judges a platform answer against the step's expectation.
pub fn judge_platform(
    expect: &Expect,
    answer: Result<(), PlatformRefusal>,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    match &answer {
        Ok(()) => log.push("platform: accepted".to_owned()),
        Err(r) => log.push(format!(
            "platform: refused ({}): {}",
            r.code_or_kind(),
            r.message
        )),
    }
    match (expect, answer) {
        (Expect::AcceptedOrRefused, _) | (Expect::Success, Ok(())) => Ok(()),
        (Expect::Success, Err(r)) => Err(StepError::failed(
            "the platform refused the call",
            "success",
            r.describe(),
        )),
        (Expect::PlatformError(kind), Ok(())) => Err(StepError::failed(
            "the platform accepted a call it must refuse",
            format!("error: {}", kind.name()),
            "success",
        )),
        (Expect::PlatformError(kind), Err(r)) => {
            if r.is(*kind) {
                Ok(())
            } else {
                Err(StepError::failed(
                    "the platform refused the call for another reason",
                    format!("error: {}", kind.name()),
                    r.describe(),
                ))
            }
        }
        (Expect::StsError(code), _) => Err(StepError::Broken(format!(
            "a platform step cannot expect the STS error {code}"
        ))),
    }
}

/// Differences between what the documents promise and what the target shows, stated once
/// per distinct difference: `3 pods: AWS_ROLE_ARN expected a, got b: p1, p2, p3`.
#[derive(Debug, Default)]
pub struct Mismatches {
    /// (setting, expected, actual) -> the objects showing that difference, in order.
    groups: Vec<((String, String, String), Vec<String>)>,
}

impl Mismatches {
    /// Records that `object` shows `actual` for `setting` where `expected` is promised.
    pub fn push(&mut self, object: &str, setting: &str, expected: &str, actual: &str) {
        let key = (setting.to_owned(), expected.to_owned(), actual.to_owned());
        match self.groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, objects)) => {
                if !objects.iter().any(|o| o == object) {
                    objects.push(object.to_owned());
                }
            }
            None => self.groups.push((key, vec![object.to_owned()])),
        }
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// One line per distinct difference.
    fn lines(&self, noun: &str) -> Vec<String> {
        self.groups
            .iter()
            .map(|((setting, expected, actual), objects)| {
                let plural = if objects.len() == 1 { "" } else { "s" };
                format!(
                    "{} {noun}{plural}: {setting} expected {expected}, got {actual}: {}",
                    objects.len(),
                    objects.join(", ")
                )
            })
            .collect()
    }

    /// The failure: a one-line message (the first difference, and how many others there
    /// are), the promised values and what was seen, each difference once.
    pub fn into_failure(self, noun: &str) -> StepError {
        let lines = self.lines(noun);
        let message = match lines.len() {
            0 | 1 => lines.first().cloned().unwrap_or_default(),
            n => format!("{} (and {} more difference(s))", lines[0], n - 1),
        };
        let expected: Vec<String> = self
            .groups
            .iter()
            .map(|((setting, expected, _), objects)| {
                format!("{setting} {expected} on {}", objects.join(", "))
            })
            .collect();
        let actual: Vec<String> = self
            .groups
            .iter()
            .map(|((setting, _, actual), objects)| {
                format!("{setting} {actual} on {}", objects.join(", "))
            })
            .collect();
        StepError::failed(message, expected.join("; "), actual.join("; "))
    }
}

#[cfg(test)]
mod mismatch_tests {
    use super::*;

    #[test]
    fn one_difference_on_three_pods_is_stated_once() {
        let mut m = Mismatches::default();
        for pod in ["webserver-1", "scheduler-1", "worker-1"] {
            m.push(pod, "AWS_WEB_IDENTITY_TOKEN_FILE", "/a/token", "/b/token");
        }
        m.push(
            "worker-1",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/a/token",
            "/b/token",
        );
        let StepError::Failed {
            message,
            expected,
            actual,
        } = m.into_failure("pod")
        else {
            panic!("a failure");
        };
        assert_eq!(
            message,
            "3 pods: AWS_WEB_IDENTITY_TOKEN_FILE expected /a/token, got /b/token: webserver-1, scheduler-1, worker-1"
        );
        assert_eq!(
            expected,
            "AWS_WEB_IDENTITY_TOKEN_FILE /a/token on webserver-1, scheduler-1, worker-1"
        );
        assert_eq!(
            actual,
            "AWS_WEB_IDENTITY_TOKEN_FILE /b/token on webserver-1, scheduler-1, worker-1"
        );
    }

    #[test]
    fn further_differences_are_counted_in_the_message() {
        let mut m = Mismatches::default();
        m.push("p1", "AWS_ROLE_ARN", "a", "<absent>");
        m.push("p1", "volume aws-iam-token", "present", "absent");
        let StepError::Failed { message, .. } = m.into_failure("pod") else {
            panic!("a failure");
        };
        assert_eq!(
            message,
            "1 pod: AWS_ROLE_ARN expected a, got <absent>: p1 (and 1 more difference(s))"
        );
        assert!(!message.contains('\n'));
    }
}
