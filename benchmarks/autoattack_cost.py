"""What standard AutoAttack costs on a fine-tuned model, and where the time goes (issue 14: AutoAttack in the main job's 2 minutes?).

Loads `learner.pkl` from a run folder of the main job (`sftnb run nbs/tutorials/01_robust_finetune.ipynb --out RUN`),
takes a seeded subset of its test split (as `robustness_report(n_max=N, seed=SEED)` does) and runs AutoAttack's four
attacks one after the other, as `sftnb.evaluate.autoattack` chains them (APGD-CE, APGD-T, FAB-T, Square with 5,000
queries; each on the images the earlier ones left), at eps 0.1 in batches of 64. For each attack it prints its time,
the images it attacked, and how many images went through the model with and without gradients (counted by a forward
hook). It also measures the model's own cost per image (forward; forward + input gradient) on a batch of 64, and so
prints the ratio of each attack's measured time to the time those model passes alone take: near 1 means the attack
is the model's compute, which no rewrite of the attack removes.
Last, it extrapolates to the whole test split and prints the ratio to the main job's 2-minute budget.
Usage: python benchmarks/autoattack_cost.py RUN [--n 100] [--eps 0.1] [--seed 42]"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch
from fastai.vision.all import load_learner, Normalize
from sftnb.core import set_seed, wilson_interval
from sftnb.data import digits_folder, image_dls, norm_kwargs, TARGET_CLASSES
from sftnb.evaluate import EvalItems
from sftnb.adversarial import apgd, fab, square

def per_image_cost(model, x, reps=10):
    "Seconds per image of a forward pass without gradients, and of a forward pass + input gradient, on the batch `x`."
    def timed(f):
        for _ in range(2): f()
        t = time.perf_counter()
        for _ in range(reps): f()
        return (time.perf_counter() - t) / reps / len(x)
    with torch.no_grad(): fwd = timed(lambda: model(x))
    xg = x.clone().requires_grad_(True)
    return fwd, timed(lambda: torch.autograd.grad(model(xg).sum(), xg))

def main(run, n=100, eps=0.1, seed=42, bs=64):
    run = Path(run)
    params = json.loads((run/'metrics.json').read_text())['params']
    learn = load_learner(run/'learner.pkl')
    model = learn.model.eval()
    path = digits_folder(size=params['size']) if params['data_path'] is None else Path(params['data_path'])
    classes = params['classes'] or (TARGET_CLASSES if params['data_path'] is None else None)
    dls = image_dls(path, classes=classes, test='test', size=params['size'], bs=bs, num_workers=0)
    dls.add_tfms([t for t in learn.dls.after_batch.fs if isinstance(t, Normalize)], 'after_batch')   # the run's normalization
    dl, nk = dls.test, norm_kwargs(dls.test)
    n_total = len(dl.dataset)
    idxs = np.arange(n_total) if n >= n_total else np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))
    xs, ys = zip(*EvalItems(dl, idxs.tolist(), 'cpu').batches())
    X = torch.cat([x.as_subclass(torch.Tensor) for x in xs]); Y = torch.cat([y.as_subclass(torch.Tensor) for y in ys])
    fwd, fwdbwd = per_image_cost(model, X[:bs])
    print(f"run {run}; {len(X)} of {n_total} test images; eps {eps}; torch threads {torch.get_num_threads()}")
    print(f"model cost per image (batch {bs}): forward {fwd * 1e3:.3f} ms, forward + input gradient {fwdbwd * 1e3:.3f} ms")
    count = {'grad': 0, 'nograd': 0}
    def hook(m, inp, out): count['grad' if torch.is_grad_enabled() and inp[0].requires_grad else 'nograd'] += len(inp[0])
    handle = model.register_forward_hook(hook)
    with torch.no_grad(): alive = int((model(X).argmax(1) == Y).sum())
    set_seed(seed)
    steps = [('APGD-CE', lambda x, y: apgd(model, x, y, eps, 'ce', 100, **nk)),
             ('APGD-T', lambda x, y: apgd(model, x, y, eps, 'dlr-t', 100, **nk)),
             ('FAB-T', lambda x, y: fab(model, x, y, eps, 100, **nk)),
             ('Square', lambda x, y: square(model, x, y, eps, 5000, **nk))]
    total = 0.
    print(f"{'attack':8} {'attacked':>8} {'left':>5} {'seconds':>8} {'s/image':>8} {'fwd/img':>8} {'grad/img':>8} {'measured / model passes':>24}")
    for name, attack in steps:
        count.update(grad=0, nograd=0)
        t = time.perf_counter()
        X = torch.cat([attack(X[i:i + bs], Y[i:i + bs]) for i in range(0, len(X), bs)])
        sec = time.perf_counter() - t; total += sec
        attacked = alive
        with torch.no_grad(): ok = model(X).argmax(1) == Y
        alive = int(ok.sum())
        passes = count['nograd'] * fwd + count['grad'] * fwdbwd
        print(f"{name:8} {attacked:8d} {alive:5d} {sec:8.1f} {sec / max(attacked, 1):8.2f} {count['nograd'] / max(attacked, 1):8.0f} "
              f"{count['grad'] / max(attacked, 1):8.0f} {sec / passes:24.2f}")
    handle.remove()
    lo, hi = wilson_interval(alive, len(Y))
    whole = total / len(Y) * n_total
    print(f"AutoAttack accuracy at eps {eps}: {alive / len(Y):.3f} [{lo:.2f}, {hi:.2f}] on {len(Y)} images, {total:.0f} s in all "
          f"({total / len(Y):.2f} s per image)")
    print(f"extrapolated to all {n_total} test images: {whole:.0f} s = {whole / 120:.1f} x the main job's 2-minute budget, before training")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('run'); ap.add_argument('--n', type=int, default=100); ap.add_argument('--eps', type=float, default=0.1)
    ap.add_argument('--seed', type=int, default=42)
    a = ap.parse_args()
    main(a.run, a.n, a.eps, a.seed)
