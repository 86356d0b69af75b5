"""Augmentation and corruption throughput on the embedded digits at 224 px (issue: augmentation suite).

Prints, measured in one run on one core:
  (a) images/s of a bare loop of the `medium` albumentations preset over decoded uint8 arrays,
  (b) images/s of the same preset inside a fastai DataLoader built by `image_dls` (PNG decoding, collation included),
      with the ratio (b)/(a) (target >= 0.80), and the same with 2 worker processes for reference,
  (c) milliseconds per 224 px image of every corruption at severity 3 (target <= 10 ms, except inherently heavy ones).
Usage: python benchmarks/augment.py [--n 512]"""
import argparse, os, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, cv2, torch
from PIL import Image
from sftnb.core import set_seed
from sftnb.data import digits_folder, image_dls, image_items
from sftnb.augment import Albumentations, aug_preset, CORRUPTIONS, corrupt

def rate(n, fn):
    t0 = time.perf_counter(); fn(); return n / (time.perf_counter() - t0)

def main(n=512):
    cv2.setNumThreads(1); torch.set_num_threads(1); set_seed(0)
    path = digits_folder(size=224)
    files = list(image_items(path).query("split == 'train'").path)[:n]
    arrays = [np.asarray(Image.open(f).convert('RGB')) for f in files]
    aug = aug_preset('medium', 224, flip=False)
    aug.set_random_seed(0)
    for a in arrays[:32]: aug(image=a)  # warm-up
    bare = rate(len(arrays), lambda: [aug(image=a)['image'] for a in arrays])

    def loader_rate(workers):
        dls = image_dls(path, item_tfms=Albumentations(aug_preset('medium', 224, flip=False)), bs=64, num_workers=workers, device='cpu')
        it = iter(dls.train); next(it)  # warm-up (workers start)
        seen = [64]
        def run():
            for xb, yb in it:
                seen[0] += len(xb)
                if seen[0] >= n: break
        t0 = time.perf_counter(); start = seen[0]; run()
        return (seen[0] - start) / (time.perf_counter() - t0)
    dl0, dl2 = loader_rate(0), loader_rate(2)
    decode = rate(len(files), lambda: [Image.open(f).convert('RGB') for f in files])
    def plain_rate():
        dl = image_dls(path, bs=64, num_workers=0, device='cpu').train
        it = iter(dl); next(it); seen = 0; t0 = time.perf_counter()
        for xb, yb in it:
            seen += len(xb)
            if seen >= n: break
        return seen / (time.perf_counter() - t0)
    plain = plain_rate()

    print(f"machine: {os.cpu_count()} cores visible; torch {torch.__version__}, albumentations pipeline 'medium' at 224 px, {len(arrays)} images")
    print(f"(a) bare albumentations loop, 1 core        : {bare:8.1f} images/s")
    print(f"(b) image_dls DataLoader, num_workers=0     : {dl0:8.1f} images/s   ratio (b)/(a) = {dl0 / bare:.2f}  (target >= 0.80)")
    print(f"    image_dls DataLoader, num_workers=2     : {dl2:8.1f} images/s   ratio = {dl2 / bare:.2f}  (2 cores, reference)")
    print(f"    where (b) loses time, per image: augmentation {1000 / bare:.2f} ms; PNG decode {1000 / decode:.2f} ms; "
          f"the loader with no augmentation at all {1000 / plain:.2f} ms (decode, fastai item pipeline, ToTensor, collate)")
    x = arrays[0]
    print("(c) corruptions at severity 3, ms per 224 px image (1 core):")
    rows = []
    for name in CORRUPTIONS:
        corrupt(x, name, 3, seed=0)
        reps = 20
        t0 = time.perf_counter()
        for k in range(reps): corrupt(arrays[k % len(arrays)], name, 3, seed=k)
        rows.append((name, (time.perf_counter() - t0) / reps * 1000))
    for name, ms in sorted(rows, key=lambda r: -r[1]):
        flag = '' if ms <= 10 else ('  (inherently heavy)' if name in ('glass_blur', 'zoom_blur') else '  OVER 10 ms')
        print(f"    {name:18s} {ms:6.2f} ms{flag}")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=512, help='images per measurement')
    main(p.parse_args().n)
