"""Saliency maps of a standard and an adversarially trained model: how far they move under attack and corruption (issue: explain, export and tune).

For each seed, fine-tunes the offline backbone on digits 5-9 twice, as `nbs/08_explain.ipynb` does: a standard fine-tune
(`fine_tune(1, 1e-2)`) and N-FGSM at eps 0.1 (whole network, `fit_one_cycle(3, 1e-2)`). On every 5th test image (36,
all classes) it runs `explain_batch` (PGD-10 at eps 0.1, fog at severity 3) with Grad-CAM and with input-gradient
saliency, and prints per model, method and version: accuracy, the mean Pearson correlation of the maps with the clean
maps (`Explanation.stability`), and the share of the clean map's mass on ink pixels (grey level > 0.5; ~32% of pixels).
No target: the figures back the notebook's prose (what moves under attack, and what is not claimed).
Usage: python benchmarks/explain.py [--seeds 0,1,2,3]"""
import argparse
import numpy as np, pandas as pd
from fastai.vision.all import accuracy
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
from sftnb.finetune import sft_learner
from sftnb.adversarial import AdversarialTraining
from sftnb.explain import explain_batch

def models(seed):
    set_seed(seed)
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', num_workers=0)
    std = sft_learner(dls, 'digits_cnn', metrics=accuracy)
    with std.no_bar(), std.no_logging(): std.fine_tune(1, 1e-2)
    set_seed(seed)
    rob = sft_learner(dls, 'digits_cnn', metrics=accuracy, cbs=AdversarialTraining('nfgsm', 0.1))
    rob.unfreeze()
    with rob.no_bar(), rob.no_logging(): rob.fit_one_cycle(3, 1e-2)
    return dls, {'standard': std, 'N-FGSM': rob}

def main(seeds=(0, 1, 2, 3)):
    rows = []
    for seed in seeds:
        dls, ms = models(seed)
        for name, learn in ms.items():
            for method in ('gradcam', 'gradient'):
                ex = explain_batch(learn, dls.test, idxs=range(0, len(dls.test.dataset), 5), eps=0.1, corruption='fog', method=method)
                st = ex.stability()
                ink = ex.images['clean'].mean(-1) / 255 > 0.5
                mp = ex.maps['clean']
                with np.errstate(invalid='ignore'): share = float(np.nanmean((mp * ink).sum((1, 2)) / mp.sum((1, 2))))
                for v in ex.versions:
                    rows.append(dict(seed=seed, model=name, method=method, version=v, accuracy=st.loc[v, 'accuracy'],
                                     map_corr=st.loc[v, 'map_corr_with_clean'], ink_share=share if v == 'clean' else np.nan))
                print(rows[-2], flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    print('\nrange over seeds (min-max):')
    g = df.groupby(['model', 'method', 'version'])
    print(pd.concat({c: g[c].min().round(3).astype(str) + '-' + g[c].max().round(3).astype(str) for c in ('accuracy', 'map_corr', 'ink_share')}, axis=1).to_string())

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', default='0,1,2,3')
    a = ap.parse_args()
    main(tuple(int(s) for s in a.seeds.split(',')))
