//! A deployment's `config` column: the executor, whatever else the client sent, and the
//! server-owned `serviceAccountAnnotations` entry (R11).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::binding::Annotations;

/// The config entry that holds the ServiceAccount annotations. Only the server writes it:
/// a client-supplied value is dropped, so a role can only arrive through `cloudRole`.
pub const ANNOTATIONS_FIELD: &str = "serviceAccountAnnotations";

const EXECUTOR_FIELD: &str = "executor";

/// An Airflow executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
#[graphql(name = "ExecutorType")]
pub enum Executor {
    /// `CeleryExecutor`: webserver, scheduler and Celery workers.
    #[graphql(name = "CeleryExecutor")]
    Celery,
    /// `LocalExecutor`: tasks run in the scheduler.
    #[graphql(name = "LocalExecutor")]
    Local,
    /// `KubernetesExecutor`: one pod per task, launched by the scheduler.
    #[graphql(name = "KubernetesExecutor")]
    Kubernetes,
}

impl Executor {
    /// The executor's name as Airflow spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Celery => "CeleryExecutor",
            Self::Local => "LocalExecutor",
            Self::Kubernetes => "KubernetesExecutor",
        }
    }

    /// Whether the chart renders Celery workers for this executor.
    pub fn has_workers(self) -> bool {
        self == Self::Celery
    }
}

impl fmt::Display for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Executor {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Celery, Self::Local, Self::Kubernetes]
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| ConfigError::UnknownExecutor(s.to_owned()))
    }
}

/// A `config` argument the platform refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `config` is not a JSON object.
    #[error("config must be a JSON object")]
    NotAnObject,
    /// `config.executor` names no known executor.
    #[error(
        "invalid executor `{0}`: expected one of CeleryExecutor, LocalExecutor, KubernetesExecutor"
    )]
    UnknownExecutor(String),
    /// `config.executor` is not a string.
    #[error("config.executor must be a string")]
    ExecutorNotString,
}

/// The stored deployment config, without the server-owned annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentConfig {
    executor: Executor,
    extra: Map<String, Value>,
}

impl DeploymentConfig {
    /// The config of a new deployment: `config` from the client (may be absent), with the
    /// `executor` argument taking precedence over `config.executor`; Celery by default.
    pub fn from_input(
        config: Option<&Value>,
        executor: Option<Executor>,
    ) -> Result<Self, ConfigError> {
        let mut this = Self {
            executor: Executor::Celery,
            extra: Map::new(),
        };
        this.merge(config, executor)?;
        Ok(this)
    }

    /// Merges an update's `config` (top-level keys replace) and `executor` into the config.
    /// Nothing changes when the input is refused.
    pub fn merge(
        &mut self,
        config: Option<&Value>,
        executor: Option<Executor>,
    ) -> Result<(), ConfigError> {
        let mut next = self.clone();
        match config {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    match key.as_str() {
                        ANNOTATIONS_FIELD => {}
                        EXECUTOR_FIELD => {
                            let name = value.as_str().ok_or(ConfigError::ExecutorNotString)?;
                            next.executor = name.parse()?;
                        }
                        _ => {
                            next.extra.insert(key.clone(), value.clone());
                        }
                    }
                }
            }
            Some(_) => return Err(ConfigError::NotAnObject),
        }
        if let Some(executor) = executor {
            next.executor = executor;
        }
        *self = next;
        Ok(())
    }

    /// The executor.
    pub fn executor(&self) -> Executor {
        self.executor
    }

    /// The config as the API and the database show it; `annotations` are recorded under
    /// [`ANNOTATIONS_FIELD`] when `record_annotations` is true and they are not empty.
    pub fn view(&self, annotations: &Annotations, record_annotations: bool) -> Value {
        let mut map = self.extra.clone();
        map.insert(
            EXECUTOR_FIELD.to_owned(),
            Value::from(self.executor.as_str()),
        );
        if record_annotations && !annotations.is_empty() {
            let entries = annotations
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            map.insert(ANNOTATIONS_FIELD.to_owned(), Value::Object(entries));
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    #[rstest]
    #[case(Some(json!({"executor": "CeleryExecutor"})), None, Executor::Celery)]
    #[case(Some(json!({"executor": "LocalExecutor"})), None, Executor::Local)]
    #[case(Some(json!({"executor": "LocalExecutor"})), Some(Executor::Kubernetes), Executor::Kubernetes)]
    #[case(None, Some(Executor::Local), Executor::Local)]
    #[case(None, None, Executor::Celery)]
    #[case(Some(json!({})), None, Executor::Celery)]
    fn executor_from_input(
        #[case] config: Option<Value>,
        #[case] arg: Option<Executor>,
        #[case] expected: Executor,
    ) {
        let config = DeploymentConfig::from_input(config.as_ref(), arg).unwrap();
        assert_eq!(config.executor(), expected);
    }

    #[rstest]
    #[case(json!("celery"), ConfigError::NotAnObject)]
    #[case(json!([1]), ConfigError::NotAnObject)]
    #[case(json!({"executor": "SequentialExecutor"}), ConfigError::UnknownExecutor("SequentialExecutor".into()))]
    #[case(json!({"executor": 3}), ConfigError::ExecutorNotString)]
    fn refused_input(#[case] config: Value, #[case] expected: ConfigError) {
        assert_eq!(
            DeploymentConfig::from_input(Some(&config), None).unwrap_err(),
            expected
        );
    }

    #[test]
    fn client_cannot_smuggle_annotations() {
        let input =
            json!({"executor": "CeleryExecutor", "serviceAccountAnnotations": {"k": "v"}, "x": 1});
        let config = DeploymentConfig::from_input(Some(&input), None).unwrap();
        assert_eq!(
            config.view(&Annotations::new(), true),
            json!({"executor": "CeleryExecutor", "x": 1})
        );
    }

    #[rstest]
    #[case(true, json!({"executor": "CeleryExecutor", "serviceAccountAnnotations": {"eks.amazonaws.com/role-arn": "arn:r"}}))]
    #[case(false, json!({"executor": "CeleryExecutor"}))]
    fn view_records_annotations(#[case] record: bool, #[case] expected: Value) {
        let config =
            DeploymentConfig::from_input(Some(&json!({"executor": "CeleryExecutor"})), None)
                .unwrap();
        let annotations =
            Annotations::from([("eks.amazonaws.com/role-arn".to_owned(), "arn:r".to_owned())]);
        assert_eq!(config.view(&annotations, record), expected);
    }

    #[test]
    fn merge_replaces_top_level_keys_and_keeps_state_on_error() {
        let mut config =
            DeploymentConfig::from_input(Some(&json!({"a": 1, "b": 2})), None).unwrap();
        config
            .merge(Some(&json!({"b": 3})), Some(Executor::Local))
            .unwrap();
        assert_eq!(
            config.view(&Annotations::new(), true),
            json!({"a": 1, "b": 3, "executor": "LocalExecutor"})
        );
        let before = config.clone();
        assert!(
            config
                .merge(Some(&json!({"c": 1, "executor": "Nope"})), None)
                .is_err()
        );
        assert_eq!(config, before);
    }
}
