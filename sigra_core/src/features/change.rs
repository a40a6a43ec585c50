//! The unit of work every flow ends in: one transaction, the mail and audit events it
//! causes, and what the sessions of other requests must learn of it.
//!
//! # Algorithm
//!
//! [`Auth::change`] begins a transaction. The flow writes through [`Change::tx`];
//! [`Change::mail`] renders a mail and queues it in the outbox inside the same
//! transaction (tagged with its kind and recipient digest), [`Change::mail_link`] adds the
//! link and its lifetime in words (from the same TTL that expires the token, through
//! [`valid_for`]); [`Change::audit`] records an event inside it too. [`Change::commit`]
//! then makes all of it permanent at once, wakes the mail worker only when mail was
//! queued, and applies the [`Revocation`] the flow names.
//!
//! # Trade-off
//!
//! Mail and audit events land exactly when the change does (never a mail about a change
//! that rolled back, never a change without its audit event), at the price of rendering
//! mail inside the transaction, which holds its locks a little longer.
//! [`Revocation::EndSessions`] makes the answer wait until every live instance has
//! applied the revocation to its session cache (at most `sigra.session.cache_ms`; see
//! [`crate::session_cache::broadcast`]), so that no instance still accepts an ended
//! session when the caller answers.
//!
//! # Failure mode
//!
//! A [`Change`] dropped without [`commit`](Change::commit) (an early return, an error, a
//! panic) rolls back: nothing of it is written, no mail is queued, nothing is audited. A
//! failed commit applies no revocation and wakes no worker; the caller sees the error.

use serde::Serialize;
use uuid::Uuid;

use super::{Auth, FlowError, RequestMeta};
use crate::crypto::{TokenHash, TokenKind};
use crate::store::{Tx, UserToken, audit as audit_store, new_id, tokens};

/// What a committed change means for live sessions.
///
/// Use [`EndSessions`](Revocation::EndSessions) when a change ends or replaces sessions
/// or their privileges (log-out, revocation, a rotated token, a new password or email, a
/// second factor turned on or off); use [`RefreshCache`](Revocation::RefreshCache) when a
/// live session stays valid but what it shows changed; use [`None`](Revocation::None)
/// when sessions are not concerned. Variants are ordered by strength, so the `max` of
/// two policies honours both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Revocation {
    /// Sessions are not concerned.
    None,
    /// Empties the session cache of every instance, like
    /// [`EndSessions`](Revocation::EndSessions), so their next requests read the session
    /// again: the sessions live on, but what they show (a role, the admin flag) changed.
    RefreshCache,
    /// Empties the session cache of every instance and answers once each live instance
    /// has done so (or `sigra.session.cache_ms` has passed), so that when the caller
    /// answers, no instance still accepts the ended sessions.
    EndSessions,
}

/// A flow's unit of work: its transaction, its mail and audit events, and its
/// [`Revocation`]. Begun by [`Auth::change`]; dropping it uncommitted rolls everything
/// back.
#[derive(Debug)]
#[must_use = "a change that is not committed rolls back"]
pub struct Change<'a> {
    auth: &'a Auth,
    meta: &'a RequestMeta,
    tx: Tx,
    mailed: bool,
    /// The least revocation the commit applies, raised by what the flow wrote.
    at_least: Revocation,
}

impl Auth {
    /// Begins a unit of work for the request `meta` describes.
    pub async fn change<'a>(&'a self, meta: &'a RequestMeta) -> Result<Change<'a>, FlowError> {
        Ok(Change {
            auth: self,
            meta,
            tx: self.db.begin().await?,
            mailed: false,
            at_least: Revocation::None,
        })
    }
}

impl<'a> Change<'a> {
    /// The transaction the flow's own writes go through.
    pub fn tx(&self) -> &Tx {
        &self.tx
    }

