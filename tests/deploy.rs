//! The deployment files run what they say: the Kubernetes Indexed Job and the AWS Batch array
//! job are parsed, their ipamsim command lines run (shard by shard, with the index variable
//! the batch engine sets, `/results` mapped to a temporary folder) and merged; the Dockerfile
//! copies paths that exist and runs ipamsim as a non-root user.
//!
//! No cluster, no AWS account and no Docker engine are involved: what is checked is that
//! the commands these files give ipamsim are accepted and produce the merged sweep.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The image's working folder holds `scenarios/`, as the repository does.
fn ipamsim(args: &[String], env: Option<(&str, String)>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipamsim"));
    cmd.args(args)
        .current_dir(repo())
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "ipamsim {args:?}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `args` with every path under `/results` moved under `root`.
fn mapped(args: &[String], root: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match a.strip_prefix("/results") {
            Some(rest) => format!("{}{rest}", root.display()),
            None => a.clone(),
        })
        .collect()
}

/// N in `--shard auto/N`.
fn auto_count(args: &[String]) -> usize {
    let at = args.iter().position(|a| a == "--shard").expect("--shard");
    let spec = args[at + 1].strip_prefix("auto/").expect("--shard auto/N");
    spec.parse().unwrap()
}

/// The value after `flag`.
fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
    let at = args.iter().position(|a| a == flag).expect(flag);
    &args[at + 1]
}

/// Runs the shard command for every index with `var` set, then the merge command; checks
/// the merged sweep holds every run (tests/shard.rs checks it equals the unsharded sweep).
fn run_sharded(sweep: &[String], var: &str, n: usize, merge: &[String]) {
    let root = tempfile::tempdir().unwrap();
    let results = root.path().join("results");
    let sweep = mapped(sweep, &results);
    for i in 0..n {
        let stdout = ipamsim(&sweep, Some((var, i.to_string())));
        assert!(stdout.contains(&format!("shard {i}/{n}")), "{stdout}");
    }
    let merge = mapped(merge, &results);
    assert_eq!(merge[0], "merge");
    let stdout = ipamsim(&merge, None);
    assert!(stdout.contains(&format!("merged {n} shards")), "{stdout}");

    // One row per run: every cell × seed of the sweep.
    let out = PathBuf::from(flag(&merge, "--out"));
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let cells: usize = sweep
        .iter()
        .zip(&sweep[1..])
        .filter(|(a, _)| *a == "--vary")
        .map(|(_, v)| v.split_once('=').unwrap().1.split(',').count())
        .product();
    let seeds: usize = flag(&sweep, "--seeds").parse().unwrap();
    assert_eq!(csv.lines().count(), 1 + cells * seeds);
    for f in ["sweep.svg", "sweep.html"] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

/// A YAML list of strings (Kubernetes rejects numbers in `args`).
fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .expect("a list")
        .iter()
        .map(|a| a.as_str().expect("every argument a string").to_string())
        .collect()
}

