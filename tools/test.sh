#!/usr/bin/env bash
# The test command (README, .ci/run): library in sync with the notebooks, notebooks clean,
# every notebook's tests, then the end-to-end tests (tutorials under papermill, docs build, a real browser).
# Expects the environment in .venv (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" MPLBACKEND=Agg PYTHONWARNINGS="ignore::FutureWarning"
# one thread per process: the notebooks and tests below run two at a time on the machine's cores
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

snapshot() { { git status --porcelain --untracked-files=all; git diff --no-color HEAD; \
               git ls-files -o --exclude-standard -z | xargs -0 -r sha1sum; } | sha1sum; }
unchanged_by() {  # run a command and fail if it changed the working tree
  local before after; before=$(snapshot); "$@" >/dev/null; after=$(snapshot)
  if [ "$before" != "$after" ]; then
    echo "FAILED: '$*' changed the working tree; run it, review and commit:"; git status --short; exit 1
  fi
  echo "ok: '$*' leaves the tree unchanged"
}

bash tools/install_browser.sh      # Debian's chromium for tests/test_browser.py, when missing (an installation step)
start=$SECONDS
unchanged_by nbdev-export
unchanged_by nbdev-clean
# The notebooks' own tests (nbdev-test; tutorials are skipped there, they run in pytest) and the end-to-end tests
# (pytest) run side by side: each is mostly single-threaded work, so together they keep both cores busy.
echo "== nbdev-test (notebooks) and pytest (end-to-end tests) side by side"
nblog=$(mktemp)
nbdev-test --timing >"$nblog" 2>&1 & nbpid=$!
set +e
python -m pytest tests -q -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder --durations=15   # one test file per worker at a time, longest first (tests/conftest.py)
pt=$?
wait "$nbpid"; nb=$?
set -e
echo "== nbdev-test (exit $nb):"; cat "$nblog"; rm -f "$nblog"
echo "== test command took $((SECONDS - start))s after installation"
[ "$pt" -eq 0 ] && [ "$nb" -eq 0 ]
