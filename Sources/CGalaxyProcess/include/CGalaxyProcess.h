#ifndef GALAXY_CGALAXYPROCESS_H
#define GALAXY_CGALAXYPROCESS_H
// What Swift cannot call directly for child supervision: posix_spawn with a new session and a closed fd table
// (macros and _np functions), and pidfd_open and malloc_trim (not in Glibc's module map).
#include <sys/types.h>
#include <sys/resource.h>

/// Spawns `path` in a new session (so the child leads its own process group), with stdin/stdout/stderr taken from
/// the given fds and every other fd closed. Returns 0 and sets *pid, or an errno value.
int galaxy_spawn(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                 int stderr_fd, pid_t *pid);

/// pipe2(2) with O_CLOEXEC: both ends close on exec, so no other child inherits them.
int galaxy_pipe_cloexec(int fds[2]);

/// pidfd_open(2): a file descriptor that becomes readable when the process exits. -1 and errno on failure.
int galaxy_pidfd_open(pid_t pid);

/// wait4(2) for one pid, retrying on EINTR. Returns the pid, or -1 with errno.
pid_t galaxy_wait4(pid_t pid, int *status, struct rusage *usage);

/// The W* macros of <sys/wait.h>, which Swift does not import.
int galaxy_wifexited(int status);
int galaxy_wexitstatus(int status);
int galaxy_wifsignaled(int status);
int galaxy_wtermsig(int status);

/// malloc_trim(3): returns free heap pages to the kernel (not in Glibc's module map). Returns 1 if memory was
/// released.
int galaxy_malloc_trim(void);

#endif
