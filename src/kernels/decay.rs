//! SKELETON STUB: decay kernel.
