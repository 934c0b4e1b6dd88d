"""The demo's front page in a real browser (headless Chromium driven by selenium).

``riskscreen demo`` writes ``index.html``: one self-contained page (inline styles and
SVG plots) with relative links to everything the run wrote. These tests open it in
Debian's ``chromium`` through Debian's ``chromium-driver`` -- nothing is downloaded
at run time: selenium is pointed at both binaries and Selenium Manager is never
called -- and check what only a browser can:

- no console errors (severe log entries: script errors, resources that failed to load),
- no broken links: every relative ``<a href>`` names a non-empty file inside the demo
  folder, every in-page ``#fragment`` names an element; the HTML pages linked are
  loaded and checked the same way,
- no broken images: every ``<img>`` decoded (``naturalWidth > 0``), every inline
  ``<svg>`` laid out with a non-zero box, every SVG ``<use>`` resolves to one
  definition,

and save a screenshot (under the test's tmp folder and, when the environment variable
``RISKSCREEN_SCREENSHOT_DIR`` is set, there too). The browser cannot resolve any host,
so a page that fetched anything from the network would fail with a console error.

A second test breaks a copy of the page (a missing image, a link to a missing file, a
plot with no box, a script error) and checks the same checker reports each break.

The browser tests skip only where ``/usr/bin/chromium`` or ``/usr/bin/chromedriver``
is missing; ``.ci/system-packages.sh`` installs both from Debian's packages.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
_MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]

pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=(
        f"headless Chromium is not installed ({' and '.join(_MISSING)} missing); "
        "install Debian's chromium and chromium-driver with .ci/system-packages.sh"
    ),
)

SCREENSHOT_ENV = "RISKSCREEN_SCREENSHOT_DIR"
WIDTH = 1280

#: What the browser reports about a loaded page, in one round trip.
_INSPECT = r"""
const byId = new Map();
for (const el of document.querySelectorAll('[id]')) {
  if (!byId.has(el.id)) byId.set(el.id, []);
  byId.get(el.id).push(el);
}
for (const el of document.querySelectorAll('a[name]')) {
  if (!byId.has(el.name)) byId.set(el.name, [el]);
}
const uses = [];
const seen = new Set();
for (const u of document.querySelectorAll('use')) {
  const href = u.getAttribute('href') || u.getAttribute('xlink:href') || '';
  if (seen.has(href)) continue;
  seen.add(href);
  const defs = href.startsWith('#') ? (byId.get(href.slice(1)) || []) : [];
  const distinct = new Set(defs.map(d => d.outerHTML)).size;
  if (!href.startsWith('#') || defs.length === 0 || distinct > 1) {
    uses.push({href: href, definitions: defs.length, distinct: distinct});
  }
}
const svgs = [...document.querySelectorAll('svg')]
  .filter(s => !(s.parentElement && s.parentElement.closest('svg')))
  .map((s, i) => {
    const r = s.getBoundingClientRect();
    return {index: i, label: s.getAttribute('aria-label') || '', width: r.width,
            height: r.height};
  });
