#!/usr/bin/env python3
"""Writes the signed demo deliveries in examples/demo/webhooks/.

Each file is a saved webhook, as `integration-api ingest` replays it:
{"headers": {...}, "body": "<raw body>"}, signed the way the provider signs it with the
demo-only secrets of examples/demo/integration-api.toml. The payloads follow the providers'
real webhook bodies (see crates/providers/tests/fixtures/). Every id, time and signature is
fixed, so running this again rewrites identical files:

    python3 examples/demo/make-webhooks.py

Only Python's standard library is used.
"""

import base64
import hashlib
import hmac
import json
import tomllib
import uuid
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "webhooks"
SHOP = "demo-shop.myshopify.com"
SANITY_PROJECT = "demo1234"
SANITY_DATASET = "production"
CDN = "https://cdn.shopify.com/s/files/1/0005/4838/0009"


def secrets():
    config = tomllib.loads((HERE / "integration-api.toml").read_text(encoding="utf-8"))
    return {name: table["webhook_secret"] for name, table in config["providers"].items()}


def compact(payload):
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def hmac_sha256(secret, message):
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def delivery_id(name):
    """A stable delivery id per file, so replays stay idempotent and files stay identical."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://demo.invalid/webhooks/{name}"))


def unix_ms(rfc3339):
    return int(datetime.fromisoformat(rfc3339).timestamp() * 1000)


# --- Shopify ---------------------------------------------------------------------------------


def shopify_variant(product_id, variant_id, title, sku, price, compare_at, quantity, item_id,
                    policy="deny", options=(None, None, None), position=1, updated_at=None):
    return {
        "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
        "barcode": None,
        "compare_at_price": compare_at,
        "created_at": "2026-11-01T09:30:00-05:00",
        "fulfillment_service": "manual",
        "grams": 350,
        "id": variant_id,
        "inventory_management": "shopify",
        "inventory_policy": policy,
        "position": position,
        "price": price,
        "product_id": product_id,
        "sku": sku,
        "taxable": True,
        "title": title,
        "updated_at": updated_at,
        "option1": options[0],
        "option2": options[1],
        "option3": options[2],
        "image_id": None,
        "inventory_item_id": item_id,
        "inventory_quantity": quantity,
        "old_inventory_quantity": quantity,
        "requires_shipping": True,
        "weight": 0.35,
        "weight_unit": "kg",
    }


def shopify_image(product_id, image_id, alt, file, position=1):
    return {
        "id": image_id,
        "alt": alt,
        "position": position,
        "product_id": product_id,
        "created_at": "2026-11-01T09:31:00-05:00",
        "updated_at": "2026-11-01T09:31:00-05:00",
        "admin_graphql_api_id": f"gid://shopify/ProductImage/{image_id}",
        "width": 1200,
        "height": 1600,
        "src": f"{CDN}/products/{file}?v=1761999060",
        "variant_ids": [],
    }


def shopify_product(product_id, handle, title, body_html, product_type, tags, updated_at,
                    options, variants, images):
    return {
        "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
        "body_html": body_html,
        "created_at": "2026-11-01T09:30:00-05:00",
        "handle": handle,
        "id": product_id,
        "product_type": product_type,
        "published_at": "2026-11-02T08:00:00-05:00",
        "template_suffix": None,
        "title": title,
        "updated_at": updated_at,
        "vendor": "Acme Apparel",
        "status": "active",
        "published_scope": "global",
        "tags": tags,
        "variants": variants,
        "options": [
            {"name": name, "id": product_id * 10 + i, "product_id": product_id,
             "position": i + 1, "values": values}
            for i, (name, values) in enumerate(options)
        ],
        "images": images,
        "image": images[0] if images else None,
        "has_variants_that_requires_components": False,
        "category": None,
    }


def shopify(name, topic, payload, secret, triggered_at):
    # Shopify escapes "/" as "\/" in its bodies; the signature covers the bytes as sent.
    body = compact(payload).replace("/", "\\/")
    return {
        "headers": {
            "Content-Type": "application/json",
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Hmac-Sha256": base64.b64encode(hmac_sha256(secret, body.encode())).decode(),
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Topic": topic,
            "X-Shopify-Triggered-At": triggered_at,
            "X-Shopify-Webhook-Id": delivery_id(name),
        },
        "body": body,
    }


def tee():
    pid, updated = 788032119674292922, "2026-11-20T14:05:31-05:00"
    return shopify_product(
        pid, "organic-cotton-tee", "Organic Cotton Tee",
        "<p>Soft <strong>organic</strong> cotton, cut for summer.</p>",
        "Shirts", "cotton, summer,  organic ,, T-Shirts", updated,
        [("Size", ["Small", "Large"]), ("Color", ["White"])],
        [
            # Oversold by three: Shopify reports negative stock as it is.
            shopify_variant(pid, 642667041472713922, "Small / White", "TEE-S-WHT", "19.99",
                            "29.99", -3, 9007199254740993, options=("Small", "White", None),
                            updated_at=updated),
            shopify_variant(pid, 642667041472713923, "Large / White", "TEE-L-WHT", "21.00",
                            None, 10, 49148385, policy="continue",
                            options=("Large", "White", None), position=2, updated_at=updated),
        ],
        [shopify_image(pid, 1072273153, "Organic cotton tee, front", "tee-front.jpg"),
         shopify_image(pid, 1072273154, None, "tee-back.jpg", position=2)],
    )


def mug():
    pid, updated = 788032119674292923, "2026-11-21T10:00:00-05:00"
    return shopify_product(
        pid, "blue-enamel-mug", "Blue Enamel Mug",
        "<p>A camp classic: steel under blue enamel, <em>350 ml</em>.</p>",
        "Kitchen", "enamel, camping, kitchen", updated,
        [("Title", ["Default Title"])],
        [shopify_variant(pid, 642667041472713930, "Default Title", "MUG-BLUE", "24.95", "0.00",
                         12, 49148390, options=("Default Title", None, None),
                         updated_at=updated)],
        [shopify_image(pid, 1072273160, "Blue enamel mug on a log", "mug-blue.jpg")],
    )


def tote():
    pid, updated = 788032119674292924, "2026-11-22T08:15:00-05:00"
    return shopify_product(
        pid, "linen-tote-bag", "Linen Tote Bag",
        "<p>Washed linen, long handles, an inside pocket.</p><ul><li>40 × 38 cm</li>"
        "<li>Holds 12 kg</li></ul>",
        "Bags", "linen, bags, summer", updated,
        [("Color", ["Natural", "Black"])],
        [
            shopify_variant(pid, 642667041472713940, "Natural", "TOTE-NAT", "35.00", "42.50", 5,
                            49148395, options=("Natural", None, None), updated_at=updated),
            shopify_variant(pid, 642667041472713941, "Black", "TOTE-BLK", "35.00", "42.50", 0,
                            49148396, options=("Black", None, None), position=2,
                            updated_at=updated),
        ],
        [shopify_image(pid, 1072273170, "Linen tote, natural", "tote-natural.jpg")],
    )


def summer_collection():
    return {
        "id": 482865238,
        "handle": "summer-collection",
        "title": "Summer Collection",
        "updated_at": "2026-11-19T16:00:00+01:00",
        "body_html": "<p>Light things for hot days.</p>",
        "published_at": "2026-11-18T10:00:00+01:00",
        "sort_order": "best-selling",
        "template_suffix": None,
        "published_scope": "web",
        "admin_graphql_api_id": "gid://shopify/Collection/482865238",
        "image": {
            "created_at": "2026-11-18T09:00:00+01:00",
            "alt": "Beach",
            "width": 2000,
            "height": 1000,
            "src": f"{CDN}/collections/summer.jpg?v=1763456400",
        },
    }


# --- Sanity ----------------------------------------------------------------------------------


def span(key, text, marks=()):
    return {"_key": key, "_type": "span", "marks": list(marks), "text": text}


def block(key, children, style="normal", mark_defs=(), list_item=None):
    b = {"_key": key, "_type": "block", "children": children, "markDefs": list(mark_defs),
         "style": style}
    if list_item:
        b["listItem"] = list_item
        b["level"] = 1
    return b


def creme_brulee():
    return {
        "_createdAt": "2026-11-20T09:15:00Z",
        "_id": "3b1f6a8e-2c4d-4e5f-9a7b-1c2d3e4f5a6b",
        "_rev": "pQx7Lk2mN9vR4sT1uW8yZb",
        "_type": "post",
        "_updatedAt": "2026-11-25T16:42:10Z",
        "title": "Crème Brûlée & the Art of Caramel",
        "slug": {"_type": "slug", "current": "creme-brulee-caramel"},
        "excerpt": "Why the crust cracks <just> right.",
        "tags": ["dessert", "french"],
        "mainImage": {"_type": "image", "alt": "A torch over ramekins",
                      "asset": {"_ref": "image-Tb9Ew8CXIwaY6R1kjMvI0uRR-2000x3000-jpg",
                                "_type": "reference"}},
        "seo": {"metaTitle": "Crème brûlée, explained",
                "metaDescription": "Caramel science for home cooks."},
        "body": [
            block("b1", [span("s1", "Heat "), span("s2", "sugar", ["strong"]),
                         span("s3", " until it turns "), span("s4", "amber", ["em", "lnk1"]),
                         span("s5", ".")],
                  mark_defs=[{"_key": "lnk1", "_type": "link",
                              "href": "https://en.wikipedia.org/wiki/Caramelization"}]),
            block("b2", [span("s6", "You need")], style="h2"),
            block("b3", [span("s7", "Cream")], list_item="bullet"),
            block("b4", [span("s8", "6 egg yolks", ["code"])], list_item="bullet"),
            {"_key": "b5", "_type": "image", "alt": "Ramekins",
             "asset": {"_ref": "image-a1b2c3d4e5f6-1200x800-png", "_type": "reference"}},
        ],
    }


def enamel_care():
    return {
        "_createdAt": "2026-11-23T11:00:00Z",
        "_id": "7d2e9c41-5b3a-4f60-8e1d-2a3b4c5d6e7f",
        "_rev": "r8Hk3Lm5Np7Qs9Tu1Vw3Xy",
        "_type": "article",
        "_updatedAt": "2026-11-24T08:30:00Z",
        "title": "Caring for Enamel Mugs",
        "slug": {"_type": "slug", "current": "caring-for-enamel-mugs"},
        "excerpt": "Three habits that keep enamel shiny for years.",
        "tags": ["care", "kitchen"],
        "mainImage": {"_type": "image", "alt": "Mugs drying on a rack",
                      "asset": {"_ref": "image-Kd83hf72Jd9sLw0qPz1xMn4v-1600x1067-jpg",
                                "_type": "reference"}},
        "body": [
            block("c1", [span("t1", "Enamel is glass fused to steel: it loves warm water and "),
                         span("t2", "hates", ["strong"]), span("t3", " sudden cold.")]),
            block("c2", [span("t4", "Three habits")], style="h2"),
            block("c3", [span("t5", "Rinse it while it is still warm.")], list_item="number"),
            block("c4", [span("t6", "Skip steel wool; a soft sponge does it.")],
                  list_item="number"),
            block("c5", [span("t7", "Never put it empty on a flame.")], list_item="number"),
            block("c6", [span("t8", "Ours is the "), span("t9", "Blue Enamel Mug", ["lnk2"]),
                         span("t10", ".")],
                  mark_defs=[{"_key": "lnk2", "_type": "link",
                              "href": "https://demo-shop.example/products/blue-enamel-mug"}]),
        ],
    }


def sanity(name, doc, secret, operation="update"):
    body = compact(doc)
    # Signed two seconds after the edit, as Sanity would deliver it.
    t_ms = unix_ms(doc["_updatedAt"].replace("Z", "+00:00")) + 2000
    signature = base64.urlsafe_b64encode(
        hmac_sha256(secret, f"{t_ms}.".encode() + body.encode())).decode().rstrip("=")
    return {
        "headers": {
            "content-type": "application/json",
            "idempotency-key": delivery_id(name),
            "sanity-dataset": SANITY_DATASET,
            "sanity-document-id": doc["_id"],
            "sanity-operation": operation,
            "sanity-project-id": SANITY_PROJECT,
            "sanity-webhook-signature": f"t={t_ms},v1={signature}",
        },
        "body": body,
    }


# --- Contentful ------------------------------------------------------------------------------


def text_node(value, marks=()):
    return {"nodeType": "text", "value": value, "marks": [{"type": m} for m in marks], "data": {}}


def node(node_type, content, data=None):
    return {"nodeType": node_type, "data": data or {}, "content": content}


def shipping_page():
    return {
        "metadata": {"tags": [{"sys": {"type": "Link", "linkType": "Tag",
                                       "id": "customerService"}}], "concepts": []},
        "sys": {
            "type": "Entry", "id": "5KsDBWseXY6QegucYAoacS",
            "space": {"sys": {"type": "Link", "linkType": "Space", "id": "yadj1kx9rmg0"}},
            "environment": {"sys": {"id": "master", "type": "Link",
                                    "linkType": "Environment"}},
            "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": "page"}},
            "createdBy": {"sys": {"type": "Link", "linkType": "User",
                                  "id": "4FLrUHftHW3v2BLi9fzfjU"}},
            "updatedBy": {"sys": {"type": "Link", "linkType": "User",
                                  "id": "4FLrUHftHW3v2BLi9fzfjU"}},
            "revision": 3, "version": 12, "publishedVersion": 11, "publishedCounter": 3,
            "firstPublishedAt": "2026-11-02T08:00:00.000Z",
            "publishedAt": "2026-11-26T09:59:50.456Z",
            "createdAt": "2026-11-01T10:00:00.123+01:00",
            "updatedAt": "2026-11-26T09:59:50.456Z",
            "automationTags": [],
        },
        "fields": {
            "title": {"en-US": "Shipping & Returns", "de-DE": "Versand & Rückgabe"},
            "slug": {"en-US": "shipping-returns"},
            "description": {"en-US": "How we ship, and how to send things back."},
            "tags": {"en-US": ["help"]},
            "body": {"en-US": node("document", [
                node("heading-2", [text_node("Shipping")]),
                node("paragraph", [
                    text_node("We ship "), text_node("within 2 days", ["bold"]),
                    text_node(" with "),
                    node("hyperlink", [text_node("DHL")], {"uri": "https://www.dhl.com/"}),
                    text_node("."),
                ]),
                node("unordered-list", [
                    node("list-item", [node("paragraph", [text_node("Free from 50 €")])]),
                    node("list-item", [node("paragraph", [
                        text_node("30 days to return", ["italic"])])]),
                ]),
                node("hr", []),
            ])},
        },
    }


def parcel_asset():
    return {
        "metadata": {"tags": []},
        "sys": {
            "type": "Asset", "id": "3wtvPBbBjiMKqKKga8I2Cu",
            "space": {"sys": {"type": "Link", "linkType": "Space", "id": "yadj1kx9rmg0"}},
            "environment": {"sys": {"id": "master", "type": "Link",
                                    "linkType": "Environment"}},
            "revision": 1, "version": 4, "publishedVersion": 3,
            "createdAt": "2026-11-01T09:00:00.000Z", "updatedAt": "2026-11-01T09:05:00.000Z",
        },
        "fields": {
            "title": {"en-US": "Parcel on a doorstep"},
            "description": {"en-US": "A brown parcel in front of a green door"},
            "file": {"en-US": {
                "url": "//images.ctfassets.net/yadj1kx9rmg0/3wtvPBbBjiMKqKKga8I2Cu/6d2a4c5e0b1f/"
                       "parcel.jpg",
                "details": {"size": 284137, "image": {"width": 1600, "height": 1067}},
                "fileName": "parcel.jpg", "contentType": "image/jpeg",
            }},
        },
    }


def contentful(name, topic, payload, secret):
    return {
        "headers": {
            "Content-Type": "application/vnd.contentful.management.v1+json",
            "X-Contentful-Idempotency-Key": delivery_id(name),
            "X-Contentful-Topic": topic,
            "X-Contentful-Webhook-Name": "Static site",
            # Shared-header mode: the secret the webhook was configured to send.
            "x-webhook-secret": secret,
        },
        "body": compact(payload),
    }


# --- Foxy ------------------------------------------------------------------------------------


def foxy_item(item_id, name, price, quantity, code):
    return {
        "_links": {"self": {"href": f"https://api.foxycart.com/items/{item_id}",
                            "title": "This Item"}},
        "name": name, "price": price, "quantity": quantity, "weight": 0.5, "code": code,
        "parent_code": "", "subscription_frequency": "", "is_future_line_item": False,
        "date_created": None, "date_modified": "2026-11-26T01:58:40-0800",
    }


def transaction():
    return {
        "_links": {
            "self": {"href": "https://api.foxycart.com/transactions/2296720403",
                     "title": "This Transaction"},
            "fx:store": {"href": "https://api.foxycart.com/stores/98765",
                         "title": "This Store"},
        },
        "_embedded": {"fx:items": [
            foxy_item(901, "Blue Enamel Mug", 24.95, 2, "MUG-BLUE"),
            # No code: Foxy does not know it as a stocked product, so its stock is untouched.
            foxy_item(902, "Gift wrap", 2.5, 1, ""),
            foxy_item(903, "Organic Cotton Tee, Large / White", 21.0, 1, "TEE-L-WHT"),
        ]},
        "id": 2296720403, "display_id": 2296720403, "is_test": False,
        "type": "transaction", "source": "cit_ecommerce",
        "transaction_date": "2026-11-26T01:58:40-0800", "locale_code": "en_US",
        "customer_first_name": "Grace", "customer_last_name": "Hopper",
        "customer_email": "grace@example.test",
        "total_item_price": 73.4, "total_tax": 0, "total_shipping": 7, "total_order": 80.4,
        "status": "captured", "date_created": "2026-11-26T01:58:40-0800",
        "date_modified": "2026-11-26T01:58:41-0800",
        "currency_code": "EUR", "currency_symbol": "€",
    }


def foxy(payload, secret, event="transaction/created"):
    body = compact(payload)
    return {
        "headers": {
            "Content-Type": "application/json; charset=utf-8",
            "Foxy-Webhook-Event": event,
            "Foxy-Webhook-Signature": hmac.new(secret.encode(), body.encode(),
                                               hashlib.sha256).hexdigest(),
        },
        "body": body,
    }


def main():
    s = secrets()
    deliveries = {
        "01-shopify-product-tee": lambda n: shopify(n, "products/update", tee(), s["shopify"],
                                                    "2026-11-20T19:05:32.000Z"),
        "02-shopify-product-mug": lambda n: shopify(n, "products/create", mug(), s["shopify"],
                                                    "2026-11-21T15:00:01.000Z"),
        "03-shopify-product-tote": lambda n: shopify(n, "products/create", tote(),
                                                     s["shopify"], "2026-11-22T13:15:01.000Z"),
        "04-shopify-collection-summer": lambda n: shopify(
            n, "collections/update", summer_collection(), s["shopify"],
            "2026-11-19T15:00:01.000Z"),
        "05-sanity-article-creme-brulee": lambda n: sanity(n, creme_brulee(), s["sanity"]),
        "06-sanity-article-enamel-care": lambda n: sanity(n, enamel_care(), s["sanity"],
                                                          operation="create"),
        "07-contentful-asset-parcel": lambda n: contentful(
            n, "ContentManagement.Asset.publish", parcel_asset(), s["contentful"]),
        "08-contentful-page-shipping": lambda n: contentful(
            n, "ContentManagement.Entry.publish", shipping_page(), s["contentful"]),
        "09-foxy-transaction-created": lambda n: foxy(transaction(), s["foxy"]),
    }
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for name, make in deliveries.items():
        text = json.dumps(make(name), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        (OUT / f"{name}.json").write_text(text, encoding="utf-8")
        print(f"wrote {(OUT / name).relative_to(HERE.parent.parent)}.json")


if __name__ == "__main__":
    main()
