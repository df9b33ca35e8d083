#if canImport(Glibc)
import Glibc
#endif

// Not built yet: see issue 7.
print("galaxyctl: not built yet (see issue 7)")
exit(2)
