"""Fetch a help center's pages from its website into a folder that `kb ingest` reads.

From a sitemap (`https://help.example.com/sitemap.xml`: every page it lists on that site), or from a start page by
following its links within the same section of the site (`https://example.com/help/` stays under `/help/`).
Polite by default: robots.txt is obeyed (its crawl delay too), one request at a time with a pause between, web
pages and PDF documents only; addresses that match an `exclude` pattern are never fetched. Each page is saved with
its address as `<link rel="canonical">`, and the folder's `.urls.json` names every file's address (PDFs have no
other place for it), so citations link to them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import html
import json
import logging
import re
import shutil
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from tqdm.auto import tqdm

from chatbot.errors import InputError
from knowledge_base.loaders import URLS_FILE, is_web_address

logger = logging.getLogger(__name__)

USER_AGENT = "chatbot-kb-crawler/0.1 (self-hosted customer-service assistant)"
# Links to these are not pages: not fetched at all.
_LOC = re.compile(r"<(?:\w+:)?loc>(.*?)</(?:\w+:)?loc>", re.DOTALL)
NOT_PAGES = re.compile(r"\.(?:jpe?g|png|gif|svg|webp|ico|css|js|json|xml|zip|gz|mp3|mp4|webm|woff2?|ttf)$", re.I)
MAX_PDF_BYTES = 20 * 2**20  # the largest PDF fetched (a scanned manual can be hundreds of MB)


@dataclass
class CrawlReport:
    """What a crawl fetched: pages saved (address -> file under the folder) and addresses skipped with why."""

    saved: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def check_start(url: str) -> str:
    """`url` when it is an absolute http(s) address, else `InputError` naming it."""
    url = url.strip()
    if not is_web_address(url):
        raise InputError(f"{url!r} is not a web address to crawl; give one like https://help.example.com/")
    return urldefrag(url)[0]


def site_folder(sites_dir: Path, url: str) -> Path:
    """The folder a site's pages are kept in under `sites_dir`: one per host (and port)."""
    return sites_dir / urlsplit(check_start(url)).netloc.replace(":", "_")


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """The exclude patterns, or `InputError` naming one that could match no address: a pattern is matched against
    an address's path and query ("/help/community/*", "*/login*", "/search*"), which start with "/"."""
    checked = []
    for pattern in patterns:
        pattern = pattern.strip()
        if not pattern.startswith(("/", "*")):
            raise InputError(
                f"the exclude pattern {pattern!r} matches no address: patterns match the path and query, which start "
                f"with '/', so start it with '/' or '*' (e.g. '*/{pattern.lstrip('/')}*')"
            )
        checked.append(pattern)
    return checked


def excluded_by(url: str, patterns: Sequence[str]) -> str | None:
    """The first of `patterns` that `url`'s path and query match (shell-style: "*" any text, "?" one character),
    else None. "/help/community/*" excludes https://h.example/help/community/topic-1."""
    parts = urlsplit(url)
    place = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return next((p for p in patterns if fnmatch.fnmatchcase(place, p)), None)


def page_file(url: str, suffix: str = ".html") -> str:
    """The file (relative, under the site's folder) a page is saved as: its path, `suffix` added unless it ends so
    (or in .htm for a page), the query hashed."""
    parts = urlsplit(url)
    segments = [re.sub(r"[^A-Za-z0-9._-]", "_", s) for s in parts.path.split("/") if s and s not in (".", "..")]
    if not segments or parts.path.endswith("/"):
        segments.append("index")
    name = segments[-1]
    if parts.query:
        name += "-" + hashlib.sha256(parts.query.encode()).hexdigest()[:10]
    if not name.lower().endswith((suffix, ".htm") if suffix == ".html" else suffix):
        name += suffix
    return "/".join([*segments[:-1], name])


