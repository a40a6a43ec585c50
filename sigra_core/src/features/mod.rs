//! Authentication flows, one module per feature.
