// Tests for GalaxySupervisor arrive with the module's issue.
