"""Adversarial training and the robustness report under mixed precision (issue 14: the GPU path, fp16 and bf16).

Fine-tunes the main tutorial's model (offline `digits_cnn` backbone, digits 5-9, 32 px, N-FGSM at eps 0.1 with
OverfitGuard, whole network one-cycle at 1e-2, batch 64, no augmentation) once per precision, then runs the default
`robustness_report` attack (PGD-20, eps 0 and 0.1, with the gradient-masking checks) on the test split, in fp32.
On CUDA the precisions are fastai's `MixedPrecision('fp16')` / `('bf16')`; on a CPU, where fastai's callback does not
autocast, the same callback with the CPU's autocast and gradient scaler (fp16 is emulated there and slow).
Prints, per precision: clean and PGD-20 accuracy with Wilson intervals, the failed masking checks, the guard's checks,
whether every weight is finite, and the training time as a ratio to fp32's in the same run.
Usage: python benchmarks/mixed_precision.py [--modes fp32,bf16,fp16] [--epochs 4] [--seed 0]"""
import argparse, time
import torch
from fastai.vision.all import accuracy, MixedPrecision
from fastai.callback.fp16 import AMPMode
from fastcore.foundation import L
from sftnb.core import set_seed, get_device
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
from sftnb.finetune import sft_learner
from sftnb.adversarial import AdversarialTraining, OverfitGuard
from sftnb.evaluate import robustness_report

class CPUMixedPrecision(MixedPrecision):
    "fastai's `MixedPrecision` with the CPU's autocast and gradient scaler in place of CUDA's."
    def before_fit(self):
        dtype = torch.bfloat16 if AMPMode(self.amp_mode) == AMPMode.BF16 else torch.float16
        self.kwargs['enabled'] = dtype == torch.float16   # as fastai: no loss scaling under bf16
        self.autocast, self.learn.scaler, self.scales = torch.autocast('cpu', dtype=dtype), torch.amp.GradScaler('cpu', **self.kwargs), L()

def run(mode, epochs, seed):
    set_seed(seed)   # before the DataLoaders: fastai draws their shuffling seed when they are made
    dls = image_dls(digits_folder(size=32), classes=TARGET_CLASSES, test='test', size=32, bs=64, num_workers=0)
    learn = sft_learner(dls, 'digits_cnn', metrics=accuracy)
    learn.unfreeze()
    guard = OverfitGuard()
    cbs = [AdversarialTraining('nfgsm', eps=0.1), guard]
    if mode != 'fp32': cbs.append((MixedPrecision if get_device().type == 'cuda' else CPUMixedPrecision)(mode))
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2, cbs=cbs)
    train = time.perf_counter() - t
    r = robustness_report(learn, eps=(0, 0.1), corruptions=None, progress=False)
    finite = all(torch.isfinite(q).all() for q in learn.model.parameters())
    return dict(mode=mode, train=train, clean=r['clean']['accuracy'], clean_ci=r['clean']['accuracy_ci'],
                pgd=r['adversarial']['accuracy'][1], pgd_ci=r['adversarial']['accuracy_ci'][1], suspicious=r['suspicious'],
                guard=[round(h['pgd_acc'], 3) for h in guard.history], collapses=guard.collapses, finite=finite, n=r['meta']['n'])

def main(modes=('fp32', 'bf16', 'fp16'), epochs=4, seed=0):
    print(f"device {get_device()}, torch threads {torch.get_num_threads()}, {epochs} epochs, seed {seed}")
    rows = [run(m, epochs, seed) for m in modes]
    base = next((r['train'] for r in rows if r['mode'] == 'fp32'), None)
    for r in rows:
        ratio = f"{r['train'] / base:.2f} x fp32" if base else ''
        print(f"{r['mode']:5} clean {r['clean']:.3f} [{r['clean_ci'][0]:.2f}, {r['clean_ci'][1]:.2f}]  PGD-20@0.1 {r['pgd']:.3f} "
              f"[{r['pgd_ci'][0]:.2f}, {r['pgd_ci'][1]:.2f}] on {r['n']}  suspicious {r['suspicious']}  guard {r['guard']} "
              f"(collapses {r['collapses']})  finite {r['finite']}  train {r['train']:.0f} s {ratio}")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--modes', default='fp32,bf16,fp16'); ap.add_argument('--epochs', type=int, default=4); ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    main(tuple(a.modes.split(',')), a.epochs, a.seed)
