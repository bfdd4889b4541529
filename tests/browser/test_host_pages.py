"""A host's pages beyond the console: the product editor and the post composer."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Page, expect


def test_host_edits_a_product_and_publishes_a_post(
    page: Page,
    page_errors: list[str],
    api_login: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    photo = tmp_path / "photo.png"
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (90, 160, 80)).save(buf, format="PNG")
    photo.write_bytes(buf.getvalue())
    token = api_login(page, "demo-host")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = page.request.post(
        "/api/products",
        data={"title": "Editor test mug", "price_minor": 1500, "category": "kitchen", "stock": 3},
        headers=headers,
    ).json()

    page.goto("/studio.html")
    page.click("#tab-products-button")
    row = page.locator(f"#my-products [data-product-id='{created['id']}']")
    row.locator("[data-action=edit]").click()
    editor = page.locator("#product-editor")
    page.set_input_files("#editor-image-file", str(photo))
    expect(editor.locator(".editor-image")).to_have_count(1)
    page.fill("#editor-price", "0")
    page.click("#editor-save")
    expect(editor.locator(".field-error")).to_contain_text("above zero")
    title = f"Big mug {uuid.uuid4().hex[:4]}"
    page.fill("#editor-title", title)
    page.fill("#editor-price", "18.50")
    page.fill("#editor-stock", "7")
    page.click("#editor-save")
    expect(editor).to_have_count(0)
    expect(row).to_contain_text(title)
    stored = page.request.get(f"/api/products/{created['id']}").json()
    assert (stored["title"], stored["price_minor"], stored["stock"]) == (title, 1850, 7)
    assert len(stored["images"]) == 1

    page.goto("/compose.html")
    page.set_input_files("#compose-file", str(photo))
    expect(page.locator(".compose-thumb[data-state=ready]")).to_have_count(1)
    page.locator(f"#compose-products [data-product-id='{created['id']}']").click()
    page.fill("#compose-caption", f"Meet the {title}")
    page.click("#compose-submit")
    page.wait_for_url("**/feed.html?post=*")
    post_id = page.url.split("post=")[1]
    post = page.request.get(f"/api/posts/{post_id}").json()
    assert post["post"]["caption"] == f"Meet the {title}"
    assert [p["id"] for p in post["products"]] == [created["id"]]
    page.request.delete(f"/api/posts/{post_id}", headers=headers)
    assert page_errors == []


def test_host_adds_sizes_in_the_product_editor(
    page: Page, page_errors: list[str], api_login: Callable[..., dict[str, Any]]
) -> None:
    token = api_login(page, "demo-host")["token"]
    created = page.request.post(
        "/api/products",
        data={"title": f"Editor tee {uuid.uuid4().hex[:4]}", "price_minor": 2000,
              "category": "fashion", "stock": 0},
        headers={"Authorization": f"Bearer {token}"},
    ).json()  # fmt: skip
    page.goto("/studio.html")
    page.click("#tab-products-button")
    row = page.locator(f"#my-products [data-product-id='{created['id']}']")
    row.locator("[data-action=edit]").click()
    sizes = page.locator("#editor-variants")
    # the first size names the option; the next ones are asked for that option only
    sizes.get_by_label("Value 1").fill("S")
    page.fill("#variant-new-stock", "4")
    page.click("#variant-add")
    expect(sizes.locator(".variant-row")).to_have_count(1)
    expect(sizes.get_by_label("Option")).to_have_value("Size")
    sizes.get_by_label("Value 1").fill("M")
    page.fill("#variant-new-stock", "6")
    page.click("#variant-add")
    expect(sizes.locator(".variant-row")).to_have_count(2)
    sizes.get_by_label("Value 1").fill("m")  # the same size again: the server's sentence
    page.click("#variant-add")
    expect(sizes.locator(".form-error")).to_have_text("This product already has Size M.")
    expect(page.locator("#editor-stock")).to_be_disabled()
    expect(page.locator("#editor-stock")).to_have_value("10")
    # a size's own price
    sizes.get_by_label("Price of M").fill("22.00")
    sizes.get_by_role("button", name="Save M").click()
    expect(page.locator(".toast", has_text="M saved")).to_be_visible()  # the PATCH answered
    stored = page.request.get(f"/api/products/{created['id']}").json()
    assert [(v["label"], v["stock"], v["price_minor"]) for v in stored["variants"]] == [
        ("S", 4, 2000),
        ("M", 6, 2200),
    ]
    assert page_errors == []
