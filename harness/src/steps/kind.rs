//! What a step kind is: the trait every kind's module implements (its typed fields decode
//! from the scenario file, say which keys they take, which `expect` forms apply, which
//! capabilities they need and which rules they can show), and the `step_kinds!` macro the
//! registry ([`super::registry`]) lists the kinds with.

use super::fields::Expect;
use crate::capability::Capability;
use crate::source::decode::{Ctx, Fields};

/// The shape of a field's value, for the JSON Schema and the README's step reference.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A string, which may hold `{{name}}` placeholders.
    Text,
    /// A string (`""` included) or `null`: `cloud_role`, whose absence is a third case.
    TextOrNull,
    /// One of these names.
    OneOf(&'static [&'static str]),
    /// A non-empty list of distinct components (`webserver`, `scheduler`, `worker`).
    Components,
    /// A mapping of strings to strings (placeholders allowed in both).
    TextMap,
    /// A list of strings.
    TextList,
    /// A duration with a unit, such as `30s` or `2m`.
    Duration,
    /// A positive integer.
    PositiveInteger,
    /// A Kubernetes version `<major>.<minor>`, such as `"1.14"`.
    KubeVersion,
    /// A mapping of Python package names to requirements `>=<version>`.
    Requirements,
    /// A mapping with these keys.
    Object(&'static [Key]),
    /// One of these mappings.
    AnyOf(&'static [&'static [Key]]),
    /// A non-empty list of mappings with these keys.
    ListOf(&'static [Key]),
}

/// One key a step kind (or a mapping inside it) takes.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key as written in scenario files.
    pub name: &'static str,
    /// Its value's shape.
    pub shape: Shape,
    /// Whether it must be given (a key with a default is not required).
    pub required: bool,
    /// One line: what it means (Markdown).
    pub doc: &'static str,
}

impl Key {
    /// A key that must be given.
    pub const fn required(name: &'static str, shape: Shape, doc: &'static str) -> Key {
        Key {
            name,
            shape,
            required: true,
            doc,
        }
    }

    /// A key that may be left out.
    pub const fn optional(name: &'static str, shape: Shape, doc: &'static str) -> Key {
        Key {
            name,
            shape,
            required: false,
            doc,
        }
    }
}

/// The `release` key every kind about a deployment takes: the scenario's own release when
/// left out.
pub const RELEASE: Key = Key::optional(
    "release",
    Shape::Text,
    "the release; default `{{release}}`, the scenario's own",
);

/// The `component` key of the kinds about one component's pod or ServiceAccount.
pub const COMPONENT: Key = Key::required(
    "component",
    Shape::OneOf(super::fields::COMPONENT_NAMES),
    "the component",
);

/// The `components` key of the kinds that check several components (all three when left
/// out).
pub const COMPONENTS: Key = Key::optional(
    "components",
    Shape::Components,
    "the components checked; default all three",
);

/// The `as` key of the platform kinds: who makes the call.
pub const AS: Key = Key::optional(
    "as",
    Shape::OneOf(super::fields::ACTOR_NAMES),
    "who makes the call; default `admin`",
);

/// The `cloud_role` key of the platform kinds that pass a role.
pub const CLOUD_ROLE: Key = Key::optional(
    "cloud_role",
    Shape::TextOrNull,
    "the role: a value, `\"\"`, `null`, or left out (not sent)",
);

/// Which refusals a step kind can expect besides success. `expect` means the same on every
/// kind (`success`, or the refusal named); a kind only says which refusals its action can
/// meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusals {
    /// None: the step is a check or a set-up action outside the platform and STS.
    None,
    /// The platform's (`{error: ...}`, `accepted_or_refused`, and `allowed` for success).
    Platform,
    /// STS's (`{sts_error: ...}`, and `allowed` for success).
    Sts,
}

/// What the registry knows of one kind, for the loader, the schema and the README.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// The kind as written in scenario files (the name of its module).
    pub name: &'static str,
    /// What a step of this kind does (Markdown, one paragraph).
    pub about: &'static str,
    /// The keys it takes besides `timeout`, `expect` and `rules`.
    pub keys: &'static [Key],
    /// Which refusals it can expect.
    pub refusals: Refusals,
}

impl KindInfo {
    /// Every key a step of this kind may have: its own, then the common ones.
    pub fn allowed_keys(&self) -> Vec<&'static str> {
        self.keys
            .iter()
            .map(|k| k.name)
            .chain(["timeout", "expect", "rules"])
            .collect()
    }
}

