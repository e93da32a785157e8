"""Mask variables in log messages and put templates in one canonical spelling.

Masking runs before clustering so that lines differing only in ids, addresses, numbers
or paths look alike to the clusterer. A comparison sign belongs to its number ("<1"), and
a quantity restated in brackets is one value ("1190 bytes (1.16 KB)" reads "<*> bytes").
Default strings ("root", "true") are left to the clusterer and masked in the final
template only. Canonicalisation runs on the final templates and
follows the template rules of Loghub-2.0 (Khan et al., "Guidelines for assessing the
accuracy of log message template identification techniques", ICSE'22), so templates
read the same way whichever system produced them:
- whitespace collapsed; path-like tokens ("/var/log/x") become <*>;
- booleans and well-known default strings (true, false, null, root, admin) become <*>;
- purely numeric tokens become <*>; a token glued to a variable ("blk_<*>") becomes <*>;
- "<*>.<*>" and "<*><*>" collapse to one <*>.
"""

from __future__ import annotations

import re

from copilot.plugins.detectors.logparse_header import DATETIME_PATTERN

WILDCARD = "<*>"

_URL_RE = re.compile(r"(?<![\w.\-])[a-zA-Z][a-zA-Z0-9+\-]*://[^\s\"'<>]+")
_UUID_RE = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_IPV4_RE = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
_MAC_RE = re.compile(r"\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b")
_TLDS = (
    "com|net|org|edu|gov|mil|int|io|info|biz|co|cn|hk|tw|jp|kr|in|uk|de|fr|ru|us|au|ca|nl|br|it|es|"
    "eu|ch|se|no|fi|pl|local|internal|lan|localdomain"
)
# Host names: dotted labels ending in a top-level domain, or any dotted name before ":port".
_HOST_RE = re.compile(
    rf"(?<![\w.\-/])(?:[A-Za-z0-9\-]+\.)+(?:{_TLDS})(?![\w\-])|(?<![\w.\-/])[A-Za-z][\w\-]*(?:\.[\w\-]+)+(?=:\d+\b)"
)
_PATH_RE = re.compile(r"(?<![\w.<>/])(?:/[\w.\-@~+%]+)+/?(?![\w/])")
_HEX_RE = re.compile(r"\b0[xX][0-9a-fA-F]+\b")
# Long hex / id-like runs with both digits and letters ("a64f992", "3fc1e9a0b7").
_HEXID_RE = re.compile(r"(?<![\w<])(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}(?![\w>])")
_DATETIME_RE = re.compile(rf"(?<![\w:.])(?:{DATETIME_PATTERN})(?![\w:])")
_NUM_UNIT_RE = re.compile(
    r"(?<![\w<.])[-+]?\d+(?:\.\d+)?(?:ms|us|µs|ns|s|sec|secs|m|min|mins|h|kb|mb|gb|tb|k|KB|MB|GB|TB|B|%)(?![\w>])"
)
# A comparison sign glued to a number belongs to the value ("lifetime <1 sec").
_NUMBER_RE = re.compile(r"(?<![\w<])(?:[<>]=?)?[-+]?\d+(?:\.\d+)?(?![\w>])")
# A quantity followed by the same quantity restated in brackets is one value:
# "1190 bytes (1.16 KB) sent" reads as "<*> bytes sent", like "0 bytes sent".
_RESTATED_RE = re.compile(r"(<\*>(?: [A-Za-z]{1,12})?) \(<\*> ?[A-Za-z%]{1,5}\)(?=[\s,;.]|$)")
# The value of a "key=value" pair that names something ("pkg=com.tencent.mobileqq",
# "cmp=com.a/.Main") is a variable even when the lines at hand all show the same one. A
# plain word ("tty=ssh", "user=guest") is left to the clusterer, which sees whether it
# varies; a value that starts with a masked number keeps its inner delimiters
# ("steps=<*>##<*>"), as numbers elsewhere do. A space after
# "=" counts only with one before it ("name = x"), so "logname= uid=0" has an empty value.
_KEY_VALUE_RE = re.compile(
    r"(?<![\w.\-])([A-Za-z_][\w.\-]*(?:=| = ?))([^\s,;=\"'(){}\[\]]*[^\s,;=\"'(){}\[\].:])"
)
_PLAIN_VALUE_RE = re.compile(r"[^@/#]*|[^A-Za-z]*|<\*>.*")

