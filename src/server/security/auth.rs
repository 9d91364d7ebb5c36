//! Who may do what. Three roles: `push` (PUT, POST and DELETE of groups),
//! `read` (scrapes, the JSON API, the index page) and `admin` (wipe, quit),
//! each open or granted by credentials: basic-auth users with bcrypt hashes
//! and bearer tokens stored as SHA-256 hex digests; push credentials may be
//! scoped to a list of jobs. This module builds the policy from
//! `--auth.file` (parsed and checked in `auth_file.rs`) and the official web
//! config's `basic_auth_users` (who get every role), decides the role a
//! request needs from its method and path alone ([`need`]), and checks a
//! request's `Authorization` header against the policy ([`Policy::check`]).
//!
//! [`need`] lists the paths that need something other than `read`, so a
//! route added later needs `read` until it is listed: nothing is open by
//! accident.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use anyhow::{bail, Context as _};
use base64::Engine as _;
use hyper::http::{HeaderValue, Method, StatusCode};
use subtle::ConstantTimeEq as _;

use crate::grouping::GroupingKey;
use crate::server::security::auth_file::parse_sha256;
pub(crate) use crate::server::security::auth_file::{check_bcrypt, AuthFile};
use crate::server::security::bcrypt::BcryptCache;

/// The roles, in the order of [`Role::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Role {
    Push,
    Read,
    Admin,
}

impl Role {
    pub(crate) const ALL: [Role; 3] = [Role::Push, Role::Read, Role::Admin];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Push => "push",
            Role::Read => "read",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a request needs, decided by [`need`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    /// Health probes and CORS preflights: no credentials.
    Open,
    Read,
    /// A push or delete of one group; `job` is `None` when the path names no
    /// valid group (the route answers 400 or 404, but a job-scoped credential
    /// is refused first, since its scope cannot be checked).
    Push {
        job: Option<String>,
    },
    /// A push-role endpoint that touches many groups at once (the bulk
    /// delete): job-scoped credentials may not use it.
    PushAll,
    Admin,
}

impl Need {
    pub(crate) fn role(&self) -> Option<Role> {
        match self {
            Need::Open => None,
            Need::Read => Some(Role::Read),
            Need::Push { .. } | Need::PushAll => Some(Role::Push),
            Need::Admin => Some(Role::Admin),
        }
    }
}

/// The role a request needs. `path` is the percent-decoded path after the
/// route prefix, or `None` when the request is not under the prefix (or not
/// decodable): such requests only ever get a 404, but they still need `read`
/// so that an unauthenticated client learns nothing from them.
pub(crate) fn need(method: &Method, path: Option<&str>) -> Need {
    // Browsers send CORS preflights without credentials, by the Fetch spec;
    // the answer only lists methods and headers.
    if method == Method::OPTIONS {
        return Need::Open;
    }
    let Some(path) = path else {
        return Need::Read;
    };
    let pushes = matches!(*method, Method::PUT | Method::POST | Method::DELETE);
    match path {
        "/-/healthy" | "/-/ready" => Need::Open,
        "/-/quit" | "/-/reload" => Need::Admin,
        "/api/v1/groups" if *method == Method::DELETE => Need::PushAll,
        p if p == "/api/v1/admin" || p.starts_with("/api/v1/admin/") => Need::Admin,
        p if pushes && p.starts_with("/metrics/job") => {
            // The job is all that matters here, so label names are read
            // as leniently as any server setting allows.
            let job = GroupingKey::from_path_with(&p["/metrics/job".len()..], true)
                .and_then(Result::ok)
                .and_then(|key| key.get("job").map(str::to_string));
            Need::Push { job }
        }
        _ => Need::Read,
    }
}

/// What one credential may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// How the credential is named in answers and logs: `user "x"` or
    /// `token "y"` (a token's configured name, never the token).
    pub(crate) who: String,
    pub(crate) role: Role,
    /// For push credentials: the only jobs it may push to; `None` for all.
    pub(crate) jobs: Option<Vec<String>>,
}