    /// The request the change is made for.
    pub fn meta(&self) -> &'a RequestMeta {
        self.meta
    }

    /// Renders mail `kind` to `to` with `data` and queues it with the change.
    pub async fn mail(
        &mut self,
        kind: &str,
        to: &str,
        data: serde_json::Value,
    ) -> Result<(), FlowError> {
        let auth = self.auth;
        let mail = auth.mail.render(kind, to, &data)?;
        let digest = auth.recipient_digest(to);
        let tag = crate::store::outbox::MailTag {
            mail_kind: kind,
            recipient_digest: &digest,
        };
        let clock = auth.clock.as_ref();
        crate::mail::enqueue_tagged(&self.tx, &auth.cipher, clock, &mail, Some(tag)).await?;
        self.mailed = true;
        Ok(())
    }

    /// [`mail`](Self::mail) of a single-use link: adds to `data` the `url` of `path` under
    /// the base path and `valid_for`, the link's lifetime `ttl_secs` in words.
    pub async fn mail_link(
        &mut self,
        kind: &str,
        to: &str,
        ttl_secs: i64,
        path: &str,
        mut data: serde_json::Value,
    ) -> Result<(), FlowError> {
        if let Some(fields) = data.as_object_mut() {
            fields.insert("url".into(), self.auth.route_url(path).into());
            fields.insert("valid_for".into(), valid_for(ttl_secs).into());
        }
        self.mail(kind, to, data).await
    }

    /// Records audit event `action` about `target`, done by `target` itself.
    pub async fn audit(
        &self,
        action: &str,
        target: Uuid,
        details: impl Serialize,
    ) -> Result<(), FlowError> {
        self.audit_by(action, Some(target), Some(target), details)
            .await
    }

    /// Records audit event `action` with another actor than its target, or none (the
    /// system, an unknown account).
    pub async fn audit_by(
        &self,
        action: &str,
        actor: Option<Uuid>,
        target: Option<Uuid>,
        details: impl Serialize,
    ) -> Result<(), FlowError> {
        self.record(action, actor, target, None, details).await
    }

    /// Records audit event `action` that happened in organization `organization_id`
    /// (the event carries it, for the organization's own audit lens).
    pub async fn audit_in(
        &self,
        organization_id: Uuid,
        action: &str,
        actor: Option<Uuid>,
        target: Option<Uuid>,
        details: impl Serialize,
    ) -> Result<(), FlowError> {
        self.record(action, actor, target, Some(organization_id), details)
            .await
    }

    async fn record(
        &self,
        action: &str,
        actor: Option<Uuid>,
        target: Option<Uuid>,
        organization_id: Option<Uuid>,
        details: impl Serialize,
    ) -> Result<(), FlowError> {
        let auth = self.auth;
        let details = serde_json::to_value(details).unwrap_or(serde_json::Value::Null);
        let mut event = audit_store::event(
            new_id(auth.clock.as_ref()),
            action,
            actor,
            target,
            details,
            auth.clock.now(),
        );
        event.organization_id = organization_id;
        event.impersonator_id = self.meta.impersonator_id;
        event.ip = self.meta.ip.clone();
        event.user_agent = self
            .meta
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(512).collect());
        audit_store::insert(&self.tx, &event).await?;
        Ok(())
    }

    /// Makes the commit apply at least `revocation`, whatever its caller names (a helper
    /// that wrote something sessions must learn of, inside a larger flow).
    pub(crate) fn require(&mut self, revocation: Revocation) {
        self.at_least = self.at_least.max(revocation);
    }

    /// Makes the change permanent, wakes the mail worker if mail was queued, then applies
    /// `revocation` (or a stronger one the flow asked for along the way).
    pub async fn commit(self, revocation: Revocation) -> Result<(), FlowError> {
        let revocation = revocation.max(self.at_least);
        let auth = self.auth;
        self.tx.commit().await?;
        if self.mailed
            && let Some(worker) = auth.worker.get()
        {
            worker.wake();
        }
        match revocation {
            Revocation::None => {}
            Revocation::RefreshCache | Revocation::EndSessions => auth.broadcast.revoke().await,
        }
        Ok(())
    }

    /// Uses up an emailed link of `kind` with the change: answers its stored token if the
    /// link was still good. Of concurrent uses of one link, exactly one gets it.
    pub(crate) async fn use_link(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<Option<UserToken>, FlowError> {
        let Ok(hash) = TokenHash::of_encoded(token) else {
            return Ok(None);
        };
        let now = self.auth.clock.now();
        Ok(tokens::consume(&self.tx, &hash, kind, now).await?)
    }

    /// Discards the change now (dropping it does too, but lets the connection go later).
    pub async fn rollback(self) -> Result<(), FlowError> {
        Ok(self.tx.rollback().await?)
    }
}

/// A lifetime as mails word it: the largest whole unit among days (from two days on),
/// hours, minutes and seconds.
///
/// ```
/// use sigra_core::features::valid_for;
/// assert_eq!(valid_for(15 * 60), "15 minutes");
/// assert_eq!(valid_for(3600), "1 hour");
/// assert_eq!(valid_for(86_400), "24 hours");
/// assert_eq!(valid_for(7 * 86_400), "7 days");
/// ```
pub fn valid_for(secs: i64) -> String {
    let (count, unit) = match secs {
        s if s >= 2 * 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::valid_for;

    #[test]
    fn lifetimes_in_words_take_the_largest_whole_unit() {
        for (secs, words) in [
            (1, "1 second"),
            (45, "45 seconds"),
            (60, "1 minute"),
            (15 * 60, "15 minutes"),
            (90 * 60, "90 minutes"),
            (3600, "1 hour"),
            (2 * 3600, "2 hours"),
            (86_400, "24 hours"),
            (36 * 3600, "36 hours"),
            (2 * 86_400, "2 days"),
            (7 * 86_400, "7 days"),
            (7 * 86_400 + 60, "10081 minutes"),
        ] {
            assert_eq!(valid_for(secs), words, "{secs} s");
        }
    }
}
