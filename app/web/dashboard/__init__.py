"""The project dashboard: how runs went over the last day, week or month."""
