"""Test data for the registry: grids and valid ID numbers (GB 11643 check digit via stdnum)."""

from stdnum.cn import ric

GRIDS = [
    {"code": "G1", "name": "东街网格", "buildings": ["B11", "B12"]},
    {"code": "G3", "name": "西街网格", "buildings": ["B21", "B22"]},
]


def id_number(birth="19800115", sequence=123, region="110102"):
    """A valid 18-character ID number; an odd `sequence` is a man, an even one a woman."""
    base = f"{region}{birth}{sequence:03d}"
    return base + ric.calc_check_digit(base + "0")


def with_wrong_check_digit(number):
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last
