//! Starting and stopping a sim: binds the loopback listeners, wires the surfaces together
//! and hands out the endpoints a client needs.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::aws_endpoint::AwsEndpoint;
use crate::clock::SimClock;
use crate::cluster::keys::KeyChain;
use crate::config::SimConfig;
use crate::iam::Iam;
use crate::kube::{ApiServer, KubeOptions};
use crate::oidc::Issuer;
use crate::platform::apply::ObjectWriter;
use crate::platform::{Platform, PlatformOptions, PlatformUser};
use crate::s3::Buckets;
use crate::sts::{AwsState, KeySource};

/// A second platform installation: its GraphQL URL, workspace and users.
#[derive(Debug, Clone)]
pub struct PlatformInstallation {
    /// Platform GraphQL URL (`http://127.0.0.1:<port>/v1`).
    pub url: String,
    /// The workspace the users belong to.
    pub workspace_id: String,
    /// Users, one per workspace role.
    pub users: Vec<PlatformUser>,
}

/// Where a client reaches the running sim, and the credentials it needs.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Kubernetes API base URL (`http://127.0.0.1:<port>`).
    pub kube_url: String,
    /// Bearer token of the cluster admin.
    pub kube_token: String,
    /// STS and IAM endpoint URL (AWS query protocol); it serves path-style S3 and the EKS
    /// Pod Identity API (`/clusters/rolecheck-sim/pod-identity-associations`) too.
    pub aws_url: String,
    /// The administrator's access key id: IAM requests must be signed with it.
    pub aws_access_key_id: String,
    /// The administrator's secret access key.
    pub aws_secret_access_key: String,
    /// S3 endpoint URL (path-style addressing only): the same listener as `aws_url`.
    pub s3_url: String,
    /// Platform GraphQL URL (`http://127.0.0.1:<port>/v1`).
    pub platform_url: String,
    /// The OIDC issuer that service-account tokens carry.
    pub oidc_issuer: String,
    /// The IAM OIDC provider ARN registered for that issuer.
    pub oidc_provider_arn: String,
    /// AWS account id.
    pub account_id: String,
    /// AWS region.
    pub region: String,
    /// The platform workspace the users belong to.
    pub workspace_id: String,
    /// Platform users, one per workspace role.
    pub platform_users: Vec<PlatformUser>,
    /// A platform installed on the same cluster whose config does not set
    /// `deployments.serviceAccountAnnotationKey` (R1: the feature is off there). Its own
    /// workspace and users; it listens on the fourth port.
    pub platform_without_annotation_key: PlatformInstallation,
    /// Admin endpoint moving the clock of the token issuer and STS forward (on the
    /// Kubernetes listener, `kube_token` required); see [`crate::clock`].
    pub clock_url: String,
    /// With a cluster attached ([`SimConfig::cluster`]): the admission webhook's URL.
    pub webhook_url: Option<String>,
    /// With a cluster attached: the name of the MutatingWebhookConfiguration registered.
    pub webhook_configuration: Option<String>,
}

/// A running sim. Dropping it without [`Sim::shutdown`] stops it too (the tasks are aborted).
pub struct Sim {
    endpoints: Endpoints,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    attached: Option<crate::cluster::Attached>,
}

