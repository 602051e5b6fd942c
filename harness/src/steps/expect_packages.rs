//! `expect_packages`: the Python packages of a component's image meet the documents'
//! requirements (R15: Airflow 1.10.5 images need `boto3>=1.9` and `botocore>=1.12` for
//! web-identity credentials). Runs `pip show` in a running pod, like `kubectl exec`.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::ResourceExt as _;

use super::{ScenarioContext, StepError, first_rolled_out_pod, namespace_of};
use crate::scenario::model::ExpectPackages;

/// Execs `pip show <packages>` in the main container of the component's first pod and checks
/// each version.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectPackages,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let namespace = namespace_of(&release);
    let pod = &first_rolled_out_pod(ctx, &release, step.component, timeout).await?;
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
        .exec(&namespace, &pod.name_any(), container, &command)
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
