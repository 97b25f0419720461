"""Cluster mode: any number of ``stormwatch run`` processes, on any number of machines,
share the pipeline through procrastinate, a job queue in the same PostgreSQL database.

    queue.py   the procrastinate App: connection, schema (applied once), tasks and locks
    work.py    what each job does: the same crawl / classify / detect / page stage code
    detect.py  the detect stage when processes take turns running it
    runner.py  ClusterRunner: this process's workers, heartbeat, recovery from dead ones
"""

from monitor.runner.cluster.runner import ClusterRunner, run_cluster

__all__ = ["ClusterRunner", "run_cluster"]
