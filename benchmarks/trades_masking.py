"""Why TRADES's APGD-CE + T headline overclaims on MNIST at eps 0.3 (issue 33, 2026-12-07): on a model kept by
`python benchmarks/mnist.py --methods trades --seeds 0 --epochs 15 --warmup 5 --aa-n 500 --save /tmp/trades/models --out /tmp/trades/rows.jsonl`,
attack the first 160 images APGD-CE + T left (from that row's per-image bits) with FAB-T alone and with Square (5,000 and 1,000 queries) alone,
then run the report's masking checks on 100 test images. Paths are those of the command above."""
import json, time, sys, numpy as np, torch
sys.path.insert(0, str(__import__('pathlib').Path(__file__).parent))
from mnist import data
from sftnb.deploy import load_model, PixelModel
from sftnb.adversarial import fab, square, apgd, model_logits
from sftnb.evaluate import robustness_report
torch.manual_seed(0)
model, info = load_model('/tmp/trades/models/trades-seed0'); nrm = info['normalization']
model = PixelModel(model, nrm['mean'], nrm['std']).eval()
dls = data(0)
row = json.loads(open('/tmp/trades/rows.jsonl').read().splitlines()[-1])
bits = np.array(row['apgd_bits'], bool)
xs, ys = zip(*[(x.as_subclass(torch.Tensor), y.as_subclass(torch.Tensor)) for x, y in dls.test])
x, y = torch.cat(xs), torch.cat(ys)
print('x range', float(x.min()), float(x.max()))
with torch.no_grad(): print('clean', float((model_logits(model, x).argmax(1) == y).double().mean()))
idx = np.flatnonzero(bits)[:160]
xs_, ys_ = x[idx], y[idx]
def survive(attack, **kw):
    "Per image of the survivors: still classified correctly after `attack` (batches of 64)?"
    return torch.cat([model_logits(model, attack(model, xs_[i:i+64], ys_[i:i+64], 0.3, **kw)).argmax(1).detach() == ys_[i:i+64] for i in range(0, len(idx), 64)])
for name, attack, kw in (('FAB-T', fab, dict(steps=100)), ('Square-5000', square, dict(queries=5000)), ('Square-1000', square, dict(queries=1000))):
    t = time.time(); ok = survive(attack, **kw)
    print(f'{name} on {len(idx)} APGD-CE+T survivors: {int(ok.sum())} survive, {time.time() - t:.0f}s', flush=True)
# logit scale: masking via saturated softmax?
with torch.no_grad(): lg = model_logits(model, xs_)
print('logit margin median', float((lg.topk(2,1).values[:,0]-lg.topk(2,1).values[:,1]).median()), 'max logit median', float(lg.max(1).values.median()))
t=time.time(); r = robustness_report(model, dls.test, attack='apgd', eps=[0.3], corruptions=None, progress=False, seed=0, n_max=100, checks=True)
print('report checks on 100:', r['adversarial']['accuracy'], r['suspicious'], json.dumps(r['checks']), f'{time.time()-t:.0f}s', flush=True)
