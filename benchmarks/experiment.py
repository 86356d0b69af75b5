"""Experiment machinery overhead and sweep parallelism (issue: experiments at scale).

Prints, measured in one run:
  (a) the fixed overhead of running a notebook that does almost nothing through `run` (API) and `sftnb run` (CLI),
      against running the same code in-process (target: under 3 s);
  (b) the speed-up of a 4-run sweep of CPU-bound notebooks with workers=2 over workers=1 (target: >= 1.7x on 2 cores).
      CPU-bound here is pure-Python work (one core per kernel); `--tutorial` sweeps the tutorial itself instead.
Usage: python benchmarks/experiment.py [--tutorial]"""
import argparse, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import nbformat
from nbformat.v4 import new_notebook, new_code_cell
from sftnb.experiment import run
from sftnb.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]

def make_nb(path, code, params="x = 1\nout_dir = None"):
    nb = new_notebook(cells=[new_code_cell(params, metadata={'tags': ['parameters']}), new_code_cell(code)])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'python3', 'language': 'python'}
    nbformat.write(nb, path)
    return path

WORK = """from sftnb.experiment import run_folder, record
run_folder(out_dir)
import time
t0 = time.process_time(); s = 0
for i in range(12_000_000): s += i % 7
record(cpu_s=time.process_time() - t0, status='finished')"""

def main(tutorial=False):
    tmp = Path(tempfile.mkdtemp())
    try:
        trivial = make_nb(tmp/'trivial.ipynb', "y = x + 1")
        t0 = time.perf_counter(); exec("x = 1\ny = x + 1", {}); inproc = time.perf_counter() - t0
        run(trivial, out=tmp/'warm', progress=False)                      # warm caches once
        api = []
        for i in range(3):
            t0 = time.perf_counter(); run(trivial, out=tmp/f'api{i}', progress=False); api.append(time.perf_counter() - t0)
        cli = []
        for i in range(3):
            t0 = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent/'sftnb'), 'run', str(trivial), '--out', str(tmp/f'cli{i}'), '--no-progress'],
                           check=True, capture_output=True)
            cli.append(time.perf_counter() - t0)
        print(f"(a) in-process exec of the notebook's code : {inproc * 1000:.3f} ms")
        print(f"    run() through papermill (API)         : median {sorted(api)[1]:.2f} s  (runs {', '.join(f'{t:.2f}' for t in api)})  target < 3 s")
        print(f"    `sftnb run` command (CLI, new process) : median {sorted(cli)[1]:.2f} s  (runs {', '.join(f'{t:.2f}' for t in cli)})")

        if tutorial:
            nb, grid = ROOT/'nbs'/'tutorials'/'01_robust_finetune.ipynb', {'lr': [0.005, 0.01], 'aug': ['none', 'light'], 'epochs': [1], 'corruptions': ['']}
        else:
            nb, grid = make_nb(tmp/'cpu.ipynb', WORK), {'x': [1, 2, 3, 4]}
        times = {}
        for w in (1, 2):
            t0 = time.perf_counter()
            table = sweep(nb, grid, tmp/f'sweep{w}', workers=w, progress=False)
            times[w] = time.perf_counter() - t0
            assert (table.status == 'done').all(), table
        print(f"(b) 4-run sweep of {'the tutorial (1 epoch)' if tutorial else 'CPU-bound notebooks'}: workers=1 {times[1]:.1f} s, "
              f"workers=2 {times[2]:.1f} s, speed-up {times[1] / times[2]:.2f}x  (target >= 1.7x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tutorial', action='store_true', help='sweep the tutorial notebook instead of a pure-Python workload')
    main(p.parse_args().tutorial)
