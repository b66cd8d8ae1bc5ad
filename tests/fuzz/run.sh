#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS on its committed corpus (tests/fuzz/corpus/NAME),
# writing new inputs to a scratch copy so the repository stays clean.
#   tests/fuzz/run.sh SECONDS TARGET...
set -euo pipefail
seconds=$1
shift
status=0
for target in "$@"; do
	[ -f "$target" ] && [ -x "$target" ] || continue # skip make's .d files
	name=$(basename "$target")
	seed=tests/fuzz/corpus/$name
	work=$(mktemp -d)
	[ -d "$seed" ] && cp -r "$seed/." "$work/"
	echo "fuzz $name: ${seconds}s"
	if ! "$target" -max_total_time="$seconds" -print_final_stats=0 -artifact_prefix="$work/" "$work" 2>"$work.log"; then
		echo "fuzz $name FOUND A CRASH:"; tail -40 "$work.log"; status=1
	else
		grep -E "^Done|stat::number_of_executed_units|#[0-9]+.*DONE" "$work.log" | tail -1 || true
	fi
	rm -rf "$work" "$work.log"
done
exit $status
