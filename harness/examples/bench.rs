//! `make bench`: measures, in one run,
//! 1. the wall time of the whole suite against the embedded sim (best and median of a few runs),
//! 2. how long after a pod turns Running the harness sees its component rolled out (the sim is
//!    watched independently with a raw watch as the reference clock),
//! 3. the same checks done by `bench/baseline.sh` (kubectl, curl, AWS CLI) against
//!    `rolecheck sim serve`,
//!
//! then, when the local cluster of `rolecheck env up local` is up (`make bench` brings it up),
//! the same three on it: the suite on `--target local`, readiness of real pods, and the script
//! against `rolecheck sim serve --cluster local`,
//!
//! and prints `speedup: <ratio>x` (script time / rolecheck time, on the sim) as its last line.
//! It measures; it asserts nothing about time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use rolecheck::cli::RunArgs;
use rolecheck::drivers::deadline::Deadline;
use rolecheck::drivers::kube::{KubeAccess, KubeDriver, RUN_ID_LABEL};
use rolecheck::exit::ExitStatus;
use rolecheck::report::console::{ConsoleOptions, ConsoleReporter};
use rolecheck::session;
use rolecheck::target::local::LocalCluster;
use rolecheck_sim::{Sim, SimConfig};

const SUITE_RUNS: usize = 5;
const READINESS_SAMPLES: usize = 20;
/// Real pods start one by one on one kubelet: fewer samples, a longer wait each.
const LOCAL_READINESS_SAMPLES: usize = 10;
const LOCAL_WAIT: Duration = Duration::from_secs(120);
/// Scenarios wait on the target far more than they compute: the bench also shows a wider run.
const WIDE_JOBS: usize = 8;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let suite = suite_times(None).await?;
    let wide = suite_times(Some(WIDE_JOBS)).await?;
    let readiness = readiness_latencies().await?;
    let baseline = baseline_time(&[])?;
    let local = local_bench().await?;

    let best = suite.iter().min().copied().unwrap_or_default();
    let best_wide = wide.iter().min().copied().unwrap_or_default();
    println!(
        "suite on the sim, default -j ({} cores), {SUITE_RUNS} runs: best {}, median {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        ms(best),
        ms(median(&suite))
    );
    println!(
        "suite on the sim, -j {WIDE_JOBS}, {SUITE_RUNS} runs: best {}, median {}",
        ms(best_wide),
        ms(median(&wide))
    );
    println!(
        "pod Running -> harness sees rollout ({READINESS_SAMPLES} samples): median {}, p95 {}, max {}",
        ms(median(&readiness)),
        ms(percentile(&readiness, 95)),
        ms(readiness.iter().max().copied().unwrap_or_default())
    );
    match &local {
        Some(local) => {
            println!(
                "suite on local (real cluster, the profile's -j): {}",
                ms(local.suite)
            );
            println!(
                "real pod Running -> harness sees rollout on local ({} samples): median {}, p95 {}, max {}",
                local.readiness.len(),
                ms(median(&local.readiness)),
                ms(percentile(&local.readiness, 95)),
                ms(local.readiness.iter().max().copied().unwrap_or_default())
            );
            match local.baseline {
                Some(script) => {
                    println!(
                        "bench/baseline.sh against sim serve --cluster local: {}",
                        ms(script)
                    );
                    println!(
                        "speedup on local: {:.1}x",
                        script.as_secs_f64() / local.suite.as_secs_f64().max(1e-9)
                    );
                }
                None => println!("speedup on local: unavailable (the baseline did not run)"),
            }
        }
        None => println!("local: not measured (the local cluster is not up: make cluster)"),
    }
    match baseline {
        Some(script) => {
            println!("bench/baseline.sh (kubectl + AWS CLI): {}", ms(script));
            println!(
                "speedup with -j {WIDE_JOBS}: {:.1}x",
                script.as_secs_f64() / best_wide.as_secs_f64().max(1e-9)
            );
            println!(
                "speedup: {:.1}x",
                script.as_secs_f64() / best.as_secs_f64().max(1e-9)
            );
        }
        None => println!("speedup: unavailable (the baseline did not run, see above)"),
    }
    Ok(())
}

async fn suite_times(jobs: Option<usize>) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::new();
    for _ in 0..SUITE_RUNS {
        times.push(suite_time("sim", jobs, Some(Duration::from_secs(30))).await?);
    }
    Ok(times)
}

