// Tests for GalaxyRPC arrive with the module's issue.
