"""The fixed vocabulary the synthetic world is drawn from: sites, pages, referrers, devices.

Names, URLs and presentation strings follow what the recorded Matomo 5.11.2 server shows
(`tests/recorded/`), including Unicode titles/URLs, so exports hit the same edge cases.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BROWSERS",
    "CAMPAIGNS",
    "COUNTRIES",
    "DEVICES",
    "EVENTS",
    "GOALS",
    "LANGUAGES",
    "PRODUCTS",
    "RESOLUTIONS",
    "SEARCH_ENGINES",
    "SITES",
    "SITE_SEARCH_KEYWORDS",
    "SOCIALS",
    "WEBSITES",
    "Page",
    "Product",
    "SiteInfo",
    "site_search_results",
]


@dataclass(frozen=True)
class Page:
    """One page of a site: path (unencoded), title, and the custom dimension 2 value."""

    path: str
    title: str
    kind: str
    product: str | None = None


@dataclass(frozen=True)
class Product:
    """An ecommerce product of the shop."""

    sku: str
    name: str
    price: float
    categories: tuple[str, ...]


@dataclass(frozen=True)
class SiteInfo:
    """A site of the default world, shaped like SitesManager rows."""

    id: int
    name: str
    main_url: str
    timezone: str
    timezone_name: str
    currency: str
    currency_name: str
    currency_symbol: str
    ecommerce: bool
    creator_login: str
    volume: float  # share of visits_per_day
    pages: tuple[Page, ...]
    downloads: tuple[str, ...]
    outlinks: tuple[str, ...]
    goals: tuple[tuple[int, str, float], ...]  # (id, name, revenue)
    custom_dimensions: bool
    # None: created a week before the first day of data; else where in the configured days
    # (0 the first day, under 1) the site was created, and no visit comes before (extra sites)
    created_at: float | None = None


PRODUCTS: tuple[Product, ...] = (
    Product("SKU-RUN-01", "Trail Running Shoe", 129.9, ("Shoes", "Running")),
    Product("SKU-RUN-02", "Road Running Shoe Lite", 99.0, ("Shoes", "Running")),
    Product("SKU-BOOT-3", "Winter Boot Ägir", 159.0, ("Shoes",)),
    Product("SKU-TEE-11", "Organic Cotton T-Shirt", 24.99, ("Apparel", "Shirts")),
    Product("SKU-HOOD-7", "Fleece Hoodie", 59.0, ("Apparel",)),
    Product("SKU-SOCK-5", "Merino Socks (3 pack)", 17.5, ("Accessories",)),
    Product("SKU-CAP-1", "Baseball Cap 日本", 19.0, ("Accessories",)),
    Product("SKU-BAG-2", "Weekender Bag", 89.0, ("Accessories", "Bags")),
)

_SHOP_PAGES: tuple[Page, ...] = (
    Page("/", "Shop – Home", "home"),
    Page("/about/über-uns", "Über uns", "about"),
    Page("/category/shoes", "Shoes – Shop", "category"),
    Page("/category/apparel", "Apparel – Shop", "category"),
    Page("/category/accessories", "Accessories – Shop", "category"),
    Page("/ja/日本語", "日本語のページ", "content"),
    Page("/faq", "FAQ & Help", "content"),
    Page("/contact", "Contact us", "contact"),
    Page("/cart", "Cart", "cart"),
    Page("/checkout", "Checkout", "checkout"),
    Page("/checkout/thank-you", "Thank you for your order", "checkout"),
    Page("/product/trail-running-shoe", "Trail Running Shoe – Shop", "product", "SKU-RUN-01"),
    Page(
        "/product/road-running-shoe-lite", "Road Running Shoe Lite – Shop", "product", "SKU-RUN-02"
    ),
    Page("/product/winter-boot-ägir", "Winter Boot Ägir – Shop", "product", "SKU-BOOT-3"),
    Page(
        "/product/organic-cotton-t-shirt", "Organic Cotton T-Shirt – Shop", "product", "SKU-TEE-11"
    ),
    Page("/product/fleece-hoodie", "Fleece Hoodie – Shop", "product", "SKU-HOOD-7"),
    Page("/product/merino-socks-3-pack", "Merino Socks (3 pack) – Shop", "product", "SKU-SOCK-5"),
    Page("/product/baseball-cap-日本", "Baseball Cap 日本 – Shop", "product", "SKU-CAP-1"),
    Page("/product/weekender-bag", "Weekender Bag – Shop", "product", "SKU-BAG-2"),
)

_BLOG_PAGES: tuple[Page, ...] = (
    Page("/", "Blog – Home", "home"),
    Page("/posts/cafe-culture-paris", "Café culture in Paris | Blog", "post"),
    Page(
        "/posts/tuning-mariadb-for-analytics",
        "Tuning MariaDB for analytics workloads | Blog",
        "post",
    ),
    Page("/posts/größenwahn-im-büro", "Größenwahn im Büro | Blog", "post"),
    Page("/posts/東京-travel-notes", "東京 travel notes | Blog", "post"),
    Page("/posts/privacy-first-analytics", "Privacy-first analytics | Blog", "post"),
    Page("/posts/écrire-du-code-lisible", "Écrire du code lisible | Blog", "post"),
    Page("/tags/python", "Tag: python | Blog", "tag"),
    Page("/tags/reisen", "Tag: reisen | Blog", "tag"),
    Page("/about", "About me | Blog", "about"),
    Page("/archive/2026", "Archive 2026 | Blog", "archive"),
)

SITES: tuple[SiteInfo, ...] = (
    SiteInfo(
        id=1,
        name="Shop",
        main_url="https://shop.example.com",
        timezone="UTC",
        timezone_name="UTC",
        currency="USD",
        currency_name="US Dollar",
        currency_symbol="$",
        ecommerce=True,
        creator_login="anonymous",
        volume=1.0,
        pages=_SHOP_PAGES,
        downloads=(
            "https://shop.example.com/downloads/catalog-2026.pdf",
            "https://shop.example.com/downloads/Gr%C3%B6%C3%9Fentabelle.pdf",
            "https://shop.example.com/downloads/size-chart.pdf",
            "https://shop.example.com/downloads/returns-form.docx",
        ),
        outlinks=(
            "https://maps.google.com/?q=shop",
            "https://partner.example.net/shoes?ref=shop",
            "https://www.dhl.de/en/privatkunden.html",
            "https://www.instagram.com/example.shop/",
        ),
        goals=((1, "Visited contact page", 0.0), (2, "Newsletter signup", 2.0)),
        custom_dimensions=True,
    ),
    SiteInfo(
        id=2,
        name="Blog",
        main_url="https://blog.example.org",
        timezone="Europe/Berlin",
        timezone_name="Germany - Berlin",
        currency="EUR",
        currency_name="Euro",
        currency_symbol="€",
        ecommerce=False,
        creator_login="admin",
        volume=0.7,
        pages=_BLOG_PAGES,
        downloads=(
            "https://blog.example.org/files/slides-analytics.pdf",
            "https://blog.example.org/files/Reiseführer.epub",
        ),
        outlinks=(
            "https://github.com/example/blog-code",
            "https://mariadb.org/documentation/",
            "https://de.wikipedia.org/wiki/Caf%C3%A9",
        ),
        goals=((1, "Read three posts", 0.0),),
        custom_dimensions=False,
    ),
    SiteInfo(
        id=3,
        name="Empty",
        main_url="https://empty.example.net",
        timezone="UTC",
        timezone_name="UTC",
        currency="USD",
        currency_name="US Dollar",
        currency_symbol="$",
        ecommerce=False,
        creator_login="admin",
        volume=0.0,
        pages=(),
        downloads=(),
        outlinks=(),
        goals=(),
        custom_dimensions=False,
    ),
)

# (name, host url, icon host, [keywords]) — keywords may be "" (not defined)
SEARCH_ENGINES: tuple[tuple[str, str, str], ...] = (
    ("Google", "http://google.com", "google.com"),
    ("Bing", "http://bing.com", "bing.com"),
    ("DuckDuckGo", "http://duckduckgo.com", "duckduckgo.com"),
    ("Qwant", "http://www.qwant.com", "www.qwant.com"),
    ("Ecosia", "http://ecosia.org", "ecosia.org"),
)
SEARCH_KEYWORDS: tuple[str, ...] = (
    "",
    "buy merino socks",
    "laufschuhe günstig",
    "fleece hoodie men",
    "shop example",
    "trail running shoes",
    "ランニングシューズ",
    "winter boots sale",
)
# (name, url, icon host)
SOCIALS: tuple[tuple[str, str], ...] = (
    ("YouTube", "youtube.com"),
    ("reddit", "reddit.com"),
    ("GitHub", "github.com"),
    ("StackOverflow", "stackoverflow.com"),
    ("LinkedIn", "linkedin.com"),
    ("Instagram", "instagram.com"),
    ("Mastodon", "mastodon.social"),
)
SOCIAL_URLS: dict[str, str] = {
    "YouTube": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "reddit": "https://www.reddit.com/r/webdev/comments/abc123/",
    "GitHub": "https://github.com/awesome/list",
    "StackOverflow": "https://stackoverflow.com/questions/123456/how-to-x",
    "LinkedIn": "https://www.linkedin.com/feed/",
    "Instagram": "https://www.instagram.com/p/xyz/",
    "Mastodon": "https://mastodon.social/@example/1",
}
WEBSITES: tuple[str, ...] = (
    "https://forum.example-community.org/t/best-shoes/42",
    "https://de.wikipedia.org/wiki/Laufschuh",
    "https://en.wikipedia.org/wiki/Merino",
    "https://medium.com/@writer/analytics-without-cookies",
    "https://www.producthunt.com/posts/example",
    "https://news.example.co.uk/über-uns/review",
)
# (campaign name, keyword)
CAMPAIGNS: tuple[tuple[str, str], ...] = (
    ("autumn_newsletter", "banner-top"),
    ("black-friday-2026", "über-angebot"),
    ("podcast-ad", "audio"),
    ("spring sale", "ad1"),
    ("retargeting", ""),
    ("brand-search", "shop"),
)
SITE_SEARCH_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("gift card", ""),
    ("running shoes", "Shoes"),
    ("größe 44", ""),
    ("hoodie", "Apparel"),
    ("返品", ""),
    ("analytics", ""),
)


def site_search_results(ref: int) -> int:
    """How many results the site search for keyword `ref` found (Live's `siteSearchCount`;
    0 puts the keyword in Actions.getSiteSearchNoResultKeywords)."""
    return ref % 3 * 4


# (category, action, name, value or None)
EVENTS: tuple[tuple[str, str, str, float | None], ...] = (
    ("UI", "Click", "Add to wishlist", 1),
    ("Video", "Play", "Product video – Trail", 42),
    ("Video", "Pause", "Product video – Trail", None),
    ("Newsletter", "Subscribe", "Footer form", None),
    ("Größe", "Gewählt", "44", None),
    ("Chat", "Open", "Support widget", None),
)

# (continent, continent code, country, country code)
COUNTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("North America", "amn", "United States", "us"),
    ("Europe", "eur", "Germany", "de"),
    ("Europe", "eur", "Italy", "it"),
    ("Europe", "eur", "United Kingdom", "gb"),
    ("Europe", "eur", "France", "fr"),
    ("Europe", "eur", "Poland", "pl"),
    ("Europe", "eur", "Netherlands", "nl"),
    ("Europe", "eur", "Austria", "at"),
    ("South America", "ams", "Brazil", "br"),
    ("Asia", "asi", "Japan", "jp"),
    ("North America", "amn", "Canada", "ca"),
)
LANGUAGES: tuple[str, ...] = (
    "en-us",
    "de-de",
    "it-it",
    "en-gb",
    "fr-fr",
    "pl-pl",
    "nl-nl",
    "de-at",
    "pt-br",
    "ja-jp",
    "en-ca",
)
RESOLUTIONS: dict[str, tuple[str, ...]] = {
    "Desktop": ("1920x1080", "2560x1440", "1536x864", "1440x900", "3840x2160"),
    "Smartphone": ("393x852", "412x915", "390x844"),
    "Tablet": ("820x1180", "1280x800"),
}
# (type, brand, model, os name, os code, os version, browser codes allowed)
DEVICES: tuple[tuple[str, str, str, str, str, str, tuple[str, ...]], ...] = (
    ("Desktop", "Unknown", "Generic Desktop", "Windows", "WIN", "10", ("CH", "FF", "PS", "OP")),
    ("Desktop", "Unknown", "Generic Desktop", "GNU/Linux", "LIN", "", ("CH", "FF")),
    ("Desktop", "Apple", "", "Mac", "MAC", "10.15", ("SF", "CH", "FF")),
    ("Desktop", "Unknown", "Generic Desktop", "Chrome OS", "COS", "14541.0", ("CH",)),
    ("Smartphone", "Apple", "iPhone", "iOS", "IOS", "18.0", ("MF",)),
    ("Smartphone", "Apple", "iPhone", "iOS", "IOS", "17.6", ("MF",)),
    ("Smartphone", "Samsung", "Galaxy S24", "Android", "AND", "14", ("CM", "SB")),
    ("Smartphone", "Google", "Pixel 8", "Android", "AND", "14", ("CM", "FM")),
    ("Smartphone", "Samsung", "Galaxy A54", "Android", "AND", "13", ("CM", "SB")),
    ("Tablet", "Apple", "iPad", "iPadOS", "IPA", "18.0", ("MF",)),
    ("Tablet", "Samsung", 'Galaxy Tab S8 11.0" WiFi', "Android", "AND", "13", ("CM",)),
)
# code -> (name, version, engine, engine description)
BROWSERS: dict[str, tuple[str, str, str, str]] = {
    "CH": ("Chrome", "129.0", "Blink", "Blink (Chrome, Opera)"),
    "FF": ("Firefox", "131.0", "Gecko", "Gecko (Firefox)"),
    "PS": ("Microsoft Edge", "129.0", "Blink", "Blink (Chrome, Opera)"),
    "OP": ("Opera", "114.0", "Blink", "Blink (Chrome, Opera)"),
    "SF": ("Safari", "18.0", "WebKit", "WebKit (Safari)"),
    "MF": ("Mobile Safari", "18.0", "WebKit", "WebKit (Safari)"),
    "CM": ("Chrome Mobile", "129.0", "Blink", "Blink (Chrome, Opera)"),
    "SB": ("Samsung Browser", "26.0", "Blink", "Blink (Chrome, Opera)"),
    "FM": ("Firefox Mobile", "131.0", "Gecko", "Gecko (Firefox)"),
}
GOALS = {site.id: site.goals for site in SITES}
