"""The report's HTML template: one self-contained page (inline CSS, PNGs as data URIs, no scripts)."""

from __future__ import annotations

import base64

import jinja2

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Retention report{% if r.title %} — {{ r.title }}{% endif %}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;
 padding:1.5rem;color:#1b1b1b}
h1{margin-bottom:.2rem} h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.kpi{background:#f3f6f9;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.kpi b{display:block;font-size:1.4rem}
img{max-width:100%;height:auto;display:block;margin:.8rem 0}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
td,th{border-bottom:1px solid #e4e4e4;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.note{background:#fff6e0;border-left:4px solid #e0a800;padding:.5rem .8rem;margin:.6rem 0}
.help{color:#555;font-size:.92rem}
</style></head><body>
<h1>Retention report</h1>
<p class="help">{{ r.source }} · {{ r.first_day }} to {{ r.last_day }} ·
{{ r.n_transactions }} transactions</p>
<div class="kpis">
{% for k, v in r.kpis %}<div class="kpi">{{ k }}<b>{{ v }}</b></div>{% endfor %}
</div>
{% for n in r.notes %}<div class="note">{{ n }}</div>{% endfor %}
{% for s in r.sections %}
<h2 id="{{ s.id }}">{{ s.title }}</h2>
{% if s.help %}<p class="help">{{ s.help }}</p>{% endif %}
{% for n in s.notes %}<div class="note">{{ n }}</div>{% endfor %}
{% for img in s.images %}
<img alt="{{ img.alt }}" src="data:image/png;base64,{{ img.data }}">{% endfor %}
{% for t in s.tables %}
<table><thead><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}
<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% endfor %}
{% endfor %}
<p class="help">Files: {{ r.files | join(", ") }}</p>
</body></html>
"""

_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_template = _env.from_string(TEMPLATE)


def data_uri(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def render(context: dict[str, object]) -> str:
    return _template.render(r=context)
