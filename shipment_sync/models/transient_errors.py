"""One small rule shared by the crons: which database errors are transient.

A serialization failure, a deadlock, a lock not available, a cancelled
statement or a dropped connection says nothing about the record being
processed: the work is to be tried again in a fresh transaction, never
recorded as a final failure. (Whole-cron retries of such conflicts are the
business of ``retry_conflicts``; this is for the crons that handle rows one
by one in savepoints and must tell a conflict from a real error.)"""

import psycopg2


def is_transient_db_error(error):
    """True for a database error worth retrying in a new transaction."""
    return isinstance(error, psycopg2.OperationalError)
