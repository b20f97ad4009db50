"""Customers, their latent types and personal data; the catalogue of products, channels and reps."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2023-01-01")
END = pd.Timestamp("2026-01-01")  # exclusive: the data cover three calendar years
HORIZON_DAYS = (END - START).days

REGIONS = ["North", "South", "East", "West", "Central"]
REGION_WEIGHTS = [0.25, 0.2, 0.2, 0.2, 0.15]

#: Latent customer types: share, orders per year, lines per order, price level, discount use,
#: preferred channel kind weights (store, online, phone). "loyal" follows BG/NBD + Gamma-Gamma.
TYPES = pd.DataFrame(
    [
        # type,            share, rate,  lines, price, disc,  store, online, phone
        ("champion",        0.10, 16.0,  2.6,   1.6,   0.08,  0.30, 0.60, 0.10),
        ("loyal",           0.25, np.nan, 3.0,  1.0,   0.10,  0.50, 0.40, 0.10),
        ("new",             0.12, 9.0,   1.5,   1.0,   0.10,  0.30, 0.65, 0.05),
        ("at_risk",         0.15, 7.0,   1.8,   1.0,   0.10,  0.55, 0.25, 0.20),
        ("hibernating",     0.23, 2.5,   1.0,   0.8,   0.10,  0.60, 0.20, 0.20),
        ("bargain_hunter",  0.15, 6.0,   1.4,   0.6,   0.65,  0.35, 0.60, 0.05),
    ],
    columns=["latent_type", "share", "rate", "lines", "price", "discount_use", "store", "online", "phone"],
).set_index("latent_type")

#: BG/NBD (Fader, Hardie & Lee 2005; time unit: days) and Gamma-Gamma parameters of the loyal cohort.
BGNBD = {"r": 2.0, "alpha": 150.0, "a": 1.2, "b": 8.0}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 40.0}

INCOME_BANDS = ["low", "lower-middle", "middle", "upper-middle", "high"]
OCCUPATIONS = ["student", "unemployed", "retired", "clerical", "skilled trade", "sales",
               "professional", "manager", "self-employed", "healthcare", "education", "it"]


def draw_customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Latent type, dates, demographics and behavioural traits per customer (no personal names yet)."""
    types = rng.choice(TYPES.index.to_numpy(), size=n, p=TYPES["share"].to_numpy())
    c = pd.DataFrame({"customer_id": np.arange(1, n + 1), "latent_type": types})
    day = np.empty(n)
    stop = np.full(n, float(HORIZON_DAYS))
    for t, lo, hi in [("champion", 0, 180), ("loyal", 0, 540), ("new", HORIZON_DAYS - 150, HORIZON_DAYS - 5),
                      ("at_risk", 0, 450), ("hibernating", 0, 365), ("bargain_hunter", 0, 820)]:
        m = types == t
        day[m] = rng.uniform(lo, hi, m.sum())
    m = types == "at_risk"
    stop[m] = HORIZON_DAYS - rng.uniform(150, 300, m.sum())
    m = types == "hibernating"
    stop[m] = np.maximum(day[m] + 60, HORIZON_DAYS - rng.uniform(420, 720, m.sum()))
    c["created_at"] = START + pd.to_timedelta(np.floor(day * 86400), unit="s")
    c["active_from"] = day
    c["active_to"] = stop

    age = np.clip(rng.normal(44, 15, n), 18, 88)
    age[types == "new"] = np.clip(rng.normal(33, 10, (types == "new").sum()), 18, 80)
    c["age"] = age
    c["birth_date"] = (END - pd.to_timedelta(age * 365.25, unit="D")).normalize()
    inc_p = np.array([0.18, 0.22, 0.28, 0.2, 0.12])
    income = rng.choice(5, size=n, p=inc_p)
    champ = types == "champion"
    income[champ] = np.minimum(4, income[champ] + rng.integers(0, 2, champ.sum()))
    c["income_band"] = np.array(INCOME_BANDS)[income]
    c["income_level"] = income
    occ_p = np.full(len(OCCUPATIONS), 1.0)
    occ_p[:3] = [0.5, 0.35, 0.8]
    occupation = rng.choice(OCCUPATIONS, size=n, p=occ_p / occ_p.sum())
    occupation[age < 24] = np.where(rng.random((age < 24).sum()) < 0.6, "student", occupation[age < 24])
    occupation[age > 67] = "retired"
    c["occupation"] = occupation
    c["region"] = rng.choice(REGIONS, size=n, p=REGION_WEIGHTS)
    kinds = TYPES.loc[types, ["store", "online", "phone"]].to_numpy()
    c["channel_pref"] = np.array(["store", "online", "phone"])[_choice_rows(rng, kinds)]
    # Latent traits: payment discipline (drives lateness and default) and complaint proneness
    # (drives tickets, complaints and a negative reaction to marketing contact).
    c["discipline"] = rng.normal(0, 1, n)
    c["complaint_prone"] = rng.random(n) < np.where(types == "at_risk", 0.22, 0.08)
    c["favourite_category"] = rng.integers(0, 10, n)
    return c