impl Sim {
    /// Starts every surface on loopback and returns once all listeners are bound.
    pub async fn start(config: SimConfig) -> anyhow::Result<Sim> {
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();

        let clock = SimClock::new();
        let issuer = Arc::new(
            Issuer::new(config.oidc_issuer_url())
                .context("creating OIDC issuer")?
                .with_clock(Arc::clone(&clock)),
        );
        let kube = ApiServer::new(KubeOptions::from_config(&config), Arc::clone(&issuer));
        kube.run_controllers(&mut tasks, cancel.clone());

        let iam = Arc::new(Iam::new(config.account_id.clone()));
        iam.create_open_id_connect_provider(
            &config.oidc_issuer_url(),
            &["sts.amazonaws.com".to_owned()],
        )
        .context("registering the OIDC provider")?;
        for role in &config.roles {
            iam.create_role(&role.name, &role.trust_policy)
                .with_context(|| format!("creating role {}", role.name))?;
            for (i, doc) in role.permission_policies.iter().enumerate() {
                iam.put_role_policy(&role.name, &format!("policy-{i}"), doc)
                    .with_context(|| format!("attaching a policy to role {}", role.name))?;
            }
        }

        let attached = match &config.cluster {
            Some(cluster) => Some(
                crate::cluster::attach(
                    cluster,
                    {
                        let api = Arc::clone(&kube);
                        Arc::new(move || api.webhook_options())
                    },
                    &mut tasks,
                    cancel.clone(),
                )
                .await
                .context("attaching to the cluster")?,
            ),
            None => None,
        };
        let writer: Arc<dyn ObjectWriter> = match &attached {
            Some(a) => Arc::clone(&a.writer),
            None => Arc::clone(&kube) as Arc<dyn ObjectWriter>,
        };
        let platform =
            Platform::with_writer(PlatformOptions::from_config(&config), Arc::clone(&writer));
        let (workspace_id, platform_users) = platform.seed_users();
        let keyless = Platform::with_writer(
            PlatformOptions {
                annotation_key: None,
                ..PlatformOptions::from_config(&config)
            },
            writer,
        );
        let (keyless_workspace_id, keyless_users) = keyless.seed_users();

        let kube_token = crate::secret::random_token();
        let [
            kube_listener,
            aws_listener,
            platform_listener,
            keyless_listener,
        ] = bind(config.port_base).await?;
        let kube_url = url_of(&kube_listener)?;
        let aws_url = url_of(&aws_listener)?;
        let platform_url = format!("{}/v1", url_of(&platform_listener)?);
        let keyless_url = format!("{}/v1", url_of(&keyless_listener)?);
        let clock_url = format!("{kube_url}{}", crate::clock::CLOCK_PATH);

        let keys: Arc<dyn KeySource> = match &attached {
            Some(a) => Arc::new(KeyChain(vec![
                Arc::clone(&issuer) as Arc<dyn KeySource>,
                Arc::new(a.keys.clone()),
            ])),
            None => Arc::clone(&issuer) as Arc<dyn KeySource>,
        };
        let aws = AwsState::with_keys(config.faults.clone(), Arc::clone(&iam), keys)
            .with_clock(clock.sts_clock());
        let admin = aws.admin_key().clone();
        let aws = AwsEndpoint::new(aws)
            .with_buckets(Buckets::new(&config.region, &config.s3_buckets))
            .with_associations(Arc::clone(kube.associations()));
        let kube_router = crate::kube::router(Arc::clone(&kube), kube_token.clone())
            .merge(crate::clock::router(clock, kube_token.clone()));
        serve(&mut tasks, kube_listener, kube_router, cancel.clone());
        serve(
            &mut tasks,
            aws_listener,
            crate::aws_endpoint::router(aws),
            cancel.clone(),
        );
        serve(
            &mut tasks,
            platform_listener,
            crate::platform::router(platform),
            cancel.clone(),
        );
        serve(
            &mut tasks,
            keyless_listener,
            crate::platform::router(keyless),
            cancel.clone(),
        );

        let endpoints = Endpoints {
            kube_url,
            kube_token,
            s3_url: aws_url.clone(),
            aws_access_key_id: admin.access_key_id,
            aws_secret_access_key: admin.secret_access_key,
            aws_url,
            platform_url,
            oidc_issuer: config.oidc_issuer_url(),
            oidc_provider_arn: config.oidc_provider_arn(),
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            workspace_id,
            platform_users,
            platform_without_annotation_key: PlatformInstallation {
                url: keyless_url,
                workspace_id: keyless_workspace_id,
                users: keyless_users,
            },
            clock_url,
            webhook_url: attached.as_ref().map(|a| a.webhook_url.clone()),
            webhook_configuration: attached.as_ref().map(|a| a.webhook_configuration.clone()),
        };
        Ok(Sim {
            endpoints,
            cancel,
            tasks,
            attached,
        })
    }

    /// Where to reach this sim.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Stops every listener and background task and waits for them.
    pub async fn shutdown(mut self) {
        if let Some(attached) = self.attached.take() {
            attached.detach().await;
        }
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn bind(port_base: Option<u16>) -> anyhow::Result<[TcpListener; 4]> {
    let port = |offset: u16| port_base.map_or(0, |base| base.saturating_add(offset));
    let listen = |p: u16| async move {
        TcpListener::bind(("127.0.0.1", p))
            .await
            .with_context(|| format!("binding 127.0.0.1:{p}"))
    };
    Ok([
        listen(port(0)).await?,
        listen(port(1)).await?,
        listen(port(2)).await?,
        listen(port(3)).await?,
    ])
}

fn url_of(listener: &TcpListener) -> anyhow::Result<String> {
    Ok(format!("http://{}", listener.local_addr()?))
}

fn serve(
    tasks: &mut JoinSet<()>,
    listener: TcpListener,
    router: axum::Router,
    cancel: CancellationToken,
) {
    tasks.spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(err) = result {
            tracing::error!(%err, "sim listener stopped");
        }
    });
}
