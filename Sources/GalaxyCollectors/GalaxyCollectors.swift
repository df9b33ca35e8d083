/// GalaxyCollectors: fetch, parse, store: the six collectors and the snapshot (issue 4).
public enum GalaxyCollectorsModule {}
