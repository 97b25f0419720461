"""The queue: one service layer under the web UI, the JSON API and the CLI.

- ``ranking``: how urgent a flagged post is (pure);
- ``service``: flagging, listing, searching and triaging flagged posts;
- ``incidents``: incident views, their chart series, ack / resolve;
- ``acks``: ack / resolve from outside a login session (a page's one-tap link, PagerDuty);
- ``health``: source health and who is on call, for the operator pages.
"""
