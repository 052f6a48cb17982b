//! SKELETON STUB: spread kernel.
