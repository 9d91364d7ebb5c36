//! `pgw delete`: one group by its key, or every group matching a selector
//! and/or not pushed for a while, printing each group it deletes.
//!
//! A selection is checked against a listing first: a selector label that no
//! group has is named in a warning, and a selection that is every group on
//! the gateway is not deleted without a question (`--yes`, or `y` on a
//! terminal; exit 2 where nobody can answer), since `job=~.*` or a `--stale`
//! that happens to cover everything is as final as `pgw wipe`.
//!
//! Against `pgw serve` a clean-up is one request, `DELETE /api/v1/groups`,
//! which selects and deletes under the store's lock, so a group pushed
//! meanwhile cannot be caught; a dry run of it first tells which groups the
//! selection holds. The official server answers that path 404 (or 405);
//! then pgw filters the listing and deletes the groups one by one, checking
//! each group's push time against a listing fetched just before its DELETE:
//! a group pushed again since the first listing is spared and reported.
//! Each group's URL is rebuilt from all its labels (`GroupingKey::to_path`,
//! `@base64` where needed), so labels holding `/`, spaces or nothing reach
//! the right group.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::cli::DeleteArgs;
use crate::client::groups::{self, format_ago, Filter, Group};
use crate::client::Gateway;
use crate::cmd::wipe;
use crate::error::{BadInput, GatewayError, NothingMatched};
use crate::grouping::GroupingKey;

/// How old the listing may be that a group's push time is checked against
/// right before its DELETE. Re-listing before every DELETE would make a
/// clean-up of n groups cost n listings of the whole gateway; this bounds it
/// to about one listing per interval while keeping the window small.
const RECHECK_AGE: Duration = Duration::from_millis(100);

pub(crate) fn run(args: DeleteArgs) -> anyhow::Result<()> {
    let key = super::group_key(&args.key)?;
    let mut filter = super::filter(&args.filter, false)?;
    if filter.selector.as_ref().is_some_and(|s| s.is_empty()) {
        if filter.stale.is_none() {
            return Err(BadInput(
                "-s/--selector: the selector is empty, so it selects every group; \
                 `pgw wipe` deletes them all"
                    .into(),
            )
            .into());
        }
        filter.selector = None;
    }
    let gateway = Gateway::new(&super::gateway_options(&args.gateway)?)?;
    let mut out = Printer {
        dry_run: args.dry_run,
        now: groups::now(),
        done: 0,
        skipped: 0,
        everything: false,
    };
    let base = gateway.base();
    let none = match &key {
        Some(key) => {
            delete_key(&gateway, key, &mut out)?;
            format!("no group {key} at {base}")
        }
        None => {
            let listed = groups::fetch(&gateway)?;
            super::warn_unknown_labels(&filter, listed.iter().map(|g| &g.key));
            let all = AllGroups {
                yes: args.yes,
                listed: listed.len(),
                filter: &filter,
                base,
            };
            if !server_side(&gateway, &filter, &listed, &all, &mut out)? {
                list_then_delete(&gateway, &filter, listed, &all, &mut out)?;
            }
            filter.none_at(base)
        }
    };
    if out.done == 0 {
        let msg = format!("{none}; nothing deleted");
        if args.fail_if_none {
            return Err(NothingMatched(msg).into());
        }
        eprintln!("pgw: {msg}");
    } else if args.dry_run {
        let every = if out.everything {
            ": every group there, so without --dry-run pgw asks first (or needs --yes)"
        } else {
            ""
        };
        eprintln!(
            "pgw: dry run: {} would be deleted at {base}{every}",
            groups::plural(out.done)
        );
    } else if out.skipped > 0 {
        eprintln!(
            "pgw: deleted {} at {base}, skipped {}",
            groups::plural(out.done),
            out.skipped
        );
    } else {
        eprintln!("pgw: deleted {} at {base}", groups::plural(out.done));
    }
    Ok(())
}

/// What it takes to delete every group: the question, or `--yes`.
struct AllGroups<'a> {
    yes: bool,
    /// Groups in the listing the selection was checked against.
    listed: usize,
    filter: &'a Filter,
    base: &'a str,
}

impl AllGroups<'_> {
    /// When the selection is every listed group (`every`), asks, or needs
    /// `--yes`. `Ok(true)` when the question was put or waived.
    fn check(&self, every: bool, out: &mut Printer) -> anyhow::Result<bool> {
        if self.listed == 0 || !every {
            return Ok(false);
        }
        out.everything = true;
        if out.dry_run {
            return Ok(false);
        }
        let what = self.filter.describe();
        wipe::confirm(
            self.yes,
            &format!(
                "{what} matches every group. {}?",
                wipe::delete_all(self.listed, self.base)
            ),
            &format!(
                "{what} matches every group at {} ({}): refusing to delete them all \
                 without confirmation",
                self.base,
                groups::plural(self.listed)
            ),
        )?;
        Ok(true)
    }
}

