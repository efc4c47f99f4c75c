"""The profile's ``schedule.end_date`` bounds the schedule through the DAG's timetable, not the DAG's
end date (which would give manual runs after it no task at all): scheduling stops after the end day,
manual runs are not filtered, and the timetable survives Airflow's serialization."""

from __future__ import annotations

from datetime import UTC, datetime

import pendulum
from airflow.timetables.base import DataInterval, TimeRestriction

from core.sites import get_site
from newsline.airflow_timetable import ScheduleEndTimetable
from newsline.dagfactory import site_dag

TZ = "Asia/Tokyo"
END = pendulum.datetime(2024, 9, 5, tz=TZ)


def _ended_site():
    site = get_site("japannews")
    return site.model_copy(update={"schedule": site.schedule.model_copy(update={
        "start_date": datetime(2024, 9, 4).date(), "end_date": datetime(2024, 9, 5).date(), "catchup": True})})


def test_scheduling_stops_after_the_end_day() -> None:
    tt = ScheduleEndTimetable("0 0 * * *", pendulum.timezone(TZ), END)
    restriction = TimeRestriction(earliest=pendulum.datetime(2024, 9, 4, tz=TZ), latest=None, catchup=True)
    first = tt.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert first.data_interval.start == pendulum.datetime(2024, 9, 4, tz=TZ)
    second = tt.next_dagrun_info(last_automated_data_interval=first.data_interval, restriction=restriction)
    assert second.data_interval.start == END and second.data_interval.end == pendulum.datetime(2024, 9, 6, tz=TZ)
    assert tt.next_dagrun_info(last_automated_data_interval=second.data_interval, restriction=restriction) is None
    # a backfill asks with its window's end: days after the profile's end date are still planned
    window = TimeRestriction(earliest=restriction.earliest, latest=pendulum.datetime(2024, 9, 7, tz=TZ), catchup=True)
    third = tt.next_dagrun_info(last_automated_data_interval=second.data_interval, restriction=window)
    assert third.data_interval.start == pendulum.datetime(2024, 9, 6, tz=TZ)


def test_the_timetable_round_trips_through_serialization() -> None:
    tt = ScheduleEndTimetable("0 0 * * *", pendulum.timezone(TZ), END)
    again = ScheduleEndTimetable.deserialize(tt.serialize())
    assert again == tt and again.end == END
    last = DataInterval(datetime(2024, 9, 3, 15, tzinfo=UTC), datetime(2024, 9, 4, 15, tzinfo=UTC))
    nxt = again.next_dagrun_info(last_automated_data_interval=last,
                                 restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    assert nxt.data_interval == DataInterval(datetime(2024, 9, 4, 15, tzinfo=UTC), datetime(2024, 9, 5, 15, tzinfo=UTC))


def test_a_profile_end_date_reaches_the_timetable_not_the_tasks() -> None:
    dag = site_dag(_ended_site())
    assert isinstance(dag.timetable, ScheduleEndTimetable) and dag.timetable.end == END
    assert dag.end_date is None
    assert all(t.end_date is None for t in dag.tasks), {t.task_id: t.end_date for t in dag.tasks}