#[test]
fn the_kubernetes_indexed_job_runs_and_merges() {
    let path = repo().join("deploy/kubernetes/sweep-indexed-job.yaml");
    let docs = YamlLoader::load_from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let jobs: Vec<&Yaml> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("Job"))
        .collect();
    assert_eq!(jobs.len(), 2, "the sweep Job and the merge Job");
    let (sweep, merge) = (jobs[0], jobs[1]);
    assert_eq!(sweep["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(sweep["spec"]["completionMode"].as_str(), Some("Indexed"));
    let completions = sweep["spec"]["completions"].as_i64().unwrap() as usize;
    let parallelism = sweep["spec"]["parallelism"].as_i64().unwrap() as usize;
    assert!(parallelism >= 1 && parallelism <= completions);
    for job in [sweep, merge] {
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
        assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
        assert_eq!(pod["securityContext"]["runAsUser"].as_i64(), Some(65532));
        let c = &pod["containers"][0];
        assert!(
            c["command"].is_badvalue(),
            "the image's entrypoint runs ipamsim"
        );
        assert_eq!(c["volumeMounts"][0]["mountPath"].as_str(), Some("/results"));
    }
    let shard_args = strings(&sweep["spec"]["template"]["spec"]["containers"][0]["args"]);
    let merge_args = strings(&merge["spec"]["template"]["spec"]["containers"][0]["args"]);
    assert_eq!(shard_args[0], "sweep");
    assert_eq!(auto_count(&shard_args), completions, "auto/N = completions");
    // The merge reads the folder the shards share.
    assert_eq!(merge_args[1], flag(&shard_args, "--out"));
    run_sharded(
        &shard_args,
        "JOB_COMPLETION_INDEX",
        completions,
        &merge_args,
    );
}

fn json(name: &str) -> serde_json::Value {
    let path = repo().join("deploy/aws-batch").join(name);
    serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap()
}

fn json_strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|a| a.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn the_aws_batch_array_job_runs_and_merges() {
    let definition = json("job-definition.json");
    let submit = json("submit-sweep.json");
    let merge = json("submit-merge.json");
    let container = &definition["containerProperties"];
    let shard_args = json_strings(&container["command"]);
    let size = submit["arrayProperties"]["size"].as_u64().unwrap() as usize;
    // AWS Batch array jobs have 2 to 10,000 children.
    assert!((2..=10_000).contains(&size));
    assert_eq!(
        auto_count(&shard_args),
        size,
        "auto/N = arrayProperties.size"
    );
    let name = definition["jobDefinitionName"].as_str().unwrap();
    assert_eq!(submit["jobDefinition"].as_str(), Some(name));
    assert_eq!(merge["jobDefinition"].as_str(), Some(name));
    assert_eq!(
        container["mountPoints"][0]["containerPath"].as_str(),
        Some("/results")
    );
    let merge_args = json_strings(&merge["containerOverrides"]["command"]);
    assert_eq!(merge_args[1], flag(&shard_args, "--out"));
    let script = fs::read_to_string(repo().join("deploy/aws-batch/submit.sh")).unwrap();
    for f in [
        "job-definition.json",
        "submit-sweep.json",
        "submit-merge.json",
    ] {
        assert!(script.contains(f), "submit.sh uses {f}");
    }
    assert!(script.contains("--depends-on"));
    run_sharded(&shard_args, "AWS_BATCH_JOB_ARRAY_INDEX", size, &merge_args);
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                if let Some((op, rest)) = current.trim().split_once(' ') {
                    out.push((op.to_uppercase(), rest.trim().to_string()));
                }
                current.clear();
            }
        }
    }
    out
}

#[test]
fn the_dockerfile_builds_from_paths_that_exist_and_runs_as_non_root() {
    let text = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let ins = instructions(&text);
    let stages: Vec<usize> = (0..ins.len()).filter(|&i| ins[i].0 == "FROM").collect();
    assert!(stages.len() >= 2, "multi-stage");
    let build_name = ins[stages[0]]
        .1
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    let runtime = &ins[*stages.last().unwrap()..];

    // Every COPY from the build context names a path of this repository, not ignored.
    let ignored = fs::read_to_string(repo().join(".dockerignore")).unwrap();
    let ignored: Vec<&str> = ignored
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let mut copied: Vec<String> = Vec::new();
    for (op, rest) in &ins {
        if op != "COPY" || rest.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = rest.split_whitespace().collect();
        for src in &parts[..parts.len() - 1] {
            assert!(repo().join(src).exists(), "COPY {src}: no such path");
            assert!(!ignored.contains(src), "COPY {src}: in .dockerignore");
            copied.push(src.to_string());
        }
    }
    // What `cargo build` reads: the manifest, the lock file, the sources, the benches
    // Cargo.toml names, and the files include_str! embeds.
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "benches",
        "data",
        "scenarios",
    ] {
        assert!(
            copied.iter().any(|c| c == needed),
            "the build needs {needed}"
        );
    }
    let build = ins
        .iter()
        .find(|(op, rest)| op == "RUN" && rest.contains("cargo build"))
        .expect("a cargo build");
    assert!(build.1.contains("--release") && build.1.contains("--locked"));

    // The runtime stage: the binary from the build stage, the example scenarios in the
    // working folder, a numeric non-root user, ipamsim as the entrypoint.
    let binary = runtime
        .iter()
        .find(|(op, rest)| op == "COPY" && rest.starts_with(&format!("--from={build_name}")))
        .expect("the binary copied from the build stage");
    let parts: Vec<&str> = binary.1.split_whitespace().collect();
    assert!(parts[1].ends_with("/target/release/ipamsim"));
    let installed = parts[2];
    let user = runtime.iter().rfind(|(op, _)| op == "USER").expect("USER");
    let uid: u32 = user.1.split(':').next().unwrap().parse().expect("numeric");
    assert_ne!(uid, 0);
    let entry = runtime
        .iter()
        .find(|(op, _)| op == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    let entry: Vec<String> = serde_json::from_str(&entry.1).expect("exec form");
    assert_eq!(entry, [installed]);
    assert!(
        runtime
            .iter()
            .any(|(op, rest)| op == "COPY" && rest == "scenarios scenarios")
    );
    assert!(runtime.iter().any(|(op, _)| op == "WORKDIR"));
}
