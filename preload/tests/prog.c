/*
 * The program the end-to-end tests run under the preload library. The
 * first argument picks what it does; see the table in main.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int errno_at_ctor = -1;
static int check_errno_at_exit;

/* Runs after the preload library's constructor. */
__attribute__((constructor)) static void capture(void)
{
    errno_at_ctor = errno;
}

/* Runs after every exit handler, the library's included. */
__attribute__((destructor)) static void report(void)
{
    if (check_errno_at_exit) {
        printf("errno-at-exit %d\n", errno);
        fflush(stdout);
    }
}

static int run_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int self = d != NULL ? dirfd(d) : -1;

    if (d == NULL) {
        return 1;
    }
    printf("fds");
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' && atoi(e->d_name) != self) {
            printf(" %s", e->d_name);
        }
    }
    printf("\n");
    closedir(d);
    return 0;
}

static void *spin(void *arg)
{
    volatile unsigned long n = 0;

    (void)arg;
    for (;;) {
        n++;
    }
    return NULL;
}

static void *worker(void *arg)
{
    (void)arg;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "true";

    if (strcmp(mode, "true") == 0) {
        return 0;
    }
    if (strcmp(mode, "sleep") == 0 && argc > 2) {
        /* Runs at least argv[2] milliseconds. */
        struct timespec ts;

        ts.tv_sec = atoi(argv[2]) / 1000;
        ts.tv_nsec = (long)(atoi(argv[2]) % 1000) * 1000000L;
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        return 0;
    }
    if (strcmp(mode, "exit") == 0) {
        exit(argc > 2 ? atoi(argv[2]) : 0);
    }
    if (strcmp(mode, "errno") == 0) {
        printf("errno-at-ctor %d\n", errno_at_ctor);
        check_errno_at_exit = 1;
        errno = 77;
        return 0;
    }
    if (strcmp(mode, "fds") == 0) {
        return run_fds();
    }
    if (strcmp(mode, "exec") == 0 && argc > 2) {
        /* exec chain: prog exec N -> prog exec N-1 ... -> prog fds */
        int n = atoi(argv[2]);
        char num[16];
        char *next[] = {argv[0], "exec", num, NULL};
        char *last[] = {argv[0], "fds", NULL};

        snprintf(num, sizeof(num), "%d", n - 1);
        execv("/proc/self/exe", n > 1 ? next : last);
        return 127;
    }
    if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork();
        int status = 0;

        if (pid == 0) {
            exit(3); /* runs exit handlers in the child */
        }
        waitpid(pid, &status, 0);
        return WEXITSTATUS(status) == 3 ? 0 : 1;
    }
    if (strcmp(mode, "vfork") == 0) {
        int status = 0;
        pid_t pid = vfork();

        if (pid == 0) {
            char *args[] = {"/bin/true", NULL};

            execve("/bin/true", args, environ);
            _exit(127);
        }
        waitpid(pid, &status, 0);
        return WEXITSTATUS(status);
    }
    if (strcmp(mode, "spawn") == 0) {
        char *args[] = {"/bin/true", "spawned", NULL};
        int status = 0;
        pid_t pid;

        if (posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ) != 0) {
            return 1;
        }
        waitpid(pid, &status, 0);
        return WEXITSTATUS(status);
    }
    if (strcmp(mode, "threads") == 0) {
        pthread_t t[8];
        int i;

        for (i = 0; i < 8; i++) {
            pthread_create(&t[i], NULL, worker, NULL);
        }
        for (i = 0; i < 8; i++) {
            pthread_join(t[i], NULL);
        }
        /* Exit while other threads still run. */
        for (i = 0; i < 4; i++) {
            pthread_create(&t[i], NULL, spin, NULL);
        }
        exit(9);
    }
    if (strcmp(mode, "dlopen") == 0 && argc > 2) {
        void *h = dlopen(argv[2], RTLD_NOW);

        return h != NULL ? 0 : 1;
    }
    if (strcmp(mode, "chdir") == 0 && argc > 2) {
        /* The start record must report the directory at start. */
        return chdir(argv[2]) == 0 ? 0 : 1;
    }
    if (strcmp(mode, "_exit") == 0) {
        _exit(4);
    }
    return 2;
}
