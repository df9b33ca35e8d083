#if canImport(Glibc)
import Glibc
#endif

// Not built yet: see issue 3.
print("krx-sim: not built yet (see issue 3)")
exit(2)
