"""Render the payload into one self-contained, offline HTML file (data, CSS, JS and README inlined).

Safety model:
- the data travels as JSON inside ``<script type="application/json">`` (the bulky fills in a second
  one after the page script, parsed only when a wallet panel needs them, so first render skips them); ``json_for_script`` escapes
  ``<``, ``>``, ``&`` and U+2028/U+2029 so no data string can close the element or start markup;
- the page script builds every data-derived node with createElement/textContent (no innerHTML);
- the README is rendered to HTML here with raw HTML disabled (it shows as text), unsafe link
  schemes removed and images replaced by their alt text (an image would be a network request);
- a Content-Security-Policy allows only the one inline script (by its SHA-256) and no fetches at all.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import webbrowser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import orjson

from hypertrack_pipeline.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_NAME = "dashboard.html.j2"
_SAFE_LINK_PREFIXES = ("http://", "https://", "mailto:", "#")
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def json_for_script(data: Any) -> str:
    """JSON text that is safe to place verbatim inside a ``<script>`` element (still valid JSON)."""
    text = orjson.dumps(
        data,
        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        default=str,
    ).decode("utf-8")
    return text.translate(_SCRIPT_ESCAPES)


def _is_safe_link(url: str) -> bool:
    u = url.strip().lower()
    if u.startswith(_SAFE_LINK_PREFIXES):
        return True
    # relative links (no scheme) are harmless; anything with a scheme (javascript:, data:, …) is not
    head = u.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return ":" not in head


def render_readme_html(markdown_text: str) -> str:
    """README markdown -> HTML with raw HTML shown as text, unsafe links dropped, images as alt text."""
    import markdown
    from markdown.extensions import Extension
    from markdown.treeprocessors import Treeprocessor

    class _Sanitize(Treeprocessor):
        def run(self, root: ElementTree.Element) -> None:
            for parent in root.iter():
                for i, child in enumerate(list(parent)):
                    if child.tag == "img":
                        span = ElementTree.Element("span", {"class": "img-alt"})
                        span.text = f"[image: {child.get('alt') or ''}]"
                        span.tail = child.tail
                        parent.remove(child)
                        parent.insert(i, span)
                    elif child.tag == "a":
                        href = child.get("href", "")
                        if not _is_safe_link(href):
                            child.attrib.pop("href", None)
                        else:
                            child.set("rel", "noopener noreferrer")
                            if not href.startswith("#"):
                                child.set("target", "_blank")

    class _NoRawHtml(Extension):
        def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (markdown's API name)
            md.preprocessors.deregister("html_block")
            md.inlinePatterns.deregister("html")
            md.treeprocessors.register(_Sanitize(md), "hypertrack_sanitize", 0)

    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", _NoRawHtml()])
    return md.convert(markdown_text or "")


def _asset(name: str) -> str:
    return (PACKAGE_DIR / "static" / name).read_text(encoding="utf-8")


def render_html(payload: dict, readme_markdown: str) -> str:
    """The whole dashboard page as one string."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PACKAGE_DIR / "templates")),
        autoescape=True,
        keep_trailing_newline=True,
    )
    script = _asset("dashboard.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    model = payload.get("model") or {}
    fills = payload.get("fills")
    main = {k: v for k, v in payload.items() if k != "fills"}
    return env.get_template(TEMPLATE_NAME).render(
        css=_markup(_asset("dashboard.css")),
        script=_markup(script),
        script_hash=f"sha256-{digest}",
        data_json=_markup(json_for_script(main)),
        fills_json=_markup(json_for_script(fills)) if fills is not None else None,
        readme_html=_markup(render_readme_html(readme_markdown)) if readme_markdown else None,
        generated=payload.get("generated", ""),
        model_version=model.get("version"),
        wallets=int(payload.get("n", 0)),
    )


def _markup(text: str) -> Any:
    from markupsafe import Markup

    return Markup(text)


def render_dashboard(payload: dict, readme_markdown: str, out_path: Path) -> dict:
    """Write the dashboard atomically (temp file + rename) and return metadata for Dagster."""
    out_path = Path(out_path)
    html = render_html(payload, readme_markdown).encode("utf-8")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(html)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    detail = payload.get("detail") or {}
    return {
        "path": str(out_path),
        "size_bytes": len(html),
        "wallets": int(payload.get("n", 0)),
        "detail_wallets": len(detail.get("row", [])),
        "fills": len((payload.get("fills") or {}).get("t", [])),
        "model_version": (payload.get("model") or {}).get("version"),
    }


def write_dashboard(
    con: Any, out_path: Path, readme_path: Path | None, model_info: dict | None = None
) -> dict:
    """Build the payload from DuckDB and render it; a missing README leaves the Docs modal with a note."""
    from hypertrack_pipeline.dashboard.payload import build_dashboard_payload

    readme = ""
    if readme_path is not None and Path(readme_path).is_file():
        readme = Path(readme_path).read_text(encoding="utf-8", errors="replace")
    payload = build_dashboard_payload(con, model_info)
    return render_dashboard(payload, readme, Path(out_path))


def open_in_browser(path: Path) -> bool:
    """Open the dashboard in the user's default browser (``hypertrack report --open``)."""
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise UserError(f"dashboard not found: {p} (run the pipeline or `hypertrack report` first)")
    return bool(webbrowser.open(p.as_uri(), new=2))
