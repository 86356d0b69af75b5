"""Does the report's black-box masking check (Square, 1,000 queries, on a seeded sample of the images the
headline attack left) tell masking from robustness on MNIST at eps 0.3? (issue 33, 2026-12-07.) On models kept by
`python benchmarks/mnist.py --save DIR` (one folder per METHOD-seedSEED), run the report as a user would --
`robustness_report(model, dls.test, attack='apgd', eps=[0.3], checks=True, n_max=N, seed=SEED)` -- and print, per model,
the APGD-CE + T headline, every check's verdict, the black-box check's figures and the time the report took.
With `--all-survivors`, also run Square (1,000 queries) on every image APGD-CE + T left, to see what the sample
estimates (the figures in RESULTS used a sample of 64; the default is now 32). Each model is one JSON line appended to `--out`.
Usage: python benchmarks/black_box_check.py --models DIR [--names trades-seed0,pgd-seed0] [--n 100] [--all-survivors] [--out /tmp/black_box.jsonl]"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch
from mnist import data, load_saved, EPS
from sftnb.evaluate import robustness_report, EvalItems, _black_box, _unbits
from sftnb.data import norm_kwargs

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', required=True); ap.add_argument('--names', default=None, help='comma-separated folders in --models; default all')
    ap.add_argument('--n', type=int, default=100); ap.add_argument('--all-survivors', action='store_true'); ap.add_argument('--out', default='/tmp/black_box.jsonl')
    a = ap.parse_args()
    names = a.names.split(',') if a.names else sorted(p.name for p in Path(a.models).iterdir() if p.is_dir())
    for name in names:
        seed = int(name.rsplit('seed', 1)[1].split('-')[0])
        model, dls = load_saved(Path(a.models)/name), data(seed)
        t0 = time.perf_counter()
        r = robustness_report(model, dls.test, attack='apgd', eps=[EPS], corruptions=None, progress=False, seed=seed, n_max=a.n, checks=True)
        row = dict(model=name, seed=seed, n=r['meta']['n'], clean=r['clean']['accuracy'], apgd=r['adversarial']['accuracy'][0], apgd_ci=r['adversarial']['accuracy_ci'][0],
                   suspicious=r['suspicious'], black_box=r['checks']['black_box'], report_s=time.perf_counter() - t0, torch_threads=torch.get_num_threads())
        if a.all_survivors:   # Square on every survivor, not a sample: what the sample estimates
            items = EvalItems(dls.test, np.arange(len(dls.test.dataset))); items.seed = seed
            alive = _unbits(r['adversarial']['correct'][0]) == 1 if r['meta']['n'] == len(items) else None
            if alive is not None:
                t1 = time.perf_counter()
                row['all_survivors'] = _black_box(model, items, len(r.classes), EPS, row['apgd'], alive, norm_kwargs(dls.test), int(alive.sum()), 1000) | {'s': time.perf_counter() - t1}
        with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')
        print(json.dumps(row), flush=True)
