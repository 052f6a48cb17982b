//! SKELETON STUB: replaced by the real config module.
#![allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverflowPolicy {
    Panic,
    Error,
    Fallback,
}
#[derive(Clone, Copy, Debug)]
pub struct ArenaConfig {
    pub pool_size: usize,
    pub overflow: OverflowPolicy,
    pub zero_on_reset: bool,
}
#[derive(Debug)]
pub struct ConfigError;
