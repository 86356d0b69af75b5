"Every public function that draws a progress bar, run once with it on in a plain console process (no notebook), where fastprogress and tqdm pick their console bars."
import subprocess, sys, textwrap

SCRIPT = textwrap.dedent('''
    import sys, warnings
    from pathlib import Path
    out = Path(sys.argv[1])
    from fastprogress.fastprogress import progress_bar, ConsoleProgressBar
    assert progress_bar is ConsoleProgressBar                  # what a console process gets (the bug hid behind the notebook bar)
    from sftnb.data import digits_folder, image_items, image_dls, TARGET_CLASSES
    from sftnb.quality import cross_val_probs, find_label_issues
    items = image_items(digits_folder())
    few = items[items['label'].isin(['0', '1'])].groupby('label').head(10).reset_index(drop=True)
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()) as said: cv = cross_val_probs(few, folds=2, epochs=1, freeze_epochs=0, progress=True)
    assert cv.probs.shape == (20, 2)
    assert 'cross_val_probs: 2 folds, each a fine-tune (0 frozen + 1 epochs) on about 10 of 20 images: 2 epochs of training in all' in said.getvalue()   # the cost, said first
    find_label_issues(few, folds=2, epochs=1, freeze_epochs=0, progress=True)
    from sftnb.finetune import sft_learner
    from sftnb.evaluate import robustness_report
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', num_workers=0)
    learn = sft_learner(dls, 'digits_cnn')
    robustness_report(learn, eps=(0, 0.1), attack='pgd', steps=2, corruptions='fog', n_max=16, progress=True)
    from sftnb.experiment import make_nb
    make_nb(out/'toy.ipynb', "from sftnb.experiment import run_folder, record\\nrun_folder(out_dir)\\nrecord(valid_acc=-(x - 2) ** 2, status='finished')", params='x = 1.0\\nout_dir = None')
    from sftnb.sweep import sweep, tune
    sweep(out/'toy.ipynb', {'x': [1.0, 2.0]}, out/'sweep', progress=True)
    tune(out/'toy.ipynb', {'x': {'low': 0.0, 'high': 4.0}}, out/'tune', n_trials=2, objective='valid_acc', progress=True)
    print('ALL RAN')
''')

def test_every_progress_bar_runs_in_a_console(tmp_path):
    r = subprocess.run([sys.executable, '-c', SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and 'ALL RAN' in r.stdout, (r.stdout[-2000:], r.stderr[-4000:])
