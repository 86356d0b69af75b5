import shutil, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT/'nbs'/'tutorials'/'01_robust_finetune.ipynb'

def _script(name):
    "A console script of the environment running the tests (the venv's bin folder first)."
    p = Path(sys.executable).parent/name
    found = str(p) if p.exists() else shutil.which(name)
    if not found: pytest.fail(f"console script {name!r} is not installed next to {sys.executable}; run pip install -e '.[dev]'")
    return found

@pytest.fixture(scope='session')
def sftnb_bin(): return _script('sftnb')

@pytest.fixture(scope='session')
def papermill_bin(): return _script('papermill')

# Test files, longest first (their durations in the fresh-clone runs of benchmarks/RESULTS.md), so that with
# `pytest -n 2 --dist loadfile --no-loadscope-reorder` (tools/test.sh) the longest files start first and the two workers
# finish together; a file's tests stay together on one worker, sharing its fixtures. (Without --no-loadscope-reorder,
# pytest-xdist orders files by their number of tests instead.)
LONGEST_FIRST = ['test_run.py', 'test_tutorial_02_adversarial.py', 'test_tutorial_04_own_data.py', 'test_tutorial_03_sweep.py',
                 'test_sweep.py', 'test_docs.py', 'test_browser.py', 'test_export.py']

def pytest_collection_modifyitems(config, items):
    rank = {n: i for i, n in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda it: rank.get(it.path.name, len(rank)))   # stable: a file's tests keep their order