/// One run of the suite on `target`; it must pass (skips allowed).
async fn suite_time(
    target: &str,
    jobs: Option<usize>,
    cleanup_timeout: Option<Duration>,
) -> anyhow::Result<Duration> {
    let reports = tempfile::tempdir()?;
    let args = RunArgs {
        target: target.to_owned(),
        jobs,
        filter: Vec::new(),
        junit: reports.path().join("junit.xml"),
        json: reports.path().join("results.json"),
        fault: Vec::new(),
        step_timeout: Some(Duration::from_secs(120)),
        cleanup_timeout,
        paths: vec![root().join("scenarios")],
    };
    let quiet = ConsoleReporter::new(Box::new(std::io::sink()), ConsoleOptions::plain());
    let started = Instant::now();
    let report = session::run(&args.resolve()?, quiet).await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        ExitStatus::of_run(&report) == ExitStatus::Success,
        "the suite did not pass on the healthy {target}"
    );
    Ok(elapsed)
}

/// What the bench measured on the local cluster.
struct LocalBench {
    suite: Duration,
    readiness: Vec<Duration>,
    baseline: Option<Duration>,
}

/// The suite, readiness and the baseline on the local cluster; `None` when it is not up.
async fn local_bench() -> anyhow::Result<Option<LocalBench>> {
    let Ok(cluster) = LocalCluster::load() else {
        return Ok(None);
    };
    let suite = suite_time("local", None, None).await?;
    let readiness = local_readiness(&cluster).await?;
    let baseline = baseline_time(&["--cluster", "local"])?;
    Ok(Some(LocalBench {
        suite,
        readiness,
        baseline,
    }))
}

/// Readiness of real pods: each sample a Deployment of the cluster's own image in a namespace
/// labelled with the bench's id (all removed at the end).
async fn local_readiness(cluster: &LocalCluster) -> anyhow::Result<Vec<Duration>> {
    let id = format!("bench-{}", std::process::id());
    let workloads = rolecheck::target::attach::workloads(cluster, &id)?;
    let access = KubeAccess::Kubeconfig {
        path: Some(cluster.kubeconfig.clone()),
        context: None,
    };
    let driver = KubeDriver::connect(&access).await?;
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig)?;
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?,
    )?;
    let pod_spec = serde_json::json!({
        "hostNetwork": true,
        "terminationGracePeriodSeconds": 5,
        "containers": [{
            "name": "worker",
            "image": workloads.image,
            "imagePullPolicy": "Never",
            "command": workloads.command,
        }],
    });
    let mut samples = Vec::new();
    let mut namespaces = Vec::new();
    for i in 0..LOCAL_READINESS_SAMPLES {
        let ns = format!("{id}-{i}");
        namespaces.push(ns.clone());
        let labels = serde_json::json!({RUN_ID_LABEL: id});
        samples.extend(
            readiness_sample(&client, &driver, &ns, i, &pod_spec, &labels, LOCAL_WAIT).await?,
        );
    }
    let removal = Deadline::after(Duration::from_secs(120));
    for (name, removed) in driver.delete_namespaces(namespaces, &removal).await {
        if let Err(err) = removed {
            eprintln!("bench: could not remove namespace {name}: {err}");
        }
    }
    Ok(samples)
}

async fn readiness_latencies() -> anyhow::Result<Vec<Duration>> {
    let sim = Sim::start(SimConfig::default()).await?;
    let endpoints = sim.endpoints().clone();
    let access = KubeAccess::Token {
        url: endpoints.kube_url.clone(),
        token: endpoints.kube_token.clone(),
    };
    let driver = KubeDriver::connect(&access).await?;
    let client = kube::Client::try_from({
        let mut config = kube::Config::new(endpoints.kube_url.parse()?);
        config.auth_info.token = Some(endpoints.kube_token.clone().into());
        config
    })?;
    let pod_spec = serde_json::json!({"containers": [{"name": "worker", "image": "busybox"}]});
    let mut samples = Vec::new();
    for i in 0..READINESS_SAMPLES {
        let ns = format!("bench-{i}");
        samples.extend(
            readiness_sample(
                &client,
                &driver,
                &ns,
                i,
                &pod_spec,
                &serde_json::json!({}),
                Duration::from_secs(30),
            )
            .await?,
        );
    }
    sim.shutdown().await;
    Ok(samples)
}

