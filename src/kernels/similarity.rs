//! SKELETON STUB: similarity kernel.
