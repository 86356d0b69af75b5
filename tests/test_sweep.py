"Sweeps end to end (the tutorial sweep on 2 workers is in test_tutorials.py): failures kept, kill and resume, a Dask cluster, bad input refused early."
import json, os, signal, subprocess, sys, time
import nbformat, pytest
from sftnb.experiment import make_nb
from conftest import TUTORIAL

def sh(*cmd, timeout=900, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)

def tiny_nb(path, *sources, params="x = 1\nlr = 0.01\nout_dir = None"):
    return make_nb(path, "from sftnb.experiment import run_folder, record\nrun_folder(out_dir)", *sources, params=params)

def test_failing_run_is_kept_and_reported(sftnb_bin, tmp_path):
    nb = tiny_nb(tmp_path/'flaky.ipynb', "if x == 2: raise RuntimeError('planted failure')", "record(y=x, status='finished')")
    (tmp_path/'g.yaml').write_text("x: [1, 2, 3]\n")
    r = sh(sftnb_bin, 'sweep', nb, '--grid', tmp_path/'g.yaml', '--out', tmp_path/'s', '--retries', 1, '--no-progress')
    assert r.returncode == 1
    assert '2 done, 1 failed' in r.stdout and 'planted failure' in r.stdout
    failed = tmp_path/'s'/'x=2'
    assert (failed/'flaky.ipynb').exists() and json.loads((failed/'error.json').read_text())['evalue'] == 'planted failure'
    assert len(list(failed.glob('flaky.failed-*.ipynb'))) == 1                     # the first attempt, kept
    assert all(json.loads((tmp_path/'s'/f'x={i}'/'metrics.json').read_text())['y'] == i for i in (1, 3))
    c = sh(sftnb_bin, 'collect', tmp_path/'s')   # the shared parameters once, then what varies and the status
    lines = c.stdout.splitlines()
    assert c.returncode == 0 and lines[0] == 'the same in every run: lr=0.01', c.stdout
    assert lines[2].split()[:4] == ['run', 'x', 'status', 'duration_s'] and 'planted failure' in c.stdout and 'out_dir' not in c.stdout, c.stdout

def test_killed_sweep_resumes_without_touching_finished_runs(sftnb_bin, tmp_path):
    nb = tiny_nb(tmp_path/'slow.ipynb', "import time; time.sleep(2)", "record(y=x, status='finished')")
    (tmp_path/'g.yaml').write_text("x: [1, 2, 3, 4, 5]\n")
    out = tmp_path/'s'
    cmd = [sftnb_bin, 'sweep', nb, '--grid', tmp_path/'g.yaml', '--out', out, '--no-progress']
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    def finished():  # a run folder may exist before its metrics.json does
        return [d for d in out.glob('x=*') if (d/'metrics.json').exists() and json.loads((d/'metrics.json').read_text() or '{}').get('status') == 'finished']
    deadline = time.time() + 240
    while time.time() < deadline and len(finished()) < 2: time.sleep(0.3)
    os.killpg(p.pid, signal.SIGKILL)                                                # as if the machine died
    p.wait()
    done = {d.name: (d/'metrics.json').stat().st_mtime_ns for d in finished()}
    assert 2 <= len(done) < 5
    r = sh(*cmd)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f'{5 - len(done)} done, 0 failed, {len(done)} skipped' in r.stdout
    assert {d: (out/d/'metrics.json').stat().st_mtime_ns for d in done} == done      # finished runs untouched
    assert len(finished()) == 5

