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

# The longest tests first, so that with `pytest -n 2 --dist loadfile` (tools/test.sh) the longest files start first
# and the two workers finish together (a file's tests stay together on one worker, sharing its fixtures).
LONGEST_FIRST = ['test_sweep_tutorial_defaults', 'test_adversarial_tutorial_defaults', 'test_sftnb_run_tutorial_defaults',
                 'test_plain_papermill_runs_the_tutorial', 'test_mismatched_baseline_is_refused_before_training',
                 'test_own_data_tutorial_defaults', 'test_sweep_tutorial_on_a_dask_cluster', 'test_own_data_tutorial_csv_class_weights_local_resnet',
                 'test_adversarial_tutorial_other_parameters', 'test_aug_explorer_slider_updates_the_image', 'test_export_and_load_learner_in_fresh_process',
                 'test_offline_docs_build_links_and_api']

def pytest_collection_modifyitems(config, items):
    rank = {n: i for i, n in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda it: rank.get(getattr(it, 'originalname', it.name), len(rank)))
