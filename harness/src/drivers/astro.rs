//! The `astro` platform driver: runs the Astro CLI exactly as the documents show and parses
//! what it prints.
//!
//! - create: `astro deployment create <name> --executor=celery --cloud-role=<arn>`
//! - update: `astro deployment update <name> --cloud-role=<arn>`
//! - delete: `astro deployment delete <name>`
//!
//! Nothing is added to the documented commands. CLI v0.15/v0.16 refuse the documented update
//! with "requires at least one arg": that comes back as a refusal naming the documented
//! command, so a scenario expecting success fails on it (a finding, not something to hide).

use std::path::PathBuf;
use std::sync::Mutex;

use tokio::process::Command;

use super::DriverError;
use super::houston::{PlatformRefusal, RoleArg};
use crate::scenario::model::{Actor, Executor};

/// What a CLI invocation printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The Astro CLI as a platform driver. It acts as the user the CLI is logged in as.
pub struct AstroDriver {
    cli: PathBuf,
    workspace: Option<String>,
    /// Releases created through this driver and not deleted.
    created: Mutex<Vec<String>>,
}

impl AstroDriver {
    /// A driver running `cli` (no process is started yet).
    pub fn new(cli: PathBuf, workspace: Option<String>) -> Self {
        Self {
            cli,
            workspace,
            created: Mutex::new(Vec::new()),
        }
    }

    /// `astro deployment create <name> --executor=<executor> --cloud-role=<arn>`.
    pub async fn create_deployment(
        &self,
        actor: Actor,
        release: &str,
        executor: Executor,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_the_logged_in_user(actor)?;
        let mut args = vec![
            "deployment".to_owned(),
            "create".to_owned(),
            release.to_owned(),
            format!("--executor={}", executor.name()),
        ];
        args.extend(role_flag(cloud_role));
        let out = self.run(&args).await?;
        let answer = judge(&args, &out, "Successfully created deployment");
        if answer.is_ok() {
            let shown = release_in_table(&out.stdout);
            if let Some(shown) = shown.filter(|s| s != release) {
                return Err(DriverError::Protocol(format!(
                    "the platform named the deployment's release `{shown}`, not `{release}`: enable manualReleaseNames so the documented command keeps the name"
                )));
            }
            if let Ok(mut created) = self.created.lock() {
                created.push(release.to_owned());
            }
        }
        Ok(answer)
    }

    /// `astro deployment update <name> --cloud-role=<arn>`, exactly as documented.
    pub async fn update_deployment(
        &self,
        actor: Actor,
        release: &str,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_the_logged_in_user(actor)?;
        let mut args = vec![
            "deployment".to_owned(),
            "update".to_owned(),
            release.to_owned(),
        ];
        args.extend(role_flag(cloud_role));
        let out = self.run(&args).await?;
        Ok(judge(&args, &out, "Successfully updated deployment"))
    }

    /// `astro deployment delete <name>`.
    pub async fn delete_deployment(
        &self,
        actor: Actor,
        release: &str,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_the_logged_in_user(actor)?;
        let args = vec![
            "deployment".to_owned(),
            "delete".to_owned(),
            release.to_owned(),
        ];
        let out = self.run(&args).await?;
        let answer = judge(&args, &out, "Successfully deleted deployment");
        if answer.is_ok()
            && let Ok(mut created) = self.created.lock()
        {
            created.retain(|r| r != release);
        }
        Ok(answer)
    }

    /// Whether this driver created `release` and has not deleted it.
    pub fn knows(&self, release: &str) -> bool {
        self.created
            .lock()
            .map(|c| c.iter().any(|r| r == release))
            .unwrap_or(false)
    }

