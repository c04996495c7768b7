// SPDX-License-Identifier: Apache-2.0
/*
 * bootwatch.c - time a VMM booting a guest, the same way for every VMM:
 * spawn the command with stdout+stderr on a pipe, and report the wall time
 * from just before exec to the first line containing MARKER and to the
 * process's exit, plus the boot-timer figure when ember printed one.
 * usage: bootwatch MARKER CMD ARGS...
 * Prints "marker_us exit_us boot_timer_us status" (boot_timer_us 0 if none).
 * Built static so it runs inside the minimal L1 image.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static unsigned long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	unsigned long long t0, marker = 0, boot_timer = 0;
	posix_spawn_file_actions_t fa;
	char line[4096];
	int pfd[2], status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: %s MARKER CMD ARGS...\n", argv[0]);
		return 2;
	}
	if (pipe(pfd))
		return 1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", 0, 0);
	t0 = mono_us();
	if (posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ)) {
		perror("posix_spawn");
		return 1;
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "Guest-boot-time = ");

		if (!marker && strstr(line, argv[1]))
			marker = mono_us() - t0;
		if (p)
			sscanf(p, "Guest-boot-time = %llu us", &boot_timer);
	}
	waitpid(pid, &status, 0);
	printf("%llu %llu %llu %d\n", marker, mono_us() - t0, boot_timer,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
