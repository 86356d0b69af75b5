"""Data-parallel adversarial fine-tuning on CPUs (issue 34): throughput and accuracy, 1 process x 2 threads, 1 x 1, 2 processes x 1.

The main job's recipe on real MNIST at eps 0.3 (`RECIPES['mnist']`: PGD-7, fit_one_cycle, Adam, lr 1e-3, eps warm-up over a
third of the epochs; `mnist_cnn` pretrained clean on digits 0-4, fine-tuned on 5-9, 1,500 training images), for `--epochs`
epochs, in three set-ups: one process with 2 torch threads, one with 1, and two processes with 1 thread each under `torchrun`
(`sftnb.distributed.ddp_ctx`: gloo, each process on its half of every epoch). The global batch is the same in all three
(64: 32 per process with two), so the runs take the same optimizer steps. Each run reports training images per second (the
epochs' images over the fit's wall time) and, on the 500 test images (rank 0 only), clean and PGD-20 accuracy (step eps/4,
one random start) with Wilson 95% intervals. Target (the issue): 2 processes >= 1.6x the throughput of 1 x 1.
With `--report-n N`, each run then measures the main job's robustness report (APGD-CE + APGD-T at eps 0.3, no masking checks,
no corruptions) on N seeded test images in every process: with two processes the report is sharded between them
(`robustness_report` under a process group), and its images per second compare the same way.
Run it alone on the machine: the set-ups time each other otherwise.
`--attack-bn eval` generates the training attacks with BatchNorm in eval mode (running statistics) instead of the
method's train mode. `--sync-bn off` lets each process normalize with its own 32 images (before `sync_batchnorm`, the
only way on CPUs); the default shares the statistics of all 64, as one process has them.
Usage: python benchmarks/distributed.py [--epochs 3] [--seeds 0,1,2] [--setups 1x2,1x1,2x1] [--report-n 0] [--attack-bn method] [--sync-bn on] [--out /tmp/distributed.jsonl] [--table]
"""
import argparse, json, os, subprocess, sys, tempfile, textwrap
from pathlib import Path

WORKER = textwrap.dedent('''
    import json, sys, time, torch
    seed, epochs, bs, out, report_n, attack_bn, sync_bn = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7] == 'on'
    from fastai.vision.all import accuracy
    from sftnb.core import set_seed, wilson_interval
    from sftnb.data import mnist_folder, image_dls, TARGET_CLASSES
    from sftnb.finetune import sft_learner
    from sftnb.adversarial import RECIPES, robust_accuracy
    from sftnb.data import norm_kwargs
    from sftnb.distributed import ddp_ctx, rank, world
    r = RECIPES['mnist']
    set_seed(seed)
    dls = image_dls(mnist_folder(), classes=TARGET_CLASSES, test='test', n_in=1, bs=bs, num_workers=0)
    learn = sft_learner(dls, 'mnist_cnn', metrics=accuracy)
    with ddp_ctx(learn, sync_bn=sync_bn):
        n = world()
        t0 = time.perf_counter()
        if attack_bn == 'method':
            with learn.no_bar(), learn.no_logging(): r.fit(learn, epochs=epochs, warmup_epochs=epochs / 3)
        else:   # the recipe with its attacks generated in BatchNorm's eval mode (running statistics) or train mode
            from sftnb.adversarial import AdversarialTraining
            learn.unfreeze()
            at = AdversarialTraining(r.method, eps=r.eps, steps=r.steps, warmup_epochs=epochs / 3, train_mode=attack_bn == 'train')
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, r.lr, cbs=[at])
        secs = time.perf_counter() - t0
    rep = {}
    if report_n:   # the main job's report (APGD-CE + T at eps 0.3, no checks, no corruptions) on report_n test images, in every process: sharded between them
        from sftnb.evaluate import robustness_report
        t0 = time.perf_counter()
        rr = robustness_report(learn, dls.test.new(bs=64), eps=[0.0, r.eps], attack='apgd', corruptions=None, checks=False, n_max=report_n, seed=seed, progress=False)
        rs = time.perf_counter() - t0
        rep = dict(report_s=rs, report_images_per_s=rr['meta']['n'] / rs, report_n=rr['meta']['n'], report_processes=rr['meta']['processes'],
                   apgd=rr['adversarial']['accuracy'][1], apgd_ci=rr['adversarial']['accuracy_ci'][1])
    if rank() == 0:
        X = torch.cat([x for x, _ in dls.test]).as_subclass(torch.Tensor); Y = torch.cat([y for _, y in dls.test]).as_subclass(torch.Tensor)
        model = learn.model.eval()
        with torch.no_grad(): clean = int((model(X).argmax(1) == Y).sum())
        torch.manual_seed(seed)
        pgd20 = round(robust_accuracy(model, X, Y, r.eps, steps=20, **norm_kwargs(dls)) * len(Y))
        m = len(Y)
        json.dump(dict(seed=seed, attack_bn=attack_bn, sync_bn=sync_bn, processes=n, threads=torch.get_num_threads(), bs_per_process=bs, epochs=epochs, train_s=secs,
                       images_per_s=len(dls.train) * bs * epochs / secs, clean=clean / m, clean_ci=wilson_interval(clean, m),
                       pgd20=pgd20 / m, pgd20_ci=wilson_interval(pgd20, m), n_test=m, **rep), open(out, 'w'))
''')

