//! SKELETON STUB: replaced by the real arena core.
#![allow(missing_docs)]
pub struct Arena;
pub struct ArenaScope;
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaStats {
    pub capacity: usize,
    pub used: usize,
    pub high_water_mark: usize,
    pub overflow_count: usize,
}
