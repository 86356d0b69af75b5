"`sftnb run` and plain papermill on the tutorial, failures, and results that are never overwritten."
import json, subprocess
import numpy as np, nbformat, pytest
from sftnb.evaluate import RobustnessReport
from sftnb.experiment import make_nb
from conftest import TUTORIAL

def sh(*cmd, cwd=None, timeout=600):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=timeout)

_DEFAULT_RUN = {}

# The main job's defaults are the MNIST recipe (PGD at eps 0.3, 30 epochs) and an APGD-CE + T report on all 500 test images:
# about half an hour on 2 CPU cores (benchmarks/RESULTS.md). The test runs every default but the length: 2 epochs (1 of eps
# warm-up) and a seeded 40 of the test images, the same code paths in a few minutes (the test command's longest item).
SHORT = ('-p', 'epochs', '2', '-p', 'warmup_epochs', '1', '-p', 'report_n', '40')

@pytest.fixture(scope='module')
def default_run(sftnb_bin, tmp_path_factory):
    "The main job as the README runs it (default parameters, shortened: SHORT), into a chosen folder; shared by the tests below."
    if 'out' in _DEFAULT_RUN: return _DEFAULT_RUN['out']   # pytest may rebuild a module fixture if other tests come between
    out = tmp_path_factory.mktemp('runs')/'main'
    r = sh(sftnb_bin, 'run', TUTORIAL, '--out', out, *SHORT, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    assert str(out/TUTORIAL.name) in r.stdout
    _DEFAULT_RUN['out'] = out
    return out

def test_sftnb_run_tutorial_defaults(default_run):
    out = default_run
    m = json.loads((out/'metrics.json').read_text())
    assert m['status'] == 'finished'
    assert m['clean_acc'] > 0.8, m['clean_acc']         # 5 classes: chance is 0.2
    p = m['params']
    assert (p['dataset'], p['adv_method'], p['eps'], p['schedule'], p['report_attack']) == ('mnist', 'pgd', 0.3, 'auto', 'apgd'), p
    assert m['suspicious'] == [] and m['input_shape'] == [1, 28, 28] and m['guard'] is None, (m['suspicious'], m['input_shape'], m['guard'])
    # Real MNIST at eps 0.3, judged by APGD-CE + APGD-T. A clean fine-tune holds 0.00 there; the full recipe 0.86 on all 500 test images
    # (benchmarks/RESULTS.md). Two epochs give a start: 0.125-0.325 on these 40 images (seeds 42, 0, 1, 2; suspicious empty on each), hence a low bar that a plain model fails.
    assert m['clean_acc'] > 0.85 and m['apgd_acc@0.3'] > 0.05, (m['clean_acc'], m['apgd_acc@0.3'])
    assert set(m['per_class']) == {'5', '6', '7', '8', '9'}
    assert all(0 <= c['f1'] <= 1 for c in m['per_class'].values())
    assert m['train_time_s'] > 0 and m['n_eval'] == 40 and m['n_train'] == 1500
    assert {k for k in m if k.startswith(('adv_acc@', 'pgd_acc@', 'apgd_acc@'))} == {'apgd_acc@0.3', 'apgd_acc@0.3_ci'}   # the key names the attack; eps 0 is clean_acc
    assert m['at_chance'] is False
    assert m['apgd_acc@0.3'] < m['clean_acc'] and m['apgd_acc@0.3_ci'][0] <= m['apgd_acc@0.3'] <= m['apgd_acc@0.3_ci'][1]
    assert m['clean_acc_ci'][1] - m['clean_acc_ci'][0] > 0.02 and isinstance(m['suspicious'], list)   # 40 images: a real interval
    corr = m['corruption_acc']
    assert set(corr) == {'gaussian_noise', 'defocus_blur', 'contrast', 'fog'} and all(0 <= v <= 1 for v in corr.values())
    assert m['mean_corruption_acc'] < m['clean_acc']     # corruptions cost accuracy
    assert (out/'results.png').stat().st_size > 1000 and (out/'report.png').stat().st_size > 1000
    rep = RobustnessReport.from_json(out/'report.json')                      # the robustness report, beside metrics.json
    assert rep['meta']['n'] == 40 and rep['corruptions']['severities'] == [3] and rep['meta']['steps'] == 100 and rep['meta']['attack'] == 'apgd'
    assert m['clean_acc'] == rep['clean']['accuracy'] and 'overclaim' in rep['checks']
    assert rep['adversarial']['accuracy'][0] == m['clean_acc'] and m['apgd_acc@0.3'] == rep['adversarial']['accuracy'][-1]
    assert 0 <= m['ece'] <= 1 and m['mean_corruption_acc'] == rep['corruptions']['mean_accuracy'] and 'mce' not in m and 'corruption_error' not in m
    for old in ('accuracy', 'adversarial_accuracy', 'mean_corruption_accuracy', 'f1_macro', 'valid_accuracy'): assert old not in m   # one name per number
    assert abs(m['valid_acc'] - m['history'][-1]['accuracy']) < 1e-6   # no WiSE-FT or guard here: the kept weights are the last epoch's (fastai's metric agrees)
    assert 0 <= m['valid_adv_acc@0.3'] <= m['valid_acc'] + 1e-9 and len(m['valid_adv_acc@0.3_ci']) == 2   # PGD-10 on the validation split: the tuner's monitor
    # what the pruner saw each epoch: PGD-5 at 0.3 on 128 fixed validation images (PGD trains without a guard), not clean accuracy
    r = m['reported']
    assert list(r) == ['0', '1'] and r['1'] < m['valid_acc'] - 0.1 and abs(r['1'] - m['valid_adv_acc@0.3']) < 0.2, (r, m['valid_acc'], m['valid_adv_acc@0.3'])
    nb = nbformat.read(out/TUTORIAL.name, as_version=4)
    injected = [c for c in nb.cells if 'injected-parameters' in c.metadata.get('tags', [])]
    assert injected and str(out) in injected[0].source     # out_dir was injected

def _weight_range(f):
    "Largest |value| over an ONNX file's int8 weight tensors, read with onnx: 64 for onnxruntime's 7-bit range, 127 for 8 bits."
    import onnx
    from onnx import numpy_helper
    ws = [numpy_helper.to_array(t) for t in onnx.load(str(f)).graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims)]
    return max(int(abs(w.astype(int)).max()) for w in ws if w.size > 1)

