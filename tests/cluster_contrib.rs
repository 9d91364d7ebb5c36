//! The cluster deployments in `contrib/cluster/` are what they say: the
//! Kubernetes manifests parse (every document) and hold the objects the
//! README names, the Prometheus snippet's jobs keep the pushed labels, and
//! every flag that a unit or a manifest passes to `pgw` is one that the
//! built binary's `--help` lists for that subcommand. (The units' systemd
//! check is `contrib::service_files_pass_systemd_analyze_verify`.)

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_norway::Value;

use crate::contrib::service_files;
use crate::util::{require, TempDir};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every YAML document of a file, parsed.
fn documents(path: &Path) -> Vec<Value> {
    use serde::Deserialize as _;
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn kinds(docs: &[Value]) -> Vec<&str> {
    docs.iter()
        .map(|d| d["kind"].as_str().unwrap_or("?"))
        .collect()
}

/// The first object of `kind` in a manifest.
fn object<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn kubernetes_manifests_parse_and_hold_their_objects() {
    let dir = repo().join("contrib/cluster/kubernetes");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        BTreeSet::from(["etcd.yaml", "pgw.yaml", "prometheus-scrape.yaml"].map(String::from)),
        "a new file here needs its check below"
    );

    let etcd = documents(&dir.join("etcd.yaml"));
    assert_eq!(
        kinds(&etcd),
        ["Service", "StatefulSet", "PodDisruptionBudget"]
    );
    assert_eq!(object(&etcd, "Service")["spec"]["clusterIP"], "None");
    let set = &object(&etcd, "StatefulSet")["spec"];
    assert_eq!(set["replicas"], 3);
    assert_eq!(set["serviceName"], "etcd");
    let image = set["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(
        image.starts_with("registry.k8s.io/etcd:3.5.")
            || image.starts_with("quay.io/coreos/etcd:v3.5."),
        "{image}"
    );

    let pgw = documents(&dir.join("pgw.yaml"));
    assert_eq!(
        kinds(&pgw),
        ["Deployment", "Service", "PodDisruptionBudget"]
    );
    let deployment = &object(&pgw, "Deployment")["spec"];
    assert_eq!(deployment["replicas"], 3);
    let container = &deployment["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][0], "serve");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/-/ready");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/-/healthy");
    assert_eq!(object(&pgw, "Service")["spec"]["ports"][0]["port"], 9091);

    // A Prometheus configuration, not a manifest: both jobs keep the
    // pushed labels, and the per-replica one labels each target `replica`.
    let scrape = documents(&dir.join("prometheus-scrape.yaml"));
    assert_eq!(scrape.len(), 1);
    let jobs = scrape[0]["scrape_configs"].as_sequence().unwrap();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        assert_eq!(job["honor_labels"], true, "{job:?}");
    }
    assert!(jobs[1]["relabel_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|r| r["target_label"] == "replica"));
}

/// How `pgw` is run in the contrib files: (file, subcommand, flags).
fn invocations() -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for path in service_files(&repo().join("contrib")) {
        let text = std::fs::read_to_string(&path).unwrap();
        // ExecStart with its continuation lines joined.
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let Some(cmd) = line.strip_prefix("ExecStart=/usr/local/bin/pgw ") else {
                continue;
            };
            let mut words = cmd.split_whitespace().map(str::to_string);
            let sub = words.next().unwrap();
            out.push((path.display().to_string(), sub, words.collect()));
        }
    }
    let dir = repo().join("contrib/cluster/kubernetes");
    for name in ["etcd.yaml", "pgw.yaml"] {
        for doc in documents(&dir.join(name)) {
            let containers = &doc["spec"]["template"]["spec"]["containers"];
            for c in containers.as_sequence().into_iter().flatten() {
                let command = c["command"][0].as_str().unwrap_or("");
                if !command.ends_with("/pgw") {
                    continue;
                }
                let args: Vec<String> = c["args"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                let file = dir.join(name).display().to_string();
                out.push((file, args[0].clone(), args[1..].to_vec()));
            }
        }
    }
    out
}

/// The long flags `pgw SUB --help` lists.
fn listed_flags(sub: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args([sub, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "pgw {sub} --help");
    flag_names(&String::from_utf8_lossy(&out.stdout))
}

/// Every `--name` in a text, without what follows `=`.
fn flag_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("--") {
        let name: String = text[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        let name = name.trim_end_matches(['.', '-']);
        if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            out.insert(format!("--{name}"));
        }
    }
    out
}

#[test]
fn contrib_files_pass_only_flags_that_pgw_has() {
    let runs = invocations();
    let subs: BTreeSet<&str> = runs.iter().map(|(_, sub, _)| sub.as_str()).collect();
    assert!(subs.contains("serve") && subs.contains("relay"), "{runs:?}");
    assert!(
        runs.iter()
            .filter(|(file, sub, _)| sub == "serve" && file.contains("cluster"))
            .count()
            >= 2,
        "the cluster unit and the Deployment run pgw serve: {runs:?}"
    );
    for (file, sub, args) in &runs {
        let known = listed_flags(sub);
        for arg in args {
            let Some(flag) = arg.strip_prefix("--") else {
                continue;
            };
            let name = format!("--{}", flag.split('=').next().unwrap());
            assert!(
                known.contains(&name),
                "{file}: pgw {sub} has no {name} (pgw {sub} --help lists {known:?})"
            );
        }
    }
    // The cluster files and the README also name pgw's etcd flags in
    // comments and prose: those must exist too.
    let serve = listed_flags("serve");
    let mut prose = vec![
        repo().join("README.md"),
        repo().join("contrib/cluster/systemd/README.md"),
        repo().join("contrib/cluster/kubernetes/pgw.yaml"),
    ];
    prose.extend(service_files(&repo().join("contrib/cluster")));
    for path in prose {
        let text = std::fs::read_to_string(&path).unwrap();
        for name in flag_names(&text) {
            if name.starts_with("--store.etcd.") {
                assert!(
                    serve.contains(&name),
                    "{}: pgw serve has no {name}",
                    path.display()
                );
            }
        }
    }
}

/// The Prometheus configurations of the guides (the systemd README's and
/// the main README's blocks of `scrape_configs`) are valid for Prometheus.
/// (Debian's Prometheus is built without Kubernetes discovery, so the
/// Kubernetes snippet has only the structural checks above.)
#[test]
fn guide_scrape_configs_pass_promtool() {
    require("promtool");
    let mut configs = Vec::new();
    for doc in ["contrib/cluster/systemd/README.md", "README.md"] {
        let text = std::fs::read_to_string(repo().join(doc)).unwrap();
        configs.extend(
            text.split("```yaml\n")
                .skip(1)
                .map(|b| b[..b.find("```").unwrap()].to_string())
                .filter(|b| b.contains("scrape_configs:")),
        );
    }
    let replicas = configs.iter().filter(|c| c.contains("replica: m")).count();
    assert!(replicas >= 2, "{replicas} per-replica configurations");
    let dir = TempDir::new("cluster-scrape");
    for (i, config) in configs.iter().enumerate() {
        let file = dir.path().join(format!("prometheus{i}.yml"));
        std::fs::write(&file, config).unwrap();
        let out = Command::new("promtool")
            .args(["check", "config", "--syntax-only"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{config}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
