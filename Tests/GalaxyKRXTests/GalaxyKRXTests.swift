// Tests for GalaxyKRX arrive with the module's issue.
