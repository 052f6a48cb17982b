//! SKELETON STUB: process-wide metrics.
