"""HTML to PDF with WeasyPrint, for every printed document of the application.

Safety: templates render customer-supplied text, so the URL fetcher serves only files bundled under
`app/assets/`, addressed as `carnet-asset:<path>` (e.g. `carnet-asset:fonts/DejaVuSans.ttf`). Every other
URL (`file:`, `http(s):`, `data:`, a relative path, a traversal) is refused and the rendering stops with
`AssetRefused`: a document that silently lost a resource, or fetched one it should not, is worse than none.

Speed (measured with cProfile on WeasyPrint 70; a plain 20-line note took ~470 ms):
- Fonts: the bundled fonts are a Latin subset of DejaVu Sans made once (see `assets/fonts/README.md`),
  ~30 kB each. With HarfBuzz's subset library (`libharfbuzz-subset0`, installed by the Dockerfile and
  CI) WeasyPrint embeds only the glyphs a document uses, in C: a subset costs less than reading the
  whole font's widths and character map and compressing its 30 kB into every PDF (~6 % of a one-page
  note by callgrind's instruction count, and smaller files). Without that library WeasyPrint would
  subset with fontTools, in Python and far slower, so the fonts are then embedded whole
  (`full_fonts`).
- One font family loaded through `@font-face` keeps Pango from falling back across system fonts.
- A template may render on a small bundled base stylesheet instead of WeasyPrint's HTML5 defaults,
  whose ~190 rules are matched against every element: ~15 % of a delivery note.
- The `FontConfiguration` and the parsed stylesheets are built once per process and reused, so the
  cascade, the `@font-face` files and Pango's layout caches survive between documents.
- The cyclic garbage collector is paused while a document renders. WeasyPrint allocates ~20,000
  long-lived objects per page, so every automatic collection walked a growing heap: a 100-note batch
  spent ~30 % of its time there and the time per note grew with the batch. Collection resumes when
  the document is written, and one pass frees its cyclic garbage.
- WeasyPrint and Pango are not thread-safe; renders in one process are serialised by a lock. They are
  CPU-bound anyway, so throughput comes from processes, not threads. A document of hundreds of pages
  (a reconciliation listing thousands of documents: ~3 ms a row) renders in a process of its own
  (`render_pdf_apart`), so that the delivery notes the warehouse prints meanwhile do not wait for it.
"""

import gc
import mimetypes
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import cache, partial
from multiprocessing import get_context
from pathlib import Path
from typing import Final

from cssselect2 import ElementWrapper  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.ffi import harfbuzz_subset  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import (  # type: ignore[import-untyped]
    FatalURLFetchingError,
    URLFetcher,
    URLFetcherResponse,
)

ASSETS_DIR: Final = Path(__file__).resolve().parent / "assets"
ASSET_SCHEME: Final = "carnet-asset"

# Path segments may not start with a dot: no `..`, no hidden files, no percent-encoding.
_ASSET_URL = re.compile(rf"{ASSET_SCHEME}:([A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*)")

_WRITE_OPTIONS: Final = {
    "full_fonts": harfbuzz_subset is None,
    "hinting": False,
    "optimize_images": False,
}

_render_lock = threading.Lock()

# Rows of a report beyond which it renders in a process of its own (seconds of rendering, ~3 ms a row).
ROWS_RENDERED_APART: Final = 1_000


# Whitespace between tags (template indentation): a quarter of a note's HTML, parsed and turned into
# boxes for nothing; parsed as XML, whitespace inside tables would even become table cells. Text from
# a view is escaped, so a literal `>` or `<` is always markup.
_BETWEEN_TAGS: Final = re.compile(r">\s+<")


# Characters XML 1.0 forbids (C0 controls but tab and line breaks): an HTML parser would drop them
# from imported text, so do they before an XML parse, which would fail on them.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def without_indentation(html: str) -> str:
    """The markup without the whitespace between its tags (so `</b> <b>` loses its space)."""
    return _BETWEEN_TAGS.sub("><", html)


class AssetRefused(ValueError):
    """A document asked for a resource that is not a bundled asset."""


