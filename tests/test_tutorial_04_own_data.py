"Tutorial 04 (your own data) under plain papermill: defaults (messy demo folder), the user's CSV with a local torchvision backbone, offline guard."
import json, os, subprocess
import pandas as pd, pytest
from tutorials import TUT, papermill

# --- 04: your own data
def test_own_data_tutorial_defaults(papermill_bin, tmp_path):
    m = papermill(papermill_bin, '04_your_own_data.ipynb', tmp_path)
    assert m['n_flagged'] == 3 and m['issues'] == {'unreadable': 1, 'small': 1, 'duplicate;leak': 1}   # what the bytes show
    conflict = {d['file'] for d in m['near_duplicates'] if d['issues'] == 'label_conflict'}
    assert 'relabelled.jpg' in conflict and len(conflict) == 2           # the re-saved 7 filed as a 5, and its original: no exact copy
    truth = {'5': '7', '6': '5', '7': '6'}                               # the planted wrong labels: filed as -> really
    planted = [d for d in m['label_issues'] if d['file'] == 'relabelled.jpg' or d['file'].startswith('mislabelled-')]
    assert len(planted) >= 2 and all(d['suggested'] == truth[d['label']] for d in planted), m['label_issues']   # measured (label_epochs 3): 4 of 4 on seeds 0-4 and 42
    assert len(m['label_issues']) <= 15 and m['fix_labels'] == 'exclude'                   # of ~720 images; measured 6-10 (seeds 0-4, 42)
    assert m['label_check']['informative'] is True, m['label_check']               # a model that finds the planted labels is trusted, so they are left out
    assert m['class_counts']['9'] == 10 and m['imbalance_ratio'] > 10 and m['eval_split'] == 'test'
    assert set(m['methods']) == {'sampler', 'none'} and m['balanced_accuracy'] == m['methods']['sampler']['balanced_accuracy']
    assert all(0 <= r['min_recall'] <= r['balanced_accuracy'] <= 1 for r in m['methods'].values())
    assert all(p.is_file() for p in (tmp_path/'demo_data').rglob('*.png'))     # the data was read, never changed
    assert len(list((tmp_path/'demo_data').rglob('mislabelled-*.png'))) == 3 and (tmp_path/'label_issues.png').is_file()

def test_own_data_tutorial_csv_class_weights_local_resnet(papermill_bin, tmp_path):
    "The user's CSV, a class-weighted loss and a torchvision backbone from a local weights file (the offline stand-in for a download)."
    import torch, torchvision
    from sftnb.data import digits_folder, image_items
    items = image_items(digits_folder())
    items = pd.concat([g.head(40 if y != '3' else 8) for y, g in items[items.label.isin(['1', '3', '7'])].groupby('label')])
    table = pd.DataFrame({'file': [os.path.relpath(p, tmp_path) for p in items.path], 'class': 'digit' + items.label})
    table.to_csv(tmp_path/'labels.csv', index=False)
    torch.manual_seed(0); torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path/'resnet18.pth')
    out = tmp_path/'run'
    # The stand-in weights are random, so the label check's model learns nothing: once it flagged 15 of the 88 images, all "suggested"
    # as the most common class, and leaving them out emptied digit3 (CI, 2026-12-07). find_label_issues now acts on no suspect of a
    # model no better than always answering the most common label (0.455 here). Out-of-sample accuracy of such random resnet18s on
    # these images (15 draws of weights and split seeds, 1 epoch): 0.23-0.50, the lower ends of their 95% intervals 0.15-0.40; these
    # weights (seed 0): 0.35, lower end 0.26. The tutorial's default, fix_labels='exclude', then leaves nothing out.
    m = papermill(papermill_bin, '04_your_own_data.ipynb', out, data_path=tmp_path/'labels.csv', path_col='file', label_col='class',
                  imbalance='loss', compare=False, arch='resnet18', weights=tmp_path/'resnet18.pth', epochs=1, label_epochs=1)
    assert m['data'] == str(tmp_path/'labels.csv') and m['n_files'] == 88 and m['n_flagged'] == 0 and m['fix_labels'] == 'exclude'
    c = m['label_check']
    assert c['informative'] is False and c['oof_accuracy_ci'][0] <= c['majority_rate'] == 40 / 88, c
    assert list(m['methods']) == ['loss'] and m['eval_split'] == 'valid' and m['class_counts']['digit3'] == 8
    assert m['n_used'] == 88 - sum(d['issues'] != 'near_duplicate' for d in m['near_duplicates']), (m['n_used'], m['near_duplicates'])   # no label suspect left out

def test_own_data_tutorial_stays_offline_unless_asked(papermill_bin, tmp_path):
    for params, msg in ((['-p', 'data_path', 'pets', '-p', 'arch', 'resnet18'], 'set online=True'),):   # refused before anything is read
        r = subprocess.run([papermill_bin, str(TUT/'04_your_own_data.ipynb'), str(tmp_path/'o.ipynb'), '-k', 'python3',
                            '-p', 'out_dir', str(tmp_path/'r'), *params], capture_output=True, text=True, timeout=300)
        assert r.returncode != 0 and msg in r.stderr, r.stderr[-2000:]
