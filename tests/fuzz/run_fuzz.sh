#!/usr/bin/env bash
# Runs one libFuzzer target as ctest does: every reproducer in CRASHES once (each must pass
# now), then SECONDS of fuzzing from the corpus (new inputs go to WORK, findings too).
# Prints the run's figures; exits non-zero on any finding.
# Usage: run_fuzz.sh TARGET SECONDS WORK SEEDS CRASHES
set -uo pipefail
target=$1 seconds=$2 work=$3 seeds=$4 crashes=$5
mkdir -p "$work"
shopt -s nullglob
reproducers=("$crashes"/*)
replayed=0
for r in "${reproducers[@]}"; do
  case "$r" in */README) continue ;; esac
  replayed=$((replayed + 1))
  "$target" -runs=1 "$r" >"$work.replay.log" 2>&1 || {
    cat "$work.replay.log"
    echo "run_fuzz: reproducer $r fails again"
    exit 1
  }
done
echo "run_fuzz: $replayed reproducers replayed clean"
# A finding is written as WORK/crash-* (or leak-*, timeout-*): keep it as a reproducer by
# copying it into CRASHES with the fix.
log="$work.log"
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work" "$seeds" >"$log" 2>&1
status=$?
grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added|INFO: seed corpus)' "$log"
if [ $status -ne 0 ]; then
  cat "$log"
  echo "run_fuzz: $(basename "$target") found a failure (exit $status)"
fi
exit $status
