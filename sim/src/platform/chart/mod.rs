//! What the Airflow Helm chart renders for a deployment, and installing/upgrading/uninstalling
//! it.
//!
//! Two halves, so that the same objects can go to the sim's API server or to a real cluster:
//! - [`mod@render`]: pure. The chart values of a release in, the Kubernetes objects (JSON) out,
//!   plus the three-way patch a Helm 3 upgrade sends. No API server, no sim state.
//! - [`apply`]: installs, upgrades and uninstalls rendered releases through an
//!   [`ObjectWriter`](crate::platform::apply::ObjectWriter) (the sim's in-process API server
//!   or a real cluster), the way Houston plus Helm do.

pub mod apply;
pub mod render;

use std::fmt;

use super::binding::Annotations;
use super::values::Executor;
use crate::faults::{Fault, FaultSet};

pub use apply::Chart;
pub use render::{ChartValues, render};

/// The Airflow image of the documents' era.
pub const AIRFLOW_IMAGE: &str = "quay.io/astronomer/ap-airflow:1.10.5-alpine3.10-onbuild";

/// The pod-template annotation (an `airflowPodAnnotations` entry the platform passes) bumped
/// on every upgrade that must roll the pods.
pub const REVISION_ANNOTATION: &str = "rolecheck.sim/revision";

/// The version of the Airflow chart the platform deploys (astronomer/astronomer v0.16.5's
/// `airflowChartVersion`).
pub const CHART_VERSION: &str = "0.15.4";

/// An Airflow component that gets its own ServiceAccount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The Airflow webserver.
    Webserver,
    /// The Airflow scheduler.
    Scheduler,
    /// A Celery worker.
    Worker,
}

impl Component {
    /// Every component, in chart order.
    pub const ALL: [Component; 3] = [Self::Webserver, Self::Scheduler, Self::Worker];

    /// The component's name, as in labels and object names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webserver => "webserver",
            Self::Scheduler => "scheduler",
            Self::Worker => "worker",
        }
    }

    /// Whether the chart renders a workload for this component with `executor`.
    pub fn runs_with(self, executor: Executor) -> bool {
        self != Self::Worker || executor.has_workers()
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The annotations the platform hands the chart for one component's ServiceAccount, given
/// the stored annotations and the faults ([`Fault::AnnotationNeverWritten`]: none at all;
/// [`Fault::PartialComponents`]: the scheduler's only).
pub fn service_account_annotations(
    component: Component,
    stored: &Annotations,
    faults: &FaultSet,
) -> Annotations {
    let skipped = faults.has(Fault::AnnotationNeverWritten)
        || (faults.has(Fault::PartialComponents) && component != Component::Scheduler);
    if skipped {
        Annotations::new()
    } else {
        stored.clone()
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn ann() -> Annotations {
        Annotations::from([(
            "eks.amazonaws.com/role-arn".to_owned(),
            "arn:aws:iam::1:role/r".to_owned(),
        )])
    }

    #[rstest]
    #[case(&[], Component::Webserver, true)]
    #[case(&[], Component::Worker, true)]
    #[case(&[Fault::AnnotationNeverWritten], Component::Scheduler, false)]
    #[case(&[Fault::PartialComponents], Component::Scheduler, true)]
    #[case(&[Fault::PartialComponents], Component::Webserver, false)]
    #[case(&[Fault::PartialComponents], Component::Worker, false)]
    fn which_service_accounts_get_annotations(
        #[case] on: &[Fault],
        #[case] component: Component,
        #[case] annotated: bool,
    ) {
        let faults: FaultSet = on.iter().copied().collect();
        let got = service_account_annotations(component, &ann(), &faults);
        assert_eq!(got, if annotated { ann() } else { Annotations::new() });
    }

    #[rstest]
    #[case(Executor::Celery, Component::Worker, true)]
    #[case(Executor::Local, Component::Worker, false)]
    #[case(Executor::Kubernetes, Component::Worker, false)]
    #[case(Executor::Local, Component::Scheduler, true)]
    fn components_per_executor(
        #[case] executor: Executor,
        #[case] component: Component,
        #[case] runs: bool,
    ) {
        assert_eq!(component.runs_with(executor), runs);
    }
}
