#define _GNU_SOURCE
#include <malloc.h>
#include "CGalaxyProcess.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <spawn.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

int galaxy_spawn(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                 int stderr_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    // A new session, an empty signal mask and default dispositions: the supervisor's blocked signals and ignored
    // SIGPIPE must not leak into a collector.
    if ((result = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                            POSIX_SPAWN_SETSIGDEF)) == 0 &&
        (result = posix_spawnattr_setsigmask(&attributes, &none)) == 0 &&
        (result = posix_spawnattr_setsigdefault(&attributes, &defaults)) == 0 &&
        (result = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0)) == 0 &&
        (result = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1)) == 0 &&
        (result = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2)) == 0 &&
        (result = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) == 0) {
        result = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    }
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int galaxy_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int galaxy_pidfd_open(pid_t pid) { return pidfd_open(pid, 0); }

pid_t galaxy_wait4(pid_t pid, int *status, struct rusage *usage) {
    pid_t result;
    do {
        result = wait4(pid, status, 0, usage);
    } while (result < 0 && errno == EINTR);
    return result;
}

int galaxy_wifexited(int status) { return WIFEXITED(status); }
int galaxy_wexitstatus(int status) { return WEXITSTATUS(status); }
int galaxy_wifsignaled(int status) { return WIFSIGNALED(status); }
int galaxy_wtermsig(int status) { return WTERMSIG(status); }

int galaxy_malloc_trim(void) { return malloc_trim(0); }