impl Grant {
    /// `Ok` when this grant allows `need`, else why not (for the 403 body).
    /// Admin implies push and read; push and read are independent.
    fn allows(&self, need: &Need) -> Result<(), String> {
        let role_ok = match need {
            Need::Open => true,
            Need::Read => matches!(self.role, Role::Read | Role::Admin),
            Need::Push { .. } | Need::PushAll => matches!(self.role, Role::Push | Role::Admin),
            Need::Admin => self.role == Role::Admin,
        };
        if !role_ok {
            let wanted = need.role().map_or("none", Role::name);
            return Err(format!(
                "{} has the {} role; this request needs the {wanted} role",
                self.who, self.role
            ));
        }
        let Some(jobs) = &self.jobs else {
            return Ok(());
        };
        match need {
            Need::Push { job: Some(job) } if jobs.iter().any(|j| j == job) => Ok(()),
            Need::Push { job: Some(job) } => Err(format!(
                "{} may push only to job {}, not to job {job:?}",
                self.who,
                quoted_list(jobs)
            )),
            Need::Push { job: None } => Err(format!(
                "{} is scoped to job {}, and this path names no valid job",
                self.who,
                quoted_list(jobs)
            )),
            Need::PushAll => Err(format!(
                "{} is scoped to job {}; only unscoped push credentials or admin may use this endpoint",
                self.who,
                quoted_list(jobs)
            )),
            Need::Open | Need::Read | Need::Admin => Ok(()),
        }
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|j| format!("{j:?}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Why a request was refused, for `pgw_auth_failures_total{reason=...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reason {
    Missing,
    Wrong,
    Forbidden,
}

impl Reason {
    pub(crate) const ALL: [Reason; 3] = [Reason::Missing, Reason::Wrong, Reason::Forbidden];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::Wrong => "wrong",
            Reason::Forbidden => "forbidden",
        }
    }
}

/// A refused request: 401 (missing or wrong credentials, with a challenge)
/// or 403 (a valid credential that may not do this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) reason: Reason,
    pub(crate) role: Role,
    pub(crate) message: String,
    /// `WWW-Authenticate` values, for 401s.
    pub(crate) challenges: Vec<HeaderValue>,
}

struct User {
    bcrypt: String,
    grant: Grant,
}

struct Token {
    sha256: [u8; 32],
    grant: Grant,
}

/// The configured access policy, immutable; a reload builds a new one.
pub(crate) struct Policy {
    open: [bool; 3],
    users: HashMap<String, Vec<User>>,
    tokens: Vec<Token>,
    /// Which schemes can satisfy each role, for the challenges of a 401.
    has_users: [bool; 3],
    has_tokens: [bool; 3],
    /// A bcrypt hash of a configured user, verified against when the user
    /// name is unknown so that an unknown user costs as long as a known one
    /// with a wrong password (no timing hint about which names exist).
    decoy: Option<String>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the hashes.
        f.debug_struct("Policy")
            .field("open", &self.open)
            .field("users", &self.users.len())
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

fn idx(role: Role) -> usize {
    role as usize
}

impl Policy {
    /// Everything open: what pgw does without `--auth.file` and without
    /// `basic_auth_users`, like the official server.
    pub(crate) fn open() -> Policy {
        Policy {
            open: [true; 3],
            users: HashMap::new(),
            tokens: Vec::new(),
            has_users: [false; 3],
            has_tokens: [false; 3],
            decoy: None,
        }
    }

    /// True when no request needs credentials, so the check can be skipped.
    pub(crate) fn is_open(&self) -> bool {
        self.open.iter().all(|&o| o)
    }

