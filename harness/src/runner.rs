//! The runner: scenarios in parallel, each step timed and bounded, `finally` always, and
//! everything the run created removed at the end (also on failure, timeout and Ctrl-C). A
//! failed scenario is attempted again when the run says so (`--suite qualify`), as nextest
//! retries a test: each attempt is reported as an event, and the verdict over the attempts
//! (flaky or regression) goes into the report.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::cleanup;
use crate::drivers::deadline::Deadline;
use crate::ledger::Ledger;
use crate::plan::Planned;
use crate::platform::Installation;
use crate::report::events::Event;
use crate::report::model::{Cause, Outcome, Phase, Rerun, ScenarioResult, Stability, StepResult};
use crate::report::verdict;
use crate::scenario::attribution;
use crate::scenario::template::{BuiltinValues, TemplateContext, release_name};
use crate::scenario::{Scenario, Step};
use crate::steps::{self, ScenarioContext, StepError};
use crate::target::Target;

/// How a run behaves (resolved once, see [`crate::settings::resolve_limits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// How many scenarios run at once.
    pub jobs: usize,
    /// A step's time budget when the scenario names none.
    pub step_timeout: Duration,
    /// Time budget for removing one object at clean-up.
    pub cleanup_timeout: Duration,
    /// How often a failed scenario is attempted again (`--suite qualify`), when at all.
    pub retries: Option<NonZeroU32>,
}

/// What one run of the planned scenarios gives.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    /// Each scenario's result (its first attempt's, its failure message prefixed with the
    /// verdict of its re-runs when it had any), in suite order.
    pub results: Vec<ScenarioResult>,
    /// The re-runs of the scenarios that failed ([`RunOptions::retries`]), in suite order.
    pub reruns: Vec<Rerun>,
    /// What the sweeps after the re-runs could not remove.
    pub leftovers: Vec<String>,
}

/// Where and how the planned scenarios run: the target, the run's id, its limits, where
/// events go, what stops it, where creations are recorded, and how a re-run gets an id of
/// its own.
#[derive(Clone, Copy)]
pub struct Session<'a> {
    /// The target.
    pub target: &'a Target,
    /// The run id every object of the first attempts is labelled with.
    pub run_id: &'a str,
    /// Parallelism, budgets, re-runs.
    pub options: &'a RunOptions,
    /// Where events go (the reporters).
    pub events: &'a UnboundedSender<Event>,
    /// Stops the run: no step starts any more.
    pub cancel: &'a CancellationToken,
    /// What the run created and has not removed yet.
    pub ledger: &'a Ledger,
    /// A fresh run id for each re-run (see `crate::session::new_run_id`).
    pub new_run_id: fn() -> String,
}

/// Runs the planned scenarios, recording what they create in the session's ledger; a
/// scenario that fails is attempted again up to [`RunOptions::retries`] times right away,
/// each attempt under a run id of its own, swept after it, and told as an
/// [`Event::Rerun`]. Returns the results in suite order.
pub async fn run(session: Session<'_>, planned: Vec<Planned>) -> Ran {
    let jobs = session.options.jobs.max(1);
    // Scenarios that move the target's clock run one at a time after all others, so that no
    // token of a concurrent scenario expires under it.
    let (alone, shared): (Vec<Planned>, Vec<Planned>) = planned
        .into_iter()
        .partition(|p| p.skip.is_none() && crate::plan::runs_alone(&p.scenario));
    let one = |p: Planned| async move {
        let index = p.index;
        let again = session.options.retries.map(|times| (times, p.clone()));
        let first = run_scenario(
            session.target,
            p,
            session.run_id,
            session.options,
            session.events,
            session.cancel,
            session.ledger,
        )
        .await;
        let _ = session.events.send(Event::ScenarioFinished(first.clone()));
        let attempts = match again {
            Some((times, p)) if first.outcome.is_bad() => retry(session, p, times).await,
            _ => Attempts::default(),
        };
        (index, first, attempts)
    };
    let mut ran: Vec<(usize, ScenarioResult, Attempts)> = futures::stream::iter(shared)
        .map(one)
        .buffer_unordered(jobs)
        .collect()
        .await;
    for p in alone {
        ran.push(one(p).await);
    }
    ran.sort_by_key(|(index, _, _)| *index);
    let mut out = Ran::default();
    for (_, mut result, attempts) in ran {
        out.leftovers.extend(attempts.leftovers);
        if !attempts.outcomes.is_empty() {
            let rerun = Rerun {
                scenario: result.name.clone(),
                stability: Stability::of(&attempts.outcomes),
                outcomes: attempts.outcomes,
            };
            if let Outcome::Failed { message, .. } | Outcome::Error { message } =
                &mut result.outcome
            {
                *message = format!("{}: {message}", rerun.summary());
            }
            out.reruns.push(rerun);
        }
        out.results.push(result);
    }
    out
}

/// The re-runs of one failed scenario.
#[derive(Debug, Default)]
struct Attempts {
    /// Each finished re-run's outcome, in order.
    outcomes: Vec<Outcome>,
    /// What the sweeps after them could not remove.
    leftovers: Vec<String>,
}

