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
echo "== nbdev-test (notebooks; tutorials run in pytest)"
nbdev-test --timing
echo "== pytest (notebook checks took $((SECONDS - start))s)"
python -m pytest tests -q -p no:cacheprovider -n 2 --dist loadfile --durations=15   # one file per worker at a time
echo "== test command took $((SECONDS - start))s after installation"
