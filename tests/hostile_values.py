"""Values a hostile client puts in a JSON field: named ones, and a Hypothesis strategy.

``NAMED`` lists the values each finding of issue 17 was made of (lone
surrogates, NUL, other scripts' digits, deep and shallow nesting, numbers past
any column, wrong types); ``Overlong`` stands for a string just past a field's
own ``max_length``, resolved with ``value_for(field)``. ``hostile_values()``
draws anything JSON can carry, with lone surrogates among its characters.
"""

from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class Overlong:
    """A string longer than the field takes: its ``max_length`` + 1, or ``length``."""

    length: int | None = None

    def __repr__(self) -> str:
        return f"Overlong({self.length or 'max_length + 1'})"


MEGABYTE = Overlong(1_000_000)


def nested_list(depth: int, leaf="x"):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_object(depth: int, leaf="x"):
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


NAMED = [
    "\ud800",  # A lone high surrogate.
    "a\udfffb",  # A lone low one, inside text.
    "\ude00\ud83d",  # A pair in the wrong order.
    ["\udbff"],
    {"\ud800": "x"},
    "a\x00b",
    "٣",  # An Arabic-Indic three.
    "²",
    "1e3",
    " 1",
    10**30,
    -1,
    1.5,
    True,
    None,
    "",
    [],
    {},
    nested_list(30),  # Within the parser's depth limit: the field sees it.
    nested_object(30),
    nested_list(40),  # Past it: the parser refuses it.
    Overlong(),
    MEGABYTE,
]


def value_for(value, field):
    """Return ``value`` with an ``Overlong`` made to measure for ``field``."""
    if isinstance(value, Overlong):
        length = value.length or (getattr(field, "max_length", None) or 1000) + 1
        return "x" * length
    return value


_LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
_TEXT = st.lists(st.one_of(st.characters(), _LONE_SURROGATES), max_size=12).map("".join)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)


def hostile_values():
    """Anything JSON carries: scalars, then lists and objects of them, keys included."""
    return st.recursive(
        _SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(_TEXT, children, max_size=3)
        ),
        max_leaves=8,
    )
