"""The parts of ``stormwatch demo`` (the entry point is :mod:`monitor.demo.run`).

Map of the package::

    story.py           the simulated day as a timeline of items (seeded, deterministic)
    compose.py         sentence pools -> varied posts
    texts_storm.py     what customers write when the day goes wrong (da, sv, nb, en)
    texts_ordinary.py  questions, praise, news, grumbles, Nordtel's own answers
    publisher.py       items -> the sample web (monitor.demo.sampleweb)
    config.py          the demo's settings (sources, channels, on-call), written as TOML
    mailbox.py         a loopback SMTP receiver writing an mbox (the e-mail pages land here)
    play.py            the simulated clock and the loop: publish, EmbeddedRunner.tick, report
    report.py          the summary, read back from the database and the mailbox
    serve.py           the queue UI with a demo login, the daemon ticking behind it
"""
