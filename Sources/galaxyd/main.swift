#if canImport(Glibc)
import Glibc
#endif

// Not built yet: see issue 5.
print("galaxyd: not built yet (see issue 5)")
exit(2)
