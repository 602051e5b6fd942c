//! `expect_packages`: the Python packages of a component's image meet the documents'
//! requirements (R15: Airflow 1.10.5 images need `boto3>=1.9` and `botocore>=1.12` for
//! web-identity credentials). Runs `pip show` in a running pod, like `kubectl exec`.

use crate::drivers::deadline::Deadline;
use std::collections::BTreeMap;

use kube::ResourceExt as _;

use super::fields::Expect;
use super::kind::{COMPONENT, Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::capability::Capability;
use crate::chart::Component;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;
use std::fmt;

/// Execs `pip show <packages>` in the main container of the component's first pod and checks
/// each version.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectPackages,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let at = ctx.component_at(&step.release, step.component)?;
    let namespace = &at.namespace;
    let pod = &ctx.first_rolled_out_pod(&at, deadline).await?;
    let mut command = vec!["pip", "show"];
    command.extend(step.packages.keys().map(String::as_str));
    // The chart names each component's main container after the component.
    let container = step.component.name();
    log.push(format!(
        "exec in {namespace}/{} -c {container}: {}",
        pod.name_any(),
        command.join(" ")
    ));
    let output = ctx
        .target
        .kube
        .exec(namespace, &pod.name_any(), container, &command)
        .await?;
    if let Some(failure) = &output.failure {
        log.push(format!(
            "exec failed: {failure}; stderr: {}",
            output.stderr.trim()
        ));
    }
    let installed = pip_show_versions(&output.stdout);
    log.push(format!("installed: {installed:?}"));
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    for (package, requirement) in &step.packages {
        let got = installed.get(&package.to_lowercase());
        if !got.is_some_and(|v| requirement.admits(v)) {
            expected.push(format!("{package}{requirement}"));
            actual.push(format!(
                "{package} {}",
                got.map_or("not installed", String::as_str)
            ));
        }
    }
    if expected.is_empty() {
        Ok(())
    } else {
        Err(StepError::failed(
            "the image lacks the Python packages the documents require",
            expected.join(", "),
            actual.join(", "),
        ))
    }
}

/// Package name (lower case) to version, from `pip show` output (blocks of `Name:` and
/// `Version:` lines separated by `---`).
fn pip_show_versions(stdout: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut name: Option<String> = None;
    for line in stdout.lines() {
        if let Some(n) = line.strip_prefix("Name:") {
            name = Some(n.trim().to_lowercase());
        } else if let Some(v) = line.strip_prefix("Version:")
            && let Some(n) = name.take()
        {
            out.insert(n, v.trim().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pip_show_versions;

    #[test]
    fn pip_show_output_is_parsed_per_package() {
        let out =
            "Name: boto3\nVersion: 1.9.253\nSummary: x\n---\nName: botocore\nVersion: 1.12.253\n";
        let versions = pip_show_versions(out);
        assert_eq!(versions.get("boto3").map(String::as_str), Some("1.9.253"));
        assert_eq!(
            versions.get("botocore").map(String::as_str),
            Some("1.12.253")
        );
        assert_eq!(
            pip_show_versions("WARNING: Package(s) not found: boto3").len(),
            0
        );
    }
}

/// A version requirement on a Python package: `>=1.9` style, the documents' only form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinVersion {
    /// The dotted numeric components of the lowest acceptable version.
    pub parts: Vec<u64>,
}

impl fmt::Display for MinVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(ToString::to_string).collect();
        write!(f, ">={}", parts.join("."))
    }
}

impl MinVersion {
    /// Whether an installed version (e.g. `1.9.253`, `1.12.0rc1`) satisfies the requirement:
    /// its leading numeric components compare at least equal.
    pub fn admits(&self, installed: &str) -> bool {
        let got: Vec<u64> = installed
            .trim()
            .split('.')
            .map_while(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect();
        if got.is_empty() {
            return false;
        }
        let len = got.len().max(self.parts.len());
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(&got, i).cmp(&at(&self.parts, i)))
            .find(|o| o.is_ne())
            .is_none_or(|o| o.is_gt())
    }
}

impl std::str::FromStr for MinVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("invalid version requirement `{s}`: expected `>=<version>` such as `>=1.9`");
        let version = s.trim().strip_prefix(">=").ok_or_else(bad)?.trim();
        let parts = version
            .split('.')
            .map(|p| p.parse::<u64>().map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MinVersion { parts })
    }
}

/// Fields of `expect_packages`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectPackages {
    /// Release name.
    pub release: Template,
    /// Component whose running pod is inspected.
    pub component: Component,
    /// Package name to requirement.
    pub packages: BTreeMap<String, MinVersion>,
}

impl StepKind for ExpectPackages {
    const ABOUT: &'static str = "`pip show` through exec in a component's running pod: these Python packages are installed at these versions or later. Needs `real-images`.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        COMPONENT,
        Key::required(
            "packages",
            Shape::Requirements,
            "package name to requirement, such as `boto3: \">=1.9\"`",
        ),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let at = fields::release_and_component(ctx, fields);
        let packages = fields::non_empty_map(ctx, fields, "packages", "name at least one package")
            .and_then(|node| {
                let entries = ctx.map(node, "packages")?;
                let mut out = BTreeMap::new();
                let mut ok = true;
                for (key, value) in entries {
                    let requirement = ctx
                        .string(value, &format!("packages.{}", key.text))
                        .and_then(|text| match text.parse::<MinVersion>() {
                            Ok(req) => Some(req),
                            Err(message) => {
                                ctx.error(value.pos, format!("packages.{}: {message}", key.text));
                                None
                            }
                        });
                    match requirement {
                        Some(req) => {
                            out.insert(key.text.clone(), req);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            });
        let (release, component) = at?;
        Some(ExpectPackages {
            release,
            component,
            packages: packages?,
        })
    }

    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[15]
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        vec![Capability::RealImages]
    }
}

#[cfg(test)]
mod version_tests {
    use rstest::rstest;

    use super::MinVersion;
    use crate::steps::expect_server_version::KubeVersion;

    #[rstest]
    #[case(">=1.9", "1.9.0", true)]
    #[case(">=1.9", "1.9", true)]
    #[case(">=1.9", "1.10.2", true)]
    #[case(">=1.9", "1.8.99", false)]
    #[case(">=1.12", "1.12.253", true)]
    #[case(">=1.12", "1.2.0", false)]
    #[case(">=1.12", "2.0rc1", true)]
    #[case(">=1.9", "garbage", false)]
    fn min_version_admits(#[case] req: &str, #[case] installed: &str, #[case] ok: bool) {
        let req: MinVersion = req.parse().unwrap();
        assert_eq!(req.admits(installed), ok, "{req} vs {installed}");
    }

    #[rstest]
    #[case("1.9")]
    #[case(">= x")]
    #[case(">=")]
    fn bad_min_versions_are_refused(#[case] text: &str) {
        assert!(text.parse::<MinVersion>().is_err());
    }

    #[test]
    fn kube_versions_parse_and_order() {
        let v: KubeVersion = "1.14".parse().unwrap();
        assert_eq!(
            v,
            KubeVersion {
                major: 1,
                minor: 14
            }
        );
        assert!(
            KubeVersion {
                major: 1,
                minor: 13
            } < v
        );
        assert!("1".parse::<KubeVersion>().is_err());
        assert!("1.x".parse::<KubeVersion>().is_err());
    }
}