def personal_data(rng: np.random.Generator, faker, c: pd.DataFrame) -> pd.DataFrame:
    """Names, contact details and CRM attributes (Faker for names and addresses)."""
    n = len(c)
    gender = rng.choice(["female", "male", "other"], size=n, p=[0.5, 0.48, 0.02])
    first = [faker.first_name_female() if g == "female" else faker.first_name_male() if g == "male"
             else faker.first_name_nonbinary() for g in gender]
    last = [faker.last_name() for _ in range(n)]
    marital = rng.choice(["single", "married", "divorced", "widowed"], size=n, p=[0.38, 0.47, 0.11, 0.04])
    salutation = np.where(gender == "male", "Mr", np.where(marital == "married", "Mrs", "Ms"))
    salutation = np.where(gender == "other", "Mx", salutation)
    salutation = np.where(rng.random(n) < 0.03, "Dr", salutation)
    married = marital == "married"
    ann_days = rng.uniform(200, 365 * 30, n)
    anniversary = (END - pd.to_timedelta(ann_days, unit="D")).normalize()
    domains = np.array(["example.com", "example.org", "example.net", "mail.example.com"])
    local = [f"{f}.{s}".lower().replace(" ", "").replace("'", "") for f, s in zip(first, last, strict=True)]
    email = [f"{x}{i % 97 if i % 3 else ''}@{d}" for i, (x, d) in
             enumerate(zip(local, rng.choice(domains, n), strict=True))]
    phone = [faker.numerify("+1 (###) ###-####") if rng.random() < 0.5 else faker.numerify("###-###-####")
             for _ in range(n)]
    address = pd.DataFrame({
        "street": [faker.street_address() for _ in range(n)],
        "city": [faker.city() for _ in range(n)],
        "postal_code": [faker.postcode() for _ in range(n)],
    })
    pref = np.where(c["channel_pref"].to_numpy() == "phone", "phone",
                    rng.choice(["email", "sms", "post", "email"], size=n))
    pref = np.where(rng.random(n) < 0.05, "none", pref)
    return pd.DataFrame({
        "customer_id": c["customer_id"].to_numpy(),
        "salutation": salutation,
        "first_name": first,
        "last_name": last,
        "gender": gender,
        "birth_date": c["birth_date"].to_numpy(),
        "marital_status": marital,
        "anniversary_date": pd.Series(anniversary).where(married).to_numpy(),
        "occupation": c["occupation"].to_numpy(),
        "income_band": c["income_band"].to_numpy(),
        "email": email,
        "phone": phone,
        "street": address["street"].to_numpy(),
        "city": address["city"].to_numpy(),
        "region": c["region"].to_numpy(),
        "postal_code": address["postal_code"].to_numpy(),
        "country": "US",
        "contact_preference": pref,
        "marketing_opt_in": rng.random(n) < 0.86,
    })


# ------------------------------------------------------------------------------ catalogue
CATALOGUE = {
    # category: (subcategory: [products...]) ; price range per category
    "Baby": ({"Diapers & Wipes": ["Diapers", "Baby Wipes", "Diaper Cream"],
              "Feeding": ["Baby Formula", "Baby Food Jars", "Bottles"]}, (4, 35)),
    "Beverages": ({"Beer & Wine": ["Beer", "Red Wine", "White Wine", "Cider"],
                   "Soft Drinks": ["Cola", "Lemonade", "Sparkling Water", "Orange Juice"],
                   "Coffee & Tea": ["Coffee Beans", "Ground Coffee", "Green Tea", "Black Tea"]}, (2, 25)),
    "Snacks": ({"Chips & Dips": ["Tortilla Chips", "Salsa Dip", "Potato Chips", "Guacamole"],
                "Sweets": ["Chocolate Bar", "Cookies", "Gummy Bears", "Granola Bars"]}, (1.5, 8)),
    "Grocery": ({"Pasta & Sauces": ["Spaghetti", "Pasta Sauce", "Penne", "Pesto"],
                 "Breakfast": ["Cereal", "Oatmeal", "Honey", "Peanut Butter"],
                 "Baking": ["Flour", "Sugar", "Baking Soda", "Coffee Filters"]}, (1, 12)),
    "Household": ({"Cleaning": ["Dish Soap", "Laundry Detergent", "All-Purpose Cleaner", "Sponges"],
                   "Paper": ["Paper Towels", "Toilet Paper", "Tissues", "Trash Bags"]}, (3, 25)),
    "Personal Care": ({"Hair Care": ["Shampoo", "Conditioner", "Hair Gel", "Hair Brush"],
                       "Oral Care": ["Toothpaste", "Toothbrush", "Mouthwash", "Dental Floss"]}, (2, 20)),
    "Electronics": ({"Phones": ["Smartphone", "Phone Case", "Screen Protector", "Phone Charger"],
                     "Computing": ["Inkjet Printer", "Printer Ink", "Laptop Sleeve", "Wireless Mouse"],
                     "Audio": ["Headphones", "Bluetooth Speaker", "Earbuds"]}, (10, 600)),
    "Home & Garden": ({"Kitchen": ["Frying Pan", "Chef Knife", "Cutting Board", "Kettle"],
                       "Garden": ["Garden Hose", "Plant Pot", "Potting Soil", "Seeds Pack"]}, (5, 80)),
    "Clothing": ({"Basics": ["T-Shirt", "Socks", "Jeans", "Hoodie"],
                  "Outerwear": ["Rain Jacket", "Winter Coat", "Scarf", "Gloves"]}, (8, 150)),
    "Toys": ({"Games": ["Board Game", "Puzzle", "Card Game"],
              "Outdoor Toys": ["Ball", "Kite", "Water Pistol"]}, (5, 60)),
}

