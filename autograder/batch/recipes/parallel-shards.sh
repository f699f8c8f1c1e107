#!/bin/bash
# Grade a class across hosts with GNU parallel: one shard per job slot, all writing into one shared folder.
#
#   autograder/batch/recipes/parallel-shards.sh HOSTFILE SHARDS SUBMISSIONS OUT [FIXTURES]
#
# HOSTFILE lists ssh logins, one per line, in GNU parallel's --sshloginfile format (e.g. "4/node1"
# for four slots on node1; ":" is this machine). Every host must see the repository, SUBMISSIONS,
# OUT and the fixture set at the same paths (a shared file system). Shards run one batch process each
# with --jobs 1, so a host with 4 slots grades 4 submissions at a time.
set -uo pipefail
HOSTFILE=${1:?usage: parallel-shards.sh HOSTFILE SHARDS SUBMISSIONS OUT [FIXTURES]}
SHARDS=${2:?usage: parallel-shards.sh HOSTFILE SHARDS SUBMISSIONS OUT [FIXTURES]}
SUBMISSIONS=$(realpath "${3:?usage: parallel-shards.sh HOSTFILE SHARDS SUBMISSIONS OUT [FIXTURES]}")
OUT=$(realpath -m "${4:?usage: parallel-shards.sh HOSTFILE SHARDS SUBMISSIONS OUT [FIXTURES]}")
FIXTURES=$(realpath "${5:-fixtures}")
REPO=$(pwd)
seq 0 $((SHARDS - 1)) | parallel --sshloginfile "$HOSTFILE" --workdir "$REPO" --line-buffer \
    python runner.py batch "$SUBMISSIONS" --out "$OUT" --fixtures "$FIXTURES" --jobs 1 --shard "{}/$SHARDS"
python runner.py batch merge "$OUT"