/// Prints each group as it goes (an interrupted clean-up still shows what
/// it did) and counts.
struct Printer {
    dry_run: bool,
    now: f64,
    done: usize,
    skipped: usize,
    /// The selection was every group on the gateway.
    everything: bool,
}

impl Printer {
    fn deleted(&mut self, key: &GroupingKey, push_time: Option<f64>) {
        self.done += 1;
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let age = format_ago(push_time.map(|t| (self.now - t).max(0.0)));
        let mut stdout = std::io::stdout().lock();
        // A closed pipe must not stop a clean-up half way.
        let _ = writeln!(stdout, "{verb} {key}  last push {age}");
        let _ = stdout.flush();
    }

    fn skipped(&mut self, key: &GroupingKey, why: &str) {
        self.skipped += 1;
        eprintln!("pgw: skipped {key}: {why}");
    }
}

/// One group by its exact key: listed first, so that a key naming no group
/// is reported (the gateway answers 202 to any DELETE).
fn delete_key(gateway: &Gateway, key: &GroupingKey, out: &mut Printer) -> anyhow::Result<()> {
    let listed = groups::fetch(gateway)?;
    let Some(group) = listed.iter().find(|g| g.key == *key) else {
        return Ok(());
    };
    if !out.dry_run {
        delete_one(gateway, key)?;
    }
    out.deleted(key, group.push_time);
    Ok(())
}

/// `DELETE /metrics/job/...` for one group.
pub(crate) fn delete_one(gateway: &Gateway, key: &GroupingKey) -> anyhow::Result<()> {
    gateway
        .send("DELETE", &key.to_path(), &[], None)
        .with_context(|| format!("cannot delete group {key}"))?;
    Ok(())
}

/// The query of `DELETE /api/v1/groups`: `match` (the selector's canonical
/// form), `stale` (humantime) and `dry_run`, percent-encoded.
pub(crate) fn clean_up_query(filter: &Filter, dry_run: bool) -> String {
    let mut params = Vec::new();
    if let Some(sel) = &filter.selector {
        params.push(format!(
            "match={}",
            utf8_percent_encode(&sel.to_string(), NON_ALPHANUMERIC)
        ));
    }
    if let Some(stale) = filter.stale {
        let text = humantime::format_duration(stale).to_string();
        params.push(format!(
            "stale={}",
            utf8_percent_encode(&text, NON_ALPHANUMERIC)
        ));
    }
    if dry_run {
        params.push("dry_run=true".into());
    }
    format!("/api/v1/groups?{}", params.join("&"))
}

/// The atomic clean-up of `pgw serve`: a dry run to learn what the
/// selection holds, the question if that is every group, then the real
/// request. `Ok(false)` when the gateway does not have it (404 or 405: the
/// official server).
fn server_side(
    gateway: &Gateway,
    filter: &Filter,
    listed: &[Group],
    all: &AllGroups<'_>,
    out: &mut Printer,
) -> anyhow::Result<bool> {
    let Some(selected) = clean_up(gateway, filter, true)? else {
        return Ok(false);
    };
    let keys: HashSet<&GroupingKey> = selected.iter().map(|(k, _)| k).collect();
    let every = listed.iter().all(|g| keys.contains(&g.key));
    let asked = all.check(every, out)?;
    if out.dry_run {
        for (key, push_time) in &selected {
            out.deleted(key, *push_time);
        }
        return Ok(true);
    }
    // Still one atomic request with the same selection: what it matches now
    // goes, which may differ from the dry run by groups pushed or deleted
    // since; after a question, the difference is told.
    let deleted = clean_up(gateway, filter, false)?.with_context(|| {
        format!(
            "the gateway at {} stopped answering DELETE /api/v1/groups",
            gateway.base()
        )
    })?;
    for (key, push_time) in &deleted {
        out.deleted(key, *push_time);
    }
    if asked && deleted.len() != all.listed {
        eprintln!(
            "pgw: note: {} matched when deleted, {} when asked (groups pushed or deleted meanwhile)",
            groups::plural(deleted.len()),
            all.listed
        );
    }
    Ok(true)
}

/// A group of a clean-up answer: its key and last push time.
pub(crate) type Deleted = (GroupingKey, Option<f64>);

/// One `DELETE /api/v1/groups`; `None` when the gateway lacks it.
fn clean_up(
    gateway: &Gateway,
    filter: &Filter,
    dry_run: bool,
) -> anyhow::Result<Option<Vec<Deleted>>> {
    let path = clean_up_query(filter, dry_run);
    let reply = match gateway.send("DELETE", &path, &[("Accept", "application/json")], None) {
        Ok(r) => r,
        Err(e @ GatewayError::Rejected { .. }) if matches!(e.status(), Some(404 | 405)) => {
            return Ok(None)
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot delete the groups that match {}",
                filter.describe()
            )))
        }
    };
    let groups = parse_clean_up(&reply.body).with_context(|| {
        format!(
            "the gateway at {} answered DELETE /api/v1/groups with JSON pgw cannot read",
            gateway.base()
        )
    })?;
    Ok(Some(groups))
}

