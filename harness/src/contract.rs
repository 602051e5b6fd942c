//! The documented contract's rules (placeholder; filled by the reports work).
