"""The project's documents point only at files the repository has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPENAPI = ROOT / "src" / "neariq_sms" / "adapters" / "http" / "openapi.json"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)
    missing = [link for link in links if not (document.parent / link).exists()]
    assert missing == []


@pytest.mark.parametrize("document", [*DOCUMENTS, OPENAPI], ids=lambda p: p.name)
def test_no_document_refers_to_files_outside_the_repository(document: Path) -> None:
    """DESIGN.md and spec/*.md were the authors' notes; users have docs/ instead."""
    text = document.read_text(encoding="utf-8")
    assert not re.search(r"DESIGN\.md|\bspec/|\.\./shared", text)


def test_the_openapi_document_points_at_the_contract_page() -> None:
    description = json.loads(OPENAPI.read_text(encoding="utf-8"))["info"]["description"]
    assert "docs/http-contract.md" in description
    assert (ROOT / "docs" / "http-contract.md").exists()


def test_every_error_code_is_in_the_contract_page() -> None:
    from neariq_sms.adapters.http.errors import HTTP_ERRORS

    page = (ROOT / "docs" / "http-contract.md").read_text(encoding="utf-8")
    assert [e.code for e in HTTP_ERRORS if f"`{e.code}`" not in page] == []
