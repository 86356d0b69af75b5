"""AugMix with the Jensen-Shannon consistency loss against plain fine-tuning: corruption error, held-out corruptions, clean accuracy, cost.

For each seed, fine-tunes the offline backbone on digits 5-9 twice with the same recipe, data order and seed
(`sft_learner`, light augmentation preset, `fine_tune(epochs, 1e-2, freeze_epochs=1)`): plain, and with
`AugMixJSD()` (AugMix views + 12 x JSD). On the 180 test images it measures clean accuracy and the error under each of
the 15 common corruptions at severities 1-5 (`corrupted_dl`), and the mean accuracy under the 4 held-out corruptions
(speckle_noise, gaussian_blur, spatter, saturate) at severities 1-5. mCE is Hendrycks & Dietterich's: per corruption,
the sum over severities of AugMix's error over plain fine-tuning's, averaged over the 15 corruptions.
Targets: mCE <= 0.80, clean accuracy within 1 point, held-out accuracy improved; cost reported as a ratio of training times.
Usage: python benchmarks/augmix.py [--seeds 0,1,2] [--epochs 6]"""
import argparse, time, warnings
import numpy as np, pandas as pd
from fastai.vision.all import accuracy
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
from sftnb.augment import Albumentations, aug_preset, corrupted_dl, COMMON, HELD_OUT, AugMixJSD
from sftnb.finetune import sft_learner

def train(seed, epochs, jsd):
    set_seed(seed)
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', num_workers=0,
                    item_tfms=Albumentations(aug_preset('light', 32, flip=False)))
    learn = sft_learner(dls, 'digits_cnn', metrics=accuracy, cbs=[AugMixJSD()] if jsd else [])
    t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(epochs, 1e-2, freeze_epochs=1)
    return learn, time.perf_counter() - t0

def acc(learn, dl):
    with learn.no_bar(): p, t = learn.get_preds(dl=dl)
    return float((p.argmax(1) == t).float().mean())

def main(seeds=(0, 1, 2), epochs=6):
    rows = []
    for seed in seeds:
        (plain, t_plain), (amix, t_amix) = train(seed, epochs, False), train(seed, epochs, True)
        test = plain.dls.test
        err = {m: {} for m in ('plain', 'augmix')}
        for c in COMMON + HELD_OUT:
            for s in range(1, 6):
                dl = corrupted_dl(test, c, s)
                for m, l in (('plain', plain), ('augmix', amix)): err[m][c, s] = 1 - acc(l, dl)
        ce = {c: sum(err['augmix'][c, s] for s in range(1, 6)) / sum(err['plain'][c, s] for s in range(1, 6)) for c in COMMON}
        row = dict(seed=seed, clean_plain=acc(plain, test), clean_augmix=acc(amix, test), mCE=float(np.mean(list(ce.values()))),
                   common_acc_plain=1 - np.mean([err['plain'][c, s] for c in COMMON for s in range(1, 6)]),
                   common_acc_augmix=1 - np.mean([err['augmix'][c, s] for c in COMMON for s in range(1, 6)]),
                   heldout_acc_plain=1 - np.mean([err['plain'][c, s] for c in HELD_OUT for s in range(1, 6)]),
                   heldout_acc_augmix=1 - np.mean([err['augmix'][c, s] for c in HELD_OUT for s in range(1, 6)]),
                   train_s_plain=t_plain, train_s_augmix=t_amix, cost_ratio=t_amix / t_plain)
        rows.append(row)
        print(row, flush=True)
        print('  CE per corruption:', {c: round(v, 2) for c, v in ce.items()}, flush=True)
    df = pd.DataFrame(rows)
    print(df.round(3).to_string(index=False))
    m = df.mean()
    print(f"\nmean over seeds: mCE {m.mCE:.3f} (target <= 0.80); clean {m.clean_plain:.3f} -> {m.clean_augmix:.3f} (within 0.01); "
          f"held-out {m.heldout_acc_plain:.3f} -> {m.heldout_acc_augmix:.3f} (improved); cost ratio {m.cost_ratio:.2f}")

if __name__ == '__main__':
    warnings.filterwarnings('ignore', category=FutureWarning)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--epochs', type=int, default=6)
    a = ap.parse_args()
    main(tuple(int(s) for s in a.seeds.split(',')), a.epochs)
