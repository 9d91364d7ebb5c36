//! `--auth.file`: its YAML shape (one section per role, users with bcrypt
//! hashes, tokens as SHA-256 digests, jobs for push credentials) and every
//! check that makes a mistake in it stop the start or the reload with a
//! message naming the role and the credential.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::Deserialize;

use crate::server::security::auth::Role;

pub(super) fn parse_sha256(hex: &str) -> anyhow::Result<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        bail!(
            "expected 64 hex digits (the output of `printf %s TOKEN | sha256sum`), got {} characters",
            hex.len()
        );
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).unwrap_or("");
        out[i] = u8::from_str_radix(s, 16)
            .map_err(|_| anyhow::anyhow!("{s:?} at position {} is not hex", 2 * i + 1))?;
    }
    Ok(out)
}

pub(crate) fn check_bcrypt(hash: &str) -> anyhow::Result<()> {
    hash.parse::<bcrypt::HashParts>()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{e} (expected something like $2y$10$ followed by 53 characters, as `htpasswd -nBC 10 \"\" | tr -d ':\\n'` prints)"))
}

/// `--auth.file`: one section per role.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthFile {
    pub(super) push: Option<RoleSection>,
    pub(super) read: Option<RoleSection>,
    pub(super) admin: Option<RoleSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleSection {
    /// No credentials needed for this role.
    #[serde(default)]
    pub(super) open: bool,
    #[serde(default)]
    pub(super) users: Vec<UserSpec>,
    #[serde(default)]
    pub(super) tokens: Vec<TokenSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserSpec {
    pub(super) name: String,
    pub(super) bcrypt: String,
    pub(super) jobs: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenSpec {
    /// Shown in answers and logs instead of the token.
    pub(super) name: String,
    /// Hex SHA-256 of the token.
    pub(super) sha256: String,
    pub(super) jobs: Option<Vec<String>>,
}

impl AuthFile {
    pub(crate) fn parse(text: &str) -> anyhow::Result<AuthFile> {
        let file: Option<AuthFile> = serde_norway::from_str(text)?;
        Ok(file.unwrap_or_default())
    }

    pub(crate) fn load(path: &Path) -> anyhow::Result<AuthFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the auth file {}", path.display()))?;
        AuthFile::parse(&text).with_context(|| format!("auth file {}", path.display()))
    }

    pub(super) fn section(&self, role: Role) -> Option<&RoleSection> {
        match role {
            Role::Push => self.push.as_ref(),
            Role::Read => self.read.as_ref(),
            Role::Admin => self.admin.as_ref(),
        }
    }
}

impl RoleSection {
    pub(super) fn validate(&self, role: Role) -> anyhow::Result<()> {
        if self.open && !(self.users.is_empty() && self.tokens.is_empty()) {
            bail!("auth file: role {role} is `open: true` and also lists credentials, which would never be asked for");
        }
        let mut names = HashSet::new();
        for u in &self.users {
            if u.name.is_empty() || u.name.contains(':') {
                bail!("auth file: role {role}, user {:?}: a user name must be non-empty and hold no ':'", u.name);
            }
            if !names.insert(&u.name) {
                bail!("auth file: role {role}, user {:?} is listed twice", u.name);
            }
            check_bcrypt(&u.bcrypt).with_context(|| {
                format!("auth file: role {role}, user {:?}: bad bcrypt hash", u.name)
            })?;
            check_jobs(role, &format!("user {:?}", u.name), u.jobs.as_deref())?;
        }
        let mut names = HashSet::new();
        for t in &self.tokens {
            if !names.insert(&t.name) {
                bail!("auth file: role {role}, token {:?} is listed twice", t.name);
            }
            check_jobs(role, &format!("token {:?}", t.name), t.jobs.as_deref())?;
        }
        Ok(())
    }
}

fn check_jobs(role: Role, who: &str, jobs: Option<&[String]>) -> anyhow::Result<()> {
    match jobs {
        Some(_) if role != Role::Push => {
            bail!("auth file: role {role}, {who}: `jobs` only scopes push credentials")
        }
        Some([]) => bail!(
            "auth file: role {role}, {who}: `jobs` is empty, which allows nothing; leave it out to allow every job"
        ),
        Some(jobs) if jobs.iter().any(String::is_empty) => {
            bail!("auth file: role {role}, {who}: `jobs` holds an empty job name")
        }
        _ => Ok(()),
    }
}
