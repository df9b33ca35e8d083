/// KRXSimulator: a wire-compatible KRX simulator (issue 3).
public enum KRXSimulatorModule {}
