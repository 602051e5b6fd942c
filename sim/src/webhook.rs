//! STUB (being replaced): the pod-identity webhook.