_PATH_DELIMS = r"\s,!;:=|\"'\[\](){}"
_PATH_SPLIT_RE = re.compile(rf"([{_PATH_DELIMS}])")
_PATH_TOKEN_RE = re.compile(r"^(?:/[^/]+)+/?$")
_TOKEN_SPLIT_RE = re.compile(rf"([{_PATH_DELIMS}.\-+@#$%&])")
_DEFAULT_STRINGS = {"true", "false", "null", "root", "admin"}
_ANY_DIGIT_RE = re.compile(r"\d")
_GLUED_RE = re.compile(r"^[^\s/]*<\*>[^\s/]*$")


def mask_variables(message: str) -> str:
    """The message with obvious variables replaced by <*>, delimiters kept.

    A pattern runs only on text holding a character every match of it needs (":" for
    a URL or MAC, "." for a host or IP, a digit for dates and numbers, ...): the same
    result, in about half the time on real logs."""
    text = message
    if "://" in text:
        text = _URL_RE.sub(WILDCARD, text)
    if "-" in text:
        text = _UUID_RE.sub(WILDCARD, text)
    if ":" in text:
        text = _MAC_RE.sub(WILDCARD, text)
    digits = _ANY_DIGIT_RE.search(text) is not None
    if digits:
        text = _DATETIME_RE.sub(WILDCARD, text)
    if "." in text:
        text = _HOST_RE.sub(WILDCARD, text)
    if "/" in text:
        text = _PATH_RE.sub(WILDCARD, text)
    if digits:
        if "." in text:
            text = _IPV4_RE.sub(WILDCARD, text)
        if "0x" in text or "0X" in text:
            text = _HEX_RE.sub(WILDCARD, text)
        text = _HEXID_RE.sub(WILDCARD, text)
        text = _NUM_UNIT_RE.sub(WILDCARD, text)
        text = _NUMBER_RE.sub(WILDCARD, text)
    if "(" in text:
        text = _RESTATED_RE.sub(r"\1", text)
    if "=" in text:
        text = _KEY_VALUE_RE.sub(_mask_value, text)
    return canonical_template(text, default_strings=False)


def _mask_value(match: re.Match[str]) -> str:
    key, value = match.group(1), match.group(2)
    return match.group(0) if _PLAIN_VALUE_RE.fullmatch(value) else key + WILDCARD


def canonical_template(template: str, default_strings: bool = True) -> str:
    """One spelling for a template (the Loghub-2.0 rules listed in the module doc).

    `default_strings=False` keeps words such as "root" or "true": masking leaves them to
    the clusterer, which sees whether they vary, and the final template masks them."""
    template = " ".join(template.split())
    if "/" in template:
        parts = _PATH_SPLIT_RE.split(template)
        template = "".join(WILDCARD if _PATH_TOKEN_RE.match(p) else p for p in parts)
    out = []
    for token in _TOKEN_SPLIT_RE.split(template):
        if (default_strings and token.lower() in _DEFAULT_STRINGS) or token.isdecimal():  # isdecimal: what \d takes
            token = WILDCARD
        elif "<*>" in token and token != "<*>/<*>" and _GLUED_RE.match(token):
            token = WILDCARD
        out.append(token)
    template = "".join(out)
    template = _collapse(template, "<*>.<*>")
    return _collapse(template, "<*><*>")


def _collapse(text: str, pair: str) -> str:
    while pair in text:
        text = text.replace(pair, WILDCARD)
    return text