def test_dask_cluster_gives_the_same_table(tmp_path):
    distributed = pytest.importorskip('distributed')
    from sftnb.sweep import sweep, collect
    nb = tiny_nb(tmp_path/'t.ipynb', "record(y=x * lr, status='finished')")
    grid = {'x': [1, 2, 3], 'lr': [0.5]}
    sweep(nb, grid, tmp_path/'local', workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
         distributed.Client(cluster) as client:
        table = sweep(nb, grid, tmp_path/'dask', executor=client, progress=False)
    assert (table.status == 'done').all()
    keep = ['run', 'x', 'lr', 'y', 'status']
    a, b = collect(tmp_path/'local')[keep], collect(tmp_path/'dask')[keep]
    assert a.equals(b), (a, b)

def test_bad_sweeps_are_refused_before_any_kernel(sftnb_bin, tmp_path):
    nb = tiny_nb(tmp_path/'t.ipynb', "record(y=1)")
    cases = {"lr_max: [0.1]\n": "its parameters are ['x', 'lr', 'out_dir']",
             "lr: ['1e-3']\n": "lr='1e-3' is a str",
             "{}\n": 'empty',
             "x: []\n": "['x']",
             "x: [1, 2\n": "g.yaml is not valid YAML at line 2, column 1"}   # a syntax error: one line, not PyYAML's traceback
    for text, msg in cases.items():
        (tmp_path/'g.yaml').write_text(text)
        r = sh(sftnb_bin, 'sweep', nb, '--grid', tmp_path/'g.yaml', '--out', tmp_path/'s', '--no-progress')
        assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, (text, r.stderr)
        assert not (tmp_path/'s').exists()
    (tmp_path/'bad.yaml').write_text("lr: {low: 0.001\n")
    for cmd in (['tune', nb, '--space', tmp_path/'bad.yaml', '--trials', 1, '--out', tmp_path/'t'], ['run', nb, '-f', tmp_path/'bad.yaml', '--out', tmp_path/'r']):
        r = sh(sftnb_bin, *cmd)
        assert r.returncode == 2 and 'bad.yaml is not valid YAML at line 2' in r.stderr and len(r.stderr.strip().splitlines()) == 1, (cmd[0], r.stderr)
    (tmp_path/'g.yaml').write_text("x: [1]\n"); (tmp_path/'file').write_text('')
    r = sh(sftnb_bin, 'sweep', nb, '--grid', tmp_path/'g.yaml', '--out', tmp_path/'file', '--no-progress')
    assert r.returncode == 2 and 'not a folder' in r.stderr
    r = sh(sftnb_bin, 'collect', tmp_path/'nowhere')
    assert r.returncode == 2 and 'nowhere' in r.stderr

def test_sweep_and_collect_help_show_examples(sftnb_bin):
    for sub in ('sweep', 'collect'):
        r = sh(sftnb_bin, sub, '--help')
        assert r.returncode == 0 and 'sftnb sweep nbs/tutorials/01_robust_finetune.ipynb --grid grid.yaml' in r.stdout

def test_mlflow_mirrors_record_when_configured(sftnb_bin, tmp_path):
    mlflow = pytest.importorskip('mlflow')
    nb = tiny_nb(tmp_path/'t.ipynb', "record(y=x * 2, per_class={'a': {'f1': 0.5}})", "record(status='finished')")
    uri = f"sqlite:///{tmp_path/'mlflow.db'}"
    r = sh(sftnb_bin, 'run', nb, '-p', 'x', '21', '--out', tmp_path/'run', '--no-progress', env={**os.environ, 'MLFLOW_TRACKING_URI': uri})
    assert r.returncode == 0, r.stderr[-3000:]
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 1
    d = runs[0].data
    assert d.params['x'] == '21' and d.metrics['y'] == 42 and d.metrics['per_class.a.f1'] == 0.5 and d.tags['status'] == 'finished'
    assert runs[0].info.status == 'FINISHED' and runs[0].info.run_name == 'run'

def test_without_tracking_uri_mlflow_is_not_imported(tmp_path):
    code = ("import os, sys; os.environ.pop('MLFLOW_TRACKING_URI', None)\n"
            f"from sftnb.experiment import run_folder, record; run_folder(r'{tmp_path/'r'}'); record(a=1)\n"
            "print('mlflow' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == 'False', r.stderr
