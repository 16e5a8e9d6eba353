#!/usr/bin/env bash
# Runs scope's benchmarks the way BENCHMARKS.md reports them: every Go case
# with its baseline, COUNT times, summarized by benchstat; then the Python
# side, if python3 is there. Usage: bench/run.sh [COUNT] (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10}
out=bench/go.txt

command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
export PATH="$(go env GOPATH)/bin:$PATH"

go test -run '^$' -bench . -benchmem -count "$count" . | tee "$out"
echo
benchstat "$out"
echo
if command -v python3 >/dev/null; then
  python3 bench/python/bench.py
else
  echo "python3 not found: skipping the contextlib comparison"
fi
