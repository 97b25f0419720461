"""The weekly report: each configured brand's week against the week before, e-mailed.

config.py    ``[[reports]]``: brands, recipients, e-mail channel, weekday, hour, zone
schedule.py  when a report is due and which week it covers (pure, ``now`` passed in)
figures.py   a brand's figures over a span: per day, by source and language, incidents,
             service (time to first answer, answered within the target, open by age)
weekly.py    the report: figures for both weeks, rendered as HTML (inline charts) and text
send.py      sending once per report and week (recorded in ``report_sends``)
"""
