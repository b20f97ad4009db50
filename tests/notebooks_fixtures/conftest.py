"""The fixture notebooks are inputs of the report-runner tests, not notebooks to check with nbval
(`broken` fails and `slow` sleeps on purpose)."""

collect_ignore_glob = ["*.ipynb", "make_fixtures.py"]
