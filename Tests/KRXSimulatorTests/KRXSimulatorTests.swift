// Tests for KRXSimulator arrive with the module's issue.
