"""The mail filing rate (issue 18's acceptance): the pipeline against the standard library alone.

``messages(n, run=r)`` writes ``n`` typical messages, deterministically: about
50 KB each, realistic headers (Received, DKIM, Thread-Index…), a French or
English body that quotes the history of the thread, an HTML alternative, and
one message in three with a PDF-like attachment. Each run gets messages of its
own (Message-IDs, subjects, attachments' bytes), so that every timed run files
new mail, never finds it on file.

``measure(n, runs)`` times, side by side (the sides alternating run by run;
medians), ``services.mail_receive_many`` of every message, 20 at a time as the
upload page and a mailbox run hand them over (door "upload"), and
``services.mail_receive`` one at a time as the API does, against what the
standard library alone does with the same bytes:
``email.message_from_bytes`` with policy ``default``, walking the parts,
reading each attachment's content and hashing it with ``hashlib.sha256``.
"""

import email
import hashlib
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings

from crm import roles, services
from crm.forms.mail import MAX_UPLOAD_FILES
from crm.models import Affiliation, MailMessage, Organization, Person

PARTNERS = [
    ("Mastercard", "mastercard.com"),
    ("Visa", "visa.com"),
    ("Stanford University", "stanford.edu"),
    ("Banque Ouest Africaine", "boad.org"),
    ("Orange Money", "orange.com"),
    ("Ecobank", "ecobank.com"),
]
GIVEN = ["Jean", "Mary", "Paul", "Awa", "Koffi", "Nadia", "Yao", "Claire", "Ibrahim", "Esi"]
FAMILY = ["Test", "Mensah", "Diallo", "Kpodar", "Agbeko", "Martin", "Traoré", "Smith"]
COLLEAGUES = ["ama.mensah", "kofi.test", "edem.afan"]
UNIT = "mcc-togo.example"

FR = (
    "Bonjour {to},\n\nSuite à notre échange de la semaine dernière, je vous confirme que "
    "l'équipe a relu la note sur l'acceptation des paiements numériques au port de Lomé. "
    "Nous proposons un appel jeudi pour arrêter le calendrier du pilote et la liste des "
    "commerçants. Merci de nous indiquer vos disponibilités.\n"
)
EN = (
    "Dear {to},\n\nFollowing our call last week, the team has reviewed the note on digital "
    "payment acceptance at the port of Lomé. We suggest a call on Thursday to agree on the "
    "pilot's timeline and the merchants' list. Please let us know when you are available.\n"
)
SIGNATURE = "\n--\n{name}\n{organization}\nTél. +228 22 00 00 00\n"


def override_documents(location: str) -> override_settings:
    """Keep the documents and stored messages of the bench in ``location`` (a scratch folder)."""
    documents = {
        "BACKEND": "crm.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": location, "base_url": None},
    }
    return override_settings(STORAGES={**settings.STORAGES, "documents": documents})


def world() -> None:
    """Partners with their domains, one person on file per name, three colleagues."""
    staff = Group.objects.get_or_create(name=roles.STAFF)[0]
    User = get_user_model()
    for login in COLLEAGUES:
        user, _ = User.objects.get_or_create(
            username=f"bench-{login}", defaults={"email": f"{login}@{UNIT}"}
        )
        user.groups.add(staff)
    for name, domain in PARTNERS:
        organization, _ = Organization.objects.get_or_create(
            slug=f"bench-mail-{domain.split('.')[0]}",
            defaults={
                "name": f"{name} (bench)",
                "email_domains": domain,
                "kind": Organization.Kind.COMPANY,
                "country": "US",
            },
        )
        for given in GIVEN[:6]:
            address = f"{given.lower()}.test@{domain}"
            person = Person.objects.filter(email=address).first()
            if person is None:
                person = Person.objects.create(
                    given_name=given,
                    family_name="Test",
                    email=address,
                    slug=f"bench-{given.lower()}-{domain.split('.')[0]}",
                )
                Affiliation.objects.create(
                    person=person, organization=organization, is_primary=True, title="Director"
                )


