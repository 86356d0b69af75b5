"""Write README.md from nbs/index.ipynb (markdown cells as they are, code cells as Python blocks).

`nbdev-readme` does this where Quarto is installed; this offline version keeps the two in sync here,
and tests/test_docs.py checks that they are.  Usage: python tools/readme.py [--check]"""
import sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parents[1]

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    nb = nbformat.read(nb_path, as_version=4)
    parts = []
    for c in nb.cells:
        src = c.source.strip()
        if not src or src.startswith('#| hide'): continue
        parts.append(src if c.cell_type == 'markdown' else f'```python\n{src}\n```')
    head = '<!-- generated from nbs/index.ipynb by tools/readme.py (or nbdev-readme): edit the notebook, not this file -->\n\n'
    return head + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        sys.exit(0 if readme.read_text() == text else 'README.md is out of date: run python tools/readme.py')
    readme.write_text(text)
    print(f'wrote {readme}')
