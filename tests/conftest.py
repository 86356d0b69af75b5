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
