"""Why TRADES's APGD-CE + T headline overclaims on MNIST at eps 0.3 (issue 33, 2026-12-07). On a model kept by
`python benchmarks/mnist.py --methods trades --seeds 0 --epochs 15 --warmup 5 --aa-n 500 --save /tmp/trades/models --out /tmp/trades/rows.jsonl`
(its row holds which test images survived APGD-CE + T), attack the first `--n` of those survivors with FAB-T alone and with
Square alone (5,000 and 1,000 queries), then run the report's masking checks on `--report-n` test images.
Usage: python benchmarks/trades_masking.py [--model /tmp/trades/models/trades-seed0] [--rows /tmp/trades/rows.jsonl] [--seed 0] [--n 160] [--report-n 100]"""
import argparse, json, time
import numpy as np, torch
from mnist import data, load_saved, EPS
from sftnb.adversarial import fab, square, model_logits
from sftnb.evaluate import robustness_report

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='/tmp/trades/models/trades-seed0'); ap.add_argument('--rows', default='/tmp/trades/rows.jsonl')
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--n', type=int, default=160); ap.add_argument('--report-n', type=int, default=100)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    model, dls = load_saved(a.model), data(a.seed)
    row = json.loads(open(a.rows).read().splitlines()[-1])   # the last run recorded there: its per-image APGD-CE + T survival
    x, y = (torch.cat(t) for t in zip(*[(xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor)) for xb, yb in dls.test]))
    idx = np.flatnonzero(np.array(row['apgd_bits'], bool))[:a.n]
    xs, ys = x[idx], y[idx]
    def survive(attack, **kw):
        "Per survivor: still classified correctly after `attack` alone (batches of 64)?"
        return torch.cat([model_logits(model, attack(model, xs[i:i + 64], ys[i:i + 64], EPS, **kw)).argmax(1) == ys[i:i + 64] for i in range(0, len(idx), 64)])
    for name, attack, kw in (('FAB-T', fab, dict(steps=100)), ('Square-5000', square, dict(queries=5000)), ('Square-1000', square, dict(queries=1000))):
        t = time.time(); ok = survive(attack, **kw)
        print(f'{name} on {len(idx)} APGD-CE+T survivors: {int(ok.sum())} survive, {time.time() - t:.0f}s', flush=True)
    with torch.no_grad(): top2 = model_logits(model, xs).topk(2, 1).values
    print('median margin between the top two logits', float((top2[:, 0] - top2[:, 1]).median()))
    t = time.time()
    r = robustness_report(model, dls.test, attack='apgd', eps=[EPS], corruptions=None, progress=False, seed=a.seed, n_max=a.report_n, checks=True)
    print(f"report on {a.report_n}: APGD-CE+T {r['adversarial']['accuracy'][0]:.3f}, suspicious {r['suspicious']}, checks {json.dumps(r['checks'])}, {time.time() - t:.0f}s", flush=True)
