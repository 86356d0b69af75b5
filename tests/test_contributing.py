"CONTRIBUTING.md's recipes work as written: each `# recipe:` code block runs in a fresh process after a short setup."
import re, subprocess, sys, textwrap
import pytest
from conftest import ROOT

SETUP = '''
from fastai.vision.all import accuracy
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
from sftnb.finetune import sft_learner
set_seed(0)
dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', num_workers=0)
learn = sft_learner(dls, 'digits_cnn', metrics=accuracy)
with learn.no_bar(), learn.no_logging(): learn.fine_tune(1, 1e-2)
learn.remove_cbs(learn.cbs.filter(lambda c: type(c).__name__ == 'ProgressCallback'))
'''

def recipes() -> dict:
    "name -> code of every ```python block of CONTRIBUTING.md whose first line is `# recipe: <name>`."
    blocks = re.findall(r'```python\n(.*?)```', (ROOT/'CONTRIBUTING.md').read_text(), flags=re.S)
    return {b.splitlines()[0].split(':', 1)[1].strip(): b for b in blocks if b.startswith('# recipe:')}

def test_contributing_has_the_recipes():
    assert list(recipes()) == ['an attack', 'a corruption', 'an adversarial-training method', 'a report section', 'a command']

def test_every_recipe_runs(tmp_path):
    "All recipes in one process (one setup), each in its own namespace, so a recipe cannot lean on another's names."
    script = SETUP + '\nimport copy\nbase = dict(globals())\n' + ''.join(
        f"\nprint('recipe:', {name!r}, flush=True)\nexec(compile({code!r}, {name!r}, 'exec'), dict(base))\n" for name, code in recipes().items())
    r = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])
    assert r.stdout.count('recipe:') == 5