def run(setup, seed, epochs, tmp, report_n=0, attack_bn='method', sync_bn='on'):
    procs, threads = map(int, setup.split('x'))
    w, out = Path(tmp)/'worker.py', Path(tmp)/f'{setup}-{seed}.json'
    w.write_text(WORKER)
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads), 'PYTHONWARNINGS': 'ignore'}
    args = [str(w), str(seed), str(epochs), str(64 // procs), str(out), str(report_n), attack_bn, sync_bn]
    cmd = ([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(procs)] if procs > 1 else [sys.executable]) + args
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode: raise RuntimeError(f"{setup} seed {seed} failed:\n{p.stderr[-3000:]}")
    return {'setup': setup, **json.loads(out.read_text())}

def table(rows):
    print('| set-up | seed | epochs | train s | images/s | clean | PGD-20 | report s (n) | report images/s | APGD-CE+T |\n|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        rep = (f"{r['report_s']:.0f} ({r['report_n']}) | {r['report_images_per_s']:.2f} | {r['apgd']:.3f} [{r['apgd_ci'][0]:.2f}, {r['apgd_ci'][1]:.2f}]" if 'report_s' in r else '— | — | —')
        bn = ('' if r.get('attack_bn', 'method') == 'method' else ', attacks in ' + r['attack_bn'] + ' mode') + (', own BN statistics' if r['processes'] > 1 and not r.get('sync_bn', False) else '')
        print(f"| {r['setup']}{bn} | {r['seed']} | {r['epochs']} | {r['train_s']:.0f} | {r['images_per_s']:.1f} | {r['clean']:.3f} [{r['clean_ci'][0]:.2f}, {r['clean_ci'][1]:.2f}] "
              f"| {r['pgd20']:.3f} [{r['pgd20_ci'][0]:.2f}, {r['pgd20_ci'][1]:.2f}] | {rep} |")
    for key, what in (('images_per_s', 'training'), ('report_images_per_s', 'report')):
        by = {}
        for r in rows:
            if key in r: by.setdefault(r['seed'], {})[r['setup']] = r[key]
        for s, v in by.items():
            if '1x1' in v: print(f"seed {s}: {what} throughput over 1 x 1: " + ', '.join(f"{k} {x / v['1x1']:.2f}x" for k, x in v.items()))

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=3); ap.add_argument('--seeds', default='0,1,2')
    ap.add_argument('--setups', default='1x2,1x1,2x1'); ap.add_argument('--out', default='/tmp/distributed.jsonl')
    ap.add_argument('--report-n', type=int, default=0, help="also time the main job's report (APGD-CE + T at eps 0.3) on this many test images, sharded between the processes")
    ap.add_argument('--attack-bn', default='method', choices=('method', 'eval', 'train'), help="BatchNorm mode while PGD generates the training attacks: the method's default (train), or forced")
    ap.add_argument('--sync-bn', default='on', choices=('on', 'off'), help="BatchNorm statistics over all processes' batches (ddp_ctx's default; on CPUs sftnb.distributed.sync_batchnorm) or each process's own")
    ap.add_argument('--table', action='store_true')
    a = ap.parse_args()
    if not a.table:
        with tempfile.TemporaryDirectory() as tmp:
            for seed in map(int, a.seeds.split(',')):
                for setup in a.setups.split(','):
                    row = run(setup, seed, a.epochs, tmp, a.report_n, a.attack_bn, a.sync_bn)
                    with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')
                    print(row, flush=True)
    table([json.loads(l) for l in open(a.out)])