/// The groups of a `DELETE /api/v1/groups` answer:
/// `{"status":"success","data":{"dry_run":..,"groups":[{"labels":{..},"push_time_seconds":..}]}}`.
pub(crate) fn parse_clean_up(body: &[u8]) -> anyhow::Result<Vec<Deleted>> {
    let doc: Value = serde_json::from_slice(body).context("not JSON")?;
    let list = doc["data"]["groups"]
        .as_array()
        .context("no data.groups list")?;
    let mut out = Vec::with_capacity(list.len());
    for g in list {
        let labels = g["labels"].as_object().context("a group without labels")?;
        let key = GroupingKey::new(
            labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap_or_default())),
        );
        let t = g["push_time_seconds"].as_f64().filter(|t| *t > 0.0);
        out.push((key, t));
    }
    out.sort_by(|a, b| groups::label_order(&a.0, &b.0));
    Ok(out)
}

/// The clean-up for a gateway without `DELETE /api/v1/groups`.
fn list_then_delete(
    gateway: &Gateway,
    filter: &Filter,
    listed: Vec<Group>,
    all: &AllGroups<'_>,
    out: &mut Printer,
) -> anyhow::Result<()> {
    let now = out.now;
    let mut matched: Vec<Group> = listed
        .into_iter()
        .filter(|g| filter.matches(g, now))
        .collect();
    matched.sort_by(|a, b| groups::label_order(&a.key, &b.key));
    // Only the listed groups are deleted, each re-checked after the
    // question: a group pushed since the listing is never caught.
    all.check(matched.len() == all.listed, out)?;
    if out.dry_run {
        for g in &matched {
            out.deleted(&g.key, g.push_time);
        }
        return Ok(());
    }
    let mut current: Option<(Instant, HashMap<GroupingKey, Option<f64>>)> = None;
    for g in &matched {
        let fresh = current
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < RECHECK_AGE);
        if !fresh {
            let at = Instant::now();
            let map = groups::fetch(gateway)
                .with_context(|| format!("cannot re-check group {} before deleting it", g.key))?
                .into_iter()
                .map(|g| (g.key, g.push_time))
                .collect();
            current = Some((at, map));
        }
        let (_, map) = current.as_ref().expect("fetched above");
        match recheck(g, map.get(&g.key).copied()) {
            Recheck::Delete => {
                delete_one(gateway, &g.key)?;
                out.deleted(&g.key, g.push_time);
            }
            Recheck::Gone => out.skipped(&g.key, "already gone"),
            Recheck::Pushed => out.skipped(&g.key, "pushed again since the listing"),
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Recheck {
    Delete,
    Gone,
    Pushed,
}

/// Whether a listed group may still be deleted, given its push time in a
/// newer listing (`None`: not there any more).
fn recheck(listed: &Group, now: Option<Option<f64>>) -> Recheck {
    match now {
        None => Recheck::Gone,
        Some(t) if t == listed.push_time => Recheck::Delete,
        Some(_) => Recheck::Pushed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clean_up_query_is_encoded() {
        let filter = Filter {
            selector: Some("job=node,instance=~web-.*".parse().unwrap()),
            stale: Some(Duration::from_secs(5400)),
            failed: false,
        };
        assert_eq!(
            clean_up_query(&filter, true),
            "/api/v1/groups?match=job%3D%22node%22%2Cinstance%3D%7E%22web%2D%2E%2A%22\
             &stale=1h%2030m&dry_run=true"
        );
        let only_stale = Filter {
            stale: Some(Duration::from_secs(90)),
            ..Filter::default()
        };
        assert_eq!(
            clean_up_query(&only_stale, false),
            "/api/v1/groups?stale=1m%2030s"
        );
    }

    #[test]
    fn the_clean_up_answer_is_read() {
        let body = br#"{"status":"success","data":{"dry_run":false,"groups":[
            {"labels":{"job":"x","instance":"a"},"push_time_seconds":1764000000.5},
            {"labels":{"job":"b"},"push_time_seconds":0}]}}"#;
        let groups = parse_clean_up(body).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0], (GroupingKey::new([("job", "b")]), None));
        assert_eq!(
            groups[1],
            (
                GroupingKey::new([("job", "x"), ("instance", "a")]),
                Some(1764000000.5)
            )
        );
        assert!(parse_clean_up(br#"{"status":"success"}"#).is_err());
    }

    #[test]
    fn a_group_pushed_since_the_listing_is_spared() {
        let g = Group {
            key: GroupingKey::new([("job", "x")]),
            push_time: Some(100.0),
            failure_time: None,
            last_push_ok: true,
            metrics: 1,
            series: 1,
            expire_after: None,
            expires_in: None,
        };
        assert_eq!(recheck(&g, Some(Some(100.0))), Recheck::Delete);
        assert_eq!(recheck(&g, Some(Some(160.0))), Recheck::Pushed);
        assert_eq!(recheck(&g, None), Recheck::Gone);
    }
}
