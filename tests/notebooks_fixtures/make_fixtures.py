"""Regenerate the tiny fixture notebooks of the report-runner tests: python make_fixtures.py."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def code(src, tags=()):
    cell = new_code_cell(src)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def write(name, cells):
    nb = new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC,
                                             "language_info": {"name": "python"}})
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name}-{i}"
    nbformat.write(nb, HERE / f"{name}.ipynb")


write("ok", [
    new_markdown_cell("# Fixture report\n\nA tiny report for the runner tests."),
    code('db_url = None\nmask_pii = True\ntop_n = 5\nratio = 0.5\nlabel = "fixture"\n'
         'as_of = "2025-01-31"\ninteractive = True\nfail = False', tags=["parameters"]),
    code('if fail:\n    raise RuntimeError("asked to fail")'),
    code("import warnings\n\nimport matplotlib.pyplot as plt\nimport pandas as pd\n\n"
         "from crmlib import present\n\n"
         "customers = pd.DataFrame({\n"
         '    "first_name": ["<script>alert(1)</script>", "Anna", "Ben"] * 10,\n'
         '    "email": ["x@evil.example", "anna@example.com", "ben@example.org"] * 10,\n'
         '    "segment": ["<b>bold</b>", "gold", "silver"] * 10,\n'
         '    "revenue": [float(i) for i in range(30)],\n'
         "})\n"
         'warnings.warn("noise for the analyst only", stacklevel=1)'),
    code('print("connected to", db_url)'),
    new_markdown_cell("## Revenue by customer"),
    code("fig, ax = plt.subplots(figsize=(4, 2.5))\n"
         'customers.groupby("segment")["revenue"].sum().plot.bar(ax=ax)\nplt.show()'),
    code('present.show_table(customers, top_n=top_n, sort_by="revenue", mask_pii=mask_pii)'),
    code('present.show_table(customers, top_n=10, interactive=interactive, mask_pii=mask_pii)'),
    code('present.record_metrics(customers=len(customers), ratio=ratio, label=label, as_of=as_of)\n'
         'present.show_findings([f"{label}: the top customer brings {customers.revenue.max():.0f} '
         'of revenue.", "Segment <b>bold</b> is just text."])'),
    code('import sys\n\nprint("kernel python:", sys.executable)', tags=["remove-cell"]),
])

write("broken", [
    new_markdown_cell("# Broken report"),
    code("db_url = None\nmask_pii = True", tags=["parameters"]),
    code('from crmlib import present\n\npresent.record_metrics(before_error=1)\nprint("db:", db_url)'),
    code("1 / 0"),
    code('print("never runs")'),
])

write("slow", [
    new_markdown_cell("# Slow report"),
    code("db_url = None\nmask_pii = True\nseconds = 60", tags=["parameters"]),
    code("import time\n\ntime.sleep(seconds)"),
])

write("listed", [
    new_markdown_cell("# Listed report\n\nA tiny report that publishes a list (crmlib.report.lists)."),
    code("db_url = None\nmask_pii = True\nn = 30\nshift = 0\nloss = 100.0\nfail = False",
         tags=["parameters"]),
    code("import pandas as pd\nfrom IPython.display import display\n\n"
         "from crmlib import present\nfrom crmlib.report import changes, lists\n\n"
         "ids = list(range(1 + shift, n + 1 + shift))\n"
         "people = pd.DataFrame({\n"
         '    "customer_id": ids,\n'
         '    "first_name": ["Zoë", "Anna", "Ben"] * (n // 3) + ["Cy"] * (n % 3),\n'
         '    "email": [f"c{i}@example.com" for i in ids],\n'
         '    "segment": [["Champions", "Loyal", "At Risk"][(i + shift) % 3] for i in ids],\n'
         '    "score": [round(i / 100, 2) for i in ids],\n'
         '    "note": ["=HYPERLINK(\\"http://evil.example\\")", "-1+2", "@SUM(A1)", "plain", "+33 1"] * (n // 5)\n'
         '            + ["x"] * (n % 5),\n'
         "})\n"
         'lists.publish("targets", people, title="Target list", mask_pii=mask_pii, scores=["score", "segment"])\n'
         'if fail:\n    raise RuntimeError("asked to fail after the list")\n'
         "present.record_metrics(customers=n, expected_loss=loss, revenue_growth=-0.07004)"),
    new_markdown_cell("## Since the last run"),
    code("previous = changes.previous_run()\nchanges.show_key_figures(previous)\n"
         "if previous is not None:\n"
         '    before = previous.list("targets")\n'
         '    display(changes.migration_matrix(before, people, "segment"))\n'
         '    display(changes.overlap(before["customer_id"], people["customer_id"]).to_frame("targets"))'),
])

write("people", [
    new_markdown_cell("# People report\n\nA tiny report that shows customers of the sample database "
                      "by name and e-mail (crmlib.report.audiences, crmlib.report.forget)."),
    code("db_url = None\nmask_pii = True\nn = 25\nfail = False", tags=["parameters"]),
    code("from IPython.display import display\n\n"
         "from crmlib import db, present\nfrom crmlib.report import lists\n\n"
         "if fail:\n    raise RuntimeError(\"asked to fail\")\n"
         "with db.connect(db_url) as crm:\n"
         '    people = crm.customers(["customer_id", "first_name", "last_name", "email", "phone"])\n'
         'people = people.sort_values("customer_id").head(n).reset_index(drop=True)\n'
         'present.show_table(people, top_n=n, totals=False, caption="Customers", mask_pii=mask_pii)\n'
         'display(present.mask_pii(people, enabled=mask_pii).set_index("customer_id").head(5))\n'
         'lists.publish("contacts", people, title="Contacts", mask_pii=mask_pii)\n'
         'lists.publish("scores", people[["customer_id"]].assign(score=people["customer_id"] % 7),\n'
         '              title="Scores", mask_pii=mask_pii)\n'
         "present.record_metrics(customers=len(people))"),
])

write("sparked", [
    new_markdown_cell("# Spark report\n\nA tiny report on the Spark engine (crmlib.report.runner): "
                      "reads the mart the runner exported, publishes a list from Spark."),
    code('db_url = None\nmask_pii = True\nengine = "spark"\nspark_master = "local[2]"\nmart = None\n'
         "fail = False\nload_fact = False", tags=["parameters"]),
    code("import os\n\nfrom pyspark.sql import functions as F\n\n"
         "from crmlib import db, present\nfrom crmlib.engines import open_engine\n"
         "from crmlib.report import lists\n\n"
         "eng = open_engine(engine, spark_master=spark_master, mart=mart, db_url=db_url)\n"
         'lines = eng.table("fact_sales")\n'
         'per_customer = lines.groupBy("customer_id").agg(F.sum("net_amount").alias("revenue"))\n'
         'lists.publish("revenue", per_customer, mask_pii=mask_pii, scores=["revenue"])\n'
         "present.record_metrics(order_lines=lines.count(), mart=str(mart), engine=eng.name,\n"
         '                       guard=os.environ.get("CRMLIB_FORBID_FACT_LOADS", ""))'),
    code("if fail:  # a Spark job that fails on the executors\n"
         "    eng.session.range(10).selectExpr(\"assert_true(id < 5, 'planted failure')\").collect()"),
    code("if load_fact:\n    with db.connect(db_url) as crm:\n        crm.orders()"),
    code('present.show_findings(["done"])'),
])
