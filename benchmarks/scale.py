"""How the cost of robust fine-tuning grows with image size (issue 34): torchvision `resnet18` at 64, 128 and 224 px.

Part 1, training steps: a fastai `Learner` on torchvision's `resnet18` (random weights: cost does not depend on them; 10
outputs) takes optimizer steps (Adam) on batches of random images in [0, 1], plainly and under sftnb's
`AdversarialTraining` callbacks FGSM-RS, N-FGSM and PGD-10 (eps 8/255, the methods' default steps otherwise). Each step
is timed from fastai's `before_batch` to `after_batch`; the median of `--steps` steps after `--warm` untimed ones is
reported, with its ratio to the clean step measured in the same run. The floors the methods cannot beat are one extra
forward-backward pass per attack step: about 2x (FGSM-RS, N-FGSM) and 11x (PGD-10) a clean step.

Part 2, the report's per-image cost against n: `robustness_report` (PGD-10 at eps 8/255, one corruption at one
severity, no masking checks) of the same network at 64 px on n = 32, 64, 128 embedded digits images (real image files,
resized), in batches of 32: seconds per image for each n (a report is linear in n once its fixed costs are paid).

Run it alone on the machine: runs beside it time each other.
Usage: python benchmarks/scale.py [--sizes 64,128,224] [--bs 16] [--steps 3] [--warm 1] [--report-n 32,64,128] [--out /tmp/scale.jsonl] [--table]
"""
import argparse, json, statistics, time
from pathlib import Path
import torch, torchvision
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.callback.core import Callback
from sftnb.adversarial import AdversarialTraining

EPS = 8 / 255
METHODS = (('clean', None, {}), ('fgsm_rs', 'fgsm_rs', {}), ('nfgsm', 'nfgsm', {}), ('pgd10', 'pgd', {'steps': 10}))   # name, sftnb method, its arguments

class StepTimer(Callback):
    "Wall time of each training step (batch in, weights updated)."
    order = -100   # before every other callback's before_batch: the attack's time counts
    def before_fit(self): self.times = []
    def before_batch(self): self.t0 = time.perf_counter()
    def after_batch(self):
        if self.training: self.times.append(time.perf_counter() - self.t0)   # not the validation batches

def step_costs(size, bs, steps, warm, seed=0):
    "Median seconds per training step of resnet18 at `size` px, clean and under each method."
    torch.manual_seed(seed)
    n = bs * (steps + warm)
    xy = list(zip(torch.rand(n, 3, size, size), torch.randint(0, 10, (n,))))
    out = {}
    for name, method, kw in METHODS:
        dls = DataLoaders(DataLoader(xy, bs=bs), DataLoader(xy[:bs], bs=bs))
        timer = StepTimer()
        cbs = [timer] + ([] if method is None else [AdversarialTraining(method, eps=EPS, mean=torch.zeros(1, 3, 1, 1), std=torch.ones(1, 3, 1, 1), **kw)])   # images in [0, 1], not normalized
        learn = Learner(dls, torchvision.models.resnet18(num_classes=10), loss_func=torch.nn.CrossEntropyLoss(), cbs=cbs)
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
        out[name] = statistics.median(timer.times[warm:])
    return out

def report_costs(ns, size=64, seed=0):
    "Seconds per image of a robustness report (PGD-10, one corruption, no checks) of resnet18 at `size` px, for each n."
    from fastai.vision.all import accuracy
    from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
    from sftnb.evaluate import robustness_report
    torch.manual_seed(seed)
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', size=size, bs=32, num_workers=0)
    learn = Learner(dls, torchvision.models.resnet18(num_classes=len(dls.vocab)), loss_func=torch.nn.CrossEntropyLoss(), metrics=accuracy)
    out = {}
    robustness_report(learn, eps=[0, EPS], attack='pgd', steps=10, checks=False, corruptions='gaussian_noise', severities=(3,), n_max=ns[0], seed=seed, progress=False)   # untimed: first-call costs
    for n in ns:
        t0 = time.perf_counter()
        robustness_report(learn, eps=[0, EPS], attack='pgd', steps=10, checks=False, corruptions='gaussian_noise', severities=(3,), n_max=n, seed=seed, progress=False)
        out[n] = (time.perf_counter() - t0) / n
    return out

def table(rows):
    print('| size (px) | batch | clean step s | FGSM-RS | N-FGSM | PGD-10 |\n|---|---|---|---|---|---|')
    for r in rows:
        if r['part'] != 'steps': continue
        c = r['s']['clean']
        print(f"| {r['size']} | {r['bs']} | {c:.3f} | " + ' | '.join(f"{r['s'][m]:.3f} s ({r['s'][m] / c:.2f}x)" for m in ('fgsm_rs', 'nfgsm', 'pgd10')) + ' |')
    for r in rows:
        if r['part'] == 'report':
            print(f"report at {r['size']} px (PGD-10 + 1 corruption): " + ', '.join(f"n={n}: {s:.3f} s/image" for n, s in r['s_per_image'].items()))

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='64,128,224'); ap.add_argument('--bs', type=int, default=16)
    ap.add_argument('--steps', type=int, default=3); ap.add_argument('--warm', type=int, default=1)
    ap.add_argument('--report-n', default='32,64,128'); ap.add_argument('--out', default='/tmp/scale.jsonl'); ap.add_argument('--table', action='store_true')
    a = ap.parse_args()
    if not a.table:
        meta = dict(threads=torch.get_num_threads(), torch=torch.__version__)
        for size in map(int, a.sizes.split(',')):
            row = dict(part='steps', size=size, bs=a.bs, steps=a.steps, s=step_costs(size, a.bs, a.steps, a.warm), **meta)
            with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')
            print(row, flush=True)
        if a.report_n:
            row = dict(part='report', size=64, s_per_image=report_costs([int(n) for n in a.report_n.split(',')]), **meta)
            with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')
            print(row, flush=True)
    table([json.loads(l) for l in open(a.out)])
