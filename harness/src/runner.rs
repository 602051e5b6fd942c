//! The runner: scenarios in parallel, each step timed and bounded, `finally` always, and
//! everything the run created removed at the end (also on failure, timeout and Ctrl-C).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::cleanup::{self, Ledger};
use crate::drivers::deadline::Deadline;
use crate::plan::Planned;
use crate::report::events::Event;
use crate::report::model::{Cause, Outcome, Phase, ScenarioResult, StepResult};
use crate::report::verdict;
use crate::scenario::attribution;
use crate::scenario::template::{BuiltinValues, TemplateContext, release_name};
use crate::scenario::{Scenario, Step};
use crate::steps::{self, Installation, ScenarioContext, StepError};
use crate::target::Target;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How many scenarios run at once.
    pub jobs: usize,
    /// A step's time budget when the scenario names none.
    pub step_timeout: Duration,
    /// Time budget for removing one object at clean-up.
    pub cleanup_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            step_timeout: Duration::from_secs(60),
            cleanup_timeout: Duration::from_secs(60),
        }
    }
}

/// Runs the planned scenarios, recording what they create in `ledger`; returns their results
/// in suite order.
pub async fn run(
    target: &Target,
    planned: Vec<Planned>,
    run_id: &str,
    options: &RunOptions,
    events: &UnboundedSender<Event>,
    cancel: &CancellationToken,
    ledger: &Ledger,
) -> Vec<ScenarioResult> {
    let jobs = options.jobs.max(1);
    // Scenarios that move the target's clock run one at a time after all others, so that no
    // token of a concurrent scenario expires under it.
    let (alone, shared): (Vec<Planned>, Vec<Planned>) = planned
        .into_iter()
        .partition(|p| p.skip.is_none() && crate::plan::runs_alone(&p.scenario));
    let one = |p: Planned| async move {
        let index = p.index;
        let result = run_scenario(target, p, run_id, options, events, cancel, ledger).await;
        let _ = events.send(Event::ScenarioFinished(result.clone()));
        (index, result)
    };
    let mut results: Vec<(usize, ScenarioResult)> = futures::stream::iter(shared)
        .map(one)
        .buffer_unordered(jobs)
        .collect()
        .await;
    for p in alone {
        results.push(one(p).await);
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

async fn run_scenario(
    target: &Target,
    planned: Planned,
    run_id: &str,
    options: &RunOptions,
    events: &UnboundedSender<Event>,
    cancel: &CancellationToken,
    ledger: &Ledger,
) -> ScenarioResult {
    let Planned {
        scenario,
        index,
        skip,
    } = planned;
    let release = release_name(run_id, index);
    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        file: scenario.location.file.clone(),
        rules: scenario.rules.iter().map(ToString::to_string).collect(),
        tags: scenario.tags.clone(),
        release: release.clone(),
        outcome: Outcome::Passed,
        duration: Duration::ZERO,
        steps: Vec::new(),
        rule_outcomes: Vec::new(),
        started_at: None,
        evidence: Vec::new(),
    };
    if let Some(reason) = skip {
        result.outcome = Outcome::Skipped { reason };
        verdict::judge_scenario(&mut result);
        return result;
    }
    if cancel.is_cancelled() {
        // Not a skip: it did not run, so it must not count as passed (`--rerun-failed` runs it).
        result.outcome = Outcome::Error {
            message:
                "interrupted: the run was stopped (SIGINT or SIGTERM) before this scenario started"
                    .to_owned(),
        };
        verdict::judge_scenario(&mut result);
        return result;
    }
    let _ = events.send(Event::ScenarioStarted {
        name: scenario.name.clone(),
    });
    let started = Instant::now();
    result.started_at =
        Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let templates = match template_context(target, &scenario, run_id, &release) {
        Ok(t) => t,
        Err(message) => {
            result.outcome = Outcome::Error { message };
            verdict::judge_scenario(&mut result);
            return result;
        }
    };
    let ctx = ScenarioContext {
        target,
        run_id,
        templates,
        ledger: ledger.clone(),
        scope: format!("{run_id}/{}", scenario.name),
        installation: Installation::for_scenario(&scenario),
        last_token: Mutex::new(None),
        evidence: Mutex::new(Vec::new()),
        release_names: Mutex::new(std::collections::BTreeMap::new()),
    };

    // After a failed step that changed the target (or any error), the remaining steps are
    // blocked: they are recorded as not run, and the rules they check are errors.
    let mut blocked_by: Option<String> = None;
    for (i, step) in scenario.steps.iter().enumerate() {
        if let Some(why) = &blocked_by {
            let not_run = not_run(step, i, why);
            record(&mut result, not_run, events);
            continue;
        }
        let outcome = tokio::select! {
            r = run_step(&ctx, step, i, Phase::Steps, options) => r,
            () = cancel.cancelled() => interrupted(step, i),
        };
        // A failed assertion that only observed leaves the rest something to check; a
        // failed set-up step (it checks no rule) or action blocks the rest.
        let goes_on = match outcome.outcome {
            Outcome::Failed { .. } => {
                !step.rules.is_empty() && attribution::only_observes(&step.action)
            }
            Outcome::Error { .. } => false,
            Outcome::Passed | Outcome::Skipped { .. } => true,
        };
        if !goes_on {
            blocked_by = Some(verdict::blocked_message(&outcome));
        }
        record(&mut result, outcome, events);
    }
    for (i, step) in scenario.finally.iter().enumerate() {
        let outcome = run_step(&ctx, step, i, Phase::Finally, options).await;
        record(&mut result, outcome, events);
    }
    let cleanup = clean_up(&ctx, options.cleanup_timeout).await;
    record(&mut result, cleanup, events);

    result.duration = started.elapsed();
    result.evidence = ctx.evidence.lock().map(|e| e.clone()).unwrap_or_default();
    verdict::judge_scenario(&mut result);
    result
}

fn template_context(
    target: &Target,
    scenario: &Scenario,
    run_id: &str,
    release: &str,
) -> Result<TemplateContext, String> {
    let facts = &target.facts;
    let builtins = BuiltinValues {
        run_id: run_id.to_owned(),
        release: release.to_owned(),
        account: facts.account.clone(),
        region: facts.region.clone(),
        role_arn: facts.role_arn.clone(),
        oidc_provider_arn: facts.oidc_provider_arn.clone(),
        bucket: facts.bucket.clone(),
        other_bucket: facts.other_bucket.clone(),
        namespaces: target.namespaces.clone(),
    };
    TemplateContext::new(scenario, &builtins).map_err(|e| format!("scenario vars: {e}"))
}

/// Adds a finished step to the scenario, naming the scenario's first bad step as the likely
/// cause of a later bad one, and tells the reporters.
fn record(result: &mut ScenarioResult, mut step: StepResult, events: &UnboundedSender<Event>) {
    if step.outcome.is_bad()
        && step.phase == Phase::Steps
        && let Some(first) = result
            .steps
            .iter()
            .find(|s| s.phase == Phase::Steps && s.outcome.is_bad())
    {
        step.cause = Some(Cause {
            phase: first.phase,
            index: first.index,
            kind: first.kind.clone(),
            location: first.location.clone(),
            rules: first.rules.clone(),
            message: crate::report::text::first_line(crate::report::text::outcome_message(
                &first.outcome,
            ))
            .to_owned(),
        });
    }
    tracing::info!(scenario = %result.name, step = %step.kind, outcome = step.outcome.label(), "step finished");
    let _ = events.send(Event::StepFinished {
        scenario: result.name.clone(),
        step: step.clone(),
    });
    result.steps.push(step);
}

async fn run_step(
    ctx: &ScenarioContext<'_>,
    step: &Step,
    index: usize,
    phase: Phase,
    options: &RunOptions,
) -> StepResult {
    // The step's one deadline: every wait inside it ends there, none adds a budget of its own.
    let deadline = Deadline::after(step.timeout.unwrap_or(options.step_timeout));
    let started = Instant::now();
    let mut log = Vec::new();
    // Boxed: a step's future is large, and it would otherwise be inlined into every
    // scenario's future (and so onto the stack of whoever polls the run).
    let work = Box::pin(steps::run(ctx, step, &deadline, &mut log));
    let outcome = match within(&deadline, work).await {
        Ok(()) => Outcome::Passed,
        Err(StepError::Failed {
            message,
            expected,
            actual,
        }) => Outcome::Failed {
            message,
            expected,
            actual,
        },
        Err(StepError::Broken(message)) => Outcome::Error { message },
    };
    StepResult {
        index,
        kind: step.action.kind().to_owned(),
        phase,
        location: step.location.to_string(),
        outcome,
        duration: started.elapsed(),
        log,
        rules: rule_names(step),
        cause: None,
    }
}

/// How long after its deadline a step may still take to hand back a result: its waits end at
/// the deadline and report what they last saw; this grace covers turning that into a result.
const GRACE: Duration = Duration::from_secs(1);

/// Runs a step's work, bounded by its deadline (and [`GRACE`]). Waits end at the deadline
/// themselves and report what they last saw. When the work has still not finished, a wait
/// still running under the deadline makes it a timeout with what that wait last saw; else a
/// request got no answer in time, which says nothing about the contract: an infrastructure
/// error, not a failure.
async fn within(
    deadline: &Deadline,
    work: impl std::future::Future<Output = Result<(), StepError>>,
) -> Result<(), StepError> {
    let mut work = std::pin::pin!(work);
    match tokio::time::timeout_at(deadline.instant() + GRACE, &mut work).await {
        Ok(result) => result,
        // Asked while the cut-off work (and so its wait) still exists.
        Err(_) => match deadline.waiting_on() {
            Some(last_seen) => Err(deadline.timed_out(last_seen).into()),
            None => Err(StepError::Broken(format!(
                "step did not finish within {}: a request to the target got no answer in time",
                humantime::format_duration(deadline.budget())
            ))),
        },
    }
}

fn rule_names(step: &Step) -> Vec<String> {
    step.rules.iter().map(ToString::to_string).collect()
}

fn interrupted(step: &Step, index: usize) -> StepResult {
    StepResult {
        index,
        kind: step.action.kind().to_owned(),
        phase: Phase::Steps,
        location: step.location.to_string(),
        outcome: Outcome::Error {
            message: "interrupted: the run was stopped (SIGINT or SIGTERM) during this step"
                .to_owned(),
        },
        duration: Duration::ZERO,
        log: Vec::new(),
        rules: rule_names(step),
        cause: None,
    }
}

/// A step that did not run because an earlier one failed (`why`: `blocked: ...`).
fn not_run(step: &Step, index: usize, why: &str) -> StepResult {
    StepResult {
        index,
        kind: step.action.kind().to_owned(),
        phase: Phase::Steps,
        location: step.location.to_string(),
        outcome: Outcome::Skipped {
            reason: why.to_owned(),
        },
        duration: Duration::ZERO,
        log: Vec::new(),
        rules: rule_names(step),
        cause: None,
    }
}

/// Removes what the scenario created (see [`crate::cleanup`]).
async fn clean_up(ctx: &ScenarioContext<'_>, timeout: Duration) -> StepResult {
    let started = Instant::now();
    let removal = cleanup::remove_scenario(ctx.target, &ctx.ledger, &ctx.scope, timeout).await;
    let outcome = if removal.left.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Error {
            message: format!("clean-up left: {}", removal.left.join(", ")),
        }
    };
    StepResult {
        index: 0,
        kind: "cleanup".to_owned(),
        phase: Phase::Cleanup,
        location: "(runner)".to_owned(),
        outcome,
        duration: started.elapsed(),
        log: removal.log,
        rules: Vec::new(),
        cause: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::drivers::fake_api::{self, Answer, Log};
    use crate::drivers::kube::{KubeAccess, KubeDriver};

    #[tokio::test]
    async fn a_wait_cut_off_by_the_step_deadline_reports_what_it_last_saw() {
        let log: Log = Arc::default();
        let pending = Answer::list("PodList", vec![fake_api::pod("ns", "p", "Pending")]);
        let url = fake_api::serve(vec![pending], Arc::clone(&log)).await;
        let kube = KubeDriver::connect(&KubeAccess::Token {
            url,
            token: "t".to_owned(),
        })
        .await
        .unwrap();
        let deadline = Deadline::after(Duration::from_millis(300));
        let outcome = within(&deadline, async {
            kube.running_pod("ns", "p", &deadline).await?;
            Ok(())
        })
        .await;
        let Err(StepError::Failed {
            message, actual, ..
        }) = outcome
        else {
            panic!("a failure: {outcome:?}");
        };
        assert_eq!(message, "timed out after 300ms");
        assert_eq!(actual, "pod ns/p is Pending");
        assert_eq!(*log.lock().unwrap(), ["list 200", "watch"]);
    }

    #[tokio::test]
    async fn a_step_still_waiting_after_its_deadline_fails_with_what_the_wait_saw() {
        let deadline = Deadline::after(Duration::ZERO);
        let outcome = within(&deadline, async {
            let waiting = deadline.wait();
            waiting.saw("pod ns/p is Pending");
            std::future::pending::<()>().await;
            Ok(())
        })
        .await;
        let Err(StepError::Failed { actual, .. }) = outcome else {
            panic!("a failure: {outcome:?}");
        };
        assert_eq!(actual, "pod ns/p is Pending");
    }

    #[tokio::test]
    async fn a_step_stuck_in_a_request_is_an_infrastructure_error() {
        let deadline = Deadline::after(Duration::ZERO);
        let outcome = within(&deadline, std::future::pending()).await;
        let Err(StepError::Broken(message)) = outcome else {
            panic!("broken: {outcome:?}");
        };
        assert!(message.contains("got no answer in time"), "{message}");
    }
}
