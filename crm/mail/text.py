"""Mail text: HTML turned into text, and the summary (the message without its history)."""

import re
from html.parser import HTMLParser

# Characters of HTML read at most: a message's size is bounded already, this
# keeps one pathological part from costing more than the rest.
MAX_HTML_CHARS = 2_000_000
SUMMARY_MAX_CHARS = 2000

_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "pre",
}
_SKIPPED_TAGS = {"script", "style", "head", "title", "template"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the readable text of ``html``: blocks on their own lines, no markup."""
    extractor = _TextExtractor()
    extractor.feed(html[:MAX_HTML_CHARS])
    extractor.close()
    text = "".join(extractor.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Where the history of a reply or the signature begins: everything after is
# left out of the summary (it stays in the stored body).
_CUTS = [
    re.compile(p, re.IGNORECASE | re.MULTILINE)
    for p in (
        r"^On .{0,200}wrote:\s*$",
        r"^Le .{0,200}a écrit\s*:\s*$",
        r"^-{2,}\s*(Original Message|Message d'origine|Forwarded message|Message transféré)",
        r"^_{10,}\s*$",
        r"^(De|From)\s*:\s.*\n(Envoyé|Sent|Date)\s*:",
        r"^-- ?$",
        r"^(Sent from my|Envoyé de mon|Envoyé depuis mon) ",
        r"^(Cordialement|Bien cordialement|Best regards|Kind regards|Regards),?\s*$",
    )
]


def summary_of(body: str) -> str:
    """Return ``body`` without quoted replies and signature, cut to SUMMARY_MAX_CHARS."""
    text = body
    for cut in _CUTS:
        match = cut.search(text)
        if match:
            text = text[: match.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    summary = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if len(summary) > SUMMARY_MAX_CHARS:
        summary = summary[: SUMMARY_MAX_CHARS - 1].rstrip() + "…"
    return summary


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# The email package keeps a header's raw 8-bit bytes (UTF-8 sent unencoded, or a
# Latin-1 name) as lone surrogates, U+DC80 to U+DCFF: text no database column can
# hold (PostgreSQL refuses them in JSON and text alike) nor a page can show.
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


def _escaped_bytes(match: re.Match) -> str:
    data = bytes(ord(char) - 0xDC00 for char in match.group())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")


def unescape_bytes(value: str) -> str:
    """Return ``value`` with the raw bytes the email package escaped read as text.

    UTF-8 where they are UTF-8, else windows-1252 (which reads Latin-1 too).
    """
    return _ESCAPED_BYTES.sub(_escaped_bytes, value)


def clean_line(value: str, *, limit: int) -> str:
    """Return a header value on one line: readable text, no CR, LF or other control characters."""
    return _CONTROL.sub(" ", unescape_bytes(value or "")).strip()[:limit]


_PREFIX = re.compile(r"^\s*((re|fw|fwd|tr|wg|aw|réf|ref|rif)\s*(\[\d+\])?\s*:\s*)+", re.I)


def normalize_subject(subject: str) -> str:
    """Return ``subject`` without Re:/Fwd:/TR: prefixes, spaces collapsed, case folded."""
    return re.sub(r"\s+", " ", _PREFIX.sub("", subject or "")).strip().casefold()


def strip_subject_prefixes(subject: str) -> str:
    return _PREFIX.sub("", subject or "").strip()
