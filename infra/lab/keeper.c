/*
 * mc-keeper: the process that holds one lab host's network/mount/uts
 * namespaces (infra/lab/lab.sh compiles it to $MINICLOUD_LAB_DIR/bin/mc-keeper).
 *
 *   mc-keeper CMD [ARGS...]
 *
 * - becomes a child subreaper, so daemons that double-fork (libvirtd, virtlogd,
 *   sshd, qemu) are re-parented to it and reaped at once instead of lingering
 *   as zombies under PID 1 (which is not an init here);
 * - runs CMD once at start, and again (with MC_KEEPER_RERUN=1 in the
 *   environment) on SIGUSR1: lab.sh uses this to (re)start a host's daemons as
 *   descendants of the keeper;
 * - exits on SIGTERM/SIGINT (lab.sh kills every process of the host anyway);
 * - closes every inherited descriptor above stderr first: a lock held by whoever
 *   started the lab (e.g. `flock /tmp/lab.lock lab.sh up`) must not stay held
 *   for as long as the lab lives.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void run(char **cmd, const sigset_t *orig, int again) {
  pid_t p = fork();
  if (p < 0) {
    perror("mc-keeper: fork");
    return;
  }
  if (p == 0) {
    sigprocmask(SIG_SETMASK, orig, NULL);
    if (again) setenv("MC_KEEPER_RERUN", "1", 1);
    execvp(cmd[0], cmd);
    perror("mc-keeper: exec");
    _exit(127);
  }
}

int main(int argc, char **argv) {
  sigset_t set, orig;
  if (argc < 2) {
    fprintf(stderr, "usage: mc-keeper CMD [ARGS...]\n");
    return 2;
  }
  for (long fd = 3, max = sysconf(_SC_OPEN_MAX); fd < (max > 0 && max < 65536 ? max : 65536); fd++) close((int)fd);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) perror("mc-keeper: PR_SET_CHILD_SUBREAPER");
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, &orig);
  run(argv + 1, &orig, 0);
  for (;;) {
    int sig = sigwaitinfo(&set, NULL);
    if (sig == SIGCHLD) {
      while (waitpid(-1, NULL, WNOHANG) > 0) {
      }
    } else if (sig == SIGUSR1) {
      run(argv + 1, &orig, 1);
    } else if (sig == SIGTERM || sig == SIGINT) {
      return 0;
    }
  }
}
