#!/bin/sh
# Data-driven tests for `smelt data check`: for every cases/NAME.jsonl, runs
#   smelt data check NAME.jsonl $(cat NAME.args)
# with the cases directory as working directory and compares the output lines that start with
# the file name, "error:" or "warning:" (problems, the count line and the verdict; the indented
# statistics table is tested by stats_test.cpp), plus a final "exit: N" line, with NAME.expected.
# Usage: run_cases.sh SMELT_BINARY CASES_DIR [NAME...]
set -u
smelt="$1"
cases="$2"
shift 2
cd "$cases" || exit 2
if [ $# -eq 0 ]; then
  set -- $(ls *.jsonl | grep -v '\.provenance\.jsonl$' | sed 's/\.jsonl$//')
fi
failed=0
count=0
for name in "$@"; do
  count=$((count + 1))
  args=""
  [ -f "$name.args" ] && args=$(cat "$name.args")
  # shellcheck disable=SC2086
  actual=$("$smelt" data check "$name.jsonl" $args 2>&1; echo "exit: $?")
  actual=$(printf '%s\n' "$actual" | grep -E "^($name\.jsonl|error:|warning:|exit: )")
  if [ ! -f "$name.expected" ]; then
    echo "FAIL $name: no $name.expected; actual output:"
    printf '%s\n' "$actual"
    failed=$((failed + 1))
    continue
  fi
  if ! printf '%s\n' "$actual" | diff -u "$name.expected" - > /tmp/smelt-case-diff.$$; then
    echo "FAIL $name:"
    cat /tmp/smelt-case-diff.$$
    failed=$((failed + 1))
  fi
done
rm -f /tmp/smelt-case-diff.$$
echo "$count cases, $failed failed"
[ "$failed" -eq 0 ]
