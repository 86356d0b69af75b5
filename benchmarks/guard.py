"""OverfitGuard: false alarms on healthy runs, and detection of a real collapse (issue: the test command fails on a fresh machine).

(a) False alarms. Tutorial 02's recipe — digits 5-9 fine-tuned from the offline backbone, whole network, one-cycle 3e-3,
    bs 64, eps 0.1, 3 epochs — for N-FGSM and FGSM-RS over several seeds. Each epoch the guard checks its 128 fixed
    validation images; on the same models the script also applies the previous rule (PGD-10 accuracy on the first 64
    validation images below half of its best), to count what it would have stopped. The guard runs with action='lower';
    a detection on these runs is a false alarm (none of them collapses: their test PGD-10 accuracy is printed).
(b) Detection. A run that really collapses: plain FGSM training (no random start, step 2*eps) of `digits_cnn` from scratch
    on the 10 digits at eps `--collapse-eps`, constant Adam `--collapse-lr`, observed by the guard with action='stop'
    ... see `collapse_run`. Printed: the guard's history and the epoch it stopped at.
Usage: python benchmarks/guard.py [--seeds 0,1,2,3,4] [--methods nfgsm,fgsm_rs] [--epochs 3] [--steps 5] [--bn-mode method|eval|train] [--skip-collapse]
The backbone is the one in $SFTNB_CACHE (see pretrained_source); run with another cache to vary it."""
import argparse, time
import pandas as pd, torch
from fastai.vision.all import Learner, accuracy, Normalize, imagenet_stats, Callback
import fastai.callback.schedule, fastai.callback.progress
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
from sftnb.models import digits_cnn, pretrained_source
from sftnb.finetune import sft_learner
from sftnb.data import norm_stats
from sftnb.adversarial import AdversarialTraining, OverfitGuard, robust_accuracy, fgsm, pgd, rng_kept

class WithOldRule(OverfitGuard):
    "The guard, also recording the previous rule's statistic: PGD-10 accuracy on the first 64 validation images."
    def before_fit(self):
        super().before_fit()
        xs, ys = zip(*[(x, y) for x, y in self.dls.valid])
        self.x64, self.y64 = torch.cat(xs)[:64].as_subclass(torch.Tensor), torch.cat(ys)[:64].as_subclass(torch.Tensor)
        self.old_best, self.old_stop = -1.0, None
    def check(self):
        with rng_kept(self.x64.device):
            r64 = robust_accuracy(self.model, self.x64, self.y64, self.eps, steps=10, **self.norm_kw)
            r128_10 = robust_accuracy(self.model, self.fixed_x, self.fixed_y, self.eps, steps=10, **self.norm_kw)   # the guard's images, PGD-10
        if self.old_stop is None and not any(h['action'] for h in self.history):  # the old rule, on the same (untouched) models
            if r64 > self.old_best: self.old_best = r64
            elif r64 < 0.5 * self.old_best: self.old_stop = self.epoch
        super().check()
        self.history[-1]['old_pgd64'], self.history[-1]['pgd10'] = r64, r128_10

def test_metrics(model, X, Y, eps, norm):
    model.eval()
    with torch.no_grad(): clean = float((model(X).argmax(1) == Y).float().mean())
    rob = robust_accuracy(model, X, Y, eps, steps=10, **norm)
    xa = fgsm(model, X, Y, eps, **norm)
    with torch.no_grad(): fg = float((model(xa).argmax(1) == Y).float().mean())
    return clean, rob, fg

