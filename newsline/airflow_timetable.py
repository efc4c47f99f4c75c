"""The daily timetable of a site whose profile sets ``schedule.end_date``: a local-day cron data interval
(Airflow's ``CronDataIntervalTimetable``) that stops scheduling after the end date.

Why not the DAG's ``end_date``: Airflow copies a DAG's end date onto every task, and a run whose
logical date is after a task's end date gets no instance of it (``DagRun.verify_integrity``'s task
filter; only backfills are exempt). A manual run for a day after the end date was therefore an
instant green run with no tasks. Bounding the *schedule* here instead keeps the catch-up and the
scheduled runs within ``start_date..end_date`` while a day an operator triggers by hand (or
backfills: a backfill's window is not held to the end date, as Airflow's backfills ignore a DAG's end
date) after it runs like any other. Registered with Airflow by ``newsline/airflow_plugins/``
(``AIRFLOW__CORE__PLUGINS_FOLDER``, set by ``newsline.demo.airflow_env``), as Airflow requires for a
timetable of its own; profiles without an end date use Airflow's timetable and need no plugin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow._shared.timezones.timezone import parse_timezone
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable


class ScheduleEndTimetable(CronDataIntervalTimetable):
    """``CronDataIntervalTimetable(cron, timezone)`` whose last scheduled data interval starts at ``end``
    (the profile's ``schedule.end_date`` at local midnight)."""

    def __init__(self, cron: str, timezone: Any, end: datetime) -> None:
        super().__init__(cron, timezone)
        self.end = end
        self.description = f"{self.description} (scheduled days end on {end.date().isoformat()})"

    @property
    def summary(self) -> str:
        return f"{self._expression}, until {self.end.date().isoformat()}"

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction: TimeRestriction) -> DagRunInfo | None:
        # The scheduler asks with the DAG's own restriction (no end: these DAGs have none); a backfill asks
        # with its window's end as ``latest`` and, as with a DAG end date, is not held to the profile's end.
        if restriction.latest is None:
            restriction = TimeRestriction(restriction.earliest, self.end, restriction.catchup)
        return super().next_dagrun_info(last_automated_data_interval=last_automated_data_interval,
                                        restriction=restriction)

    def serialize(self) -> dict[str, Any]:
        return {**super().serialize(), "end": self.end.isoformat()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ScheduleEndTimetable:
        return cls(data["expression"], parse_timezone(data["timezone"]), datetime.fromisoformat(data["end"]))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ScheduleEndTimetable) and self.serialize() == other.serialize())

    def __hash__(self) -> int:
        return hash((self._expression, str(self._timezone), self.end))
