"""Seeded fingerprints of training and evaluation, to show that a restructuring changed no number (issue 36).

Runs, on the embedded digits (32 px, digits_cnn from the cached offline backbone, 1 torch thread): every adversarial
training method (plus N-FGSM with OverfitGuard, PGD with a warm-up and a clean fraction, TRADES with beta 3) for 2 epochs
of `fit_one_cycle`, and `robustness_report` with every attack of the registry at eps (0, 0.1) on 40 test images with
the gradient-masking checks and two corruptions. Prints one JSON line per run: the losses, the weights' sha256 and the
report's `results` (everything but times) as a sha256, with the headline numbers. Run it on two trees and diff the output.
Usage: PYTHONPATH=TREE python benchmarks/same_results.py [--out FILE]"""
import argparse, hashlib, json
import torch
from fastai.vision.all import accuracy
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
from sftnb.finetune import sft_learner
from sftnb.adversarial import AdversarialTraining, OverfitGuard
from sftnb.evaluate import robustness_report

def sha(b: bytes) -> str: return hashlib.sha256(b).hexdigest()[:16]

def weights_sha(model) -> str:
    return sha(b''.join(v.detach().cpu().contiguous().numpy().tobytes() for v in model.state_dict().values()))

TRAIN = [('none', {}), ('fgsm_rs', {}), ('nfgsm', {}), ('nfgsm+guard', {}), ('pgd', {'steps': 3}),
         ('pgd', {'steps': 3, 'warmup_epochs': 1, 'clean_frac': 0.25}), ('trades', {'steps': 3, 'beta': 3.0})]

def main(out=None):
    torch.set_num_threads(1)
    lines = []
    def emit(d):
        s = json.dumps(d, sort_keys=True); print(s, flush=True); lines.append(s)
    set_seed(0)
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', bs=64, num_workers=0)
    for name, kw in TRAIN:
        set_seed(1)
        method = name.replace('+guard', '')
        cbs = [] if method == 'none' else [AdversarialTraining(method, eps=0.1, **kw)]
        if name.endswith('+guard'): cbs.append(OverfitGuard(n=64))
        learn = sft_learner(dls, 'digits_cnn', metrics=accuracy)
        learn.unfreeze()
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 3e-3, cbs=cbs)
        emit({'run': f'train {name} {kw}', 'losses': [round(float(l), 6) for l in learn.recorder.losses[-3:]],
              'values': [[round(float(v), 6) for v in row] for row in learn.recorder.values], 'weights': weights_sha(learn.model)})
        if name == 'pgd' and not kw.get('clean_frac'): robust = learn
    for attack, akw in (('pgd', None), ('fgsm', None), ('apgd', None), ('autoattack', {'queries': 200})):
        r = robustness_report(robust, eps=(0, 0.1), attack=attack, attack_kw=akw, n_max=40, seed=3, corruptions='gaussian_noise,contrast',
                              severities=(1, 3), progress=False)
        h = {k: v for k, v in r.headline().items() if not k.endswith('_ci')}
        emit({'run': f'report {attack}', 'results': sha(json.dumps(r.results, sort_keys=True).encode()), 'headline': h,
              'suspicious': r['suspicious'], 'meta_alpha': r['meta']['alpha'], 'steps': r['meta']['steps']})
    if out: open(out, 'w').write('\n'.join(lines) + '\n')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=None, help='also write the lines to this file')
    main(p.parse_args().out)