def healthy_runs(seeds, methods, epochs, eps=0.1, steps=None, train_mode=None):
    steps = steps or OverfitGuard().steps
    print(f"(a) tutorial 02 recipe, eps {eps}, {epochs} epochs; guard PGD-{steps}; attacks generated in {'the method default' if train_mode is None else 'train' if train_mode else 'eval'} mode; "
          f"backbone {pretrained_source(verbose=False).name}; torch threads {torch.get_num_threads()}")
    rows = []
    for seed in seeds:
        set_seed(seed)
        dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', bs=64, num_workers=0)
        sft_learner(dls, 'digits_cnn')
        X = torch.cat([x for x, _ in dls.test]).as_subclass(torch.Tensor); Y = torch.cat([y for _, y in dls.test]).as_subclass(torch.Tensor)
        mean, std = norm_stats(dls); norm = dict(mean=mean, std=std)
        for m in methods:
            set_seed(seed)
            learn = sft_learner(dls, 'digits_cnn', metrics=accuracy)
            g = WithOldRule(steps=steps)
            learn.add_cbs([AdversarialTraining(m, eps=eps, train_mode=train_mode), g])
            learn.unfreeze()
            t0 = time.perf_counter()
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 3e-3)
            secs = time.perf_counter() - t0
            clean, rob, fg = test_metrics(learn.model, X, Y, eps, norm)
            h = pd.DataFrame(g.history)
            rows.append(dict(seed=seed, method=m, new_detections=g.collapses, old_rule_stop_epoch=g.old_stop,
                             pgd_by_epoch=' '.join(f'{v:.2f}' for v in h.pgd_acc), pgd10_by_epoch=' '.join(f'{v:.2f}' for v in h.pgd10), fgsm_by_epoch=' '.join(f'{v:.2f}' for v in h.fgsm_acc),
                             old64_by_epoch=' '.join(f'{v:.2f}' for v in h.old_pgd64), test_clean=clean, test_pgd10=rob, test_fgsm=fg, train_s=secs))
            print('  ' + ' | '.join(f'{k} {v:.3f}' if isinstance(v, float) else f'{k} {v}' for k, v in rows[-1].items()), flush=True)
    t = pd.DataFrame(rows)
    for m, d in t.groupby('method', sort=False):
        print(f"  {m}: {len(d)} runs; guard detections {int((d.new_detections > 0).sum())}; previous rule would have stopped "
              f"{int(d.old_rule_stop_epoch.notna().sum())}; test PGD-10 min {d.test_pgd10.min():.3f} median {d.test_pgd10.median():.3f}")
    return t

class FGSMTraining(Callback):
    "Plain FGSM training (Goodfellow et al. 2015): no random start, step `alpha`; the recipe known to overfit catastrophically."
    order = AdversarialTraining.order
    def __init__(self, eps, alpha): self.eps, self.alpha = eps, alpha
    def before_fit(self): self.norm = dict(zip(('mean', 'std'), norm_stats(self.dls)))
    def before_batch(self):
        if self.training: self.learn.xb = (pgd(self.model, self.xb[0], self.yb[0], self.eps, alpha=self.alpha, steps=1, random_start=False, **self.norm),)

def collapse_run(eps, alpha_mult, lr, epochs, seed=0):
    print(f"(b) plain FGSM training, eps {eps}, step {alpha_mult}*eps, constant lr {lr}, {epochs} epochs, digits_cnn from scratch, 10 classes")
    set_seed(seed)
    dls = image_dls(digits_folder(), bs=64, num_workers=0, batch_tfms=Normalize.from_stats(*imagenet_stats))
    g = OverfitGuard(eps=eps, action='stop')
    learn = Learner(dls, digits_cnn(n_out=10), metrics=accuracy, cbs=[FGSMTraining(eps, alpha_mult * eps), g])
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs, lr)
    h = pd.DataFrame(g.history)
    print(h.round(3).to_string())
    print(f"  guard detections: {g.collapses} (stopped at epoch {h.epoch[h.action.notna()].tolist()})")
    return h

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', default='0,1,2,3,4')
    p.add_argument('--methods', default='nfgsm,fgsm_rs')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--steps', type=int, default=None, help="the guard's PGD steps (default: OverfitGuard's)")
    p.add_argument('--bn-mode', default='method', choices=('method', 'eval', 'train'), help="BatchNorm mode while training attacks are generated ('method': AdversarialTraining's default)")
    p.add_argument('--skip-collapse', action='store_true')
    p.add_argument('--skip-healthy', action='store_true')
    p.add_argument('--collapse-eps', type=float, default=0.2)
    p.add_argument('--collapse-step', type=float, default=2.0)
    p.add_argument('--collapse-lr', type=float, default=3e-3)
    p.add_argument('--collapse-epochs', type=int, default=10)
    a = p.parse_args()
    if not a.skip_healthy: healthy_runs([int(s) for s in a.seeds.split(',')], a.methods.split(','), a.epochs, steps=a.steps, train_mode={'method': None, 'eval': False, 'train': True}[a.bn_mode])
    if not a.skip_collapse: collapse_run(a.collapse_eps, a.collapse_step, a.collapse_lr, a.collapse_epochs)
