// Tests for GalaxySystemd arrive with the module's issue.
