"README.md is generated from nbs/index.ipynb, and its set-up commands are the ones CI runs."
import subprocess, sys
from conftest import ROOT

def test_readme_in_sync_with_index():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT/'README.md').read_text(), (ROOT/'.ci'/'run').read_text()
    cmd = [l for l in ci.splitlines() if l.startswith('python3 -m venv')]
    assert len(cmd) == 1 and cmd[0] in readme, cmd
    assert 'sftnb run nbs/tutorials/01_robust_finetune.ipynb' in readme

def test_offline_docs_build_links_and_api(tmp_path):
    "tools/docs.py renders every page without Quarto or a network; internal links resolve; every public symbol has its entry."
    import importlib, re
    from html.parser import HTMLParser
    import yaml
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), '--dest', str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    sidebar = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    flat = [p for p in sidebar if isinstance(p, str)] + [p for s in sidebar if isinstance(s, dict) for p in s['contents']]
    nbs = sorted(str(p.relative_to(ROOT/'nbs')) for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
    assert sorted(flat) == nbs, 'every notebook is in nbs/sidebar.yml (and so in the site), and nothing else'
    class Page(HTMLParser):
        def __init__(self): super().__init__(); self.links, self.ids = [], set()
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if a.get('id'): self.ids.add(a['id'])
            for k in ('href', 'src'):
                if a.get(k): self.links.append(a[k])
    parsed = {}
    for p in flat:
        f = tmp_path/p.replace('.ipynb', '.html')
        assert f.exists(), f
        parsed[f] = Page(); parsed[f].feed(f.read_text(encoding='utf-8')); parsed[f].text = f.read_text(encoding='utf-8')
    broken = []
    for f, page in parsed.items():
        for link in page.links:
            if re.match(r'^([a-z]+:|//)', link): continue            # external, data: and javascript: links are not ours
            target, _, frag = link.partition('#')
            tf = (f.parent/target).resolve() if target else f
            if not tf.exists(): broken.append((f.name, link)); continue
            if frag and tf in parsed and frag not in parsed[tf].ids: broken.append((f.name, link))
    assert not broken, broken
    modidx = importlib.import_module('sftnb._modidx').d['syms']
    missing = []
    for modname in modidx:
        mod = importlib.import_module(modname)
        page = tmp_path/f"{[p for p in flat if p.split('_', 1)[-1] == modname.split('.')[-1] + '.ipynb'][0].replace('.ipynb', '.html')}"
        text = parsed[page].text
        missing += [(modname, n) for n in mod.__all__ if not re.search(rf'<h[34][^>]*>\s*{re.escape(n)}\s*<', text)]
    assert not missing, missing
    assert 'Oops' not in parsed[tmp_path/'index.html'].text and 'class="sftnb-nav"' in parsed[tmp_path/'index.html'].text
