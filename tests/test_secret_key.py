"""The key that signs every token and desk session: in production, a random one or no start at all,
and the start-up says what is required."""

import secrets
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from app.cli import main
from app.config import DEVELOPMENT_SECRET, Settings, get_settings

SELLER = {"seller_legal_id": "552 100 554", "seller_legal_mentions": "SAS au capital de 10 000 €"}


@pytest.mark.parametrize(
    ("secret", "because"),
    [
        ("x", "has 1 characters"),
        (DEVELOPMENT_SECRET, "is the development key"),
        ("a" * 64, "uses only 1 distinct characters"),
        ("abcdefghijkl" * 4, "repeats itself"),
        (
            secrets.token_hex(16),
            "bits",
        ),  # 128 random bits written in 32 hex digits: too few characters' worth
    ],
)
def test_production_refuses_a_weak_secret(secret: str, because: str) -> None:
    with pytest.raises(ValidationError, match=f"CARNET_SECRET_KEY must be a random secret.*{because}"):
        Settings(environment="production", secret_key=secret, **SELLER)


@pytest.mark.parametrize("secret", [secrets.token_urlsafe(32), secrets.token_hex(32)])
def test_production_takes_a_generated_secret(secret: str) -> None:
    assert Settings(environment="production", secret_key=secret, **SELLER).secret_key == secret


def test_development_and_tests_take_any_secret() -> None:
    assert Settings(environment="development", secret_key="x").secret_key == "x"
    assert Settings(environment="test").secret_key == DEVELOPMENT_SECRET


@pytest.fixture
def production_with_a_weak_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CARNET_ENVIRONMENT", "production")
    monkeypatch.setenv("CARNET_SECRET_KEY", "x")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("production_with_a_weak_secret")
def test_the_start_up_says_what_is_required_instead_of_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve"]) == 2
    said = capsys.readouterr().err
    assert said.startswith(
        "error: CARNET_SECRET_KEY must be a random secret of at least 32 characters and 128 bits"
    )
    assert "secrets.token_urlsafe(32)" in said and "Traceback" not in said
