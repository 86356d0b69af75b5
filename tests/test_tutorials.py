"Tutorials 02-04 under plain papermill: each once with its defaults and once with another parameter set (01 is in test_run.py)."
import json, os, subprocess
import pandas as pd, pytest
from conftest import ROOT

TUT = ROOT/'nbs'/'tutorials'

def papermill(papermill_bin, name, out, **params):
    "Run tutorial `name` with plain papermill (kernel python3, in the tutorials folder) into `out`; return its metrics.json."
    out.mkdir(parents=True, exist_ok=True)
    args = [papermill_bin, TUT/name, out/name, '-k', 'python3', '--cwd', TUT, '-p', 'out_dir', out]
    for k, v in params.items(): args += ['-p', k, v]
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    assert m['status'] == 'finished' and (out/'results.png').stat().st_size > 1000
    return m

# --- 02: adversarial training
def test_adversarial_tutorial_defaults(papermill_bin, tmp_path):
    m = papermill(papermill_bin, '02_adversarial_training.ipynb', tmp_path)
    t = m['methods']
    assert list(t) == ['none', 'fgsm_rs', 'nfgsm', 'pgd', 'trades']
    assert t['none']['cost'] == 1 and all(t[k]['cost'] > 1 for k in ('fgsm_rs', 'nfgsm', 'pgd', 'trades'))
    assert t['none']['pgd_acc@0.1'] < 0.1                                  # undefended: falls to the attack
    for k in ('fgsm_rs', 'nfgsm', 'pgd', 'trades'):                         # every defence buys robustness
        assert t[k]['pgd_acc@0.1'] > t['none']['pgd_acc@0.1'] + 0.3, (k, t[k])
        assert t[k]['pgd_acc@0.1'] <= t[k]['clean_acc'] + 1e-9 and t[k]['fgsm_acc'] <= t[k]['clean_acc'] + 1e-9
    assert m['n_test'] == 180 and m['eval_eps'] == [0.1]

def test_adversarial_tutorial_other_parameters(papermill_bin, tmp_path):
    m = papermill(papermill_bin, '02_adversarial_training.ipynb', tmp_path, methods='none,nfgsm', epochs=1, eval_eps='0.05',
                  guard=False, eval_steps=5, seed=3)
    t = m['methods']
    assert list(t) == ['none', 'nfgsm'] and m['eval_eps'] == [0.05, 0.1]
    assert {'pgd_acc@0.05', 'pgd_acc@0.1'} <= set(t['nfgsm']) and t['nfgsm']['guard_stopped'] is False
    assert all(r['pgd_acc@0.1'] <= r['pgd_acc@0.05'] + 0.02 for r in t.values())   # a larger radius does not help the model

# --- 03: sweep
def test_sweep_tutorial_defaults(papermill_bin, tmp_path):
    m = papermill(papermill_bin, '03_hyperparameter_sweep.ipynb', tmp_path)
    df = pd.read_csv(tmp_path/'sweep'/'results.csv')
    assert m['n_runs'] == 8 == len(df) and set(df.status) == {'finished'}
    assert sorted(set(zip(df.strategy, df.eps, df.lr))) == sorted((s, e, l) for s in ('fine_tune', 'lp_ft') for e in (0.0, 0.1) for l in (0.003, 0.01))
    assert set(df[df.eps == 0].adv_method) == {'none'} and set(df[df.eps > 0].adv_method) == {'nfgsm'}
    assert set(df.epochs) == {1} and set(df.corruptions) == {'gaussian_noise'}     # the shared settings reached every run
    runs = [p for p in (tmp_path/'sweep').iterdir() if p.is_dir()]
    assert sorted(p.name for p in runs) == sorted(df.run) and m['best_run'] in set(df.run)
    threads = {json.loads((p/'metrics.json').read_text())['run']['env']['OMP_NUM_THREADS'] for p in runs}
    assert threads == {str(max(1, (os.cpu_count() or 1) // 2))}                  # 2 workers share the cores
    best = df.loc[df.valid_accuracy.idxmax()]
    assert m['best_run'] == best.run and abs(m['best']['clean_acc'] - best.clean_acc) < 1e-9   # chosen on valid, test reported
    assert all((p/'report.json').exists() and (p/'01_robust_finetune.ipynb').exists() for p in runs)

def test_sweep_tutorial_on_a_dask_cluster(papermill_bin, tmp_path):
    pytest.importorskip('distributed')
    m = papermill(papermill_bin, '03_hyperparameter_sweep.ipynb', tmp_path, strategies='l2sp', eps_values='0', lrs='0.005',
                  scheduler='local')
    df = pd.read_csv(tmp_path/'sweep'/'results.csv')
    assert m['n_runs'] == 1 and m['scheduler'] == 'local' and set(df.status) == {'finished'}
    assert list(df.strategy) == ['l2sp'] and list(df.lr) == [0.005] and (df.accuracy > 0.5).all(), df.accuracy

# --- 04: your own data
def test_own_data_tutorial_defaults(papermill_bin, tmp_path):
    m = papermill(papermill_bin, '04_your_own_data.ipynb', tmp_path)
    assert m['n_flagged'] == 5 and m['issues'] == {'label_conflict': 2, 'unreadable': 1, 'small': 1, 'duplicate;leak': 1}
    assert m['class_counts']['9'] == 10 and m['imbalance_ratio'] > 10 and m['eval_split'] == 'test'
    assert set(m['methods']) == {'sampler', 'none'} and m['balanced_accuracy'] == m['methods']['sampler']['balanced_accuracy']
    assert all(0 <= r['min_recall'] <= r['balanced_accuracy'] <= 1 for r in m['methods'].values())
    assert all(p.is_file() for p in (tmp_path/'demo_data').rglob('*.png'))     # the data was read, never changed

def test_own_data_tutorial_csv_class_weights_local_resnet(papermill_bin, tmp_path):
    "The user's CSV, a class-weighted loss and a torchvision backbone from a local weights file (the offline stand-in for a download)."
    import torch, torchvision
    from sftnb.data import digits_folder, image_items
    items = image_items(digits_folder())
    items = pd.concat([g.head(40 if y != '3' else 8) for y, g in items[items.label.isin(['1', '3', '7'])].groupby('label')])
    table = pd.DataFrame({'file': [os.path.relpath(p, tmp_path) for p in items.path], 'class': 'digit' + items.label})
    table.to_csv(tmp_path/'labels.csv', index=False)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path/'resnet18.pth')
    out = tmp_path/'run'
    m = papermill(papermill_bin, '04_your_own_data.ipynb', out, data_path=tmp_path/'labels.csv', path_col='file', label_col='class',
                  imbalance='loss', compare=False, arch='resnet18', weights=tmp_path/'resnet18.pth', epochs=1)
    assert m['data'] == str(tmp_path/'labels.csv') and m['n_files'] == 88 and m['n_flagged'] == 0
    assert list(m['methods']) == ['loss'] and m['eval_split'] == 'valid' and m['class_counts']['digit3'] == 8

def test_own_data_tutorial_stays_offline_unless_asked(papermill_bin, tmp_path):
    for params, msg in ((['-p', 'data_path', 'pets', '-p', 'arch', 'resnet18'], 'set online=True'),):   # refused before anything is read
        r = subprocess.run([papermill_bin, str(TUT/'04_your_own_data.ipynb'), str(tmp_path/'o.ipynb'), '-k', 'python3',
                            '-p', 'out_dir', str(tmp_path/'r'), *params], capture_output=True, text=True, timeout=300)
        assert r.returncode != 0 and msg in r.stderr, r.stderr[-2000:]
