"""HTML loading: readable text, scripts and styles gone, title and headings kept."""

from __future__ import annotations

from pathlib import Path

from beluga.documents import Source
from beluga.documents.loaders.html import HtmlLoader

PAGE = """<!doctype html><html lang="en"><head><title>My  Page</title>
<style>body { color: red }</style><script>alert("x")</script></head>
<body><nav>Menu</nav><main><h1>Main heading</h1>
<p>First   paragraph with <b>bold</b>
text.</p><script>var secret = 1;</script>
<ul><li>one</li><li>two</li></ul><pre>keep
   spacing</pre></main></body></html>"""


def _load(tmp_path: Path, **kwargs: str) -> dict:  # type: ignore[type-arg]
    path = tmp_path / "p.html"
    path.write_text(PAGE, encoding="utf-8")
    [doc] = HtmlLoader(**kwargs).load(Source.from_path(path))
    return {"text": doc.text, **doc.metadata}


def test_text_title_and_headings(tmp_path: Path) -> None:
    got = _load(tmp_path)
    assert got["text"] == (
        "Menu\n\nMain heading\n\nFirst paragraph with bold text.\n\none\ntwo\n\nkeep\n   spacing\n"
    )
    assert got["title"] == "My Page" and got["language"] == "en"
    assert "alert" not in got["text"] and "secret" not in got["text"] and "color" not in got["text"]
    offset = got["text"].index("Main heading")
    assert got["headings"] == [{"level": 1, "title": "Main heading", "offset": offset}]


def test_selector_keeps_main_content(tmp_path: Path) -> None:
    got = _load(tmp_path, selector="main")
    assert got["text"].startswith("Main heading") and "Menu" not in got["text"]