/// One step kind: implemented by the typed fields in the kind's module.
pub(crate) trait StepKind: Sized {
    /// What a step of this kind does (Markdown, one paragraph, for the README and schema).
    const ABOUT: &'static str;
    /// The keys it takes besides `timeout`, `expect` and `rules`, in the order of messages.
    const KEYS: &'static [Key];
    /// Which refusals it can expect.
    const REFUSALS: Refusals;
    /// Whether it only observes the target: after it fails, the scenario goes on (see
    /// [`crate::scenario::attribution::only_observes`]).
    const ONLY_OBSERVES: bool;

    /// Decodes the fields (unknown keys were already reported).
    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self>;

    /// The numbers of the rules a step of this kind, with this expectation, can show
    /// evidence for (see [`crate::scenario::attribution`]).
    fn evidence(&self, expect: &Expect) -> &'static [u8];

    /// The capabilities the target needs to run it.
    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        Vec::new()
    }
}

/// Lists the step kinds: `module::Type => |ctx, step, expect, deadline, log| call;` for each.
/// It makes [`Action`](super::registry::Action) (one variant per kind), the list of kinds
/// ([`super::registry::KINDS`]) and the dispatch of decoding, needs, rule evidence and `run`.
macro_rules! step_kinds {
    ($( $module:ident :: $Kind:ident =>
        |$ctx:pat_param, $step:pat_param, $expect:pat_param, $timeout:pat_param, $log:pat_param| $run:expr ; )*) => {
        /// What a step does: one variant per step kind, holding the kind's typed fields.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Action {
            $(
                #[doc = concat!("`", stringify!($module), "`: [`", stringify!($Kind), "`](super::", stringify!($module), "::", stringify!($Kind), ").")]
                $Kind(super::$module::$Kind),
            )*
        }

        /// Every step kind, in the order of the README's step reference.
        pub const KINDS: &[KindInfo] = &[
            $(
                KindInfo {
                    name: stringify!($module),
                    about: <super::$module::$Kind as StepKind>::ABOUT,
                    keys: <super::$module::$Kind as StepKind>::KEYS,
                    refusals: <super::$module::$Kind as StepKind>::REFUSALS,
                },
            )*
        ];

        impl Action {
            /// The step kind as written in scenario files.
            pub fn kind(&self) -> &'static str {
                match self {
                    $( Action::$Kind(_) => stringify!($module), )*
                }
            }

            /// The numbers of the rules this step, with this expectation, can show evidence for.
            pub fn evidence(&self, expect: &Expect) -> &'static [u8] {
                match self {
                    $( Action::$Kind(s) => s.evidence(expect), )*
                }
            }

            /// Whether the step only observes the target.
            pub fn only_observes(&self) -> bool {
                match self {
                    $( Action::$Kind(_) => <super::$module::$Kind as StepKind>::ONLY_OBSERVES, )*
                }
            }

            /// The capabilities the target needs to run this step.
            pub fn needs(&self, expect: &Expect) -> Vec<Capability> {
                match self {
                    $( Action::$Kind(s) => s.needs(expect), )*
                }
            }

            /// Decodes the fields of a step of `kind`; `None` for an unknown kind (which the
            /// caller has already ruled out) or fields with errors (recorded in `ctx`).
            pub(crate) fn decode(kind: &str, ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
                match kind {
                    $( stringify!($module) => <super::$module::$Kind as StepKind>::decode(ctx, fields).map(Action::$Kind), )*
                    _ => None,
                }
            }

            /// Runs the step's action; its waits end at `deadline` (the runner bounds it, see
            /// [`super::run`]).
            pub async fn run(
                &self,
                ctx: &ScenarioContext<'_>,
                expect: &Expect,
                deadline: &Deadline,
                log: &mut Vec<String>,
            ) -> Result<(), StepError> {
                match self {
                    $(
                        Action::$Kind($step) => {
                            let $ctx = ctx;
                            let $expect = expect;
                            let $timeout = deadline;
                            let $log = log;
                            $run.await
                        }
                    )*
                }
            }
        }
    };
}

pub(crate) use step_kinds;

/// Declares the module of every kind the registry lists (`pub mod <kind>;`, the file
/// `steps/<kind>.rs`); `steps/mod.rs` calls it with the registry's list, so it names no kind
/// itself.
macro_rules! declare_kind_modules {
    ($( $module:ident :: $Kind:ident =>
        |$ctx:pat_param, $step:pat_param, $expect:pat_param, $timeout:pat_param, $log:pat_param| $run:expr ; )*) => {
        $( pub mod $module; )*
    };
}

pub(crate) use declare_kind_modules;
