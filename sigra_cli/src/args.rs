//! The command line, parsed by hand: a handful of subcommands and two global flags do not
//! need a parser crate (and its dependencies) in every app's toolbox.

use std::path::PathBuf;

use sigra_core::features::admin::UserAction;

/// `sigra --help`.
pub const USAGE: &str = "\
sigra: Sigra's command for a Rocket app (reads the app's Rocket.toml and SIGRA_* variables)

Usage: sigra [--config PATH] [--profile NAME] <COMMAND>

Commands:
  migrate                   apply Sigra's pending migrations to the app's database
  templates eject [PAGE…]   copy Sigra's default templates (all, or the named pages:
                            `login`, `email/reset_password`, …) into <template_dir>/sigra/;
                            never overwrites: an existing file stops the whole run
  admin create EMAIL        make the account a platform admin; with no such account,
                            create it (confirmed, no password) and mail a reset link
  admin revoke EMAIL        take the platform admin right away from the account
  users lock EMAIL          lock the account and end its sessions (as the admin console)
  users unlock EMAIL        lift an admin lock and a lockout
  users ban EMAIL           ban the account: sessions, links and API keys end
  audit verify              check the audit log's hash chain; names the first broken link
  doctor                    check the deployment's settings and services

Options:
  --config PATH    the Rocket.toml to read (default: ROCKET_CONFIG, else Rocket.toml
                   in this folder or above)
  --profile NAME   the Rocket profile (default: ROCKET_PROFILE, else debug in a debug
                   build and release in a release build)
  -h, --help       this text
  -V, --version    the version

Exit status: 0 done, 1 failed (a check, a refusal, a broken chain), 2 wrong usage.
";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `sigra migrate`.
    Migrate,
    /// `sigra templates eject [PAGE…]` (empty: every page).
    Eject(Vec<String>),
    /// `sigra admin create EMAIL`.
    AdminCreate(String),
    /// `sigra admin revoke EMAIL`.
    AdminRevoke(String),
    /// `sigra users lock|unlock|ban EMAIL`.
    Users(UserAction, String),
    /// `sigra audit verify`.
    AuditVerify,
    /// `sigra doctor`.
    Doctor,
    /// `sigra --help` (or no command).
    Help,
    /// `sigra --version`.
    Version,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `--config PATH`.
    pub config: Option<PathBuf>,
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// The command.
    pub command: Command,
}

/// Parses the arguments after the program name. The error is the message to show
/// (with the usage) before exiting with status 2.
pub fn parse<I>(args: I) -> Result<Args, String>
where
    I: IntoIterator<Item = String>,
{
    let mut config = None;
    let mut profile = None;
    let mut help = false;
    let mut version = false;
    let mut words: Vec<String> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            words.extend(args.by_ref());
            break;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value)),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--config" | "--profile" => {
                let value = match inline {
                    Some(value) => value.to_owned(),
                    None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
                };
                if value.is_empty() {
                    return Err(format!("{flag} needs a value"));
                }
                if flag == "--config" {
                    config = Some(PathBuf::from(value));
                } else {
                    profile = Some(value);
                }
            }
            "-h" | "--help" => help = true,
            "-V" | "--version" => version = true,
            _ if arg.starts_with('-') && arg.len() > 1 => {
                return Err(format!("unknown option `{arg}`"));
            }
            _ => words.push(arg),
        }
    }
    let command = if help {
        Command::Help
    } else if version {
        Command::Version
    } else {
        command(&words)?
    };
    Ok(Args {
        config,
        profile,
        command,
    })
}

fn command(words: &[String]) -> Result<Command, String> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    Ok(match words.as_slice() {
        [] | ["help"] => Command::Help,
        ["migrate"] => Command::Migrate,
        ["templates", "eject", pages @ ..] => {
            Command::Eject(pages.iter().map(|p| (*p).to_owned()).collect())
        }
        ["admin", "create", email] => Command::AdminCreate((*email).to_owned()),
        ["admin", "revoke", email] => Command::AdminRevoke((*email).to_owned()),
        ["users", action, email] => {
            let action = match *action {
                "lock" => UserAction::Lock,
                "unlock" => UserAction::Unlock,
                "ban" => UserAction::Ban,
                other => {
                    return Err(format!(
                        "unknown users action `{other}` (lock, unlock or ban)"
                    ));
                }
            };
            Command::Users(action, (*email).to_owned())
        }
        ["audit", "verify"] => Command::AuditVerify,
        ["doctor"] => Command::Doctor,
        ["admin" | "users", ..] => {
            return Err(format!("`{}` needs an action and an EMAIL", words[0]));
        }
        [first, ..] => return Err(format!("unknown command `{}`", words_of(first, &words))),
    })
}

/// The words of an unknown command, for its error message.
fn words_of(first: &str, words: &[&str]) -> String {
    match first {
        "templates" | "audit" => words.join(" "),
        _ => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn global_flags_go_anywhere_in_either_form() {
        let a =
            parsed("--config app/Rocket.toml users lock ada@example.com --profile=prod").unwrap();
        assert_eq!(a.config, Some(PathBuf::from("app/Rocket.toml")));
        assert_eq!(a.profile.as_deref(), Some("prod"));
        assert_eq!(
            a.command,
            Command::Users(UserAction::Lock, "ada@example.com".into())
        );
        let a = parsed("templates eject login email/reset_password --config=R.toml").unwrap();
        assert_eq!(
            a.command,
            Command::Eject(vec!["login".into(), "email/reset_password".into()])
        );
        assert_eq!(a.config, Some(PathBuf::from("R.toml")));
    }

    #[test]
    fn every_command_parses() {
        assert_eq!(parsed("migrate").unwrap().command, Command::Migrate);
        assert_eq!(
            parsed("templates eject").unwrap().command,
            Command::Eject(vec![])
        );
        assert_eq!(
            parsed("admin create a@b.c").unwrap().command,
            Command::AdminCreate("a@b.c".into())
        );
        assert_eq!(
            parsed("admin revoke a@b.c").unwrap().command,
            Command::AdminRevoke("a@b.c".into())
        );
        assert_eq!(
            parsed("users ban a@b.c").unwrap().command,
            Command::Users(UserAction::Ban, "a@b.c".into())
        );
        assert_eq!(
            parsed("users unlock a@b.c").unwrap().command,
            Command::Users(UserAction::Unlock, "a@b.c".into())
        );
        assert_eq!(
            parsed("audit verify").unwrap().command,
            Command::AuditVerify
        );
        assert_eq!(parsed("doctor").unwrap().command, Command::Doctor);
        assert_eq!(parsed("").unwrap().command, Command::Help);
        assert_eq!(parsed("doctor -h").unwrap().command, Command::Help);
        assert_eq!(parsed("-V").unwrap().command, Command::Version);
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(parsed("migrat").unwrap_err(), "unknown command `migrat`");
        assert_eq!(
            parsed("users delete a@b.c").unwrap_err(),
            "unknown users action `delete` (lock, unlock or ban)"
        );
        assert_eq!(
            parsed("admin create").unwrap_err(),
            "`admin` needs an action and an EMAIL"
        );
        assert_eq!(
            parsed("audit seal").unwrap_err(),
            "unknown command `audit seal`"
        );
        assert_eq!(
            parsed("doctor --force").unwrap_err(),
            "unknown option `--force`"
        );
        assert_eq!(
            parsed("doctor --config").unwrap_err(),
            "--config needs a value"
        );
        assert_eq!(
            parsed("doctor --profile=").unwrap_err(),
            "--profile needs a value"
        );
    }
}
