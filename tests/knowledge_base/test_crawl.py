"""Crawling a help center served on loopback by a real HTTP server (`help_site` in tests/help_site.py)."""

import pytest

from chatbot.errors import InputError
from knowledge_base.crawl import crawl_site, excluded_by, page_file
from knowledge_base.loaders import load_paths


def test_crawl_follows_the_sections_links_obeys_robots_and_pages_link_back(help_site, tmp_path):
    base, _ = help_site
    out = tmp_path / "sites" / "help"
    report = crawl_site(base + "/help/", out, delay_s=0, progress=False)
    assert set(report.saved) == {
        base + "/help/", base + "/help/refunds.html", base + "/help/shipping/", base + "/help/forms/claim.pdf"}  # fmt: skip
    assert report.skipped == {base + "/help/private/staff.html": "disallowed by robots.txt"}  # blog: other section
    docs = {d.title: d for d in load_paths([out]).documents}
    assert docs["Refunds"].url == base + "/help/refunds.html"  # its own canonical link was relative
    assert docs["Shipping"].url == base + "/help/shipping/"
    assert "10 business days" in docs["Refunds"].text
    assert docs["Claim form"].url == base + "/help/forms/claim.pdf"  # from the folder's .urls.json


def test_a_second_crawl_drops_pages_gone_from_the_site_and_a_failed_one_changes_nothing(help_site, tmp_path):
    base, root = help_site
    out = tmp_path / "sites" / "help"
    crawl_site(base + "/help/", out, delay_s=0, progress=False)
    __import__("shutil").rmtree(root / "help" / "shipping")
    report = crawl_site(base + "/help/", out, delay_s=0, progress=False)
    assert report.skipped[base + "/help/shipping/"] == "HTTP 404"
    assert sorted(p.name for p in out.rglob("*.html")) == ["index.html", "refunds.html"]
    assert sorted(p.name for p in out.rglob("*.pdf")) == ["claim.pdf"]
    __import__("shutil").rmtree(root / "help")  # the whole section is gone (a folder would be listed)
    with pytest.raises(InputError, match="no page could be fetched.*HTTP 404"):
        crawl_site(base + "/help/", out, delay_s=0, progress=False)
    assert sorted(p.name for p in out.rglob("*.html")) == ["index.html", "refunds.html"]  # kept


def test_a_sitemap_gives_the_pages_of_its_own_site(help_site, tmp_path):
    base, root = help_site
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/help/refunds.html</loc></url><url><loc> {base}/blog/news.html?a=1&amp;b=2 </loc></url>"
        "<url><loc>https://other.example/page.html</loc></url></urlset>",
        encoding="utf-8",
    )
    report = crawl_site(base + "/sitemap.xml", tmp_path / "out", delay_s=0, progress=False)
    assert set(report.saved) == {base + "/help/refunds.html", base + "/blog/news.html?a=1&b=2"}  # no links followed


def test_excluded_addresses_are_never_fetched(help_site, tmp_path):
    base, _ = help_site
    out = tmp_path / "out"
    report = crawl_site(base + "/help/", out, delay_s=0, exclude=["/help/shipping/*", "*.pdf"], progress=False)
    assert set(report.saved) == {base + "/help/", base + "/help/refunds.html"}
    assert report.skipped[base + "/help/shipping/"] == "excluded by '/help/shipping/*'"
    assert report.skipped[base + "/help/forms/claim.pdf"] == "excluded by '*.pdf'"
    assert not (out / "help" / "shipping").exists()


def test_exclude_patterns_match_path_and_query_and_bad_ones_are_named(tmp_path):
    patterns = ["/help/community/*", "*/login*", "/search*"]
    assert excluded_by("https://h.example/help/community/topic-1", patterns) == "/help/community/*"
    assert excluded_by("https://h.example/account/login", patterns) == "*/login*"
    assert excluded_by("https://h.example/search?q=refund", patterns) == "/search*"
    assert excluded_by("https://h.example/help/refunds", patterns) is None
    with pytest.raises(InputError, match="'community' matches no address.*'\\*/community\\*'"):
        crawl_site("https://h.example/help/", tmp_path / "out", exclude=["community"], progress=False)
    with pytest.raises(InputError, match="start address https://h.example/help/ is excluded by '/help/\\*'"):
        crawl_site("https://h.example/help/", tmp_path / "out", exclude=["/help/*"], progress=False)
    assert not (tmp_path / "out").exists()


def test_bad_addresses_are_refused_by_name():
    for bad in ("help.example.com", "ftp://help.example.com/", "javascript:alert(1)"):
        with pytest.raises(InputError, match="not a web address"):
            crawl_site(bad, __import__("pathlib").Path("/nonexistent"), progress=False)


def test_page_files_mirror_the_address():
    assert page_file("https://h.example/help/") == "help/index.html"
    assert page_file("https://h.example") == "index.html"
    assert page_file("https://h.example/help/refunds") == "help/refunds.html"
    assert page_file("https://h.example/a/../b c.htm") == "a/b_c.htm"
    assert page_file("https://h.example/search?q=refund").startswith("search-")
