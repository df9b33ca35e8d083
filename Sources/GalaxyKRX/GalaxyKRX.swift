/// GalaxyKRX: the libcurl client for the two KRX sources and strict parsing (issue 4).
public enum GalaxyKRXModule {}
