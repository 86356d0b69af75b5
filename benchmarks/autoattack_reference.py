"""sftnb's AutoAttack against the reference implementation, image for image, on a robust MNIST model at eps 0.3 (issue 33).

The reference is Croce & Hein's own code (github.com/fra31/auto-attack, not on the package registry): pass a checkout of it
with `--aa-src` (`git clone https://github.com/fra31/auto-attack`); it is imported from there for this benchmark only and
is never a dependency of sftnb. The model: a saved model folder (`sftnb.deploy.save_model`: model.json + model.pth) given
with `--model`, or, without one, a robust model trained here first with PGD-7 adversarial fine-tuning from the clean MNIST
backbone (`--epochs` 15, 5 of eps warm-up, lr 1e-3: the 15-epoch row of benchmarks/RESULTS.md's MNIST table), saved into
`--save` when given. Both implementations run standard AutoAttack (APGD-CE, APGD-T, FAB-T, Square 5,000 queries) at eps 0.3
(L-inf) on the same seeded `--n` test images of `mnist_folder()` (the subset `robustness_report(n_max=n, seed=seed)` takes):
the reference on the model with its normalization folded in ([0, 1] pixels, as it expects; its targeted attacks capped at
the classes there are, 4 for 5 classes, as sftnb caps them), sftnb through `robustness_report(attack='autoattack')`. Prints both robust accuracies with Wilson intervals, the per-image agreement,
the images where they differ, and both times.
Usage: python benchmarks/autoattack_reference.py --aa-src PATH [--model DIR | --save DIR] [--n 100] [--seed 0] [--epochs 15]"""
import argparse, sys, time
from pathlib import Path
import numpy as np, torch
from fastai.vision.all import accuracy, Normalize
from sftnb.core import set_seed, wilson_interval
from sftnb.data import mnist_folder, image_dls, TARGET_CLASSES
from sftnb.finetune import sft_learner
from sftnb.adversarial import AdversarialTraining
from sftnb.deploy import save_model, load_model, PixelModel, _stats
from sftnb.evaluate import robustness_report

EPS = 0.3

def robust_model(a):
    "(model, info): loaded from --model, or trained with the 15-epoch PGD-7 recipe (and saved to --save)."
    if a.model: return load_model(a.model)
    set_seed(a.seed)
    dls = image_dls(mnist_folder(), classes=TARGET_CLASSES, test='test', n_in=1, bs=64, num_workers=0)
    learn = sft_learner(dls, 'mnist_cnn', metrics=accuracy)
    learn.add_cb(AdversarialTraining('pgd', eps=EPS, warmup_epochs=a.epochs / 3))
    learn.unfreeze()
    t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 1e-3)
    print(f"trained PGD-7, {a.epochs} epochs, in {time.perf_counter() - t0:.0f} s", flush=True)
    folder = Path(a.save) if a.save else Path(__import__('tempfile').mkdtemp())
    return load_model(save_model(learn, folder))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--aa-src', required=True, help='a checkout of github.com/fra31/auto-attack (the folder holding autoattack/)')
    ap.add_argument('--model', help='a saved model folder (model.json + model.pth)'); ap.add_argument('--save', help='where to save the trained model')
    ap.add_argument('--n', type=int, default=100); ap.add_argument('--seed', type=int, default=0); ap.add_argument('--epochs', type=int, default=15)
    a = ap.parse_args()
    sys.path.insert(0, str(Path(a.aa_src).absolute()))
    from autoattack import AutoAttack   # the reference: imported from the checkout, for this benchmark only
    model, info = robust_model(a)
    mean, std = _stats(info['normalization'])
    dls = image_dls(mnist_folder(), classes=info['classes'], test='test', n_in=info['n_in'], bs=64, num_workers=0,
                    batch_tfms=Normalize(mean, std))
    n_total = len(dls.test.dataset)
    idxs = np.sort(np.random.default_rng(a.seed).choice(n_total, a.n, replace=False))   # robustness_report's seeded subset
    t0 = time.perf_counter()
    rep = robustness_report(model, dls.test, eps=[EPS], attack='autoattack', n_max=a.n, seed=a.seed, corruptions=None, checks=False, progress=False)
    t_sftnb = time.perf_counter() - t0
    mine = np.array([c == '1' for c in rep['adversarial']['correct'][0]])
    clean_mine = np.array([c == '1' for c in rep['clean']['correct']])
    # the same images, as [0, 1] pixels, for the reference (which takes pixels and a model that takes them)
    x = torch.cat([xb.as_subclass(torch.Tensor) for xb, _ in dls.test]).cpu()[idxs] * std + mean
    y = torch.cat([yb.as_subclass(torch.Tensor) for _, yb in dls.test]).cpu()[idxs]
    pm = PixelModel(model, mean, std).eval()
    ref = AutoAttack(pm, norm='Linf', eps=EPS, version='standard', seed=a.seed, device='cpu', verbose=False)
    # the standard version targets the 9 most likely other classes (written for 10): with fewer, as many as there are (sftnb caps the same way)
    ref.apgd_targeted.n_target_classes = ref.fab.n_target_classes = min(9, len(info['classes']) - 1)
    t0 = time.perf_counter()
    x_adv = ref.run_standard_evaluation(x, y, bs=64)
    t_ref = time.perf_counter() - t0
    with torch.no_grad():
        theirs = (pm(x_adv).argmax(1) == y).numpy()
        clean_theirs = (pm(x).argmax(1) == y).numpy()
        assert float((x_adv - x).abs().max()) <= EPS + 1e-5
    ci = lambda b: tuple(round(v, 3) for v in wilson_interval(int(b.sum()), len(b)))
    print(f"model: {info['arch']}, classes {info['classes']}; {a.n} seeded test images (seed {a.seed}); eps {EPS} L-inf, standard AutoAttack")
    print(f"clean accuracy          sftnb {clean_mine.mean():.3f}   reference {clean_theirs.mean():.3f}   same on {int((clean_mine == clean_theirs).sum())}/{a.n} images")
    print(f"robust accuracy         sftnb {mine.mean():.3f} {ci(mine)}   reference {theirs.mean():.3f} {ci(theirs)}")
    print(f"per-image agreement     {int((mine == theirs).sum())}/{a.n}; robust only under sftnb: {np.flatnonzero(mine & ~theirs).tolist()}, "
          f"only under the reference: {np.flatnonzero(theirs & ~mine).tolist()}")
    print(f"time                    sftnb {t_sftnb:.0f} s   reference {t_ref:.0f} s   (ratio {t_sftnb / t_ref:.2f}; {torch.get_num_threads()} threads)")

if __name__ == '__main__': main()
