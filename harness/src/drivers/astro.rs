//! The `astro` platform driver: runs the Astro CLI as the documents show and parses what it
//! prints.
//!
//! - create: `astro deployment create <label> --executor=celery --cloud-role=<arn>
//!   [--workspace-id=<ws>]`; the platform names the release (unless `manualReleaseNames`), so
//!   the release name and the deployment id are read from the table the CLI prints;
//! - update: `astro deployment update <id> --cloud-role=<arn> [--workspace-id=<ws>]`;
//! - delete: `astro deployment delete <id> [--workspace-id=<ws>]`.
//!
//! Nothing else is added to the documented commands. CLI v0.15/v0.16 refuse the documented
//! update with "requires at least one arg": that comes back as a refusal naming the command,
//! so a scenario expecting success fails on it (a finding, not something to hide).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use tokio::process::Command;

use super::DriverError;
use crate::platform::{Actor, Executor, PlatformRefusal, RefusalKind, RoleArg};

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
    /// Deployment ids by release name, for the deployments created through this driver and
    /// not deleted.
    created: Mutex<BTreeMap<String, String>>,
}

impl AstroDriver {
    /// A driver running `cli` (no process is started yet).
    pub fn new(cli: PathBuf, workspace: Option<String>) -> Self {
        Self {
            cli,
            workspace,
            created: Mutex::new(BTreeMap::new()),
        }
    }

    fn workspace_flag(&self) -> Option<String> {
        self.workspace
            .as_ref()
            .map(|ws| format!("--workspace-id={ws}"))
    }

    /// `astro deployment create <label> --executor=<executor> --cloud-role=<arn>`; answers
    /// with the release name the platform gave the deployment.
    pub async fn create_deployment(
        &self,
        actor: Actor,
        label: &str,
        executor: Executor,
        cloud_role: &RoleArg,
    ) -> Result<Result<String, PlatformRefusal>, DriverError> {
        only_the_logged_in_user(actor)?;
        let mut args = vec![
            "deployment".to_owned(),
            "create".to_owned(),
            label.to_owned(),
            format!("--executor={}", executor.name()),
        ];
        args.extend(role_flag(cloud_role));
        args.extend(self.workspace_flag());
        let out = self.run(&args).await?;
        if let Err(refusal) = judge(&args, &out, "Successfully created deployment") {
            return Ok(Err(refusal));
        }
        let id = column_in_table(&out.stdout, "DEPLOYMENT ID");
        let release = column_in_table(&out.stdout, "DEPLOYMENT NAME");
        match (id, release) {
            (Some(id), Some(release)) => {
                self.remember(&release, &id);
                Ok(Ok(release))
            }
            (Some(id), None) => {
                // Still tracked (under the label), so clean-up can delete it.
                self.remember(label, &id);
                Err(DriverError::Protocol(format!(
                    "`astro {}` printed no DEPLOYMENT NAME for deployment {id}",
                    args.join(" ")
                )))
            }
            (None, _) => Err(DriverError::Protocol(format!(
                "`astro {}` succeeded but printed no DEPLOYMENT ID; the deployment cannot be tracked: {}",
                args.join(" "),
                out.stdout.trim()
            ))),
        }
    }

    /// `astro deployment update <id> --cloud-role=<arn>`, as documented (the id of the
    /// deployment this driver created as `release`).
    pub async fn update_deployment(
        &self,
        actor: Actor,
        release: &str,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_the_logged_in_user(actor)?;
        let id = self.id_of(release)?;
        let mut args = vec!["deployment".to_owned(), "update".to_owned(), id];
        args.extend(role_flag(cloud_role));
        args.extend(self.workspace_flag());
        let out = self.run(&args).await?;
        Ok(judge(&args, &out, "Successfully updated deployment"))
    }

    /// `astro deployment delete <id>`.
    pub async fn delete_deployment(
        &self,
        actor: Actor,
        release: &str,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_the_logged_in_user(actor)?;
        let id = self.id_of(release)?;
        let mut args = vec!["deployment".to_owned(), "delete".to_owned(), id];
        args.extend(self.workspace_flag());
        let out = self.run(&args).await?;
        let answer = judge(&args, &out, "Successfully deleted deployment");
        if answer.is_ok()
            && let Ok(mut created) = self.created.lock()
        {
            created.remove(release);
        }
        Ok(answer)
    }

    /// Whether this driver created `release` and has not deleted it.
    pub fn knows(&self, release: &str) -> bool {
        self.created
            .lock()
            .map(|c| c.contains_key(release))
            .unwrap_or(false)
    }