/// Runs a failed scenario again `times` times, each under a run id of its own and swept
/// afterwards; its steps are not shown, each re-run's outcome is (an [`Event::Rerun`]). A
/// re-run cut off by a signal counts for nothing, and no other starts after it.
async fn retry(session: Session<'_>, planned: Planned, times: NonZeroU32) -> Attempts {
    // A re-run's own steps are not reported: only its outcome is.
    let (quiet, closed) = tokio::sync::mpsc::unbounded_channel();
    drop(closed);
    let mut attempts = Attempts::default();
    for attempt in 1..=times.get() {
        if session.cancel.is_cancelled() {
            break;
        }
        let run_id = (session.new_run_id)();
        let result = run_scenario(
            session.target,
            planned.clone(),
            &run_id,
            session.options,
            &quiet,
            session.cancel,
            session.ledger,
        )
        .await;
        attempts
            .leftovers
            .extend(cleanup::sweep(session.target, &run_id, session.options.cleanup_timeout).await);
        if session.cancel.is_cancelled() {
            break;
        }
        let _ = session.events.send(Event::Rerun {
            scenario: result.name.clone(),
            run_id,
            attempt,
            of: times.get(),
            outcome: result.outcome.clone(),
        });
        attempts.outcomes.push(result.outcome);
    }
    attempts
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
        facts: facts.clone(),
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

    /// Run ids of re-runs in the flaky test: `again001`, `again002`, ...
    fn again_ids() -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("again{n:03}")
    }

    /// A scenario that fails on its first attempt (its ServiceAccount's name, made from the
    /// run id, is taken) and passes on its re-runs (their own run ids give free names): each
    /// re-run is told as an event after the first attempt's result, the verdict is flaky,
    /// and what the re-runs created is gone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flaky_scenario_gets_its_reruns_reported_as_events() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("flaky.yaml");
        std::fs::write(
            &file,
            "name: flaky\ndescription: Taken the first time.\nrules: [R12]\nsteps:\n  \
             - create_service_account: {namespace: kube-system, name: \"flaky-{{run_id}}\", \
             rules: [R12]}\n",
        )
        .unwrap();
        let scenarios = crate::scenario::load_paths(&[file]).unwrap();
        let run_id = "first001";
        let target = crate::target::sim::start(rolecheck_sim::FaultSet::none(), run_id)
            .await
            .unwrap();
        // Not this run's: labelled with another run id, so no clean-up or sweep removes it.
        target
            .kube
            .create_service_account("kube-system", "flaky-first001", "someone")
            .await
            .unwrap();
        let planned = crate::plan::plan(scenarios, &[], &target.name, &target.capabilities);
        let options = RunOptions {
            jobs: 2,
            step_timeout: Duration::from_secs(20),
            cleanup_timeout: Duration::from_secs(20),
            retries: NonZeroU32::new(2),
        };
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let ledger = Ledger::new();
        let session = Session {
            target: &target,
            run_id,
            options: &options,
            events: &events,
            cancel: &cancel,
            ledger: &ledger,
            new_run_id: again_ids,
        };
        let ran = run(session, planned).await;
        drop(events);
        let left = cleanup::sweep(&target, run_id, options.cleanup_timeout).await;
        target.teardown().await;

        let mut told = Vec::new();
        while let Ok(event) = received.try_recv() {
            match event {
                Event::ScenarioFinished(result) => {
                    told.push(format!(
                        "finished {} {}",
                        result.name,
                        result.outcome.label()
                    ));
                }
                Event::Rerun {
                    scenario,
                    run_id,
                    attempt,
                    of,
                    outcome,
                } => {
                    assert!(run_id.starts_with("again"), "{run_id}");
                    told.push(format!(
                        "rerun {attempt}/{of} {scenario} {}",
                        outcome.label()
                    ));
                }
                _ => {}
            }
        }
        let first = ran.results[0].outcome.label();
        assert_ne!(first, Outcome::Passed.label(), "{:?}", ran.results[0]);
        let passed = Outcome::Passed.label();
        assert_eq!(
            told,
            [
                format!("finished flaky {first}"),
                format!("rerun 1/2 flaky {passed}"),
                format!("rerun 2/2 flaky {passed}"),
            ]
        );
        assert_eq!(ran.reruns.len(), 1);
        assert_eq!(ran.reruns[0].stability, Stability::Flaky);
        assert_eq!(ran.reruns[0].outcomes, [Outcome::Passed, Outcome::Passed]);
        let (Outcome::Failed { message, .. } | Outcome::Error { message }) =
            &ran.results[0].outcome
        else {
            panic!("{:?}", ran.results[0].outcome);
        };
        assert!(
            message.starts_with("flaky: passed 2 of 2 re-runs: "),
            "{message}"
        );
        assert!(ran.leftovers.is_empty(), "{:?}", ran.leftovers);
        assert!(left.is_empty(), "{left:?}");
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
