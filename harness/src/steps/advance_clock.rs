//! `advance_clock`: moves the clock the target's token issuer and STS share forward, so that
//! a token issued earlier is expired now (R12). Only targets with `clock-control` (the sim)
//! can; the runner runs such scenarios alone, since other scenarios' tokens age too.

use super::{ScenarioContext, StepError};
use std::time::Duration;

use super::fields::Expect;
use super::kind::{Key, Refusals, Shape, StepKind};
use crate::capability::Capability;
use crate::source::decode::{Ctx, Fields};

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

/// Fields of `advance_clock`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvanceClock {
    /// How far to move the clock forward.
    pub by: Duration,
}

impl StepKind for AdvanceClock {
    const ABOUT: &'static str = "Moves the clock the target's token issuer and STS share forward (the sim only); such scenarios run alone. Needs `clock-control`.";
    const KEYS: &'static [Key] = &[Key::required(
        "by",
        Shape::Duration,
        "how far, such as `2h`",
    )];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let node = fields.required(ctx, "by")?;
        let by = ctx.duration(node, "by")?;
        if by.is_zero() {
            ctx.error(node.pos, "by: must be longer than zero");
            return None;
        }
        Some(AdvanceClock { by })
    }

    /// It only prepares what later steps check.
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[]
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        vec![Capability::ClockControl]
    }
}