def test_sftnb_export_of_the_default_run(sftnb_bin, default_run, tmp_path, capsys):
    "The run's saved model, exported to ONNX on the command line, gives the run's own test accuracy through onnxruntime."
    from sftnb.cli import main
    def refused(*args):
        "The console script's refusals, in this process (each `sftnb` process spends seconds importing torch): (exit status, stderr)."
        rc = main([str(a) for a in args]); return rc, capsys.readouterr().err
    import torch
    from sftnb.data import mnist_folder, image_dls, TARGET_CLASSES
    from sftnb.deploy import OnnxModel, onnx_info
    m = json.loads((default_run/'metrics.json').read_text())
    assert (m['model'], m['learner']) == ('model.json', 'learner.pkl') and (default_run/'model.pth').stat().st_size > 1e5 and (default_run/'learner.pkl').is_file()
    rc, err = refused('export', default_run, '--out', tmp_path/'model.onnx', '--int8', '--calib', tmp_path/'nowhere')
    assert rc == 2 and 'nowhere is not a folder of images' in err and not (tmp_path/'model.onnx').exists()
    rc, err = refused('export', default_run, '--out', tmp_path/'model.onnx', '--full-range')
    assert rc == 2 and '--full-range sets the int8 weight range: it needs --int8' in err and not (tmp_path/'model.onnx').exists()
    r = sh(sftnb_bin, 'export', default_run, '--out', tmp_path/'model.onnx', '--int8')   # calibrated on the run's own training images
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'calibrated on 256 images' in r.stdout and onnx_info(tmp_path/'model-int8.onnx')['classes'] == ['5', '6', '7', '8', '9']
    assert "on the run's held-out images (500 in" in r.stdout and 'int8 0.' in r.stdout and 'the two agree on' in r.stdout, r.stdout   # what int8 costs, measured
    info = onnx_info(tmp_path/'model.onnx')
    assert info['classes'] == ['5', '6', '7', '8', '9'] and info['input_dims'][1:] == [1, 28, 28]   # grayscale MNIST
    dls = image_dls(mnist_folder(), classes=TARGET_CLASSES, test='test', num_workers=0, n_in=1)   # the run's test split (nothing flagged in it)
    om = OnnxModel(tmp_path/'model.onnx', dls)
    rep = RobustnessReport.from_json(default_run/'report.json')
    idxs = np.sort(np.random.default_rng(m['params']['seed']).choice(len(dls.test.dataset), rep['meta']['n'], replace=False))   # the report's seeded subset
    sub = dls.test_dl(dls.test.items.iloc[idxs], with_labels=True)
    mine = np.concatenate([(om(x).argmax(1) == y.as_subclass(torch.Tensor)).numpy() for x, y in sub])
    theirs = np.array([c == '1' for c in rep['clean']['correct']])
    assert (mine == theirs).mean() >= 0.99, ((mine == theirs).mean(), m['clean_acc'])   # image for image, one near-tie allowed
    q = OnnxModel(tmp_path/'model-int8.onnx', dls)
    agree = sum(int((q(x).argmax(1) == om(x).argmax(1)).sum()) for x, _ in dls.test) / len(dls.test.dataset)
    assert agree >= 0.95, agree   # int8 changes a few near-ties at most (benchmarks/deploy.py: within 1 point of fp32 accuracy)
    # fastai's pickle, only when trusted, and said so; the same model comes out
    full = sh(sftnb_bin, 'export', default_run/'learner.pkl', '--trust-pickle', '--out', tmp_path/'full.onnx', '--int8', '--full-range', '--calib-n', '32')
    assert full.returncode == 0 and '8-bit weights' in full.stdout, full.stderr[-3000:]
    assert 'a pickle (it can run code): trusted because of --trust-pickle' in full.stderr
    x = next(iter(dls.test))[0]
    assert float((OnnxModel(tmp_path/'full.onnx', dls)(x) - om(x)).abs().max()) < 1e-4
    assert 'int8 (7-bit weights)' in r.stdout and _weight_range(tmp_path/'model-int8.onnx') == 64 and _weight_range(tmp_path/'full-int8.onnx') == 127
    rc, err = refused('export', default_run, '--out', tmp_path/'model.onnx')       # a finished export is never overwritten
    assert rc == 2 and 'exists; pass --overwrite' in err
    rc, err = refused('export', tmp_path)
    assert rc == 2 and 'model.json not found' in err