return {
  title: document.title,
  ready: document.readyState,
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  images: [...document.images].map(i => ({src: i.getAttribute('src') || '',
                                          complete: i.complete,
                                          naturalWidth: i.naturalWidth})),
  svgs: svgs,
  uses: uses,
  ids: [...byId.keys()],
  height: Math.max(document.documentElement.scrollHeight, document.body.scrollHeight),
};
"""


@dataclass(frozen=True)
class Problem:
    page: str  # relative to the demo folder
    kind: str  # "console", "link", "image", "svg" or "use"
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.detail}"


@dataclass
class SiteReport:
    problems: list[Problem] = field(default_factory=list)
    pages: dict[str, dict] = field(default_factory=dict)  # page -> what _INSPECT saw
    files: set[str] = field(default_factory=set)  # every local file linked
    external: set[str] = field(default_factory=set)  # links with a scheme (not followed)


def check_site(driver, start: Path, root: Path, *, follow: bool = True) -> SiteReport:
    """Load ``start`` and (with ``follow``) every HTML page reachable from it by relative
    links inside ``root``; report console errors and broken links, images and plots."""
    root = root.resolve()
    report = SiteReport()
    queue = deque([start.resolve()])
    queued = {start.resolve()}
    while queue:
        page = queue.popleft()
        name = page.relative_to(root).as_posix()

        def problem(kind: str, detail: str, name=name) -> None:
            report.problems.append(Problem(name, kind, detail))

        driver.get_log("browser")  # drop anything left from the previous page
        driver.get(page.as_uri())
        seen = driver.execute_script(_INSPECT)
        report.pages[name] = seen
        for entry in driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                problem("console", f"{entry['source']}: {entry['message']}")
        if seen["ready"] != "complete":
            problem("console", f"page did not finish loading ({seen['ready']})")

        ids = set(seen["ids"])
        for href in seen["links"]:
            parts = urlsplit(href)
            if parts.scheme == "file" or href.startswith("/"):
                problem("link", f"{href!r} is an absolute path (the folder cannot move)")
                continue
            if parts.scheme or parts.netloc:
                report.external.add(href)
                continue
            if not parts.path:  # "#fragment" (or "") on this page
                if parts.fragment and unquote(parts.fragment) not in ids:
                    problem("link", f"{href!r}: no element with that id on the page")
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.is_relative_to(root):
                problem("link", f"{href!r} points outside the demo folder")
            elif not target.is_file():
                problem("link", f"{href!r}: no such file")
            elif target.stat().st_size == 0:
                problem("link", f"{href!r}: the file is empty")
            else:
                report.files.add(target.relative_to(root).as_posix())
                is_html = target.suffix.lower() in (".html", ".htm")
                if follow and is_html and target not in queued:
                    queued.add(target)
                    queue.append(target)

        for image in seen["images"]:
            if not image["complete"] or image["naturalWidth"] == 0:
                problem("image", f"<img src={image['src']!r}> did not load")
        for svg in seen["svgs"]:
            if svg["width"] <= 0 or svg["height"] <= 0:
                problem(
                    "svg",
                    f"inline <svg> #{svg['index']} ({svg['label']!r}) has an empty box "
                    f"({svg['width']}x{svg['height']})",
                )
        for use in seen["uses"]:
            problem(
                "use",
                f"<use href={use['href']!r}>: {use['definitions']} definitions "
                f"({use['distinct']} different)",
            )
    return report


def screenshot(driver, page: Path, path: Path) -> Path:
    """A PNG of the whole page (the window made as tall as the page)."""
    driver.get(page.as_uri())
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"
    )
    driver.set_window_size(WIDTH, min(int(height) + 50, 20_000))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    driver.set_window_size(WIDTH, 900)
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from rich.console import Console

    from riskscreen.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out=out, n_pupils=3000, seed=0, n_bootstrap=20, console=Console(record=True))
    assert result.index_html == out / "index.html"
    return result, out


@pytest.fixture(scope="module")
def browser():
    # Selenium is a test dependency: its absence is an error, not a skip.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    def no_downloads(self, *args, **kwargs):
        raise AssertionError("Selenium Manager was called: it would download a browser")

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI containers run as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WIDTH},900",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # the pages must fetch nothing
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SeleniumManager, "binary_paths", no_downloads)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_demo_page_has_no_console_errors_broken_links_or_images(demo, browser, tmp_path):
    result, out = demo
    report = check_site(browser, result.index_html, out)
    assert not report.problems, "the demo page has problems:\n" + "\n".join(
        str(p) for p in report.problems
    )

    # the check looked at something: the page, its plots and links, the linked pages
    index = report.pages["index.html"]
    assert index["title"].startswith("riskscreen demo")
    n_figures = len(result.index_html.read_text(encoding="utf-8").split("<figure>")) - 1
    assert n_figures >= 3 and len(index["svgs"]) == n_figures
    relative = [h for h in index["links"] if not h.startswith("#")]
    assert len(relative) >= 8
    card, audit = result.card_paths["html"], result.audit_html
    for linked in (card, audit):
        assert linked.relative_to(out).as_posix() in report.pages
    assert {"screening_2023-06-01.csv", "comparison_2023-06-01.csv"} <= report.files
    assert any(f.endswith(".xlsx") for f in report.files)
    assert any(p.startswith("panel_packs/2023-06-01/") for p in report.pages)
    assert len(report.pages[audit.relative_to(out).as_posix()]["svgs"]) >= 1

    # a screenshot of the whole page, kept where CI asks for it
    shot = screenshot(browser, result.index_html, tmp_path / "demo_index.png")
    keep = os.environ.get(SCREENSHOT_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(keep) / shot.name)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[1] >= WIDTH * 0.9  # the whole width ...
    assert pixels.shape[0] >= min(index["height"], 20_000) * 0.9  # ... and height
    assert pixels[..., :3].std() > 0.05  # not a blank page


BREAKS = {
    # an image whose file is missing (the acceptance case of issue 17)
    "missing image": (
        '<h2 id="plots">Plots</h2>',
        '<h2 id="plots">Plots</h2>\n<img src="plots/missing.png" alt="a missing plot">',
        {("image", "plots/missing.png"), ("console", "missing.png")},
    ),
    # an existing link pointed at a file that is not there
    "missing link target": (
        'href="model_card/model_card.html"',
        'href="model_card/missing_card.html"',
        {("link", "model_card/missing_card.html")},
    ),
    # an in-page link to an element that does not exist
    "missing fragment": (
        '<h2 id="files">',
        '<p><a href="#nowhere">jump</a></p>\n<h2 id="files">',
        {("link", "#nowhere")},
    ),
    # a plot that takes no space
    "empty plot": ("<svg ", '<svg style="display:none" ', {("svg", "#0")}),
    # a script error
    "script error": (
        "</body>",
        "<script>undefinedFunction()</script>\n</body>",
        {("console", "undefinedFunction")},
    ),
}


@pytest.mark.parametrize("case", list(BREAKS))
def test_checker_reports_a_broken_page(demo, browser, case):
    result, out = demo
    old, new, expected = BREAKS[case]
    page = result.index_html.read_text(encoding="utf-8")
    assert page.count(old) >= 1
    broken = out / f"index_broken_{case.replace(' ', '_')}.html"
    broken.write_text(page.replace(old, new, 1), encoding="utf-8")
    try:
        # the linked pages are the demo's own, checked by the test above
        report = check_site(browser, broken, out, follow=False)
    finally:
        broken.unlink()
    assert list(report.pages) == [broken.name]
    found = {(p.kind, p.detail) for p in report.problems}
    for kind, text in expected:
        assert any(k == kind and text in d for k, d in found), (
            f"{case}: no {kind} problem mentioning {text!r} in {sorted(found)}"
        )
    # only what was broken is reported
    assert {p.kind for p in report.problems} == {kind for kind, _ in expected}
