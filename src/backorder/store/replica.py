"""How far the read replica is behind the primary, for /readyz and /metrics.

The lag is the age of the last transaction the standby replayed, and 0 while it has replayed
everything it received: an idle primary would otherwise look like a growing lag. (A standby
cut off from its primary has received nothing new either; `pg_stat_wal_receiver` on the
standby, and `pg_stat_replication` on the primary, tell that apart.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from backorder.store.db import Database, unavailable

LAG = text(
    "SELECT pg_is_in_recovery(), CASE"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


@dataclass(frozen=True)
class ReplicaState:
    reachable: bool
    standby: bool  # in recovery: a standby, not a primary (or a promoted former standby)
    lag_seconds: float | None  # None: unknown (unreachable, or nothing replayed yet)

    @property
    def status(self) -> str:
        if not self.reachable:
            return "unreachable: reads go to the primary"
        return "streaming" if self.standby else "not a standby"


def replica_state(database: Database) -> ReplicaState | None:
    """The read replica's state now; None when there is none."""
    if database.replica is None:
        return None
    conn = database.replica.connect()
    if conn is None:
        return ReplicaState(reachable=False, standby=False, lag_seconds=None)
    try:
        with conn:
            standby, lag = conn.execute(LAG).one()
    except Exception as error:
        if not unavailable(error):
            raise
        return ReplicaState(reachable=False, standby=False, lag_seconds=None)
    return ReplicaState(
        reachable=True,
        standby=bool(standby),
        lag_seconds=None if lag is None else max(0.0, float(lag)),
    )
