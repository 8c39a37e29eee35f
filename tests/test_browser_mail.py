"""Mail into the record in a real Chromium, at a computer's width and a phone's.

Upload two messages, file the one that waits by creating its sender as a
person, and find both on the organisation's timeline; the mail pages fit a
phone, their controls big enough for a finger.
"""

import pytest

from crm import services
from crm.models import MailMessage, Person
from tests.mail_helpers import CORPUS, corpus, mail_world, newcomer_reply
from tests.test_browser import (  # noqa: F401 - fixtures
    browser_page,
    choose,
    log_in,
    role_groups,
    screenshot,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("pages_today"),
]

WIDTHS = {"computer": 1366, "phone": 390}
# WCAG 2.2's target size (minimum): 24 by 24 CSS pixels.
TARGET = 24


@pytest.fixture
def world(role_groups):  # noqa: F811
    return mail_world()


def small_targets(page) -> list[str]:
    """Describe the buttons, fields and button links of the page's main part under 24 px."""
    return page.eval_on_selector_all(
        "main button, main input:not([type=hidden]), main select, main textarea, main a.button",
        f"""elements => elements
            .filter(e => e.offsetParent !== null)
            .map(e => [e, e.getBoundingClientRect()])
            .filter(([e, box]) => box.width < {TARGET} || box.height < {TARGET})
            .map(([e, box]) => `${{e.outerHTML.slice(0, 80)}} ${{box.width}}x${{box.height}}`)""",
    )


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_upload_two_messages_file_the_waiting_one_and_see_both_on_the_timeline(
    world,
    live_server,
    browser_page,  # noqa: F811
    request,
    tmp_path,
    width,
):
    newcomer = tmp_path / "newcomer.eml"
    newcomer.write_bytes(newcomer_reply())
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, username="ama")

    page.goto(f"{live_server.url}/mail/upload/")
    page.set_input_files("input[type=file]", [CORPUS / "apple_reply.eml", newcomer])
    screenshot(page, request, "upload")
    page.click("form button.primary")
    page.wait_for_selector(".upload-results")
    results = page.locator(".upload-results").inner_text()
    assert "apple_reply.eml" in results and "newcomer.eml" in results
    assert "nadia.test@visa.com" in results  # why it waits
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, request, "uploaded")

    page.click("nav.main-nav a[href='/mail/']")
    page.wait_for_url("**/mail/")
    page.get_by_role("link", name="Re: Merchant list").click()
    page.wait_for_url("**/mail/*/")
    choose(page, "id_organization", "Visa")
    screenshot(page, request, "to-file")
    page.click("button[name=create_sender]")
    page.wait_for_url("**/mail/")
    assert "Merchant list" not in page.locator("main").inner_text()

    page.goto(f"{live_server.url}/organizations/visa/")
    timeline = page.locator("#timeline").inner_text()
    assert "Pilot timeline" in timeline and "Merchant list" in timeline
    assert "Nadia" in timeline  # the sender, created as a person
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, request, "timeline")

    nadia = Person.objects.get(email="nadia.test@visa.com")
    assert nadia.affiliations.get().organization == world.visa
    assert set(MailMessage.objects.values_list("status", flat=True)) == {"filed"}
    assert MailMessage.objects.count() == 2


def test_mail_pages_fit_a_phone_with_targets_a_finger_can_hit(
    world,
    live_server,
    browser_page,  # noqa: F811
    request,
):
    filed = services.mail_receive(raw=corpus("outlook_fr_forward.eml"), door="upload").message
    waiting = services.mail_receive(raw=newcomer_reply(), door="upload").message
    long_subject = b"Subject: " + b"Compte-rendu-de-la-reunion-sur-les-paiements-" * 6
    failed = services.mail_record_failure(
        raw=newcomer_reply().replace(b"Subject: Re: Merchant list", long_subject),
        door="mailbox",
        error="ValueError: " + "x" * 300,
    )
    assert filed.status == "filed" and waiting.status == "to_file"
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, username="ama")

    too_wide, too_small = {}, {}
    for url in (
        "/mail/",
        "/mail/upload/",
        filed.get_absolute_url(),
        waiting.get_absolute_url(),
        failed.get_absolute_url(),
    ):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[url] = width
        if small := small_targets(page):
            too_small[url] = small
        screenshot(page, request, url.strip("/").replace("/", "_"))

    assert too_wide == {}
    assert too_small == {}
