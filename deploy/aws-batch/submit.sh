#!/usr/bin/env bash
# Registers the job definition, submits the sweep as an array job (each child gets
# AWS_BATCH_JOB_ARRAY_INDEX; `--shard auto/4` reads it; keep the 4 equal to
# arrayProperties.size), then the merge as a job that starts when every child has succeeded.
# Edit the account, image, roles, EFS file system and access point (POSIX user 65532) in
# job-definition.json and the queue in submit-*.json first. README: "Running a large sweep
# on your cluster".
set -euo pipefail
cd "$(dirname "$0")"
aws batch register-job-definition --cli-input-json file://job-definition.json >/dev/null
sweep=$(aws batch submit-job --cli-input-json file://submit-sweep.json \
  --query jobId --output text)
merge=$(aws batch submit-job --cli-input-json file://submit-merge.json \
  --depends-on "jobId=$sweep" --query jobId --output text)
echo "sweep: $sweep (4 shards)  merge: $merge"
echo "when the merge succeeds, the sweep is in the EFS file system under warm-ip-sweep/"