    fn remember(&self, release: &str, id: &str) {
        if let Ok(mut created) = self.created.lock() {
            created.insert(release.to_owned(), id.to_owned());
        }
    }

    fn id_of(&self, release: &str) -> Result<String, DriverError> {
        self.created
            .lock()
            .ok()
            .and_then(|c| c.get(release).cloned())
            .ok_or_else(|| {
                DriverError::Protocol(format!(
                    "no deployment with release `{release}` was created through the CLI in this run"
                ))
            })
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
    // The CLI prints the platform's message, not its code: a permission message is the
    // platform's FORBIDDEN; a usage error ("requires at least one arg") is the documented
    // command itself failing, which is no statement of the platform's.
    let kind = if message.to_lowercase().contains("permission") {
        RefusalKind::PermissionDenied
    } else {
        RefusalKind::Other
    };
    Err(PlatformRefusal {
        kind,
        code: None,
        message: format!(
            "`astro {}` failed (exit {}): {message}",
            args.join(" "),
            out.code
                .map_or_else(|| "by signal".to_owned(), |c| c.to_string())
        ),
    })
}

/// One column (`DEPLOYMENT NAME`: the release name, `DEPLOYMENT ID`) of the first row of the
/// table the CLI prints on create.
pub fn column_in_table(stdout: &str, name: &str) -> Option<String> {
    let mut lines = stdout.lines();
    let header = lines.find(|l| l.contains(name))?;
    let column = header.find(name)?;
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
        assert_eq!(answer, Ok("arithmetic-radiation-6756".to_owned()));
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args.trim(),
            "deployment create arithmetic-radiation-6756 --executor=celery --cloud-role=arn:aws:iam::123456789012:role/example-role"
        );
        assert!(driver.knows("arithmetic-radiation-6756"));
        assert_eq!(
            driver.id_of("arithmetic-radiation-6756").unwrap(),
            "ckbv801t300qh0760pck7ea0c"
        );
    }

    #[tokio::test]
    async fn a_generated_release_name_is_tracked_and_update_and_delete_use_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let cli = fake_cli(dir.path(), &recorded("create-success.txt"), "", 0);
        let driver = AstroDriver::new(cli, Some("ws-1".to_owned()));
        // The scenario asked for `my-label`; the platform named the release itself.
        let answer = driver
            .create_deployment(
                Actor::Admin,
                "my-label",
                Executor::Celery,
                &RoleArg::Omitted,
            )
            .await
            .unwrap();
        assert_eq!(answer, Ok("arithmetic-radiation-6756".to_owned()));
        assert!(!driver.knows("my-label"));
        assert!(driver.knows("arithmetic-radiation-6756"));
        // The fake CLI prints the create table again; only the arguments matter here.
        let _ = driver
            .delete_deployment(Actor::Admin, "arithmetic-radiation-6756")
            .await
            .unwrap();
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        let lines: Vec<&str> = args.lines().collect();
        assert_eq!(
            lines,
            [
                "deployment create my-label --executor=celery --workspace-id=ws-1",
                "deployment delete ckbv801t300qh0760pck7ea0c --workspace-id=ws-1",
            ]
        );
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
        driver.remember("arithmetic-radiation-6756", "ckbv801t300qh0760pck7ea0c");
        let role = RoleArg::Value("arn:aws:iam::123456789012:role/other".to_owned());
        let refusal = driver
            .update_deployment(Actor::Admin, "arithmetic-radiation-6756", &role)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Other);
        assert!(
            refusal.message.starts_with(
                "`astro deployment update ckbv801t300qh0760pck7ea0c --cloud-role=arn:aws:iam::123456789012:role/other` failed (exit 1): requires at least one arg"
            ),
            "{}",
            refusal.message
        );
        // Exactly the documented arguments: nothing added to make it work.
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args.trim(),
            "deployment update ckbv801t300qh0760pck7ea0c --cloud-role=arn:aws:iam::123456789012:role/other"
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
        assert_eq!(refusal.kind, RefusalKind::PermissionDenied);
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
    fn the_release_name_and_id_are_read_from_the_create_table() {
        let table = recorded("create-success.txt");
        assert_eq!(
            column_in_table(&table, "DEPLOYMENT NAME").as_deref(),
            Some("arithmetic-radiation-6756")
        );
        assert_eq!(
            column_in_table(&table, "DEPLOYMENT ID").as_deref(),
            Some("ckbv801t300qh0760pck7ea0c")
        );
        assert_eq!(column_in_table("no table", "DEPLOYMENT NAME"), None);
    }
}
