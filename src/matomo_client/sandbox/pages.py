"""HTML bodies: Matomo's own error page, and what proxies in front of Matomo send.

`error_page` reuses the structure of the page Matomo 5.11.2 returns for an invalid token
(recorded case 182) with the message in `<h2>`, so clients can extract it the same way.
"""

from __future__ import annotations

# the page template keeps Matomo's long lines as they are served
# ruff: noqa: E501
from html import escape

__all__ = ["error_page", "proxy_error_page", "proxy_login_page"]

_PAGE = """<!DOCTYPE html>
<html>
<head>
\t<meta charset="utf-8">
\t<meta name="robots" content="noindex,nofollow">
\t<title>Matomo &rsaquo; Error</title>
\t<link rel="shortcut icon" href="misc/user/favicon.png" />
\t<link rel="stylesheet" type="text/css" href="plugins/Morpheus/stylesheets/simple_structure.css" />
</head>
<body id="simple">

<div class="logo">
\t<img title="Matomo" alt="Matomo" style="height: 40px;" src="plugins/Morpheus/images/logo.svg"/>
</div>

<div class="box">

\t<div class="header">
\t\t<h1>An error occurred</h1>
\t</div>

\t<div class="content"><h2>{message}</h2><p><a href="javascript:window.history.back();">Go Back</a> | <a href="index.php">Go to Matomo</a></p>  <ul>
                            <li><a rel="noreferrer noopener" target="_blank" href="https://matomo.org">Matomo.org homepage</a></li>
                            <li><a rel="noreferrer noopener" target="_blank" href="https://matomo.org/faq/">Frequently Asked Questions</a></li>
                            <li><a rel="noreferrer noopener" target="_blank" href="https://matomo.org/docs/">User Guides</a></li>
                            <li><a rel="noreferrer noopener" target="_blank" href="https://forum.matomo.org/">Matomo Forums</a></li>
                            <li><a rel="noreferrer noopener" target="_blank" href="https://matomo.org/support/">Professional Support for Matomo</a></li>
                            </ul>    </div>

    <div class="footer">
        <a href="index.php">&laquo; Back to Matomo</a>
    </div>

</div>
</body>
</html>

"""

_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def error_page(message: str) -> bytes:
    """Matomo's HTML error page with `message` (may contain Matomo's own markup)."""
    return _PAGE.replace("{message}", message).encode()


def proxy_error_page(status: int) -> bytes:
    """What nginx sends when the PHP backend fails or is overloaded."""
    reason = _REASONS.get(status, "Error")
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def proxy_login_page() -> bytes:
    """A single-sign-on login page a proxy serves with status 200 instead of the API."""
    return (
        "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>"
        f"<h1>{escape('Sign in to continue')}</h1>"
        '<form method="post" action="/oauth2/sign_in"><input name="username">'
        '<input name="password" type="password"><button>Sign in</button></form>'
        "</body></html>\n"
    ).encode()
