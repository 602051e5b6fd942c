//! `advance_clock`: moves the clock the target's token issuer and STS share forward, so that
//! a token issued earlier is expired now (R12). Only targets with `clock-control` (the sim)
//! can; the runner runs such scenarios alone, since other scenarios' tokens age too.

use super::{ScenarioContext, StepError};
use crate::scenario::model::AdvanceClock;

/// Advances the clock.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &AdvanceClock,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let clock = ctx.target.clock.as_ref().ok_or_else(|| {
        StepError::Broken("this target's clock cannot be moved (no clock-control)".to_owned())
    })?;
    let offset = clock.advance(step.by).await?;
    log.push(format!(
        "advanced the clock by {}; it is {} ahead of real time",
        humantime::format_duration(step.by),
        humantime::format_duration(offset)
    ));
    Ok(())
}
