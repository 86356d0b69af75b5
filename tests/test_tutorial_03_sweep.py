"Tutorial 03 (hyperparameter sweep) under plain papermill: its defaults with one learning rate and one radius (2 N-FGSM runs on 2 workers), and a plain run on a local Dask cluster."
import json, os
import pandas as pd, pytest
from tutorials import papermill

# --- 03: sweep
def test_sweep_tutorial_defaults(papermill_bin, tmp_path):
    # The default grid (2 strategies x 2 radii x 2 lrs) is 8 runs; one lr and one adversarial radius keep both strategies
    # under N-FGSM, the runs whose robust selection matters (eps 0 -> adv_method 'none' is checked on the Dask cluster below).
    # The radius, 0.05, is not the validation objective's (0.1, the sweep's adv_eval_eps): the runs report per epoch, for a
    # tuner, PGD accuracy at 0.1 on the guard's fixed images, one attack more than the guard's own check at 0.05.
    m = papermill(papermill_bin, '03_hyperparameter_sweep.ipynb', tmp_path, lrs='0.01', eps_values='0.05')
    df = pd.read_csv(tmp_path/'sweep'/'results.csv')
    assert m['n_runs'] == 2 == len(df) and set(df.status) == {'finished'}
    assert sorted(set(zip(df.strategy, df.eps, df.lr))) == [('fine_tune', 0.05, 0.01), ('lp_ft', 0.05, 0.01)]
    assert set(df.adv_method) == {'nfgsm'}
    assert set(df.epochs) == {1} and set(df.corruptions) == {'gaussian_noise'}     # the shared settings reached every run
    runs = [p for p in (tmp_path/'sweep').iterdir() if p.is_dir()]
    assert sorted(p.name for p in runs) == sorted(df.run) and m['best_run'] in set(df.run)
    threads = {json.loads((p/'metrics.json').read_text())['run']['env']['OMP_NUM_THREADS'] for p in runs}
    assert threads == {str(max(1, (os.cpu_count() or 1) // 2))}                  # 2 workers share the cores
    best = df.loc[df.valid_acc.idxmax()]
    assert m['best_run'] == best.run and abs(m['best']['clean_acc'] - best.clean_acc) < 1e-9   # chosen on valid, test reported
    adv = df[df.eps > 0]
    robust = adv.loc[((adv.valid_acc + adv['valid_adv_acc@0.1']) / 2).idxmax()]
    assert m['best_robust_run'] == robust.run and df['valid_adv_acc@0.1'].between(0, 1).all()   # robustness chosen on valid too
    assert all((p/'report.json').exists() and (p/'01_robust_finetune.ipynb').exists() for p in runs)
    for p in runs:
        mr = json.loads((p/'metrics.json').read_text())
        assert mr['params']['adv_eval_eps'] == '0.1' and mr['reported'] and all(0 <= v <= 1 for v in mr['reported'].values()), mr['reported']

def test_sweep_tutorial_on_a_dask_cluster(papermill_bin, tmp_path):
    pytest.importorskip('distributed')
    m = papermill(papermill_bin, '03_hyperparameter_sweep.ipynb', tmp_path, strategies='l2sp', eps_values='0', lrs='0.005',
                  scheduler='local')
    df = pd.read_csv(tmp_path/'sweep'/'results.csv')
    assert m['n_runs'] == 1 and m['scheduler'] == 'local' and set(df.status) == {'finished'}
    assert list(df.strategy) == ['l2sp'] and list(df.lr) == [0.005] and (df.clean_acc > 0.5).all(), df.clean_acc
    assert list(df.eps) == [0.0] and list(df.adv_method) == ['none']                 # radius 0: no adversarial training
