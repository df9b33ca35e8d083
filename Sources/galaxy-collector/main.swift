#if canImport(Glibc)
import Glibc
#endif

// Not built yet: see issue 4.
print("galaxy-collector: not built yet (see issue 4)")
exit(2)
