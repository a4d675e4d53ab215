#!/usr/bin/env bash
# Runs each integration group (a directory or module) in a pytest process of its own, JOBS at
# a time, printing each group's output whole when it ends; goes on after a failure and fails
# at the end, naming the groups that failed. Usage: run_groups.sh JOBS PYTEST GROUP... (extra
# pytest arguments in PYTEST_ARGS). Each group has a temporary directory of its own: with
# pytest's default, concurrent sessions prune each other's (and their embedded servers' data).
set -uo pipefail
jobs=$1 pytest=$2
shift 2
failed=$(mktemp)
trap 'rm -f "$failed"' EXIT
run_group() {
  local out rc temp
  out=$(mktemp)
  temp=$(mktemp -d -t revsync-group-XXXXXX)
  # shellcheck disable=SC2086  # PYTEST_ARGS is a list of arguments
  "$pytest" "$1" --basetemp="$temp" ${PYTEST_ARGS:-} >"$out" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ]; then echo "(failed: its temporary files are kept in $temp)" >>"$out"; fi
  { echo "== $1"; cat "$out"; } | flock "$failed" cat
  rm -f "$out"
  if [ "$rc" -ne 0 ]; then
    echo "$1" | flock "$failed" tee -a "$failed" >/dev/null
  else
    rm -rf "$temp"
  fi
}
export -f run_group
export pytest failed
printf '%s\0' "$@" | xargs -0 -P "$jobs" -I{} bash -c 'run_group "$1"' _ {}
if [ -s "$failed" ]; then
  echo "FAILED: $(tr '\n' ' ' <"$failed")"
  exit 1
fi
