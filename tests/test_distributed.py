"""Data-parallel training with sftnb's callbacks: two CPU processes under torchrun (gloo), checked against one process.

One torchrun launch (about 40 s on 2 cores, most of it two fastai imports) runs PGD adversarial training with
`AdversarialAccuracy` and `OverfitGuard` under `ddp_ctx`, with a collapse that only rank 0 sees; each rank writes what
it saw, and the checks below compare the ranks with each other and with a plain one-process PGD loop on the same weights;
on the final weights each rank also measures the robustness report sharded between the two and alone.
A hang fails the test at its timeout instead of blocking the test command.
"""
import json, os, subprocess, sys, textwrap
import pytest

WORKER = textwrap.dedent('''
    import json, sys, torch
    from fastai.vision.all import accuracy
    from sftnb.core import set_seed
    from sftnb.data import digits_folder, image_dls, norm_kwargs, TARGET_CLASSES
    from sftnb.finetune import sft_learner, GradualUnfreeze
    from sftnb.adversarial import AdversarialTraining, AdversarialAccuracy, OverfitGuard, pgd
    from sftnb.distributed import ddp_ctx, rank, world
    import torch.distributed as dist

    judge = OverfitGuard.judge
    def judge_with_a_collapse_on_rank0(self, *a):   # a collapse that only rank 0 sees: every rank must act on it
        h = judge(self, *a)
        if self.epoch == 1 and dist.get_rank() == 0: h['action'] = 'lowered'
        return h
    OverfitGuard.judge = judge_with_a_collapse_on_rank0

    set_seed(0)
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, bs=64, num_workers=0)
    am = AdversarialAccuracy(0.1, steps=2, random_start=False)   # deterministic per image: comparable with one process
    learn = sft_learner(dls, 'digits_cnn', metrics=[accuracy, am])
    at, guard = AdversarialTraining('pgd', eps=0.1, steps=2), OverfitGuard(n=40, floor=0.0)
    learn.unfreeze()
    with ddp_ctx(learn):
        r, n = rank(), world()
        with learn.no_bar(): learn.fit_one_cycle(3, 1e-3, cbs=[at, guard])   # collapse after epoch 1; epoch 2 trains on
    ddp_value, ddp_total, train_batches = float(learn.recorder.values[-1][-1]), am.total, len(learn.recorder.losses)

    params = torch.cat([p.detach().flatten() for p in learn.model.parameters()])
    everyone = [None] * n; dist.all_gather_object(everyone, params)
    same = all(torch.equal(everyone[0], p) for p in everyone)

    model, right, total = learn.model.eval(), 0, 0    # one process's count on the same weights: a plain loop
    for x, y in dls.valid:
        xa = pgd(model, x, y, 0.1, steps=2, random_start=False, **norm_kwargs(dls))
        with torch.no_grad(): right += int((model(xa).argmax(1) == y).sum()); total += len(y)

    from sftnb.evaluate import robustness_report   # the report on the same weights: each rank measures half of the batches, then alone
    rkw = dict(dl=dls.valid.new(bs=8), eps=(0, 0.1), attack='pgd', steps=3, corruptions='gaussian_noise', severities=(2,), n_max=24, seed=1, progress=False)
    sharded = robustness_report(learn, **rkw)
    alone = robustness_report(learn, shard=False, **rkw)

    learn.metrics = accuracy
    learn.freeze()                                    # GradualUnfreeze makes weights trainable in the middle of a fit
    with ddp_ctx(learn):
        with learn.no_bar(), learn.no_logging(): learn.fit(3, 1e-3, cbs=GradualUnfreeze())
    params = torch.cat([p.detach().flatten() for p in learn.model.parameters()])
    everyone = [None] * n; dist.all_gather_object(everyone, params)
    same_after_unfreezing = all(torch.equal(everyone[0], p) for p in everyone)

    from sftnb.finetune import L2SP, EMA, wise_ft          # the other training callbacks, and WiSE-FT on the wrapped model
    from sftnb.augment import AugMixJSD
    l2 = L2SP(alpha=0.1)
    learn.unfreeze()
    with ddp_ctx(learn):
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=[l2, AugMixJSD(), EMA()])
        wise_ft(learn, 0.5)
    params = torch.cat([p.detach().flatten() for p in learn.model.parameters()])
    everyone = [None] * n; dist.all_gather_object(everyone, params)
    same_after_the_rest = all(torch.equal(everyone[0], p) for p in everyone)
    l2sp_pretrained = [len(l2.old), len([k for k, _ in learn.model.named_parameters() if k in learn.pretrained_names])]

    from sftnb.finetune import lp_ft                  # LP-FT: a probe on the frozen body, then everything, two fits in one context
    lp = sft_learner(dls, 'digits_cnn', head='linear')
    with ddp_ctx(lp):
        with lp.no_bar(), lp.no_logging(): lp_ft(lp, lp_epochs=1, ft_epochs=1)
    body = lambda sd: torch.cat([v.double().flatten() for k, v in sd.items() if k.startswith('0.') and v.is_floating_point()])
    lp_state = [torch.cat([p.detach().flatten() for p in lp.model.parameters()]), body(lp.probe_state)]
    everyone = [None] * n; dist.all_gather_object(everyone, lp_state)
    lp_ft_same = all(torch.equal(everyone[0][i], e[i]) for e in everyone for i in range(2))
    lp_probe_kept_body = bool(torch.equal(body(lp.probe_state), body(lp.pretrained_state)))   # the probe moved the head alone (norm statistics included)
    json.dump(dict(rank=r, world=n, same_params=same, same_after_unfreezing=same_after_unfreezing, ddp_value=ddp_value, ddp_total=ddp_total, one_value=right / total,
                   one_total=total, actions=[h['action'] for h in guard.history], alpha=at.alpha, start_alpha=2.5 * 0.1 / 2,
                   train_batches=train_batches, report_sharded=sharded.results, report_alone=alone.results,
                   report_processes=[sharded['meta']['processes'], alone['meta']['processes']],
                   same_after_the_rest=same_after_the_rest, l2sp_pretrained=l2sp_pretrained,
                   lp_ft_same=lp_ft_same, lp_probe_kept_body=lp_probe_kept_body), open(sys.argv[1] + f'/rank{r}.json', 'w'))
''')

