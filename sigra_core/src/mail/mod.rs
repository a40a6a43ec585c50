//! Mail: the Mailer trait, SMTP delivery, the dev mailbox and mail templates.
