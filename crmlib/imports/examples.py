"""Example source files for the two mappings in ``data/mappings/``, made from the generated sample.

* :func:`retail_export`: a transaction export in a common retail format, one row per invoice line:
  InvoiceNo, StockCode, Description, Quantity, InvoiceDate (``%m/%d/%Y %H:%M``), UnitPrice,
  CustomerID, Country. Cancelled orders have invoice numbers starting with 'C' and negative
  quantities; returned orders have negative quantities; some lines have no CustomerID (walk-in sales).
* :func:`customer_list`: a customer list as people keep them: free-form names ('DOE, Jane',
  'Dr. John Smith'), gender codes in several spellings, phones in every format, e-mails in any
  case, a German-style birthday (``%d.%m.%Y``), and the planted duplicates of the sample.

``crmlib import --examples DIR`` writes both files (``online_retail.csv``, ``customer_list.csv``).
Both mappings read their dates with ``date_format: auto``, which finds ``%m/%d/%Y %H:%M`` (a day
above 12 tells month-first from day-first), ``%d.%m.%Y`` and ISO 8601 by itself; an export with
ISO dates needs no edit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["RETAIL_COLUMNS", "customer_list", "retail_export", "write_examples"]

RETAIL_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                  "CustomerID", "Country"]
CUSTOMER_ID_OFFSET = 12345


def retail_export(tables: dict[str, pd.DataFrame], *, seed: int = 0, walk_in: float = 0.03) -> pd.DataFrame:
    """The orders of a generated sample as a retail transaction export (all columns text).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Output of :func:`crmlib.sample.generate`.
    seed : int, default=0
    walk_in : float, default=0.03
        Share of orders (all their lines) without a CustomerID.

    Returns
    -------
    pandas.DataFrame
        :data:`RETAIL_COLUMNS`, one row per order line, as text.
    """
    np.random.default_rng(seed)
    orders, lines = tables["orders"], tables["order_lines"]
    products, customers = tables["products"], tables["customers"]
    frame = (lines.merge(orders, on="order_id").merge(products[["product_id", "sku", "name"]], on="product_id")
             .merge(customers[["customer_id", "country"]], on="customer_id"))
    frame = frame.sort_values(["order_id", "line_no"])
    sign = np.where(frame["status"].isin(["cancelled", "returned"]), -1, 1)
    invoice = (536000 + frame["order_id"]).astype(str)
    invoice = np.where(frame["status"] == "cancelled", "C" + invoice, invoice)
    customer = (CUSTOMER_ID_OFFSET + frame["customer_id"]).astype(str)
    walk_in_orders = frame["order_id"].drop_duplicates().sample(frac=walk_in, random_state=seed)
    customer = np.where(frame["order_id"].isin(walk_in_orders), "", customer)
    country = frame["country"].map({"US": "United States"}).fillna(frame["country"])
    price = (frame["unit_price"] * (1 - frame["discount"])).round(2)
    return pd.DataFrame({
        "InvoiceNo": invoice,
        "StockCode": frame["sku"].to_numpy(),
        "Description": frame["name"].str.upper().to_numpy(),
        "Quantity": (sign * frame["quantity"]).astype(int).astype(str).to_numpy(),
        "InvoiceDate": frame["ordered_at"].dt.strftime("%m/%d/%Y %H:%M").to_numpy(),
        "UnitPrice": price.map(lambda v: f"{v:.2f}").to_numpy(),
        "CustomerID": customer,
        "Country": country.to_numpy(),
    }).reset_index(drop=True)


def customer_list(tables: dict[str, pd.DataFrame], *, seed: int = 0) -> pd.DataFrame:
    """The customers of a generated sample as a messy customer list (all columns text).

    Returns
    -------
    pandas.DataFrame
        cust_no, name, sex, phone, e_mail, street, zip, city, country, birthday, customer_since,
        newsletter.
    """
    rng = np.random.default_rng(seed)
    c = tables["customers"]
    n = len(c)
    first = c["first_name"].fillna("").str.strip()
    last = c["last_name"].fillna("").str.strip()
    style = rng.integers(0, 4, n)
    name = np.select(
        [style == 0, style == 1, style == 2],
        [last.str.upper() + ", " + first, (first + " " + last).str.upper(), c["salutation"].fillna("").str.rstrip(".") + ". " + first + " " + last],
        first + " " + last)
    sex_codes = {"male": ["M", "m", "male", "Male"], "female": ["F", "f", "female", "W"], "other": ["D", "x", "diverse"]}
    sex = [sex_codes[g][int(rng.integers(0, len(sex_codes[g])))] if g in sex_codes else "" for g in c["gender"]]
    birthday = pd.to_datetime(c["birth_date"]).dt.strftime("%d.%m.%Y").fillna("")
    return pd.DataFrame({
        "cust_no": (CUSTOMER_ID_OFFSET + c["customer_id"]).astype(str).to_numpy(),
        "name": pd.Series(name).str.replace(r"^\. ", "", regex=True).to_numpy(),
        "sex": sex,
        "phone": c["phone"].fillna("").to_numpy(),
        "e_mail": c["email"].fillna("").to_numpy(),
        "street": c["street"].fillna("").to_numpy(),
        "zip": c["postal_code"].fillna("").to_numpy(),
        "city": c["city"].fillna("").to_numpy(),
        "country": np.where(rng.random(n) < 0.5, "USA", "United States"),
        "birthday": birthday.to_numpy(),
        "customer_since": pd.to_datetime(c["created_at"]).dt.strftime("%Y-%m-%d").to_numpy(),
        "newsletter": np.where(c["marketing_opt_in"].astype(bool), "yes", "no"),
    })


def write_examples(folder: str | Path, *, customers: int = 500, seed: int = 1,
                   duplicates: float = 0.05) -> dict[str, Path]:
    """Generate a sample and write ``online_retail.csv`` and ``customer_list.csv`` into ``folder``."""
    from ..sample import generate

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = generate(customers, seed, duplicates=duplicates)
    paths = {"online_retail": folder / "online_retail.csv", "customer_list": folder / "customer_list.csv"}
    retail_export(tables, seed=seed).to_csv(paths["online_retail"], index=False)
    customer_list(tables, seed=seed).to_csv(paths["customer_list"], index=False)
    return paths
