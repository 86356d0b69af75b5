"A learner built on sftnb's DataLoaders (with an albumentations augmentation) exports and loads in a fresh process."
import subprocess, sys, textwrap

def test_export_and_load_learner_in_fresh_process(tmp_path):
    build = textwrap.dedent(f"""
        from fastai.vision.all import vision_learner, accuracy
        from sftnb.data import digits_folder, image_dls, TARGET_CLASSES
        from sftnb.models import digits_cnn
        from sftnb.augment import Albumentations, aug_preset
        dls = image_dls(digits_folder(), classes=TARGET_CLASSES, test='test', num_workers=0,
                        item_tfms=Albumentations(aug_preset('medium', 32, flip=False)))
        learn = vision_learner(dls, digits_cnn, pretrained=True, metrics=accuracy)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-2)
        learn.export(r'{tmp_path/'model.pkl'}')
        print(dls.test.items.path.iloc[0], dls.test.items.label.iloc[0])
    """)
    r = subprocess.run([sys.executable, '-c', build], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    img, label = r.stdout.split()[-2:]
    load = textwrap.dedent(f"""
        from fastai.learner import load_learner
        learn = load_learner(r'{tmp_path/'model.pkl'}')
        print(learn.dls.after_item)
        with learn.no_bar(): pred, idx, probs = learn.predict(r'{img}')
        print(pred, list(learn.dls.vocab), round(float(probs.sum()), 4))
    """)
    r = subprocess.run([sys.executable, '-c', load], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    pred, *rest = r.stdout.strip().splitlines()[-1].split()
    assert pred in '56789' and "['5', '6', '7', '8', '9']" in r.stdout and rest[-1] == '1.0'
    assert 'Albumentations' in r.stdout   # the loaded pipeline still holds the augmentation