/// One sample: a workload whose pod runs `pod_spec`, in a new namespace with
/// `namespace_labels`; how long after an independent raw watch saw its pod Running the
/// harness's rollout wait returned (`None` when the reference saw nothing).
async fn readiness_sample(
    client: &kube::Client,
    driver: &KubeDriver,
    ns: &str,
    i: usize,
    pod_spec: &serde_json::Value,
    namespace_labels: &serde_json::Value,
    wait: Duration,
) -> anyhow::Result<Option<Duration>> {
    let selector = format!("release=bench-{i},component=worker");
    create_workload(client, ns, i, pod_spec, namespace_labels).await?;
    // Reference: an independent raw watch notes when the pod turns Running.
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let reference = tokio::spawn({
        let config = watcher::Config::default().labels(&selector);
        async move {
            let stream = watcher(pods, config);
            futures::pin_mut!(stream);
            while let Some(Ok(event)) = stream.next().await {
                let running = match &event {
                    watcher::Event::Apply(p) | watcher::Event::InitApply(p) => is_running(p),
                    _ => false,
                };
                if running {
                    return Some(Instant::now());
                }
            }
            None
        }
    });
    driver
        .rolled_out_pods(ns, &selector, &Deadline::after(wait))
        .await?;
    let seen = Instant::now();
    Ok(reference
        .await?
        .map(|running_at| seen.saturating_duration_since(running_at)))
}

async fn create_workload(
    client: &kube::Client,
    ns: &str,
    i: usize,
    pod_spec: &serde_json::Value,
    namespace_labels: &serde_json::Value,
) -> anyhow::Result<()> {
    let release = format!("bench-{i}");
    let namespace: Namespace = serde_json::from_value(
        serde_json::json!({"metadata": {"name": ns, "labels": namespace_labels}}),
    )?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?;
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "worker"}}))?;
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &sa)
        .await?;
    let labels = BTreeMap::from([("release", release.as_str()), ("component", "worker")]);
    let mut spec = pod_spec.clone();
    if let Some(spec) = spec.as_object_mut() {
        spec.insert("serviceAccountName".to_owned(), "worker".into());
    }
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "worker", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec}
        }
    }))?;
    Api::<Deployment>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &deployment)
        .await?;
    Ok(())
}

fn is_running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// Runs the baseline script against `rolecheck sim serve <serve_args>`; `None` (with a
/// message) when a tool it needs is missing.
fn baseline_time(serve_args: &[&str]) -> anyhow::Result<Option<Duration>> {
    let root = root();
    let aws = root.join(".venv/bin/aws");
    if !aws.exists() {
        println!(
            "baseline skipped: {} is missing (run `make venv`)",
            aws.display()
        );
        return Ok(None);
    }
    let scratch = tempfile::tempdir()?;
    let env_file = scratch.path().join("sim.env");
    let exe = std::env::var_os("ROLECHECK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/rolecheck"));
    let mut serve = Command::new(&exe)
        .args(["sim", "serve", "--kubeconfig"])
        .arg(scratch.path().join("kubeconfig"))
        .arg("--env-file")
        .arg(&env_file)
        .args(serve_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::anyhow!("starting {}: {e}", exe.display()))?;
    // `sim serve` prints its summary once the env file is written: wait for that line.
    if let Some(stdout) = serve.stdout.take() {
        use std::io::BufRead as _;
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line?.contains("OIDC provider ARN") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
    }
    let started = Instant::now();
    let status = Command::new("bash")
        .arg(root.join("bench/baseline.sh"))
        .arg(&env_file)
        .env("AWS_CLI", &aws)
        .status();
    let elapsed = started.elapsed();
    let _ = Command::new("kill")
        .args(["-INT", &serve.id().to_string()])
        .status();
    let _ = serve.wait();
    let status = status?;
    anyhow::ensure!(
        status.success(),
        "bench/baseline.sh failed ({status}): its checks did not hold"
    );
    Ok(Some(elapsed))
}

fn median(values: &[Duration]) -> Duration {
    percentile(values, 50)
}

fn percentile(values: &[Duration], p: usize) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted
        .get((sorted.len().saturating_sub(1)) * p / 100)
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
