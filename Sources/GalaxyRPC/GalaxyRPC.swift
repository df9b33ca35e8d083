/// GalaxyRPC: JSON-RPC 2.0 over newline-delimited JSON on a Unix socket (issue 5).
public enum GalaxyRPCModule {}