def test_export_never_runs_code_from_a_pickle(tmp_path, capsys):
    "A crafted learner.pkl whose unpickling runs a command: `sftnb export` refuses it, by folder or by file, and the command never runs."
    import os, pickle
    from sftnb.cli import main   # the console script's code, in this process: an unpickled payload would run here as well
    proof = tmp_path/'proof'
    class Payload:
        def __reduce__(self): return (os.system, (f'touch {proof}',))
    run = tmp_path/'from-a-download'; run.mkdir()
    (run/'learner.pkl').write_bytes(pickle.dumps(Payload()))
    (run/'metrics.json').write_text(json.dumps({'params': {'size': 28}}))
    for target in (run, run/'learner.pkl'):
        rc, err = main(['export', str(target)]), capsys.readouterr().err
        assert rc == 2 and 'is a pickle, and loading a pickle can run any code' in err and '--trust-pickle' in err, err
        assert len(err.strip().splitlines()) == 1 and not proof.exists() and not (run/'model.onnx').exists()

def test_plain_papermill_runs_the_tutorial(papermill_bin, default_run, tmp_path):
    "No sftnb CLI involved: papermill alone, other parameters, measured against the default run's report (mCE)."
    out = tmp_path/'pm'
    # 16-pixel images: a non-default size end to end (its own digits folder, the 32-pixel backbone on smaller inputs), and
    # about half the work of 32 pixels (118 s against 206 s alone), most of it in lr_find's 100 AugMix batches; batches of 16
    # (a non-default bs too) make those 100 batches a quarter of the images: 65 s against 119 s alone with bs 64
    r = sh(papermill_bin, TUTORIAL, tmp_path/'out.ipynb', '-k', 'python3', '-p', 'dataset', 'digits', '-p', 'epochs', '1', '-p', 'lr', 'find', '-p', 'size', '16', '-p', 'bs', '16', '-p', 'channels', '1',
           '-p', 'aug', 'augmix', '-p', 'strategy', 'wise_ft', '-p', 'adv_method', 'none', '-p', 'adv_eval_eps', '0.1',
           '-p', 'baseline_report', default_run/'report.json', '-p', 'out_dir', out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    assert m['params']['channels'] == 1 and m['input_shape'] == [1, 16, 16]   # grayscale on the RGB digits: the 3-channel backbone adapted by fastai
    assert m['params']['epochs'] == 1 and m['params']['lr'] == 'find' and m['params']['aug'] == 'augmix' and m['params']['size'] == 16 and m['params']['bs'] == 16
    assert 1e-7 < m['lr_used'] < 10 and m['lr_used'] == m['lr_find']['valley']   # fastai's lr_find chose the rate, recorded
    assert m['params']['strategy'] == 'wise_ft' and 0 <= m['forgetting']['retention'] <= 1.5
    # What a tuner prunes on is measured on the weights the run keeps: under WiSE-FT the interpolation. Its last value
    # (the frozen epoch, then the unfrozen one) is then the kept model's validation accuracy, which the report measures apart.
    assert list(m['reported']) == ['0', '1'] and abs(m['reported']['1'] - m['valid_acc']) < 1e-9, (m['reported'], m['valid_acc'])
    assert m['params']['adv_method'] == 'none' and {k for k in m if k.startswith('apgd_acc@') and not k.endswith('_ci')} == {'apgd_acc@0.1'}
    assert 0 <= m['apgd_acc@0.1'] <= m['clean_acc'] + 1e-9
    # No accuracy bound: one epoch of WiSE-FT with AugMix + JSD (lr_find included) is far from converged; the run's mechanics are what is tested
    # (LP-FT with N-FGSM runs in the sweep tutorial's test).
    assert 0 <= m['clean_acc'] <= 1
    base = RobustnessReport.from_json(default_run/'report.json')
    mine = RobustnessReport.from_json(out/'report.json')
    assert mine['corruptions']['names'] == base['corruptions']['names'] and mine['corruptions']['severities'] == [3]
    E, Eb = 1 - np.array(mine['corruptions']['accuracy']), 1 - np.array(base['corruptions']['accuracy'])   # one severity each
    assert 'mce' not in m                                                    # 4 corruptions at one severity: not the paper's mCE grid
    # The (robust) default run makes almost no errors under some corruptions (gaussian_noise, defocus_blur: 2 of 180 images):
    # a baseline error below min_base_error=0.02 is noise, not a denominator, so that corruption is left out, with a warning.
    keep = Eb[:, 0] >= 0.02
    assert mine['baseline']['excluded'] == [n for n, k in zip(mine['corruptions']['names'], keep) if not k]
    if keep.any(): assert abs(m['corruption_error'] - float(np.mean(E[keep, 0] / Eb[keep, 0]))) < 1e-12   # Hendrycks & Dietterich's CE, by hand
    else: assert m['corruption_error'] is None

def test_mismatched_baseline_is_refused_before_training(sftnb_bin, default_run, tmp_path):
    "A baseline report of other corruptions cannot give an mCE: refused before any training."
    r = sh(sftnb_bin, 'run', TUTORIAL, '--out', tmp_path/'bad-base', '--no-progress', '-p', 'corruptions', 'snow',
           '-p', 'baseline_report', default_run/'report.json')
    assert r.returncode == 1 and 'CE compares the same corruptions and severities' in r.stderr
    nb = nbformat.read(tmp_path/'bad-base'/TUTORIAL.name, as_version=4)
    assert not any('sft_learner(dls' in c.source for c in nb.cells if c.cell_type == 'code' and c.get('execution_count'))  # stopped before training

def _failing_notebook(path):
    return make_nb(path, "print('before the failure')", "raise RuntimeError(f'planted failure n={n}')", "print('never reached')", params="n = 3\nout_dir = None")

def test_failing_notebook_exits_nonzero_and_keeps_partial(sftnb_bin, tmp_path):
    nb = _failing_notebook(tmp_path/'fails.ipynb')
    out = tmp_path/'failed-run'
    r = sh(sftnb_bin, 'run', nb, '-p', 'n', '7', '--out', out, '--no-progress')
    assert r.returncode == 1
    assert 'RuntimeError: planted failure n=7' in r.stderr
    assert str(out/'fails.ipynb') in r.stderr
    partial = nbformat.read(out/'fails.ipynb', as_version=4)
    outputs = ''.join(str(o) for c in partial.cells if c.cell_type == 'code' for o in c.get('outputs', []))
    assert 'before the failure' in outputs and 'never reached' not in outputs
    err = json.loads((out/'error.json').read_text())
    assert err['ename'] == 'RuntimeError' and err['evalue'] == 'planted failure n=7'

def test_ctrl_c_is_one_line_and_marks_the_run_interrupted(sftnb_bin, tmp_path):
    "Ctrl-C in a terminal (SIGINT to the whole foreground process group, kernel included): one line, exit 130, status 'interrupted', and a rerun may reuse the folder."
    import os, signal, time
    started = tmp_path/'started'
    nb = tmp_path/'sleep.ipynb'
    make_nb(nb, f"from sftnb.experiment import run_folder\nrun_folder(out_dir)\nimport time, pathlib\npathlib.Path({str(started)!r}).write_text('x')\ntime.sleep(120)")
    # a terminal's child gets SIGINT's default action; a pytest-xdist worker ignores SIGINT, and children inherit that: restore it
    p = subprocess.Popen([str(sftnb_bin), 'run', str(nb), '--out', str(tmp_path/'out'), '--no-progress'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t = time.time()
    while not started.exists() and time.time() - t < 120: time.sleep(0.2)
    assert started.exists()
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and err.strip().splitlines() == [f"sftnb run: interrupted; partial notebook kept at {tmp_path/'out'/'sleep.ipynb'}"], err
    m = json.loads((tmp_path/'out'/'metrics.json').read_text())
    assert m['status'] == 'interrupted' and not (tmp_path/'out'/'error.json').exists()
    from sftnb.experiment import run_state
    assert run_state(tmp_path/'out') == 'interrupted'

def test_sftnb_run_shows_one_line_per_epoch(sftnb_bin, tmp_path):
    "Training in the kernel is visible in the terminal: sftnb.finetune.EpochLog's lines (epoch, losses, metrics, time), also kept as epochs.log."
    src = """from sftnb.experiment import run_folder, record
run_folder(out_dir)
import torch, sftnb.finetune
from torch.utils.data import TensorDataset
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.metrics import accuracy
x = torch.randn(64, 4); y = (x[:, 0] > 0).long()
learn = Learner(DataLoaders.from_dsets(TensorDataset(x, y), TensorDataset(x, y), bs=16), torch.nn.Linear(4, 2), loss_func=torch.nn.CrossEntropyLoss(), metrics=accuracy)
learn.fit(3, 0.1)
record(status='finished')"""
    nb = tmp_path/'fit.ipynb'
    make_nb(nb, src)
    r = sh(sftnb_bin, 'run', nb, '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr[-2000:]
    said = [l for l in (r.stdout + r.stderr).replace('\r', '\n').splitlines() if 'epoch ' in l and ': train_loss' in l]
    assert [l.split(': ')[0].split('epoch ')[-1] for l in said] == ['1/3', '2/3', '3/3'] and 'valid_loss' in said[0] and 'accuracy' in said[0], r.stdout + r.stderr
    assert len((tmp_path/'out'/'epochs.log').read_text().splitlines()) == 3

def test_finished_run_is_never_overwritten(sftnb_bin, tmp_path):
    out = tmp_path/'done'
    out.mkdir()
    (out/'metrics.json').write_text('{"accuracy": 0.9, "status": "finished"}')
    before = (out/'metrics.json').stat().st_mtime_ns
    r = sh(sftnb_bin, 'run', TUTORIAL, '--out', out)
    assert r.returncode == 2 and 'already holds a run' in r.stderr
    assert (out/'metrics.json').stat().st_mtime_ns == before and sorted(p.name for p in out.iterdir()) == ['metrics.json']

def test_bad_input_is_refused(sftnb_bin, tmp_path):
    r = sh(sftnb_bin, 'run', tmp_path/'nope.ipynb')
    assert r.returncode == 2 and 'nope.ipynb' in r.stderr
    r = sh(sftnb_bin, 'run', TUTORIAL, '-f', tmp_path/'missing.yaml', '--out', tmp_path/'x')
    assert r.returncode == 2 and 'missing.yaml' in r.stderr
    assert not (tmp_path/'x').exists()
    for tutorial in (TUTORIAL, TUTORIAL.parent/'04_your_own_data.ipynb'):   # a misspelt data path: refused before a kernel starts, no run folder
        r = sh(sftnb_bin, 'run', tutorial, '-p', 'data_path', tmp_path/'my_imgaes', '--out', tmp_path/'x')
        assert r.returncode == 2 and f"data_path='{tmp_path/'my_imgaes'}': no such file or folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (tmp_path/'x').exists()

def test_strategy_parameter_is_checked(sftnb_bin, tmp_path):
    r = sh(sftnb_bin, 'run', TUTORIAL, '-p', 'strategy', 'magic', '--out', tmp_path/'bad', '--no-progress')
    assert r.returncode == 1 and "strategy must be one of" in r.stderr and 'magic' in r.stderr

def test_out_of_range_parameter_is_refused_before_a_kernel_starts(sftnb_bin, tmp_path):
    "`-p lr -1` used to train; the tutorial declares `lr ... [> 0]`, so the CLI refuses it before any kernel starts."
    r = sh(sftnb_bin, 'run', TUTORIAL, '-p', 'lr', '-1', '--out', tmp_path/'neg', '--no-progress')
    assert r.returncode != 0 and 'parameter lr must be a number > 0, got -1' in r.stderr, r.stderr[-2000:]
    assert not any((tmp_path/'neg').glob('*.ipynb'))         # no notebook was executed

def test_every_tutorial_parameter_is_one_the_cli_accepts():
    """Each name a tutorial's parameters cell assigns (as Python's own parser reads it) is one `sftnb run -p` accepts, with its default;
    papermill's own reader finds the same names, so a run never opens with its false alarm "Passed unknown parameter" (it drops a line whose
    comment holds a second '=', as tutorial 04's `data_path` once did)."""
    import ast, logging
    from papermill.translators import PythonTranslator
    from sftnb.experiment import notebook_params, check_params
    for nb in sorted(TUTORIAL.parent.glob('*.ipynb')):
        cell = next(c for c in nbformat.read(nb, as_version=4).cells if 'parameters' in c.metadata.get('tags', []))
        body = [n for n in ast.parse(cell.source).body if isinstance(n, (ast.Assign, ast.AnnAssign))]
        names = [n.target.id if isinstance(n, ast.AnnAssign) else n.targets[0].id for n in body]
        params = notebook_params(nb)
        assert list(params) == names, nb.name
        logged = []
        handler = logging.Handler(); handler.emit = logged.append
        logging.getLogger('papermill').addHandler(handler)
        try: assert [p.name for p in PythonTranslator.inspect(cell)] == names, nb.name
        finally: logging.getLogger('papermill').removeHandler(handler)
        assert not logged, (nb.name, [r.getMessage() for r in logged])
        assert all(ast.literal_eval(params[k]) == ast.literal_eval(n.value) for k, n in zip(names, body)), nb.name
        check_params(nb, {})   # the defaults pass the CLI's own checks
