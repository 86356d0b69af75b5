"""Build the documentation site offline: every notebook in nbs/sidebar.yml rendered to HTML in _docs/ (or --dest).

Where Quarto is installed, `nbdev-docs` builds the full site from the same notebooks with nbs/_quarto.yml. This builder
needs only nbconvert and works without a network: it renders the saved outputs (it does not re-run the notebooks), hides
`#| hide` cells and nbdev directives, replaces each `#| export` cell by nbdev's `show_doc` of the public symbols it
defines (as `nbdev-docs` does), turns links between notebooks into links between pages, and adds a navigation bar.
tests/test_docs.py checks its links and that every public symbol has its entry.
Usage: python tools/docs.py [--dest DIR]"""
import argparse, ast, html, importlib, re, sys
from pathlib import Path
import nbformat, yaml
from nbformat.v4 import new_markdown_cell

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'

def pages() -> list:
    "Notebook paths (relative to nbs/) in sidebar order, index first."
    out = []
    def walk(items):
        for it in items:
            if isinstance(it, str): out.append(it)
            elif isinstance(it, dict): walk(it.get('contents', []))
    walk(yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents'])
    return out

def _directives(src:str) -> tuple[dict, str]:
    "nbdev `#| name value` lines at the top of a code cell, and the code without them."
    d, lines = {}, src.splitlines()
    while lines and re.match(r'^#\|\s*', lines[0]):
        k, *v = re.sub(r'^#\|\s*', '', lines.pop(0)).split(maxsplit=1)
        d[k.rstrip(':')] = v[0] if v else True
    return d, '\n'.join(lines)

def _defined(code:str) -> list:
    "Top-level names a cell defines (functions, classes, assignments)."
    try: tree = ast.parse(code)
    except SyntaxError: return []
    names = []
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.append(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                names += [e.id for e in ast.walk(t) if isinstance(e, ast.Name)]
    return names

def _show_doc(obj, name:str) -> str:
    "nbdev's show_doc markdown, without the (possibly unpublished) GitHub source link."
    from nbdev.showdoc import show_doc
    try: md = show_doc(obj, name=name)._repr_markdown_()
    except Exception: md = f"### {name}\n\n```python\n{name} = {obj!r}\n```"   # constants: show the value
    md = re.sub(r'^\[source\]\(.*?\)\{.*?\}\s*$', '', md, flags=re.M)
    return md.replace('---\n', '', 1).strip()

def _link(m) -> str:
    "A markdown link to a notebook becomes a link to its page."
    text, target, frag = m.group(1), m.group(2), m.group(3) or ''
    if re.match(r'^[a-z]+:', target): return m.group(0)
    return f'[{text}]({target[:-len(".ipynb")]}.html{frag})'

def render_notebook(rel:str) -> nbformat.NotebookNode:
    "The notebook as its documentation page shows it."
    nb = nbformat.read(NBS/rel, as_version=4)
    mod = None
    for c in nb.cells:
        if c.cell_type == 'code':
            d, _ = _directives(c.source)
            if 'default_exp' in d: mod = importlib.import_module(f"sftnb.{d['default_exp'].strip()}")
    cells = []
    for c in nb.cells:
        if c.cell_type == 'markdown':
            c.source = re.sub(r'\[([^\]]+)\]\(([^)\s#]+\.ipynb)(#[^)\s]*)?\)', _link, c.source)
            cells.append(c); continue
        if c.cell_type != 'code': continue
        d, code = _directives(c.source)
        if d.get('hide') or 'default_exp' in d or 'exporti' in d or (d.get('eval') == 'false' and not c.get('outputs')): continue
        if 'export' in d or 'exports' in d:
            public = [n for n in _defined(code) if mod is not None and n in getattr(mod, '__all__', [])]
            if 'exports' in d: c.source = code; cells.append(c)
            cells += [new_markdown_cell(_show_doc(getattr(mod, n), n)) for n in public]
            continue
        c.source = code
        cells.append(c)
    nb.cells = cells
    return nb

def nav_html(rel:str, all_pages:list) -> str:
    "A navigation bar linking every page, relative to page `rel`."
    depth = len(Path(rel).parts) - 1
    up = '../' * depth
    links = []
    for p in all_pages:
        name = 'home' if p == 'index.ipynb' else Path(p).stem
        cls = ' class="here"' if p == rel else ''
        links.append(f'<a href="{up}{p[:-len(".ipynb")]}.html"{cls}>{html.escape(name)}</a>')
    style = ('<style>.sftnb-nav{font:14px sans-serif;padding:8px 16px;border-bottom:1px solid #ddd;background:#f7f7f7}'
             '.sftnb-nav a{margin-right:14px;text-decoration:none}.sftnb-nav a.here{font-weight:bold}</style>')
    return f'{style}<nav class="sftnb-nav"><b>sftnb</b> &nbsp; {" ".join(links)}</nav>'

def build(dest=ROOT/'_docs') -> list:
    "Render every page into `dest`; return the written files."
    from nbconvert import HTMLExporter
    dest = Path(dest)
    exporter = HTMLExporter(template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.mathjax_url = ''   # no network: formulas stay as TeX
    written, all_pages = [], pages()
    for rel in all_pages:
        body, _ = exporter.from_notebook_node(render_notebook(rel))
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav_html(rel, all_pages), body, count=1)
        out = dest/Path(rel).with_suffix('.html')
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding='utf-8')
        written.append(out)
    return written

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dest', default=str(ROOT/'_docs'), help='output folder (default _docs/)')
    a = p.parse_args()
    files = build(a.dest)
    print(f'wrote {len(files)} pages to {a.dest}; open {Path(a.dest)/"index.html"}')
