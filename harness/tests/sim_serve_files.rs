//! `rolecheck sim serve` hands out admin credentials: the kubeconfig and the env file are
//! written readable by their owner only (0600), also over an existing wider file, and every
//! endpoint it serves (where a request without credentials is the admin) is on loopback.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rstest::rstest;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[rstest]
#[case::fresh_files(false)]
#[case::over_existing_world_readable_files(true)]
fn sim_serve_writes_its_credentials_for_the_owner_only(#[case] existing: bool) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kube/config");
    let env_file = dir.path().join("sim.env");
    if existing {
        std::fs::create_dir_all(kubeconfig.parent().unwrap()).unwrap();
        for file in [&kubeconfig, &env_file] {
            std::fs::write(file, "old").unwrap();
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["sim", "serve", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--env-file")
        .arg(&env_file)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The summary is printed once both files are written; read it on a thread so a sim that
    // never starts fails the test instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut summary = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains("faults:");
            summary.push(line);
            if done {
                break;
            }
        }
        let _ = tx.send(summary.join("\n"));
    });
    let summary = rx.recv_timeout(Duration::from_secs(60));
    let checks = || {
        let summary = summary.expect("sim serve printed no summary within 60 s");
        assert_eq!(mode(&kubeconfig), 0o600, "kubeconfig");
        assert_eq!(mode(&env_file), 0o600, "env file");
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&kubeconfig).unwrap()).unwrap();
        let server = config["clusters"][0]["cluster"]["server"].as_str().unwrap();
        assert!(server.starts_with("http://127.0.0.1:"), "{server}");
        let env = std::fs::read_to_string(&env_file).unwrap();
        // Every endpoint a client connects to (the OIDC issuer is only a name in tokens).
        for key in [
            "AWS_ENDPOINT_URL_STS=",
            "AWS_ENDPOINT_URL_IAM=",
            "ROLECHECK_PLATFORM_URL=",
        ] {
            let line = env.lines().find(|l| l.starts_with(key)).unwrap();
            assert!(line[key.len()..].starts_with("http://127.0.0.1:"), "{line}");
        }
        assert!(summary.contains("http://127.0.0.1:"), "{summary}");
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(checks));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