    async fn run(&self, args: &[String]) -> Result<CliOutput, DriverError> {
        let mut command = Command::new(&self.cli);
        command.args(args).kill_on_drop(true);
        if let Some(workspace) = &self.workspace {
            command.env("ASTRO_WORKSPACE", workspace);
        }
        let out = command.output().await.map_err(|e| {
            DriverError::Unreachable(format!("running `{}`: {e}", self.cli.display()))
        })?;
        Ok(CliOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

fn only_the_logged_in_user(actor: Actor) -> Result<(), DriverError> {
    if actor == Actor::Admin {
        Ok(())
    } else {
        Err(DriverError::Protocol(format!(
            "the astro driver acts as the CLI's logged-in user (a Workspace Admin); it cannot act as {}",
            actor.name()
        )))
    }
}

/// `--cloud-role=<arn>` as the documents write it; nothing when the role is omitted.
fn role_flag(role: &RoleArg) -> Option<String> {
    match role {
        RoleArg::Omitted => None,
        RoleArg::Null => Some("--cloud-role=".to_owned()),
        RoleArg::Value(v) => Some(format!("--cloud-role={v}")),
    }
}

/// The CLI's answer as the platform's: success when it exits 0 and prints `success`;
/// otherwise a refusal carrying its `Error: <message>` (or `API error (<status>): ...`) and
/// the documented command that failed.
pub fn judge(args: &[String], out: &CliOutput, success: &str) -> Result<(), PlatformRefusal> {
    if out.code == Some(0) && out.stdout.contains(success) {
        return Ok(());
    }
    let text = if out.stderr.trim().is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    let message = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Error: "))
        .map(str::to_owned)
        .or_else(|| {
            text.lines()
                .find(|l| l.trim_start().starts_with("API error ("))
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| text.trim().to_owned());
    let code = if message.contains("requires at least one arg") {
        Some("DOCUMENTED_COMMAND_FAILED".to_owned())
    } else if message.to_lowercase().contains("permission") {
        Some("FORBIDDEN".to_owned())
    } else {
        None
    };
    Err(PlatformRefusal {
        code,
        message: format!(
            "`astro {}` failed (exit {}): {message}",
            args.join(" "),
            out.code
                .map_or_else(|| "by signal".to_owned(), |c| c.to_string())
        ),
    })
}

/// The `DEPLOYMENT NAME` (release name) column of the table the CLI prints on create.
pub fn release_in_table(stdout: &str) -> Option<String> {
    let mut lines = stdout.lines();
    let header = lines.find(|l| l.contains("DEPLOYMENT NAME"))?;
    let column = header.find("DEPLOYMENT NAME")?;
    let row = lines.find(|l| !l.trim().is_empty())?;
    let rest = row.get(column..)?;
    rest.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/recorded/astro")
            .join(name);
        std::fs::read_to_string(path).unwrap()
    }

    /// A fake `astro` that prints recorded output and logs its arguments.
    fn fake_cli(dir: &std::path::Path, stdout: &str, stderr: &str, code: i32) -> PathBuf {
        let script = dir.join("astro");
        std::fs::write(dir.join("out"), stdout).unwrap();
        std::fs::write(dir.join("err"), stderr).unwrap();
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{d}/args'\ncat '{d}/out'\ncat '{d}/err' >&2\nexit {code}\n",
                d = dir.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    #[tokio::test]
    async fn create_runs_the_documented_command_and_reads_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let cli = fake_cli(dir.path(), &recorded("create-success.txt"), "", 0);
        let driver = AstroDriver::new(cli, None);
        let role = RoleArg::Value("arn:aws:iam::123456789012:role/example-role".to_owned());
        let answer = driver
            .create_deployment(
                Actor::Admin,
                "arithmetic-radiation-6756",
                Executor::Celery,
                &role,
            )
            .await
            .unwrap();
        assert_eq!(answer, Ok(()));
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args.trim(),
            "deployment create arithmetic-radiation-6756 --executor=celery --cloud-role=arn:aws:iam::123456789012:role/example-role"
        );
        assert!(driver.knows("arithmetic-radiation-6756"));
    }

    #[tokio::test]
    async fn the_documented_update_failing_in_old_clis_is_a_refusal_naming_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let cli = fake_cli(
            dir.path(),
            "",
            &recorded("update-requires-arg-v0.16.txt"),
            1,
        );
        let driver = AstroDriver::new(cli, None);
        let role = RoleArg::Value("arn:aws:iam::123456789012:role/other".to_owned());
        let refusal = driver
            .update_deployment(Actor::Admin, "arithmetic-radiation-6756", &role)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(refusal.code.as_deref(), Some("DOCUMENTED_COMMAND_FAILED"));
        assert!(
            refusal.message.starts_with(
                "`astro deployment update arithmetic-radiation-6756 --cloud-role=arn:aws:iam::123456789012:role/other` failed (exit 1): requires at least one arg"
            ),
            "{}",
            refusal.message
        );
        // Exactly the documented arguments: nothing added to make it work.
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args.trim(),
            "deployment update arithmetic-radiation-6756 --cloud-role=arn:aws:iam::123456789012:role/other"
        );
    }

    #[tokio::test]
    async fn a_graphql_permission_error_is_a_forbidden_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let cli = fake_cli(dir.path(), "", &recorded("create-forbidden.txt"), 1);
        let driver = AstroDriver::new(cli, None);
        let refusal = driver
            .create_deployment(Actor::Admin, "r", Executor::Celery, &RoleArg::Omitted)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(refusal.code.as_deref(), Some("FORBIDDEN"));
        assert!(
            refusal
                .message
                .contains("You do not have the appropriate permissions")
        );
        assert!(!driver.knows("r"));
    }

    #[tokio::test]
    async fn other_actors_are_not_impersonated() {
        let driver = AstroDriver::new(PathBuf::from("/nonexistent/astro"), None);
        let err = driver
            .delete_deployment(Actor::Editor, "r")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot act as editor"), "{err}");
    }

    #[test]
    fn the_release_name_is_read_from_the_create_table() {
        assert_eq!(
            release_in_table(&recorded("create-success.txt")).as_deref(),
            Some("arithmetic-radiation-6756")
        );
        assert_eq!(release_in_table("no table"), None);
    }
}
