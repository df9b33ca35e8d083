/// GalaxyPostgres: libpq: connections, queries, COPY, migrations and the ledger write path (issue 2).
public enum GalaxyPostgresModule {}