    /// Builds the policy from `--auth.file` (already parsed) and the web
    /// config's `basic_auth_users`. Without an auth file, every role needs
    /// one of the web config users if there are any, else nothing. With one,
    /// a role is open only when its section says `open: true`.
    pub(crate) fn build(
        file: Option<AuthFile>,
        web_users: &BTreeMap<String, String>,
    ) -> anyhow::Result<Policy> {
        let mut policy = Policy {
            open: [file.is_none() && web_users.is_empty(); 3],
            ..Policy::open()
        };
        for (name, hash) in web_users {
            check_bcrypt(hash).with_context(|| {
                format!("basic_auth_users: user {name:?} has an invalid bcrypt hash")
            })?;
            policy.add_user(name, hash, Role::Admin, None);
        }
        if let Some(file) = file {
            for role in Role::ALL {
                let Some(section) = file.section(role) else {
                    continue;
                };
                section.validate(role)?;
                policy.open[idx(role)] = section.open;
                for u in &section.users {
                    policy.add_user(&u.name, &u.bcrypt, role, u.jobs.clone());
                }
                for t in &section.tokens {
                    let sha256 = parse_sha256(&t.sha256).with_context(|| {
                        format!("auth file: role {role}, token {:?}: bad sha256", t.name)
                    })?;
                    policy.tokens.push(Token {
                        sha256,
                        grant: Grant {
                            who: format!("token {:?}", t.name),
                            role,
                            jobs: t.jobs.clone(),
                        },
                    });
                }
            }
        }
        if policy.open[idx(Role::Admin)]
            && !(policy.open[idx(Role::Push)] && policy.open[idx(Role::Read)])
        {
            bail!("auth file: admin is `open: true`, and admin implies push and read: open those too, or close admin");
        }
        for role in Role::ALL {
            let by = |r: Role| r == role || r == Role::Admin;
            policy.has_users[idx(role)] = policy.users.values().flatten().any(|u| by(u.grant.role));
            policy.has_tokens[idx(role)] = policy.tokens.iter().any(|t| by(t.grant.role));
            let reachable = policy.open[idx(role)]
                || policy.has_users[idx(role)]
                || policy.has_tokens[idx(role)];
            // Admin may stay closed to everybody (its endpoints are off by
            // default anyway); a push or read role nobody can use is a
            // mistake in the file.
            if !reachable && role != Role::Admin {
                bail!(
                    "auth file: nobody can use the {role} role: give it users or tokens, give admin some, or set `open: true` under `{role}:`"
                );
            }
        }
        policy.decoy = policy
            .users
            .values()
            .flatten()
            .map(|u| u.bcrypt.clone())
            .next();
        Ok(policy)
    }

    fn add_user(&mut self, name: &str, bcrypt: &str, role: Role, jobs: Option<Vec<String>>) {
        self.users.entry(name.to_string()).or_default().push(User {
            bcrypt: bcrypt.to_string(),
            grant: Grant {
                who: format!("user {name:?}"),
                role,
                jobs,
            },
        });
    }

    fn challenges(&self, role: Role) -> Vec<HeaderValue> {
        let mut out = Vec::new();
        if self.has_users[idx(role)] {
            out.push(HeaderValue::from_static("Basic realm=\"pgw\""));
        }
        if self.has_tokens[idx(role)] {
            out.push(HeaderValue::from_static("Bearer realm=\"pgw\""));
        }
        out
    }

    fn schemes(&self, role: Role) -> &'static str {
        match (self.has_users[idx(role)], self.has_tokens[idx(role)]) {
            (true, true) => "basic auth or a bearer token",
            (false, true) => "a bearer token",
            _ => "basic auth",
        }
    }

