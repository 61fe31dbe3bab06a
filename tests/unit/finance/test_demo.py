"""The demo economy is sized like the seed."""

from services.finance import demo


def test_the_demo_economy_is_sized_like_the_seed():
    figures = demo.summary()
    assert figures["area_m2"] > 60_000
    assert figures["enterprises"] == 9
    assert abs(figures["income_fen"] - 25_200_000_00) <= 25_200_000_00 * 0.02  # 25.2 M yuan, ±2 %
    assert all(isinstance(lease["monthly_rent_fen"], int) for lease in demo.build()["leases"])
