// Tests for GalaxyCollectors arrive with the module's issue.
