"""How far pHash moves under re-encoding, resizing and crops, against how far apart distinct images are (issue 15).

Two sets: the 1,797 embedded digits at 32 px, and 60 patches of 192 px cut at seeded random places from scikit-learn's
two sample photos. For each set it prints the Hamming distance (64-bit pHash, as `find_near_duplicates` computes it)
between distinct images (quantiles), and between an image and its changed copy (median / 90% / max) for JPEG at
quality 70, a resize, and crops. No target: the figures choose `threshold` and say what it cannot catch.
Usage: python benchmarks/near_duplicates.py"""
import io
import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_image
from sftnb.data import digits_folder, image_items
import imagehash
from sftnb.quality import hamming_matrix

def phash(im): return imagehash.phash(im.convert('RGB'), hash_size=8).hash.flatten()   # as find_near_duplicates hashes

def jpeg(im, q=70):
    b = io.BytesIO(); im.save(b, 'JPEG', quality=q); return Image.open(io.BytesIO(b.getvalue())).convert('RGB')
def crop_all(im, f):
    w, h = im.size; k = max(1, int(round(w * f))); return im.crop((k, k, w - k, h - k)).resize((w, h), Image.BICUBIC)
def crop_two(im, f):
    w, h = im.size; k = max(1, int(round(w * f))); return im.crop((k, 0, w, h - k)).resize((w, h), Image.BICUBIC)

def report(name, ims, changes):
    H = np.stack([phash(im) for im in ims])
    d = hamming_matrix(H, H)[np.triu_indices(len(H), 1)]
    print(f"\n{name}: {len(ims)} images; distinct pairs: min {d.min()}, quantiles 0.01%/0.1%/1%/50%: {np.percentile(d, [0.01, 0.1, 1, 50])}")
    for cname, f in changes.items():
        dc = np.array([(phash(f(im)) != H[i]).sum() for i, im in enumerate(ims)])
        print(f"  {cname:28s} median {np.median(dc):4.0f}  90% {np.percentile(dc, 90):4.0f}  max {dc.max():4d}")

def main():
    digits = [Image.open(p).convert('RGB') for p in image_items(digits_folder()).path]
    report('digits, 32 px', digits, {'JPEG quality 70': jpeg, 'resize to 48 px': lambda im: im.resize((48, 48), Image.BICUBIC),
                                     '1 px off two sides': lambda im: crop_two(im, 1 / 32), '2 px off every side': lambda im: crop_all(im, 2 / 32)})
    rng = np.random.default_rng(0)
    photos, s = [Image.fromarray(load_sample_image(n)) for n in ('china.jpg', 'flower.jpg')], 192
    patches = []
    for k in range(60):
        im = photos[k % 2]; x, y = rng.integers(0, im.size[0] - s), rng.integers(0, im.size[1] - s)
        patches.append(im.crop((x, y, x + s, y + s)))
    report('photo patches, 192 px', patches, {'JPEG quality 70': jpeg, '3% off every side': lambda im: crop_all(im, .03),
                                              '5% off every side': lambda im: crop_all(im, .05), '5% off two sides': lambda im: crop_two(im, .05)})

if __name__ == '__main__': main()
