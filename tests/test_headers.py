"""Every page under a Content-Security-Policy it keeps; nothing of a logged-in user stored.

The pages are those of the access matrix (tests/test_access_matrix.py): every URL
pattern the resolver knows, as each kind of visitor. Each HTML page must carry
the policy, and hold nothing the policy forbids: no inline script, no event
handler attribute (``onclick=``…), and no inline style unless its policy allows
them (only the API's documentation pages, whose third-party UIs style
themselves). Every answer to a logged-in user, page or API, is
``Cache-Control: private, no-store``.
"""

from html.parser import HTMLParser

import pytest

from crm.models import ApiToken
from tests.test_access_matrix import PAGES, statuses, world  # noqa: F401 - world is a fixture

pytestmark = pytest.mark.django_db

# Scripts that a browser runs: a <script> without a type, or of a JavaScript type.
SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}


def policy(response) -> dict[str, list[str]]:
    """Return the page's Content-Security-Policy as {directive: sources}."""
    header = response.get("Content-Security-Policy", "")
    directives = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in directives}


class InlineCode(HTMLParser):
    """Collect what a page runs or styles inline."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self.style_attributes: list[str] = []
        self.style_elements = 0
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [f"<{tag} {name}=…>" for name, _ in attrs if name.startswith("on")]
        if attributes.get("style") is not None:
            self.style_attributes.append(f'<{tag} style="{attributes["style"]}">')
        if tag == "style":
            self.style_elements += 1
        if tag == "script":
            runs = (attributes.get("type") or "").lower() in SCRIPT_TYPES
            self._in_script = [] if runs and not attributes.get("src") else None

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            code = "".join(self._in_script).strip()
            if code:
                self.scripts.append(code[:80])
            self._in_script = None


def inline_code(response) -> InlineCode:
    parser = InlineCode()
    parser.feed(response.content.decode())
    return parser


def matrix_responses(world, visitors=("anonymous", "read-only", "coordination")):  # noqa: F811
    """Yield (url, visitor, response) for every URL of the matrix that a visitor reaches."""
    objects, clients = world
    for _route, (url_template, expected) in sorted(PAGES.items()):
        url = url_template.format(w=objects)
        for visitor in visitors:
            if statuses(expected)[visitor] in (301, 302, 405):
                continue
            yield url, visitor, clients[visitor].get(url)


def test_every_html_page_has_the_policy_and_nothing_inline_it_forbids(world):  # noqa: F811
    wrong, pages = [], 0
    for url, visitor, response in matrix_responses(world):
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        pages += 1
        where = f"{url} as {visitor}"
        rules = policy(response)
        if "'self'" not in rules.get("script-src", []) or "'unsafe-inline'" in rules.get(
            "script-src", []
        ):
            wrong.append(f"{where}: script-src is {rules.get('script-src')}")
        if rules.get("object-src") != ["'none'"] or rules.get("frame-ancestors") != ["'none'"]:
            wrong.append(f"{where}: the policy is {response.get('Content-Security-Policy')!r}")
        found = inline_code(response)
        wrong += [f"{where}: inline script {code!r}" for code in found.scripts]
        wrong += [f"{where}: event handler {handler}" for handler in found.handlers]
        if "'unsafe-inline'" not in rules.get("style-src", []):
            wrong += [f"{where}: inline style {style}" for style in found.style_attributes]
            if found.style_elements:
                wrong.append(f"{where}: {found.style_elements} <style> element(s)")

    assert pages > 300  # Every staff page, admin page and form of the matrix.
    assert not wrong, "\n".join(wrong)


def test_the_policy_loads_scripts_styles_and_images_from_the_site_only(client):
    rules = policy(client.get("/accounts/login/"))

    assert rules == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def test_a_downloaded_document_keeps_its_own_sandbox_policy(world):  # noqa: F811
    objects, clients = world

    response = clients["read-only"].get(f"/documents/{objects.document.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_inline_code_finder_finds_what_the_policy_forbids():
    """The checks above can fail: each kind of inline code is found."""
    page = (
        '<script>alert(1)</script><script src="/static/x.js"></script>'
        '<script type="application/json">{"a": 1}</script>'
        '<a href="#" onclick="go()">x</a><p style="color: red">y</p><style>p {}</style>'
    )
    found = InlineCode()
    found.feed(page)

    assert found.scripts == ["alert(1)"]
    assert found.handlers == ["<a onclick=…>"]
    assert found.style_attributes == ['<p style="color: red">']
    assert found.style_elements == 1


# Cache-Control: nothing a logged-in user is shown may be kept by a cache.


def test_every_answer_to_a_logged_in_user_is_private_and_not_stored(world):  # noqa: F811
    wrong, answers = [], 0
    for url, visitor, response in matrix_responses(world, visitors=("read-only", "coordination")):
        answers += 1
        directives = {
            part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",")
        }
        if not {"private", "no-store"} <= directives:
            wrong.append(f"{url} as {visitor}: Cache-Control {response.get('Cache-Control')!r}")

    assert answers > 300
    assert not wrong, "\n".join(wrong)


def test_an_api_answer_to_a_token_is_private_and_not_stored(api_client, staff_user):
    _token, key = ApiToken.create_for(staff_user, name="BI")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api_client.get("/api/v1/organizations/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_static_files_stay_cacheable_for_a_logged_in_user(client, staff_user):
    client.force_login(staff_user)

    static = client.get("/static/crm/crm.css")

    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")


def test_swagger_ui_takes_its_starting_script_from_a_file(client, staff_user):
    client.force_login(staff_user)

    page = client.get("/api/v1/docs/")
    script = client.get("/api/v1/docs/?script=")

    assert '<script src="/api/v1/docs/?script="></script>' in page.content.decode()
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
