// The post composer (hosts and creators): upload photos or a short video, tag products,
// write a caption, publish. Uploads go to POST /api/posts/media one file at a time (the
// server checks type, size, pixels and video length); POST /api/posts publishes them.

import { ApiError, api, isHost } from "./api.js";
import { showFieldError } from "./forms.js";
import { busy, el, emptyState, icon, renderNav, replaceChildren, showError, skeletons, toast } from "./ui.js";
import { checkedIds, productCheck } from "./pages/studio-forms.js";
import { myProducts } from "./pages/studio-products.js";

const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
const VIDEO_TYPES = ["video/mp4", "video/webm", "video/quicktime"];
const MAX_IMAGE = 10 * 1024 * 1024;
const MAX_VIDEO = 100 * 1024 * 1024;
const MAX_MEDIA = 10;

/** Uploaded (or uploading) files, in order: {file, url, media, node}. */
const items = [];

function refuse(file) {
  const isImage = IMAGE_TYPES.includes(file.type);
  const isVideo = VIDEO_TYPES.includes(file.type);
  if (!isImage && !isVideo) return `“${file.name}” is not a photo or video we can use (JPEG, PNG, WebP, MP4, WebM or MOV).`;
  if (isImage && file.size > MAX_IMAGE) return `“${file.name}” is too large: photos can be up to 10 MB.`;
  if (isVideo && file.size > MAX_VIDEO) return `“${file.name}” is too large: videos can be up to 100 MB.`;
  return null;
}

function thumb(item) {
  const preview = item.file.type.startsWith("video/")
    ? el("video", { src: item.url, muted: true, playsinline: true, preload: "metadata" })
    : el("img", { src: item.url, alt: "" });
  const status = el("span", { class: "compose-status" }, "Uploading…");
  const remove = el("button", { type: "button", class: "chip-x", "aria-label": `Remove ${item.file.name}` }, icon("close"));
  remove.addEventListener("click", () => {
    const at = items.indexOf(item);
    if (at >= 0) items.splice(at, 1);
    item.node.remove();
    URL.revokeObjectURL(item.url);
  });
  item.status = status;
  return el("div", { class: "compose-thumb", dataset: { state: "uploading" } }, preview, status, remove);
}

async function upload(item) {
  try {
    item.media = await api("/api/posts/media", { method: "POST", body: item.file, raw: true, headers: { "Content-Type": item.file.type } }).then((r) => r.json());
    item.node.dataset.state = "ready";
    item.node.dataset.mediaId = String(item.media.id);
    item.status.textContent = item.media.kind === "video" ? `${Math.round(item.media.duration_s || 0)} s video` : "";
  } catch (err) {
    item.node.dataset.state = "failed";
    item.status.textContent = "Not uploaded";
    toast(err instanceof ApiError ? err.message : "The upload failed. Try again.", "error");
  }
}

function addFiles(files) {
  const box = document.getElementById("compose-media");
  for (const file of files) {
    if (items.length >= MAX_MEDIA) {
      toast(`A post holds up to ${MAX_MEDIA} photos or videos.`, "error");
      break;
    }
    const problem = refuse(file);
    if (problem) {
      toast(problem, "error");
      continue;
    }
    const item = { file, url: URL.createObjectURL(file), media: null, node: null };
    item.node = thumb(item);
    items.push(item);
    box.append(item.node);
    item.pending = upload(item);
  }
}

async function publish(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = document.getElementById("compose-error");
  showError(errorBox, null);
  await Promise.all(items.map((i) => i.pending));
  const mediaIds = items.filter((i) => i.media).map((i) => i.media.id);
  const productIds = checkedIds(document.getElementById("compose-products"), "compose-product");
  if (!mediaIds.length) return showError(errorBox, "Add at least one photo or video.");
  if (!productIds.length) return showError(errorBox, "Tag at least one product, so viewers can shop your post.");
  try {
    const entry = await busy(form.querySelector("#compose-submit"), () =>
      api("/api/posts", { body: { media_ids: mediaIds, product_ids: productIds, caption: form.caption.value.trim() || null } }),
    );
    toast("Your post is live in the feed", "success");
    location.href = `/feed.html?post=${encodeURIComponent(entry.id)}`;
  } catch (err) {
    if (err instanceof ApiError) showFieldError(form, err, { box: errorBox });
    else showError(errorBox, "Could not publish the post.");
  }
}

async function loadProducts() {
  const box = document.getElementById("compose-products");
  replaceChildren(box, skeletons(2, "skeleton skeleton-row"));
  try {
    const products = await myProducts();
    if (!products.length) {
      replaceChildren(box, el("p", { class: "muted small" }, "You have no products yet. ", el("a", { href: "/studio.html" }, "Add one in the studio"), " to tag it here."));
    } else {
      replaceChildren(box, products.map((p) => productCheck(p, false, "compose-product")));
    }
  } catch (err) {
    replaceChildren(box, el("p", { class: "muted small" }, `Could not load your products: ${err.message}`));
  }
}

const user = await renderNav();
if (!user) {
  location.href = `/login.html?next=${encodeURIComponent("/compose.html")}`;
} else if (!isHost(user)) {
  replaceChildren(document.getElementById("main"), emptyState("Posts are for hosts", "Hosts and creators publish posts with their products. Ask an admin if you'd like to host.", { iconName: "lock" }));
} else {
  const input = document.getElementById("compose-file");
  input.addEventListener("change", () => {
    addFiles([...(input.files || [])]);
    input.value = "";
  });
  document.getElementById("compose-form").addEventListener("submit", publish);
  loadProducts();
}
