"""Airflow plugin of Newsline: registers ``ScheduleEndTimetable`` (see ``newsline.airflow_timetable``).

This folder is Airflow's ``plugins_folder`` (``AIRFLOW__CORE__PLUGINS_FOLDER``): every Airflow process
(scheduler, DAG processor, API server, workers, ``airflow dags test``) must load it to read a DAG whose
profile sets ``schedule.end_date``."""

from airflow.plugins_manager import AirflowPlugin

from newsline.airflow_timetable import ScheduleEndTimetable


class NewslinePlugin(AirflowPlugin):
    name = "newsline"
    timetables = [ScheduleEndTimetable]
