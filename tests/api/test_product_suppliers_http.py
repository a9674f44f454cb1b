"""The suppliers of a SKU over HTTP against a real server on each backend: add, list,
change, prefer and remove, each refusal as an RFC 9457 problem."""

from __future__ import annotations

from tests.api.live import Server, call

SKU = "TERMS-SKU"
PATH = f"/api/v1/products/{SKU}/suppliers"


def test_suppliers_of_a_sku_over_http(server: Server) -> None:
    base, admin = server.base, server.keys["admin"]
    for ident, lead in (("TERMS-A", 10), ("TERMS-B", 5)):
        supplier = {"id": ident, "name": ident.title(), "lead_time_days": lead}
        assert call(base, admin, "POST", "/api/v1/suppliers", supplier).status_code == 201
    made = {"sku": SKU, "name": "T", "price": "9.99", "supplier": "TERMS-A"}
    assert call(base, admin, "POST", "/api/v1/products", made).status_code == 201

    listed = call(base, admin, "GET", PATH).json()
    assert listed["preferred"] == "TERMS-A"
    [row] = listed["suppliers"]
    assert (row["supplier"], row["cost"], row["lead_time_days"]) == ("TERMS-A", None, 10)
    assert [p["months"] for p in row["performance"]] == [6, 12]

    body = {"supplier": "TERMS-B", "cost": "4.20", "lead_time_days": 6, "moq": 10, "pack": 5}
    added = call(base, admin, "POST", PATH, body)
    assert added.status_code == 201, added.text
    assert added.json()["cost"] == "4.20" and added.json()["preferred"] is False

    again = call(base, admin, "POST", PATH, body)
    assert again.status_code == 409 and again.json()["type"] == "/problems/already-exists"
    unknown_sku = call(base, admin, "POST", "/api/v1/products/NOPE/suppliers", body)
    assert unknown_sku.status_code == 404
    nobody = call(base, admin, "POST", PATH, body | {"supplier": "NOBODY"})
    assert nobody.status_code == 404 and nobody.json()["type"] == "/problems/unknown-supplier"
    for bad in ({"cost": "-1"}, {"cost": 1.5}, {"moq": 0}, {"lead_time_days": 4000}):
        refused = call(base, admin, "POST", PATH, body | {"supplier": "TERMS-A"} | bad)
        assert refused.status_code == 422, (bad, refused.text)

    prefer = call(base, admin, "PATCH", f"{PATH}/TERMS-B", {"preferred": True, "pack": 6})
    assert prefer.status_code == 200, prefer.text
    assert (prefer.json()["preferred"], prefer.json()["pack"]) == (True, 6)
    product = call(base, admin, "GET", f"/api/v1/products/{SKU}").json()
    assert product["supplier"] == "TERMS-B"
    unprefer = call(base, admin, "PATCH", f"{PATH}/TERMS-B", {"preferred": False})
    assert unprefer.status_code == 422
    stranger = call(base, admin, "PATCH", f"{PATH}/NOBODY", {"pack": 2})
    assert stranger.status_code == 404

    keep = call(base, admin, "DELETE", f"{PATH}/TERMS-B")
    assert keep.status_code == 422 and "preferred supplier" in keep.json()["detail"]
    assert call(base, admin, "DELETE", f"{PATH}/TERMS-A").status_code == 204
    assert call(base, admin, "DELETE", f"{PATH}/TERMS-A").status_code == 404
    assert [s["supplier"] for s in call(base, admin, "GET", PATH).json()["suppliers"]] == [
        "TERMS-B"
    ]
    detail = call(base, admin, "GET", "/api/v1/suppliers/TERMS-B").json()
    assert [p["lines"] for p in detail["performance"]] == [0, 0]