    /// Checks a request that needs `need`, given its `Authorization` header.
    /// Bcrypt runs on the blocking pool, and only once per distinct
    /// credential thanks to `cache`.
    pub(crate) async fn check(
        &self,
        cache: &BcryptCache,
        authorization: Option<&HeaderValue>,
        need: &Need,
    ) -> Result<(), Refusal> {
        let Some(role) = need.role() else {
            return Ok(());
        };
        if self.open[idx(role)] {
            return Ok(());
        }
        let refuse = |status, reason, message: String| Refusal {
            status,
            reason,
            role,
            message,
            challenges: if status == StatusCode::UNAUTHORIZED {
                self.challenges(role)
            } else {
                Vec::new()
            },
        };
        let Some(header) = authorization else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                Reason::Missing,
                format!(
                    "this request needs the {role} role: send {}",
                    self.schemes(role)
                ),
            ));
        };
        let grants = match parse_authorization(header) {
            Ok(Credential::Basic { user, password }) => {
                self.verify_user(cache, &user, &password).await
            }
            Ok(Credential::Bearer(token)) => self.verify_token(&token),
            Err(problem) => {
                return Err(refuse(
                    StatusCode::UNAUTHORIZED,
                    Reason::Wrong,
                    format!("{problem}; this request needs the {role} role"),
                ))
            }
        };
        if grants.is_empty() {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                Reason::Wrong,
                format!("wrong credentials; this request needs the {role} role"),
            ));
        }
        let mut why = Vec::new();
        for grant in grants {
            match grant.allows(need) {
                Ok(()) => return Ok(()),
                Err(e) => why.push(e),
            }
        }
        Err(refuse(
            StatusCode::FORBIDDEN,
            Reason::Forbidden,
            why.join("; "),
        ))
    }

    /// The grants of every entry for `user` whose hash `password` matches.
    async fn verify_user(&self, cache: &BcryptCache, user: &str, password: &str) -> Vec<Grant> {
        let Some(entries) = self.users.get(user) else {
            if let Some(decoy) = &self.decoy {
                let (decoy, password) = (decoy.clone(), password.to_string());
                let _ = tokio::task::spawn_blocking(move || bcrypt::verify(password, &decoy)).await;
            }
            return Vec::new();
        };
        let mut grants = Vec::new();
        for entry in entries {
            if cache.verify(user, password, &entry.bcrypt).await {
                grants.push(entry.grant.clone());
            }
        }
        grants
    }

    /// The grants of every configured token equal to `token`; every stored
    /// digest is compared, in constant time, whatever matches.
    fn verify_token(&self, token: &str) -> Vec<Grant> {
        let digest = sha256(token.as_bytes());
        self.tokens
            .iter()
            .filter(|t| bool::from(t.sha256.ct_eq(&digest)))
            .map(|t| t.grant.clone())
            .collect()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Credential {
    Basic { user: String, password: String },
    Bearer(String),
}

/// Reads an `Authorization` header; the error says what is malformed
/// without repeating the secret.
fn parse_authorization(header: &HeaderValue) -> Result<Credential, String> {
    let value = header
        .to_str()
        .map_err(|_| "the Authorization header is not ASCII".to_string())?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| "the basic credentials are not valid base64".to_string())?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| "the basic credentials are not UTF-8".to_string())?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| {
            "the basic credentials have no ':' between user and password".to_string()
        })?;
        Ok(Credential::Basic {
            user: user.to_string(),
            password: password.to_string(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err("the bearer token is empty".to_string());
        }
        Ok(Credential::Bearer(rest.to_string()))
    } else {
        Err(format!(
            "unsupported authorization scheme {scheme:?} (use Basic or Bearer)"
        ))
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(password: &str) -> String {
        bcrypt::hash(password, 4).unwrap()
    }

    fn token_hex(token: &str) -> String {
        sha256(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {b64}")).unwrap()
    }

    fn bearer(token: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
    }

    fn push(job: &str) -> Need {
        Need::Push {
            job: Some(job.to_string()),
        }
    }

    fn policy(yaml: &str) -> Policy {
        Policy::build(Some(AuthFile::parse(yaml).unwrap()), &BTreeMap::new()).unwrap()
    }

    fn build_err(yaml: &str) -> String {
        let file = match AuthFile::parse(yaml) {
            Ok(f) => f,
            Err(e) => return format!("{e:#}"),
        };
        format!(
            "{:#}",
            Policy::build(Some(file), &BTreeMap::new()).unwrap_err()
        )
    }

    #[test]
    fn roles_by_method_and_path() {
        let n = |m: Method, p: &str| need(&m, Some(p));
        assert_eq!(
            n(Method::PUT, "/metrics/job/backup/instance/db"),
            push("backup")
        );
        assert_eq!(
            n(Method::DELETE, "/metrics/job@base64/YmFja3Vw"),
            push("backup")
        );
        assert_eq!(n(Method::POST, "/metrics/job/"), Need::Push { job: None });
        assert_eq!(n(Method::GET, "/metrics/job/backup"), Need::Read);
        assert_eq!(n(Method::GET, "/metrics"), Need::Read);
        assert_eq!(n(Method::HEAD, "/metrics"), Need::Read);
        assert_eq!(n(Method::GET, "/api/v1/metrics"), Need::Read);
        assert_eq!(n(Method::GET, "/api/v1/groups"), Need::Read);
        assert_eq!(n(Method::DELETE, "/api/v1/groups"), Need::PushAll);
        assert_eq!(n(Method::PUT, "/api/v1/admin/wipe"), Need::Admin);
        assert_eq!(n(Method::POST, "/-/quit"), Need::Admin);
        assert_eq!(n(Method::GET, "/-/healthy"), Need::Open);
        assert_eq!(n(Method::HEAD, "/-/ready"), Need::Open);
        assert_eq!(n(Method::OPTIONS, "/api/v1/admin/wipe"), Need::Open);
        assert_eq!(n(Method::GET, "/"), Need::Read);
        // Unknown paths, present or future, need read.
        assert_eq!(n(Method::GET, "/static/app.js"), Need::Read);
        assert_eq!(n(Method::PATCH, "/whatever"), Need::Read);
        assert_eq!(need(&Method::PUT, None), Need::Read);
    }

    #[test]
    fn grants_admin_implies_push_and_read_but_push_and_read_are_separate() {
        let g = |role, jobs: Option<Vec<&str>>| Grant {
            who: "token \"t\"".into(),
            role,
            jobs: jobs.map(|j| j.into_iter().map(String::from).collect()),
        };
        let admin = g(Role::Admin, None);
        for n in [Need::Read, push("x"), Need::PushAll, Need::Admin] {
            assert_eq!(admin.allows(&n), Ok(()), "{n:?}");
        }
        let pusher = g(Role::Push, None);
        assert!(pusher.allows(&push("x")).is_ok());
        assert!(pusher.allows(&Need::PushAll).is_ok());
        let e = pusher.allows(&Need::Read).unwrap_err();
        assert!(
            e.contains("has the push role") && e.contains("needs the read role"),
            "{e}"
        );
        assert!(pusher.allows(&Need::Admin).is_err());
        let reader = g(Role::Read, None);
        assert!(reader.allows(&Need::Read).is_ok());
        assert!(reader.allows(&push("x")).is_err());
        let scoped = g(Role::Push, Some(vec!["backup", "db"]));
        assert!(scoped.allows(&push("backup")).is_ok());
        assert!(scoped.allows(&push("db")).is_ok());
        let e = scoped.allows(&push("web")).unwrap_err();
        assert!(
            e.contains("\"backup\" or \"db\"") && e.contains("not to job \"web\""),
            "{e}"
        );
        assert!(scoped.allows(&Need::Push { job: None }).is_err());
        let e = scoped.allows(&Need::PushAll).unwrap_err();
        assert!(e.contains("only unscoped push credentials or admin"), "{e}");
    }

    #[test]
    fn authorization_headers() {
        assert_eq!(
            parse_authorization(&basic("a", "p:q")),
            Ok(Credential::Basic {
                user: "a".into(),
                password: "p:q".into()
            })
        );
        assert_eq!(
            parse_authorization(&HeaderValue::from_static("bearer  abc ")),
            Ok(Credential::Bearer("abc".into()))
        );
        for bad in ["Basic !!!", "Basic bm9jb2xvbg==", "Digest x", "Bearer"] {
            assert!(
                parse_authorization(&HeaderValue::from_static(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn sha256_hex_is_validated() {
        assert!(parse_sha256(&token_hex("x")).is_ok());
        let e = parse_sha256("abc").unwrap_err().to_string();
        assert!(e.contains("64 hex digits"), "{e}");
        let e = parse_sha256(&"g".repeat(64)).unwrap_err().to_string();
        assert!(e.contains("not hex"), "{e}");
    }

    #[test]
    fn auth_file_errors_name_the_role_and_credential() {
        let e = build_err("push:\n  users:\n    - name: cron\n      bcrypt: nope\n");
        assert!(
            e.contains("role push, user \"cron\": bad bcrypt hash"),
            "{e}"
        );
        let e = build_err("push:\n  tokens:\n    - name: t\n      sha256: zz\n");
        assert!(e.contains("role push, token \"t\": bad sha256"), "{e}");
        let e = build_err("push:\n  tokens:\n    - name: t\n      sha: zz\n");
        assert!(e.contains("unknown field `sha`"), "{e}");
        let e = build_err("pusher:\n  open: true\n");
        assert!(e.contains("unknown field `pusher`"), "{e}");
        let e = build_err(&format!(
            "read:\n  tokens:\n    - name: t\n      sha256: {}\n      jobs: [x]\n",
            token_hex("t")
        ));
        assert!(e.contains("`jobs` only scopes push credentials"), "{e}");
        let e = build_err(&format!(
            "push:\n  tokens:\n    - name: t\n      sha256: {}\n      jobs: []\n",
            token_hex("t")
        ));
        assert!(e.contains("allows nothing"), "{e}");
        let e = build_err(&format!(
            "push:\n  tokens:\n    - name: t\n      sha256: {}\n",
            token_hex("t")
        ));
        assert!(e.contains("nobody can use the read role"), "{e}");
        let e = build_err(&format!(
            "read:\n  open: true\n  tokens:\n    - name: t\n      sha256: {}\n",
            token_hex("t")
        ));
        assert!(e.contains("also lists credentials"), "{e}");
        let e = build_err("admin:\n  open: true\nread:\n  open: true\n");
        assert!(e.contains("admin implies push and read"), "{e}");
    }

    #[test]
    fn the_readme_example_is_a_valid_auth_file() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("### Authentication and TLS")
            .nth(1)
            .expect("README section");
        let yaml = section
            .split("```yaml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .expect("a yaml block");
        let p = policy(yaml);
        assert!(p.open[idx(Role::Read)] && !p.open[idx(Role::Push)]);
        assert_eq!((p.users.len(), p.tokens.len()), (1, 2));
        assert_eq!(p.tokens[0].sha256, sha256(b"test"));
    }

    #[test]
    fn web_config_users_get_every_role_and_bad_hashes_are_refused() {
        let mut users = BTreeMap::new();
        users.insert("alice".to_string(), "not-a-hash".to_string());
        let e = format!("{:#}", Policy::build(None, &users).unwrap_err());
        assert!(e.contains("basic_auth_users: user \"alice\""), "{e}");
        users.insert("alice".to_string(), hash("pw"));
        let p = Policy::build(None, &users).unwrap();
        assert!(!p.is_open());
        assert!(Policy::build(None, &BTreeMap::new()).unwrap().is_open());
    }

    #[tokio::test]
    async fn checks_credentials_per_role() {
        let p = policy(&format!(
            "push:\n  users:\n    - name: cron\n      bcrypt: '{}'\n  tokens:\n    - name: backup\n      sha256: {}\n      jobs: [backup]\nread:\n  open: true\nadmin:\n  tokens:\n    - name: ops\n      sha256: {}\n",
            hash("cronpw"),
            token_hex("backup-secret"),
            token_hex("ops-secret")
        ));
        let cache = BcryptCache::default();
        let check = |h: Option<HeaderValue>, n: Need| {
            let (p, cache) = (&p, &cache);
            async move { p.check(cache, h.as_ref(), &n).await }
        };
        assert_eq!(check(None, Need::Read).await, Ok(()));
        assert_eq!(check(None, Need::Open).await, Ok(()));
        let r = check(None, push("x")).await.unwrap_err();
        assert_eq!(
            (r.status, r.reason, r.role),
            (StatusCode::UNAUTHORIZED, Reason::Missing, Role::Push)
        );
        assert_eq!(r.challenges.len(), 2, "basic and bearer both satisfy push");
        assert!(check(Some(basic("cron", "cronpw")), push("x"))
            .await
            .is_ok());
        assert!(cache.holds("cron", "cronpw", &p.users["cron"][0].bcrypt));
        assert!(check(Some(basic("cron", "cronpw")), push("y"))
            .await
            .is_ok());
        let r = check(Some(basic("cron", "nope")), push("x"))
            .await
            .unwrap_err();
        assert_eq!(
            (r.status, r.reason),
            (StatusCode::UNAUTHORIZED, Reason::Wrong)
        );
        assert!(
            !cache.holds("cron", "nope", &p.users["cron"][0].bcrypt),
            "failures are not kept"
        );
        let r = check(Some(basic("nobody", "cronpw")), push("x"))
            .await
            .unwrap_err();
        assert_eq!(r.reason, Reason::Wrong);
        assert!(check(Some(bearer("backup-secret")), push("backup"))
            .await
            .is_ok());
        let r = check(Some(bearer("backup-secret")), push("web"))
            .await
            .unwrap_err();
        assert_eq!(
            (r.status, r.reason),
            (StatusCode::FORBIDDEN, Reason::Forbidden)
        );
        assert!(
            r.message
                .contains("token \"backup\" may push only to job \"backup\""),
            "{}",
            r.message
        );
        assert!(r.challenges.is_empty());
        let r = check(Some(basic("cron", "cronpw")), Need::Admin)
            .await
            .unwrap_err();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = check(None, Need::Admin).await.unwrap_err();
        assert_eq!(
            r.challenges,
            vec![HeaderValue::from_static("Bearer realm=\"pgw\"")]
        );
        assert!(r.message.contains("send a bearer token"), "{}", r.message);
        assert!(check(Some(bearer("ops-secret")), Need::Admin).await.is_ok());
        assert!(check(Some(bearer("ops-secret")), push("any")).await.is_ok());
        assert!(check(Some(bearer("ops-secret")), Need::PushAll)
            .await
            .is_ok());
        let r = check(Some(bearer("backup-secret")), Need::PushAll)
            .await
            .unwrap_err();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}
