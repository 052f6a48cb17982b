//! SKELETON STUB: dispatch kernel.
