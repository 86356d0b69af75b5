"README.md is generated from nbs/index.ipynb, and its set-up commands are the ones CI runs."
import subprocess, sys
from conftest import ROOT

def test_readme_in_sync_with_index():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT/'README.md').read_text(), (ROOT/'.ci'/'run').read_text()
    cmd = [l for l in ci.splitlines() if l.startswith('python3 -m venv')]
    assert len(cmd) == 1 and cmd[0] in readme, cmd
    assert 'sftnb run nbs/tutorials/01_robust_finetune.ipynb' in readme