def _pdf(rng: random.Random, size: int) -> bytes:
    """A PDF-like file: the header and trailer of a PDF around incompressible bytes."""
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(size) + b"\n%%EOF\n"


def _quoted_history(rng: random.Random, french: bool, turns: int) -> str:
    lines = []
    for turn in range(turns):
        text = (FR if french else EN).format(to=rng.choice(GIVEN))
        header = (
            f"Le {turn + 1} octobre 2025 à 10:{turn:02d}, {rng.choice(GIVEN)} a écrit :"
            if french
            else f"On 1 Oct 2025, at 10:{turn:02d}, {rng.choice(GIVEN)} wrote:"
        )
        depth = "> " * (turn + 1)
        lines.append(header)
        lines.extend(depth + line for line in (text * 3).splitlines())
    return "\n".join(lines)


def message(number: int, *, run: int, rng: random.Random) -> bytes:
    """Return one typical message, about 50 KB."""
    french = number % 2 == 0
    name, domain = PARTNERS[number % len(PARTNERS)]
    given = GIVEN[number % len(GIVEN)]  # 4 names in 10 are not on file: they wait
    colleague = COLLEAGUES[number % len(COLLEAGUES)]
    sent = datetime(2025, 10, 1, 8, tzinfo=UTC) + timedelta(minutes=number * 7 + run)
    msg = EmailMessage()
    msg["Received"] = f"from mx.{domain} (mx.{domain} [192.0.2.{number % 250}]) by mx.{UNIT}"
    msg["DKIM-Signature"] = "v=1; a=rsa-sha256; d=" + domain + "; b=" + rng.randbytes(180).hex()
    msg["From"] = f"{given} Test <{given.lower()}.test@{domain}>"
    msg["To"] = f"Ama Mensah <{colleague}@{UNIT}>"
    msg["Cc"] = ", ".join(f"{c}@{UNIT}" for c in COLLEAGUES if c != colleague)
    topic = "Calendrier du pilote" if french else "Pilot timeline"
    msg["Subject"] = f"{'RE' if number % 3 else 'TR'}: {topic} – {name} #{run}-{number}"
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = make_msgid(f"r{run}n{number}", domain=domain)
    msg["Thread-Index"] = rng.randbytes(22).hex()
    msg["Content-Language"] = "fr-FR" if french else "en-GB"
    body = (FR if french else EN).format(to="Ama") + SIGNATURE.format(
        name=f"{given} Test", organization=name
    )
    history = _quoted_history(rng, french, turns=15)
    text = f"{body}\n{history}\n"
    msg.set_content(text)
    html = "<html><body>" + "".join(f"<p>{line}</p>" for line in text.splitlines()) + "</body>"
    msg.add_alternative(html + "</html>", subtype="html")
    if number % 3 == 0:
        msg.add_attachment(
            _pdf(rng, 30_000),
            maintype="application",
            subtype="pdf",
            filename=f"Note conceptuelle {run}-{number}.pdf",
        )
    return msg.as_bytes()


def messages(n: int, *, run: int) -> list[bytes]:
    rng = random.Random(f"mail-{run}")
    return [message(number, run=run, rng=rng) for number in range(n)]


def stdlib(batch: list[bytes]) -> int:
    """Parse each message with the standard library, walk its parts, hash its attachments."""
    hashed = 0
    for raw in batch:
        parsed = email.message_from_bytes(raw, policy=policy.default)
        for part in parsed.walk():
            if part.is_multipart():
                continue
            content = part.get_content()
            if part.is_attachment():
                hashlib.sha256(content).hexdigest()
                hashed += 1
    return hashed


def pipeline(batch: list[bytes]) -> int:
    """File the messages as the upload page and a mailbox run do: 20 at a time."""
    filed = 0
    for start in range(0, len(batch), MAX_UPLOAD_FILES):
        chunk = batch[start : start + MAX_UPLOAD_FILES]
        for receipt in services.mail_receive_many(chunk, door=MailMessage.Door.UPLOAD):
            filed += receipt.message.status == MailMessage.Status.FILED
    return filed