def crawl_site(
    start_url: str,
    out_dir: Path,
    *,
    max_pages: int = 500,
    delay_s: float = 0.5,
    exclude: Sequence[str] = (),
    client: httpx.Client | None = None,
    progress: bool = True,
) -> CrawlReport:
    """Fetch the site's pages into `out_dir`, replacing what an earlier crawl left there (pages gone from the site
    go from the folder, so the next ingest removes them). Nothing in `out_dir` changes when no page could be
    fetched (`InputError` with the reasons).

    Args:
        start_url (`str`): a sitemap (ends in `.xml`) or the start page; only its site is fetched.
        out_dir (`Path`): the folder the pages are saved in (one per site, e.g. `<home>/sites/help.example.com`).
        max_pages (`int`, *optional*, defaults to 500): stop after this many pages.
        delay_s (`float`, *optional*, defaults to 0.5): pause between requests (robots.txt may ask for longer).
        exclude (`Sequence[str]`, *optional*): patterns of addresses never fetched (`excluded_by`): a forum, a login
            page, search results, other languages. Each excluded address is reported as skipped, with its pattern.
        client (`httpx.Client`, *optional*): the HTTP client (tests pass their own); one is made otherwise.
        progress (`bool`, *optional*, defaults to `True`): show a progress bar.
    """
    start = check_start(start_url)
    if max_pages < 1:
        raise InputError(f"max_pages must be at least 1, got {max_pages}")
    exclude = check_patterns(exclude)
    if pattern := excluded_by(start, exclude):
        raise InputError(f"the start address {start} is excluded by {pattern!r}")
    own = client is None
    http = client or httpx.Client(follow_redirects=True, timeout=20.0, headers={"User-Agent": USER_AGENT})
    staging = out_dir.with_name(out_dir.name + ".crawling")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        robots, robots_delay = _robots(http, start)
        delay = max(delay_s, robots_delay)
        sitemap = urlsplit(start).path.lower().endswith(".xml")
        queue = deque(_sitemap_pages(http, start, max_pages) if sitemap else [start])
        seen = set(queue)
        # Links are followed within the start page's section: https://example.com/help/faq -> https://example.com/help/
        section = start.rsplit("/", 1)[0] + "/" if urlsplit(start).path else start + "/"
        report = CrawlReport()
        bar = tqdm(total=max_pages, desc="Fetching pages", unit="page", disable=not progress)
        first = True
        while queue and len(report.saved) < max_pages:
            url = queue.popleft()
            if pattern := excluded_by(url, exclude):
                report.skipped[url] = f"excluded by {pattern!r}"
                continue
            if not robots.can_fetch(USER_AGENT, url):
                report.skipped[url] = "disallowed by robots.txt"
                continue
            if not first:
                time.sleep(delay)
            first = False
            page = _fetch(http, url, start)
            if isinstance(page, str):
                report.skipped[url] = page
                continue
            address, body = page
            name = page_file(address, ".pdf" if isinstance(body, bytes) else ".html")
            if address in report.saved or name in report.saved.values():
                continue  # a redirect to a page already saved
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            report.saved[address] = name
            bar.update(1)
            if isinstance(body, bytes):
                target.write_bytes(body)
                continue
            # Our canonical link first: the loader takes the first, and the page's own may be relative.
            target.write_text(f'<link rel="canonical" href="{html.escape(address)}">\n{body}', encoding="utf-8")
            if not sitemap:
                for link in _links(body, address):
                    if link.startswith(section) and link not in seen and not NOT_PAGES.search(urlsplit(link).path):
                        seen.add(link)
                        queue.append(link)
        bar.close()
        if not report.saved:
            reasons = "; ".join(f"{u}: {why}" for u, why in list(report.skipped.items())[:5]) or "no pages found"
            raise InputError(f"no page could be fetched from {start} ({reasons})")
        urls = {name: address for address, name in report.saved.items()}
        (staging / URLS_FILE).write_text(json.dumps(urls, indent=1, ensure_ascii=False), encoding="utf-8")
        # Swap the new pages in; the old folder goes only once the new one is complete.
        old = out_dir.with_name(out_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if out_dir.exists():
            out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if own:
            http.close()


def _same_site(url: str, start: str) -> bool:
    a, b = urlsplit(url), urlsplit(start)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _fetch(http: httpx.Client, url: str, start: str) -> tuple[str, str | bytes] | str:
    """(final address, HTML text or PDF bytes) of a page, or why it was skipped."""
    try:
        response = http.get(url)
    except httpx.HTTPError as err:
        return f"{type(err).__name__}: {err}"
    address = urldefrag(str(response.url))[0]
    if not _same_site(address, start):
        return f"redirects off the site to {address}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    kind = response.headers.get("content-type", "").lower()
    if "pdf" in kind:
        if len(response.content) > MAX_PDF_BYTES:
            return f"a PDF of {len(response.content) // 2**20} MB, over {MAX_PDF_BYTES // 2**20} MB"
        return address, response.content
    if "html" not in kind:
        return f"not a web page or PDF ({kind or 'no content type'})"
    return address, response.text


def _robots(http: httpx.Client, start: str) -> tuple[RobotFileParser, float]:
    """The site's robots.txt rules and crawl delay. None published (4xx): everything allowed; the server failing
    (5xx, no answer): nothing is (RFC 9309)."""
    parts = urlsplit(start)
    rules = RobotFileParser()
    try:
        response = http.get(f"{parts.scheme}://{parts.netloc}/robots.txt")
        status = response.status_code
    except httpx.HTTPError as err:
        logger.warning("robots.txt of %s could not be read (%s): nothing is fetched", parts.netloc, err)
        status = 503
    if status == 200:
        rules.parse(response.text.splitlines())
    elif 400 <= status < 500:
        rules.parse([])  # no rules: everything allowed
    else:
        rules.parse(["User-agent: *", "Disallow: /"])
    delay = rules.crawl_delay(USER_AGENT) if status == 200 else None
    return rules, float(delay or 0.0)


def _sitemap_pages(http: httpx.Client, url: str, limit: int) -> list[str]:
    """The page addresses a sitemap lists on its own site (sitemap indexes followed), at most `limit`."""
    pages: list[str] = []
    sitemaps, done = deque([url]), set()
    while sitemaps and len(pages) < limit:
        current = sitemaps.popleft()
        done.add(current)
        try:
            response = http.get(current)
            response.raise_for_status()
        except httpx.HTTPError as err:
            raise InputError(f"the sitemap {current} could not be read: {err}") from err
        # The <loc> elements read as text: a sitemap is that simple, and no XML entity is ever expanded.
        is_index = "<sitemapindex" in response.text
        for loc in _LOC.findall(response.text):
            link = urldefrag(html.unescape(loc).strip())[0]
            if not _same_site(link, url):
                continue
            if is_index and link not in done:
                sitemaps.append(link)
            elif not is_index and link not in pages and not NOT_PAGES.search(urlsplit(link).path):
                pages.append(link)
    if not pages:
        raise InputError(f"the sitemap {url} lists no pages of its site")
    return pages[:limit]


def _links(body: str, base: str) -> list[str]:
    """The absolute http(s) addresses a page links to, fragments removed, in page order."""
    from bs4 import BeautifulSoup

    links = []
    for anchor in BeautifulSoup(body, "html.parser").find_all("a", href=True):
        link = urldefrag(urljoin(base, str(anchor["href"]).strip()))[0]
        if urlsplit(link).scheme in ("http", "https"):
            links.append(link)
    return links