#: Products with a fixed popularity rank (1 = most popular) so planted rules have support.
POPULAR = ["Diapers", "Spaghetti", "Tortilla Chips", "Coffee Beans", "Shampoo", "Cola",
           "Toilet Paper", "Beer", "Smartphone", "Inkjet Printer"]


def catalogue(rng: np.random.Generator) -> pd.DataFrame:
    """Products with category, subcategory, price, cost, price band and a popularity weight."""
    rows = []
    for ci, (cat, (subs, _range)) in enumerate(CATALOGUE.items()):
        for sub, names in subs.items():
            for name in names:
                rows.append((cat, ci, sub, name))
    p = pd.DataFrame(rows, columns=["category", "category_code", "subcategory", "name"])
    # a cheaper and a premium variant of each base product make the catalogue realistic in size
    variants = []
    for tag, factor in [("", 1.0), ("Value ", 0.65), ("Premium ", 1.7)]:
        v = p.copy()
        v["variant"] = tag.strip() or "standard"
        v["name"] = tag + v["name"]
        v["factor"] = factor
        variants.append(v)
    p = pd.concat(variants, ignore_index=True)
    ranges = np.array([r for (_, r) in CATALOGUE.values()])
    base = np.exp(rng.uniform(np.log(ranges[p["category_code"], 0]), np.log(ranges[p["category_code"], 1])))
    base[p["name"] == "Smartphone"] = 499.0
    base[p["name"] == "Inkjet Printer"] = 129.0
    price = np.round(base * p["factor"], 2) - 0.01
    p["unit_price"] = np.maximum(price, 0.99)
    p["unit_cost"] = np.round(p["unit_price"] * rng.uniform(0.5, 0.8, len(p)), 2)
    p["price_band"] = np.select([p["factor"] < 1, p["factor"] > 1], ["budget", "premium"], "standard")
    # popularity: Zipf over a random order, planted antecedents pinned near the top, variants rarer
    order = rng.permutation(len(p))
    rank = np.empty(len(p))
    rank[order] = np.arange(1, len(p) + 1) + 8
    for i, name in enumerate(POPULAR):
        rank[(p["name"] == name).to_numpy()] = i + 1
    weight = 1.0 / rank ** 0.9
    weight[p["variant"].to_numpy() != "standard"] *= 0.35
    p["popularity"] = weight / weight.sum()
    p.insert(0, "product_id", np.arange(1, len(p) + 1))
    p["sku"] = [f"SKU-{c[:3].upper()}-{i:05d}" for c, i in zip(p["category"], p["product_id"], strict=True)]
    return p


def channels_and_reps(faker) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One store per region plus online and phone channels; a manager and four reps per region."""
    ch = [(i + 1, f"{r} Store", "store", r) for i, r in enumerate(REGIONS)]
    ch += [(6, "Web Shop", "online", None), (7, "Mobile App", "online", None), (8, "Phone Sales", "phone", None)]
    channels = pd.DataFrame(ch, columns=["channel_id", "name", "kind", "region"])
    reps, rid = [], 1
    for r in REGIONS:
        manager = rid
        reps.append((rid, faker.name(), r, None))
        rid += 1
        for _ in range(4):
            reps.append((rid, faker.name(), r, manager))
            rid += 1
    reps = pd.DataFrame(reps, columns=["rep_id", "name", "region", "manager_id"])
    reps["manager_id"] = reps["manager_id"].astype("Int64")
    return channels, reps


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix, vectorised."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random((len(probs), 1))
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)
