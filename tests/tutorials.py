"Running a tutorial with the papermill command line, for the test_tutorial_*.py files."
import json, os, subprocess
import pandas as pd, pytest
from conftest import ROOT

TUT = ROOT/'nbs'/'tutorials'

def papermill(papermill_bin, name, out, **params):
    "Run tutorial `name` with plain papermill (kernel python3, in the tutorials folder) into `out`; return its metrics.json."
    out.mkdir(parents=True, exist_ok=True)
    args = [papermill_bin, TUT/name, out/name, '-k', 'python3', '--cwd', TUT, '-p', 'out_dir', out]
    for k, v in params.items(): args += ['-p', k, v]
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    assert m['status'] == 'finished' and (out/'results.png').stat().st_size > 1000
    return m

