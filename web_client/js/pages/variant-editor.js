// The sizes and colours of a product, in the product editor: each variant's SKU, price and
// stock (saved per row), a Remove button, and a row to add one ("Size" "M"). The first
// variant names the options; later ones give a value for each. The server judges every
// value (POST/PATCH/DELETE /api/products/{id}/variants) and its sentence is shown.

import { ApiError, amountText, api, toMinor } from "../api.js";
import { busy, el, replaceChildren, toast } from "../ui.js";

const input = (attrs) => el("input", { class: "input", ...attrs });

/**
 * The variants section for `product` (kept up to date in place); `onChange(product)` runs
 * after each stored change with the product as the server now has it.
 */
export function variantSection(product, onChange = () => {}) {
  const box = el("div", { class: "stack-s", id: "editor-variants" });
  const message = el("div", { class: "form-error", role: "alert", hidden: true });
  const say = (err) => {
    message.textContent = err instanceof ApiError ? err.message : "Could not save the variant.";
    message.hidden = false;
  };
  const reload = async () => {
    const fresh = await api(`/api/products/${product.id}`);
    Object.assign(product, fresh);
    render();
    onChange(fresh);
  };
  const row = (variant) => {
    const price = input({ inputmode: "decimal", "aria-label": `Price of ${variant.label}`, value: amountText(variant.price_minor, product.currency), class: "input input-small" });
    const stock = input({ type: "number", min: "0", step: "1", "aria-label": `Stock of ${variant.label}`, value: String(variant.stock), class: "input input-small" });
    const sku = input({ "aria-label": `SKU of ${variant.label}`, placeholder: "SKU", value: variant.sku || "", maxlength: "64", class: "input input-small" });
    const save = el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Save ${variant.label}` }, "Save");
    const remove = el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Remove ${variant.label}` }, "Remove");
    save.addEventListener("click", async () => {
      message.hidden = true;
      const priceMinor = toMinor(price.value, product.currency);
      const units = Number.parseInt(stock.value, 10);
      if (priceMinor === null || priceMinor <= 0) return say(new ApiError(422, "invalid_price", "Enter a price above zero, like 19.99."));
      if (!Number.isInteger(units) || units < 0) return say(new ApiError(422, "invalid_stock", "Stock must be 0 or more."));
      try {
        await busy(save, () =>
          api(`/api/products/${product.id}/variants/${variant.id}`, { method: "PATCH", body: { price_minor: priceMinor, stock: units, sku: sku.value.trim() || null } }),
        );
        toast(`${variant.label} saved`, "success");
        await reload();
      } catch (err) {
        say(err);
      }
    });
    remove.addEventListener("click", async () => {
      try {
        await busy(remove, () => api(`/api/products/${product.id}/variants/${variant.id}`, { method: "DELETE" }));
        await reload();
      } catch (err) {
        say(err);
      }
    });
    return el("li", { class: "variant-row", dataset: { variantId: String(variant.id) } }, el("b", { class: "variant-name" }, variant.label), sku, price, stock, save, remove);
  };
  const render = () => {
    const names = (product.options || []).map((o) => o.name);
    const nameInputs = (names.length ? names : ["Size"]).map((name, i) =>
      input({ class: "input input-small", "aria-label": "Option", value: name, readonly: names.length > 0, dataset: { option: String(i) } }),
    );
    const valueInputs = nameInputs.map((_, i) => input({ class: "input input-small", "aria-label": `Value ${i + 1}`, placeholder: i === 0 ? "M" : "Black", dataset: { value: String(i) } }));
    const stock = input({ type: "number", min: "0", step: "1", value: "0", class: "input input-small", "aria-label": "Stock of the new variant", id: "variant-new-stock" });
    const add = el("button", { type: "button", class: "btn btn-primary btn-small", id: "variant-add" }, "Add");
    add.addEventListener("click", async () => {
      message.hidden = true;
      const options = {};
      nameInputs.forEach((n, i) => {
        if (n.value.trim() || valueInputs[i].value.trim()) options[n.value.trim()] = valueInputs[i].value.trim();
      });
      try {
        await busy(add, () => api(`/api/products/${product.id}/variants`, { body: { options, stock: Number.parseInt(stock.value || "0", 10) || 0 } }));
        await reload();
      } catch (err) {
        say(err);
      }
    });
    replaceChildren(
      box,
      el("span", { class: "label" }, "Sizes and colours"),
      (product.variants || []).length
        ? el(
            "ul",
            { class: "variant-rows" },
            el("li", { class: "variant-head", "aria-hidden": "true" }, el("span", {}, names.join(" / ")), el("span", {}, "SKU"), el("span", {}, "Price"), el("span", {}, "Stock")),
            product.variants.map(row),
          )
        : el("p", { class: "muted small" }, "Sold in one version. Add sizes or colours to sell each with its own stock."),
      el("span", { class: "muted small" }, names.length ? `Add a ${names.join(" / ").toLowerCase()}` : "Add a size or colour (name and value, e.g. Size M)"),
      el(
        "div",
        { class: "variant-new field-row" },
        nameInputs.map((n, i) => el("span", { class: "variant-pair" }, n, valueInputs[i])),
        stock,
        add,
      ),
      message,
    );
  };
  render();
  return box;
}
