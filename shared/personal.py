"""Personal data the community's services take in and show: resident ID numbers, phone numbers,
and how they are masked for a reader who does not need them. The registry registers residents
and the market outside vendors by the same rules; every service masks the same way.
"""

import re

import phonenumbers
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from shared.errors import invalid

ID_NUMBER_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
OLDEST_AGE = 130  # nobody registered is older: an earlier birth year is a typing error


def parse_id_number(raw, today):
    """Validate a resident ID number (GB 11643) and derive what it encodes.

    The area code is where the number was issued, not where its holder was born: Jinjiang's
    350582 dates from 1992 and is on the IDs of residents born in the 1950s. So a code known to
    the current or any historical table passes whatever the birth year (stdnum's `validate` would
    also demand the code existed in the birth year, and raises a bare KeyError for some codes).

    Blanks (and the grouping spaces of a printed number) go, full-width digits and a lower-case x
    are normalised. Refused, each with its own reason: a length other than 18, a letter other than
    a final X, a wrong check digit, a date that does not exist, lies in the future or more than
    130 years back, an area code no table knows.

    Returns (id_number, birth_date, sex); raises InvalidInput on field "id_number"."""
    number = re.sub(r"\s", "", ric.compact(raw)) if isinstance(raw, str) else ""  # full-width → ASCII too
    if len(number) != 18:
        raise invalid("id_number", "must be 18 characters")
    if not ID_NUMBER_SHAPE.match(number):
        raise invalid("id_number", "17 digits then a digit or X")
    if number[-1] != ric.calc_check_digit(number):
        raise invalid("id_number", "wrong check digit")
    try:
        birth_date = ric.get_birth_date(number)
    except StdnumError:
        raise invalid("id_number", "impossible birth date") from None
    if birth_date > today:
        raise invalid("id_number", "birth date in the future")
    if birth_date < _years_before(today, OLDEST_AGE):
        raise invalid("id_number", "impossible birth date")
    if not known_area_code(number[:6]):
        raise invalid("id_number", "unknown area code")
    sex = "M" if int(number[16]) % 2 else "F"
    return number, birth_date, sex


def known_area_code(code):
    """Whether `code` is an area in the current or any historical division table."""
    return any("county" in props for _, props in numdb.get("cn/loc").info(code))


def normalise_phone(raw, field="phone"):
    """A Chinese phone number, as national digits ('13812345678', '059522345678')."""
    if raw is None or raw == "":
        return None
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise invalid(field, "not a phone number") from None
    if not phonenumbers.is_valid_number(parsed) or parsed.country_code != 86:
        raise invalid(field, "not a valid Chinese phone number")
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return re.sub(r"\D", "", national)


def _years_before(day, years):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- masking: what a reader who does not need the data sees ---------------------------------

def mask_id_number(number):
    return None if not number else number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone):
    return None if not phone else "*" * (len(phone) - 4) + phone[-4:]


def mask_email(email):
    if not email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
