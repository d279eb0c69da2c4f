#!/usr/bin/env bash
# Installs Debian's slurm-wlm and munge for the one-node Slurm test (scripts/slurm-one-node.sh), when missing.
# Exit status: 0 installed (or already there); 2 missing and not root; 3 apt-get failed. The test skips,
# saying why, on 2 and 3; .ci/run calls this before `make test`.
set -uo pipefail
tools=(sbatch squeue scontrol scancel sinfo slurmctld slurmd munged)
missing=()
for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-slurm: ${missing[*]} missing, and installing slurm-wlm and munge needs root" >&2
  exit 2
fi
echo "Installing slurm-wlm and munge ..."
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }; }; then
  echo "install-slurm: apt-get install slurm-wlm munge failed" >&2
  exit 3
fi
