"""Periodic ticks run by one APScheduler per process. Schedules are rows, not jobs."""