def one_by_one(batch: list[bytes]) -> int:
    """File the messages as the API does: one per request."""
    filed = 0
    for raw in batch:
        receipt = services.mail_receive(raw=raw, door=MailMessage.Door.API)
        filed += receipt.message.status == MailMessage.Status.FILED
    return filed


def measure(n: int, runs: int) -> dict:
    """Time the pipeline and the standard library on the same messages, alternating."""
    world()
    pipeline(messages(min(n, 20), run=0))  # Warm-up: imports, caches, buffers.
    one_by_one(messages(min(n, 20), run=-1))
    stdlib(messages(min(n, 20), run=0))
    seconds = {"pipeline": [], "one_by_one": [], "stdlib": []}
    filed = sizes = 0
    for run in range(1, runs + 1):
        batch = messages(n, run=run)
        # The API's side files messages of its own: the same ones would be on file.
        singles = messages(n, run=run + 10_000)
        sizes = statistics.mean(len(raw) for raw in batch)
        sides = [
            ("stdlib", lambda batch=batch: stdlib(batch)),
            ("pipeline", lambda batch=batch: pipeline(batch)),
            ("one_by_one", lambda singles=singles: one_by_one(singles)),
        ]
        for name, side in sides if run % 2 else reversed(sides):
            started = time.perf_counter()
            result = side()
            seconds[name].append(time.perf_counter() - started)
            if name == "pipeline":
                filed = result
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {
        "messages": n,
        "runs": runs,
        "mean bytes": sizes,
        "with attachment": len(range(0, n, 3)),
        "filed": filed,
        **medians,
        "ratio": medians["pipeline"] / medians["stdlib"] if medians["stdlib"] else float("nan"),
        "ratio one by one": (
            medians["one_by_one"] / medians["stdlib"] if medians["stdlib"] else float("nan")
        ),
    }


def report(result: dict) -> str:
    n = result["messages"]
    return "\n".join(
        [
            f"{n:,} messages of {result['mean bytes'] / 1024:.0f} KB on average, "
            f"{result['with attachment']:,} with one attachment; {result['filed']:,} filed "
            f"by themselves, the others waiting to be filed (sender not on file); "
            f"median of {result['runs']} runs, the sides alternating.",
            "",
            "| what | time | per message | messages/s |",
            "|---|---|---|---|",
            _row(
                "services.mail_receive_many, 20 at a time (upload page, mailbox run)",
                result["pipeline"],
                n,
            ),
            _row("services.mail_receive, one at a time (the API)", result["one_by_one"], n),
            _row("email.message_from_bytes + walk + sha256 of attachments", result["stdlib"], n),
            "",
            "| ratio | goal | measured |",
            "|---|---|---|",
            f"| filing, 20 at a time ÷ standard library parse and hash | ≤ 3 | "
            f"{result['ratio']:.2f} |",
            f"| filing, one at a time ÷ standard library parse and hash | — | "
            f"{result['ratio one by one']:.2f} |",
        ]
    )


def _row(label: str, seconds: float, n: int) -> str:
    return (
        f"| {label} | {seconds * 1000:,.0f} ms | {seconds / n * 1000:.2f} ms | "
        f"{n / seconds:,.0f} |"
    )


SECTION = "## Mail filing"


def write_section(
    path,
    text: str,
    command: str,
    *,
    heading: str = SECTION,
    how: str = "Run alone, against an emptied database: it needs no follow-ups.",
) -> None:
    """Put the section ``heading`` in ``path``, in place of the one there or before the end."""
    section = (
        f"{heading}\n\nWritten by `{command}` on {time.strftime('%Y-%m-%d')}. {how}\n\n{text}\n\n"
    )
    doc = path.read_text(encoding="utf-8")
    start = doc.find(heading)
    if start >= 0:
        end = doc.find("\n## ", start + len(heading))
        doc = doc[:start] + section + (doc[end + 1 :] if end >= 0 else "")
    else:
        anchor = doc.find("## To reproduce")
        doc = doc[:anchor] + section + doc[anchor:] if anchor >= 0 else doc + "\n" + section
    path.write_text(doc, encoding="utf-8")
