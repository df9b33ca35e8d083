/// GalaxySupervisor: child supervision, job engine, scheduler and RPC handlers (issues 5 and 6).
public enum GalaxySupervisorModule {}