@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    d = tmp_path_factory.mktemp('ddp')
    (d/'worker.py').write_text(WORKER)
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', str(d/'worker.py'), str(d)],
                       capture_output=True, text=True, timeout=600, env=env, cwd=d)   # 122-137 s in the test command; over 240 s once, beside four other processes
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-6000:])
    return [json.loads((d/f'rank{i}.json').read_text()) for i in range(2)]

def test_two_processes_train_one_model(ranks):
    "Both ranks ran, in a group of two, and end with bit-identical parameters after adversarial training and a restore."
    assert [(r['rank'], r['world']) for r in ranks] == [(0, 2), (1, 2)]
    assert all(r['same_params'] for r in ranks)
    # each rank trained on its half of the data: one process takes 8 batches of 64 of the 537 training images per
    # epoch (fastai drops the last, partial one); each of two ranks takes 4 batches of 64 per epoch, 12 in three epochs
    assert [r['train_batches'] for r in ranks] == [12, 12]

def test_adversarial_accuracy_is_the_one_process_count(ranks):
    "The last epoch's metric counts every validation image once (179: not the 180 DistributedDL pads to) and equals a one-process loop on the final weights."
    for r in ranks:
        assert r['ddp_total'] == r['one_total'] == 179
        assert r['ddp_value'] == r['one_value']

def test_a_collapse_seen_by_rank0_is_acted_on_by_every_rank(ranks):
    "Rank 0's decision is everyone's: both record the collapse, both halve the attack step, and nobody hangs."
    for r in ranks:
        assert r['actions'] == [None, 'lowered', None]
        assert r['alpha'] == pytest.approx(r['start_alpha'] / 2)

