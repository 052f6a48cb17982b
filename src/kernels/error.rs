//! SKELETON STUB: kernel errors.
#![allow(missing_docs)]
#[derive(Debug)]
pub enum KernelError {}
