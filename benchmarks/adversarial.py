"""Adversarial training on the embedded digits: robustness reached and cost (issue: adversarial attacks and training).

Trains the same small network (`digits_cnn`, 10 classes, 32 px, from scratch; 10 epochs, Adam one-cycle 3e-3, batch 64)
with no defence, FGSM-RS, N-FGSM (+ OverfitGuard), PGD-7 and TRADES (10 steps, beta 6) at eps 0.1, then reports clean
accuracy and PGD-20 accuracy (alpha eps/4, 1 restart) on the test split at eps 0.05, 0.1, 0.2, and each method's
training time as a ratio to clean training measured in the same run. With --aa-n N (default 60), also standard AutoAttack
(APGD-CE, APGD-T, FAB-T, Square 5,000 queries; `sftnb.evaluate.autoattack`) at eps 0.1 on a seeded subset of N test images,
next to PGD-20 on the same images, with Wilson intervals: the gap is how much PGD-20 overstates robustness. Also: throughput of `pgd` against a bare PyTorch
PGD loop doing the same steps on the same model and batch.
With --bn-modes eval,train, each adversarial method is trained twice: attacks generated with the model in eval mode
(BatchNorm running statistics, sftnb's default) and in train mode (batch statistics); --seeds repeats every run.
Usage: python benchmarks/adversarial.py [--epochs 10] [--methods none,fgsm_rs,nfgsm+guard,pgd,trades] [--guard-n 128] [--aa-n 60]
       [--bn-modes method] [--seeds 0] [--no-throughput]"""
import argparse, time
import torch, torch.nn.functional as F
from fastai.vision.all import Learner, accuracy, Normalize, imagenet_stats
import fastai.callback.schedule, fastai.callback.progress
from sftnb.core import set_seed, get_device
from sftnb.data import digits_folder, image_dls
from sftnb.models import digits_cnn
from sftnb.data import norm_stats
from sftnb.core import wilson_interval
from sftnb.adversarial import AdversarialTraining, OverfitGuard, robust_accuracy, pgd
from sftnb.evaluate import autoattack

