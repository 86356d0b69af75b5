"""Robustness report speed (issue: robustness evaluation report).

Fine-tunes the tutorial's model (offline `digits_cnn` backbone on the digits 5-9, 32 px, fastai `fine_tune`, default
tutorial settings without augmentation) and times the full default `robustness_report` on the embedded test split:
4 eps values with PGD-20, the 15 common corruptions x 5 severities, calibration and per-class metrics.
Prints the time of each part and the total against the 2-minute target.
Usage: python benchmarks/evaluate.py [--threads N]"""
import argparse, time, os
import torch
from fastai.vision.all import accuracy
from sftnb.core import set_seed, get_device
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
from sftnb.finetune import sft_learner
from sftnb.evaluate import robustness_report

def main(threads=None):
    if threads: torch.set_num_threads(threads)
    set_seed(42)   # before the DataLoaders: fastai draws their shuffling seed when they are made
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', bs=64, num_workers=0)
    learn = sft_learner(dls, 'digits_cnn', metrics=accuracy)
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(4, base_lr=1e-2, freeze_epochs=1)
    print(f"device {get_device()}, torch threads {torch.get_num_threads()}, {len(dls.test.dataset)} test images, {len(dls.vocab)} classes")
    t0 = time.perf_counter()
    r = robustness_report(learn, progress=False)
    total = time.perf_counter() - t0
    for k, v in r['meta']['timing'].items(): print(f"  {k:12s} {v:6.1f} s")
    print(r)
    print(f"full default report: {total:.1f} s (target < 120 s on 2 CPU cores)")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s choice)')
    main(p.parse_args().threads)
