// SPDX-License-Identifier: Apache-2.0
/*
 * startup.c - ember's start-up cost: from exec to a milestone ember logs at
 * debug level as "<MILESTONE> at monotonic N us, process CPU M us" (vCPU 0's
 * "first KVM_RUN", or "API socket ready").  Wall time runs from just before
 * posix_spawn to N; CPU time is ember's own process clock at that moment.
 * ember is sent SIGTERM once the line is seen (it may also exit by itself).
 * usage: startup RUNS MILESTONE EMBER ARGS...   (ember needs --level Debug)
 * Prints one "wall_us cpu_us" line per run.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
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

static int one_run(const char *milestone, char **argv)
{
	posix_spawn_file_actions_t fa;
	unsigned long long t0, at = 0, cpu = 0;
	char line[1024], fmt[256];
	int pfd[2], status;
	pid_t pid;
	FILE *f;

	snprintf(fmt, sizeof(fmt), "%s at monotonic %%llu us, process CPU %%llu us", milestone);
	if (pipe(pfd))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", 0, 0);
	t0 = mono_us();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ))
		return -1;
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, milestone);

		if (p && !at && sscanf(p, fmt, &at, &cpu) == 2)
			kill(pid, SIGTERM);
	}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	posix_spawn_file_actions_destroy(&fa);
	if (!at || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	printf("%llu %llu\n", at - t0, cpu);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = argc > 3 ? atoi(argv[1]) : 0;

	if (runs <= 0) {
		fprintf(stderr, "usage: %s RUNS MILESTONE EMBER ARGS...\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < runs; i++)
		if (one_run(argv[2], argv + 3)) {
			fprintf(stderr, "startup: run %d failed\n", i);
			return 1;
		}
	return 0;
}
