//! # sigra_rocket
//!
//! Production-grade authentication for Rocket: the [`Sigra`] fairing mounts every auth page
//! and endpoint, and request guards protect the host app's routes.

/// The Sigra fairing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigra;
