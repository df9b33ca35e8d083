/// GalaxySystemd: sd_notify, socket activation and the watchdog (issue 5).
public enum GalaxySystemdModule {}
