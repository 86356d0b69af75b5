"""ONNX export of a fine-tuned model: parity, int8 cost and latency (issue: explain, export and tune).

Fine-tunes the offline backbone on digits 5-9 with the README's robust recipe (N-FGSM + OverfitGuard, whole network,
one cycle; --epochs, default 4), exports it with `export_onnx`, quantizes it with `quantize_onnx` (static QDQ, 256
training images), and runs `check_export` on the test split: max |logit difference| and argmax agreement against
PyTorch, clean accuracy, accuracy under 4 corruptions at severity 3 and under PGD-10 at eps 0.1 transferred from the
PyTorch model, for PyTorch, the fp32 export and the int8 export. Then batch-1 latency: median over --reps single-image
calls of PyTorch eager (no_grad, eval) and of onnxruntime (fp32, int8) on the same thread count, as ratios.
The int8 model is made twice: with `quantize_onnx`'s default 7-bit weights (`reduce_range=True`) and with 8-bit ones
(`int8-w8`); the script prints whether this CPU has VNNI, without which onnxruntime's 8-bit products can saturate.
Targets: parity <= 1e-4 and 100% agreement; int8 clean accuracy within 1 point. Latency has no target.
Usage: python benchmarks/deploy.py [--epochs 4] [--seed 0] [--reps 300] [--threads 1]"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np, torch
from fastai.vision.all import accuracy
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_dls, TARGET_CLASSES, norm_stats
from sftnb.finetune import sft_learner
from sftnb.adversarial import AdversarialTraining, OverfitGuard, PixelSpace
from sftnb.deploy import export_onnx, quantize_onnx, check_export, OnnxModel, PixelModel

def median_ms(f, x, reps):
    for _ in range(20): f(x)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(x); t.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(t))

def main(epochs=4, seed=0, reps=300, threads=1):
    torch.set_num_threads(threads)
    set_seed(seed)
    dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', num_workers=0)
    learn = sft_learner(dls, 'digits_cnn', metrics=accuracy, cbs=[AdversarialTraining('nfgsm', eps=0.1), OverfitGuard()])
    learn.unfreeze()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
    tmp = Path(tempfile.mkdtemp())
    t0 = time.perf_counter(); fp32 = export_onnx(learn, tmp/'model.onnx'); t_exp = time.perf_counter() - t0
    t0 = time.perf_counter(); int8 = quantize_onnx(fp32, tmp/'model-int8.onnx', dls.train, n=256); t_q = time.perf_counter() - t0
    int8w8 = quantize_onnx(fp32, tmp/'model-int8-w8.onnx', dls.train, n=256, reduce_range=False)
    chk = check_export(learn, {'fp32': fp32, 'int8': int8, 'int8-w8': int8w8}, dls.test)
    flags = set(Path('/proc/cpuinfo').read_text().split()) if Path('/proc/cpuinfo').is_file() else set()
    print(f"CPU flags: {sorted(f for f in flags if 'vnni' in f or f in ('avx2', 'avx512f'))} (no VNNI: 8-bit weights may saturate)")
    print(f"torch {torch.__version__}; {threads} thread(s); {len(dls.test.dataset)} test images; export {t_exp:.1f} s, quantization {t_q:.1f} s; "
          f"sizes fp32 {fp32.stat().st_size / 1e6:.2f} MB, int8 {int8.stat().st_size / 1e6:.2f} MB")
    print(chk.pivot(index='metric', columns='model', values='value').round(4).to_string())
    v = chk.set_index(['model', 'metric'])['value']
    print(f"targets: fp32 parity {v[('fp32', 'max |logit difference|')]:.2e} (<= 1e-4), agreement {v[('fp32', 'argmax agreement')]:.3f} (1.0); "
          f"int8 clean accuracy {v[('int8', 'accuracy: clean')]:.4f} vs {v[('pytorch', 'accuracy: clean')]:.4f} (within 0.01)")
    x = dls.test.one_batch()[0][:1].as_subclass(torch.Tensor)
    p = PixelSpace(x, *norm_stats(dls)).to_pixel(x)
    pm = PixelModel(learn.model, *norm_stats(dls)).eval()
    def eager(q):
        with torch.no_grad(): return pm(q)
    ms = {'pytorch eager': median_ms(eager, p, reps)}
    for name, f in (('onnxruntime fp32', fp32), ('onnxruntime int8', int8), ('onnxruntime int8-w8', int8w8)):
        om = OnnxModel(f, threads=threads)
        ms[name] = median_ms(om, p, reps)
    print('batch-1 latency (median ms): ' + ', '.join(f"{k} {v:.3f}" for k, v in ms.items()) +
          f"; ratio to eager: fp32 {ms['onnxruntime fp32'] / ms['pytorch eager']:.2f}, int8 {ms['onnxruntime int8'] / ms['pytorch eager']:.2f}, int8-w8 {ms['onnxruntime int8-w8'] / ms['pytorch eager']:.2f}")

if __name__ == '__main__':
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('--epochs', type=int, default=4); a.add_argument('--seed', type=int, default=0)
    a.add_argument('--reps', type=int, default=300); a.add_argument('--threads', type=int, default=1)
    a = a.parse_args()
    main(a.epochs, a.seed, a.reps, a.threads)
