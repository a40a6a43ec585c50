//! Durable background work: the outbox worker.