def test_unfreezing_in_the_middle_of_a_fit_keeps_the_processes_together(ranks):
    "GradualUnfreeze under DDP: the weights it unfreezes are averaged too (without `rewrap` they drifted apart by up to 0.015)."
    assert all(r['same_after_unfreezing'] for r in ranks)

def test_l2sp_augmix_ema_and_wise_ft_keep_the_processes_together(ranks):
    "L2-SP, AugMixJSD and EMA in one fit, then WiSE-FT on the wrapped model: identical weights on both ranks, and L2-SP pulls the pretrained weights (it found them by name inside DistributedDataParallel; before, it found none and decayed every weight as new)."
    for r in ranks:
        assert r['same_after_the_rest']
        assert r['l2sp_pretrained'][0] == r['l2sp_pretrained'][1] > 0

def test_the_sharded_report_is_the_one_process_report(ranks):
    "The robustness report measured on two processes (each attacking and corrupting half of the batches) equals one process's on the same weights and seed: every accuracy, interval, masking check and per-image result, on both ranks."
    for r in ranks:
        assert r['report_processes'] == [2, 1]
        assert r['report_sharded'] == r['report_alone']
        assert r['report_sharded']['checks'] and len(r['report_sharded']['adversarial']['correct'][1]) == 24   # the checks ran; 24 images, 3 batches of 8
    assert ranks[0]['report_sharded'] == ranks[1]['report_sharded']

def test_sftnb_run_trains_the_main_job_on_two_processes(tmp_path):
    "`sftnb run --nproc 2`: the main job's training (WiSE-FT's per-epoch value included) and its report run on two processes forked from the kernel (launch_fit)."
    from conftest import TUTORIAL, _script
    out = tmp_path/'two'
    r = subprocess.run([_script('sftnb'), 'run', str(TUTORIAL), '--nproc', '2', '--out', str(out), '--no-progress', '-p', 'dataset', 'digits',
                        '-p', 'epochs', '3', '-p', 'report_n', '60', '-p', 'strategy', 'wise_ft', '-p', 'wise_alpha', '1.0',
                        '-p', 'adv_eval_eps', '', '-p', 'corruptions', ''], capture_output=True, text=True, timeout=600)   # the report's attacks and corruptions are one process's, tested elsewhere
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    m = json.loads((out/'metrics.json').read_text())
    assert m['status'] == 'finished' and m['world_size'] == 2 and m['params']['nproc'] == 2
    assert list(m['reported']) == ['0', '1', '2']               # one value per epoch, written by rank 0 alone
    # under wise_ft the value of each epoch is measured on the interpolated weights inside the wrapper; at alpha 1 they are
    # the trained ones, so it is fastai's validation accuracy of that epoch (179 images: one image apart at most, float noise)
    for e, h in enumerate(m['history']): assert abs(m['reported'][str(e)] - h['accuracy']) <= 1 / 179 + 1e-6, (m['reported'], m['history'])
    assert m['guard'] in ('ok', 'never_robust', 'collapsed')    # the digits recipe's OverfitGuard ran, and its verdict came back
    assert len(m['history']) == 3 and m['train_time_s'] > 0     # rank 0's recorder came back into the kernel
    # clean accuracy on 60 test images after 3 epochs, 2 processes, bs 32 each: 0.967, 0.967, 1.000 (seeds 0, 1, 42; one process, seed 42: 0.967)
    assert m["clean_acc"] > 0.85, m["clean_acc"]

def test_lp_ft_keeps_the_processes_together(ranks):
    "LP-FT's two fits (a linear probe on the frozen body, then everything) on two processes: identical weights and probed weights on both ranks; the probe left the body, norm statistics included, as pretrained."
    for r in ranks:
        assert r['lp_ft_same'] and r['lp_probe_kept_body']
