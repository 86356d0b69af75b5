"""Label-error detection on noisy digits, and what cleaning buys (issue: clean labels and corruption-robust training).

For each seed: flips 5% of the training labels of digits 5-9 (27 of 537, each to a random other class, seeded), runs
`find_label_issues` with its defaults (5-fold cross-validated fine-tuning of the offline backbone, 1 frozen + 5 epochs,
then cleanlab's confident learning) on the train and valid images (the data a user holds; the test split stays clean as
the yardstick), and prints the finder's precision and recall on the flipped files and its time. Then it fine-tunes on
four versions of the training data, `--train-seeds` times each (`fine_tune(5, 1e-2)`): the clean labels, the noisy
labels, the noisy labels without the flagged images (`exclude=`), and with the suggested labels (`relabel=`), and
prints the mean test accuracy (180 images) of each and the share of the accuracy lost to the noise that cleaning recovers.
Targets: precision >= 0.70, recall >= 0.80, and cleaning recovers at least half of the lost accuracy.
Usage: python benchmarks/data_quality.py [--seeds 0,1,2] [--train-seeds 0,1,2]"""
import argparse, time, warnings
import numpy as np, pandas as pd
from fastai.vision.all import accuracy
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_items, image_dls, TARGET_CLASSES
from sftnb.finetune import sft_learner
from sftnb.quality import find_label_issues

def noisy_items(seed, frac=0.05):
    items = image_items(digits_folder())
    items = items[items.label.isin(TARGET_CLASSES)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    tr = np.flatnonzero(items.split == 'train')
    flip = np.sort(rng.choice(tr, int(round(frac * len(tr))), replace=False))
    noisy = items.copy()
    noisy.loc[flip, 'label'] = [rng.choice([c for c in TARGET_CLASSES if c != y]) for y in items.label[flip]]
    return items, noisy, set(noisy.path[flip])

def test_acc(table, seed, **kw):
    set_seed(seed)
    dls = image_dls(table, split_col='split', test='test', num_workers=0, **kw)
    learn = sft_learner(dls, 'digits_cnn', metrics=accuracy)
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(5, 1e-2)
    with learn.no_bar(): p, t = learn.get_preds(dl=dls.test)
    return float((p.argmax(1) == t).float().mean())

def main(seeds=(0, 1, 2), train_seeds=(0, 1, 2)):
    rows = []
    for seed in seeds:
        clean, noisy, flipped = noisy_items(seed)
        t0 = time.perf_counter()
        issues = find_label_issues(noisy[noisy.split != 'test'], split_col='split', seed=seed, progress=False, num_workers=0)
        secs = time.perf_counter() - t0
        hit = issues.path.isin(flipped)
        truth = dict(zip(clean.path, clean.label))
        fixed = np.mean([truth[p] == s for p, s in zip(issues.path[hit], issues.suggested[hit])]) if hit.any() else np.nan
        row = dict(seed=seed, flipped=len(flipped), flagged=len(issues), precision=hit.mean(), recall=hit.sum() / len(flipped),
                   suggestion_right=fixed, finder_s=secs)
        accs = {k: np.mean([test_acc(tbl, s, **kw) for s in train_seeds]) for k, tbl, kw in
                (('clean', clean, {}), ('noisy', noisy, {}), ('excluded', noisy, dict(exclude=issues)), ('relabelled', noisy, dict(relabel=issues)))}
        row.update({f'acc_{k}': v for k, v in accs.items()})
        lost = accs['clean'] - accs['noisy']
        for k in ('excluded', 'relabelled'): row[f'recovered_{k}'] = (accs[k] - accs['noisy']) / lost if lost > 0 else np.nan
        rows.append(row)
        print(row, flush=True)
    df = pd.DataFrame(rows)
    print(df.round(3).to_string(index=False))
    print('\nmean over seeds:'); print(df.drop(columns='seed').mean().round(3).to_string())
    m = df.mean()
    lost = m.acc_clean - m.acc_noisy
    print(f"\ntargets: precision {m.precision:.2f} (>= 0.70), recall {m.recall:.2f} (>= 0.80); accuracy lost to noise {lost:.4f}, "
          f"recovered by exclude {(m.acc_excluded - m.acc_noisy) / lost if lost > 0 else float('nan'):.2f}, "
          f"by relabel {(m.acc_relabelled - m.acc_noisy) / lost if lost > 0 else float('nan'):.2f} (>= 0.5)")

if __name__ == '__main__':
    warnings.filterwarnings('ignore', category=FutureWarning)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--train-seeds', default='0,1,2')
    a = ap.parse_args()
    main(tuple(int(s) for s in a.seeds.split(',')), tuple(int(s) for s in a.train_seeds.split(',')))
