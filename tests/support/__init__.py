"""What the test modules share; no test module imports another, and nothing here is
collected on its own (a contract runs where a test module subclasses it).

- ``fixtures``: fixed data the tests build from (the clock, databases, on-call config,
  pages, tiny models);
- ``servers``: real servers on 127.0.0.1 (hostile HTTP routes, webhook and SMTP receivers,
  fake platform APIs);
- ``worlds``: a running piece of Stormwatch set up for a test (the web UI over a seeded
  database, the paging stage, the crawler on the sample web, cluster processes);
- ``seeds``: posts written into a database through the real code paths;
- ``contracts``: checks every implementation of a seam passes, run for each of them (the
  API source kinds).
"""

import pytest

# Their asserts fail tests, so pytest rewrites them as it does a test module's (the package
# itself is being imported here, so its parts are named one by one).
pytest.register_assert_rewrite(
    "tests.support.contracts",
    "tests.support.fixtures",
    "tests.support.servers",
    "tests.support.worlds",
    "tests.support.seeds",
)