def asset_path(url: str) -> Path:
    """The bundled file a `carnet-asset:` URL names; `AssetRefused` for anything else."""
    match = _ASSET_URL.fullmatch(url)
    if match is None:
        raise AssetRefused(f"not a bundled asset: {url!r}")
    path = (ASSETS_DIR / match[1]).resolve()
    if not path.is_relative_to(ASSETS_DIR) or not path.is_file():
        raise AssetRefused(f"no such bundled asset: {url!r}")
    return path


class AssetFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type information
    """WeasyPrint URL fetcher that reads bundled assets and nothing else."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(ASSET_SCHEME,), fail_on_errors=True)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        path = asset_path(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})


class _Document(HTML):  # type: ignore[misc]  # WeasyPrint ships no type information
    """WeasyPrint's HTML document, whose HTML5 default stylesheet can be replaced by a bundled base,
    and which may be read as XML.

    `_ua_stylesheets` is the hook WeasyPrint's own test suite overrides for the same purpose. An XML
    document is parsed by expat instead of WeasyPrint's HTML5 parser (pure Python, ~7 % of a
    delivery note), then set up as `HTML.__init__` sets up what its parser returns. Elements have no
    namespace, as the HTML5 parser leaves them; inline SVG declares its own, which WeasyPrint needs.
    """

    def __init__(self, *, base: CSS | None, string: str, url_fetcher: URLFetcher, xml: bool = False) -> None:
        if xml:
            self.base_url = None
            self.url_fetcher = url_fetcher
            self.media_type = "print"
            root = fromstring(_NOT_XML.sub("", string))
            self.wrapper_element = ElementWrapper.from_html_root(root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element
        else:
            super().__init__(string=string, url_fetcher=url_fetcher)
        self._base = base

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        default: list[CSS] = super()._ua_stylesheets(forms)
        return default if self._base is None else [self._base]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a rendering (see the module docstring)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@cache
def _font_configuration() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet(name: str) -> CSS:
    """A bundled stylesheet, parsed once per process; its @font-face rules register the bundled fonts."""
    return CSS(url=f"{ASSET_SCHEME}:{name}", url_fetcher=AssetFetcher(), font_config=_font_configuration())


def render_pdf(
    html: str,
    *,
    stylesheets: Sequence[str] = (),
    base_stylesheet: str | None = None,
    url_fetcher: URLFetcher | None = None,
    pdf_variant: str | None = None,
    xml: bool = False,
) -> bytes:
    """Render an HTML document to PDF bytes.

    `stylesheets` are asset paths (`css/delivery_note.css`), parsed once and reused. `base_stylesheet`
    (an asset path) replaces WeasyPrint's HTML5 defaults with a bundled base that styles only what
    the template uses (`css/print_base.css`). `url_fetcher` replaces the asset fetcher for
    resources the HTML itself references; tests use it to watch fetches. `pdf_variant` asks WeasyPrint
    for a PDF flavour (`pdf/a-3b` for invoices that embed their Factur-X XML). `xml`: the template
    writes well-formed XML (void elements closed), parsed as such.
    """
    fetcher = url_fetcher or AssetFetcher()
    with _render_lock, _collector_paused():
        try:
            css = [_stylesheet(name) for name in stylesheets]
            base = _stylesheet(base_stylesheet) if base_stylesheet else None
            pdf: bytes = _Document(base=base, string=html, url_fetcher=fetcher, xml=xml).write_pdf(
                stylesheets=css,
                font_config=_font_configuration(),
                pdf_variant=pdf_variant,
                **_WRITE_OPTIONS,
            )
        except FatalURLFetchingError as error:
            raise AssetRefused(str(error)) from error
    return pdf


def render_pdf_apart(
    html: str, *, stylesheets: Sequence[str] = (), base_stylesheet: str | None = None, xml: bool = False
) -> bytes:
    """`render_pdf` in a process started for it (about a second to start): for a long document, which
    would otherwise hold this process's rendering lock for tens of seconds."""
    work = partial(render_pdf, html, stylesheets=stylesheets, base_stylesheet=base_stylesheet, xml=xml)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(work).result()


def render_report(html: str, *, rows: int) -> bytes:
    """A report whose length grows with its rows: rendered here while short, apart once long."""
    return render_pdf_apart(html) if rows > ROWS_RENDERED_APART else render_pdf(html)
