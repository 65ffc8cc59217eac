#!/usr/bin/env bash
# Every benchmark, one after the other on a quiet machine (about ten minutes); the README quotes the output.
#   bash benchmarks/run_all.sh | tee benchmarks/results.txt
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') · $(uname -srm) · $(nproc) cores · $($PY -V)"
echo "## throughput"; $PY benchmarks/throughput.py
echo "## memory"; bash benchmarks/memory.sh 2>&1
for cache in warm cold; do
  for run in 1 2; do
    echo "## responsiveness ($cache page cache, run $run)"
    $PY benchmarks/responsiveness.py --size-mb 300 $([ $cache = cold ] && echo --cold)
  done
done
echo "## scale"; $PY benchmarks/scale.py
echo "## start-up"; $PY benchmarks/startup.py
echo "## status latency"; $PY benchmarks/latency.py
