"The installed package: imports in a plain Python process, console script, metadata."
import subprocess, sys
from conftest import ROOT

def py(code, cwd):
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, capture_output=True, text=True, timeout=300)

def test_imports_and_public_api_in_plain_process(tmp_path):
    "One fresh process (fastai's import alone takes ~10 s): the modules import, and the public names are exported."
    code = ("import sftnb, sftnb.core, sftnb.data, sftnb.models, sftnb.experiment, sftnb.sweep, sftnb.cli\n"
            "from sftnb.core import set_seed, get_device, cache_dir\n"
            "from sftnb.data import digits_folder, image_dls, audit_images\n"
            "from sftnb.models import pretrained_source, digits_cnn, get_arch\n"
            "from sftnb.experiment import run, record\nfrom sftnb.sweep import sweep, collect\nfrom sftnb.cli import main\n"
            "import sftnb.data as d, sftnb.models as m; assert {'digits_folder','image_dls','audit_images'} <= set(d.__all__)\n"
            "assert {'digits_cnn','pretrained_source','get_arch'} <= set(m.__all__)\n"
            "print(sftnb.__version__, sftnb.__file__)")
    r = py(code, tmp_path)
    assert r.returncode == 0, r.stderr
    version, path = r.stdout.split()
    assert version.count('.') >= 2
    assert path.endswith('sftnb/__init__.py')

def test_version_matches_metadata(tmp_path):
    r = py("import importlib.metadata as m, sftnb; assert m.version('sftnb') == sftnb.__version__, (m.version('sftnb'), sftnb.__version__)", tmp_path)
    assert r.returncode == 0, r.stderr

def test_cli_help_shows_examples(sftnb_bin):
    for args in ([], ['run']):
        r = subprocess.run([sftnb_bin, *args, '--help'], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert 'sftnb run nbs/tutorials/01_robust_finetune.ipynb' in r.stdout

def test_modules_import_one_way_and_no_private_names():
    "Each module imports only from modules of earlier notebooks (no cycle), and never another module's _private name."
    import ast, re, nbformat
    order = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        m = re.search(r'#\| default_exp (\w+)', ''.join(c.source for c in nbformat.read(nb, as_version=4).cells if c.cell_type == 'code'))
        if m: order.append(m.group(1))
    assert {p.stem for p in (ROOT/'sftnb').glob('*.py')} - {'__init__', '_modidx'} == set(order)
    problems = []
    for m in order:
        for n in ast.walk(ast.parse((ROOT/'sftnb'/f'{m}.py').read_text())):
            if isinstance(n, ast.ImportFrom) and (n.level == 1 or (n.module or '').startswith('sftnb')):
                tgt = (n.module or '').removeprefix('sftnb').lstrip('.')
                if order.index(tgt) >= order.index(m): problems.append(f'{m} imports {tgt}, which comes after it')
                problems += [f'{m} imports {tgt}.{a.name}, a private name' for a in n.names if a.name.startswith('_')]
    assert not problems, problems