def bare_pgd(model, x, y, eps, alpha, steps, mean, std):
    "PGD written out plainly (torchattacks style) for the throughput comparison."
    p = x * std + mean
    a = (p + torch.empty_like(p).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        a.requires_grad_(True)
        loss = F.cross_entropy(model((a - mean) / std), y, reduction='sum')
        g, = torch.autograd.grad(loss, a)
        a = (p + (a.detach() + alpha * g.sign() - p).clamp(-eps, eps)).clamp(0, 1)
    return (a - mean) / std

def survivors(attack, model, x, y, bs=64):
    "Per-image survival of `attack(model, xb, yb)` over batches."
    out = []
    for i in range(0, len(x), bs):
        xa = attack(model, x[i:i + bs], y[i:i + bs])
        with torch.no_grad(): out.append(model(xa).argmax(1) == y[i:i + bs])
    return torch.cat(out)

def aa_vs_pgd(model, x, y, mean, std, eps=0.1):
    "AutoAttack (standard) and PGD-20 on the same images: (per-image survival under PGD-20, under AutoAttack, seconds of AutoAttack)."
    set_seed(1)
    p = survivors(lambda m, a, b: pgd(m, a, b, eps, alpha=eps / 4, steps=20, mean=mean, std=std), model, x, y)
    t0 = time.perf_counter()
    set_seed(1)
    a = survivors(lambda m, a_, b: autoattack(m, a_, b, eps, mean=mean, std=std), model, x, y)
    return p, a, time.perf_counter() - t0

def main(epochs=10, methods=('none', 'fgsm_rs', 'nfgsm+guard', 'pgd', 'trades'), guard_n=128, aa_n=60, bn_modes=('method',), seeds=(0,), throughput=True):
    set_seed(0)   # before the DataLoaders: fastai draws their shuffling seed when they are made
    dls = image_dls(digits_folder(), test='test', bs=64, num_workers=0, batch_tfms=Normalize.from_stats(*imagenet_stats))
    mean, std = norm_stats(dls)
    X = torch.cat([x for x, _ in dls.test]).as_subclass(torch.Tensor); Y = torch.cat([y for _, y in dls.test]).as_subclass(torch.Tensor)
    rows, base = [], None
    print(f"device {get_device()}; {len(dls.train_ds)} training images, {len(X)} test images; eps 0.1; {epochs} epochs")
    runs = [(m, bn, sd) for m in methods for bn in (('method',) if m == 'none' else bn_modes) for sd in seeds]
    for m, bn, sd in runs:
        set_seed(sd)
        cbs = [] if m == 'none' else [AdversarialTraining(m.replace('+guard', ''), eps=0.1, train_mode={'eval': False, 'train': True, 'method': None}[bn])]
        if m.endswith('+guard'): cbs.append(OverfitGuard(n=guard_n))
        learn = Learner(dls, digits_cnn(n_out=10), metrics=accuracy, cbs=cbs)
        t0 = time.perf_counter()
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 3e-3)
        secs = time.perf_counter() - t0
        base = base or secs   # the first run's time (clean training when 'none' comes first)
        learn.model.eval()
        with torch.no_grad(): clean = float((learn.model(X).argmax(1) == Y).float().mean())
        rob = {e: robust_accuracy(learn.model, X, Y, e, steps=20, alpha=e / 4, mean=mean, std=std) for e in (0.05, 0.1, 0.2)}
        rows.append((m, clean, rob, secs))
        guard = next((c for c in cbs if isinstance(c, OverfitGuard)), None)
        print(f"  {m:12s} attacks in {bn} mode, seed {sd}:  clean {clean:.3f}  PGD-20 @0.05 {rob[0.05]:.3f}  @0.1 {rob[0.1]:.3f}  @0.2 {rob[0.2]:.3f}  "
              f"time {secs:6.1f} s = {secs / base:.2f}x clean" + (f"  guard collapses {guard.collapses}" if guard else ''), flush=True)
        if aa_n:
            idx = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))[:aa_n].sort().values
            p, a, aa_s = aa_vs_pgd(learn.model, X[idx], Y[idx], mean, std)
            ci = lambda s: '[{:.2f}, {:.2f}]'.format(*wilson_interval(int(s.sum()), len(s)))
            print(f"  {'':12s} on {len(idx)} test images at eps 0.1: PGD-20 {p.float().mean():.3f} {ci(p)}  AutoAttack {a.float().mean():.3f} {ci(a)}  "
                  f"gap {float(p.float().mean() - a.float().mean()):.3f}  (AutoAttack {aa_s:.0f} s; {int((p & ~a).sum())} images survive PGD-20 but not AutoAttack, "
                  f"{int((a & ~p).sum())} the reverse)", flush=True)
    if not throughput: return
    model = rows and learn.model
    x, y = X[:128], Y[:128]
    m4, s4 = mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1)
    for f in (lambda: pgd(model, x, y, 0.1, alpha=0.025, steps=10, mean=mean, std=std), lambda: bare_pgd(model, x, y, 0.1, 0.025, 10, m4, s4)): f()
    t = {}
    for name, f in (('sftnb pgd', lambda: pgd(model, x, y, 0.1, alpha=0.025, steps=10, mean=mean, std=std)),
                    ('bare loop', lambda: bare_pgd(model, x, y, 0.1, 0.025, 10, m4, s4))):
        t0 = time.perf_counter()
        for _ in range(5): f()
        t[name] = (time.perf_counter() - t0) / 5
    print(f"pgd throughput, 10 steps on 128 images: sftnb {128 / t['sftnb pgd']:.0f} img/s, bare loop {128 / t['bare loop']:.0f} img/s, "
          f"ratio {t['bare loop'] / t['sftnb pgd']:.2f} (target >= 0.90)")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--methods', default='none,fgsm_rs,nfgsm+guard,pgd,trades')
    p.add_argument('--guard-n', type=int, default=128, help='validation images in the guard\'s fixed batch')
    p.add_argument('--aa-n', type=int, default=60, help='test images for AutoAttack vs PGD-20 (0: skip)')
    p.add_argument('--bn-modes', default='method', help="model mode while attacks are generated: 'method' (AdversarialTraining's default: as the method's reference code), 'eval', 'train', or a comma list")
    p.add_argument('--seeds', default='0', help='comma-separated seeds; every configuration is trained once per seed')
    p.add_argument('--no-throughput', action='store_true', help='skip the pgd throughput comparison')
    a = p.parse_args()
    main(a.epochs, tuple(a.methods.split(',')), a.guard_n, a.aa_n, tuple(a.bn_modes.split(',')), tuple(map(int, a.seeds.split(','))), not a.no_throughput)
