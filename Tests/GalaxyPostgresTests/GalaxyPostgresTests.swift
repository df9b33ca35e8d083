// Tests for GalaxyPostgres arrive with the module's issue.
