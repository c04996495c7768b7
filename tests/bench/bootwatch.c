// SPDX-License-Identifier: Apache-2.0
/*
 * bootwatch.c - time a VMM booting a guest, the same way for every VMM:
 * spawn the command with stdout+stderr on a pipe, and report the wall time
 * from just before exec to the first line containing MARKER and to the
 * process's exit, plus the boot-timer figure when ember printed one.
 * usage: bootwatch [-k PREFIX] [-s FILE:PREFIX]... MARKER CMD ARGS...
 * Prints "marker_us exit_us boot_timer_us status" (boot_timer_us 0 if none).
 *
 * The VM exits, counted by the host kernel for any VMM alike:
 *   -k PREFIX       the KVM statistics of the VM the command creates (the
 *                   per-VM directory /sys/kernel/debug/kvm/PID-FD, the first
 *                   one that appears after the spawn: run one VM at a time),
 *                   written as "name value" lines to PREFIX.init when the
 *                   marker appears and to PREFIX.exit after the command ended.
 *                   The files stay open meanwhile, and an open statistics file
 *                   holds a reference on its VM: the final counts are still
 *                   readable after the VMM has exited.  They cannot seek (a
 *                   second read() returns nothing): the "init" snapshot reads
 *                   fresh descriptors, the "exit" one the held ones, once.
 *   -s FILE:PREFIX  copy FILE (e.g. a tracing histogram) to PREFIX.init and
 *                   PREFIX.exit at the same two moments.
 * Built static so it runs inside the minimal L1 image.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STATS   256
#define MAX_SNAPS   8

extern char **environ;

struct stat_file {
	char name[64];
	int fd;
};

static struct stat_file stats[MAX_STATS];
static unsigned int nr_stats;
static char vm_dir[512];
static char seen[4096];  /* VM directories present before the spawn */
/* where KVM keeps its per-VM statistics (BOOTWATCH_KVM_DIR overrides, for tests) */
static const char *kvm_debugfs = "/sys/kernel/debug/kvm";

static unsigned long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

static int is_vm_dir(const char *name)
{
	return strchr(name, '-') && name[0] >= '0' && name[0] <= '9';
}

/* Remember the VM directories that exist now (not ours). */
static void kvm_note_existing(void)
{
	DIR *d = opendir(kvm_debugfs);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (is_vm_dir(e->d_name) && strlen(seen) + strlen(e->d_name) + 3 < sizeof(seen))
			strcat(strcat(strcat(seen, " "), e->d_name), " ");
	closedir(d);
}

/* Open every statistics file of the first new VM directory; 1 once done. */
static int kvm_open_stats(void)
{
	char *dir = vm_dir, key[300], path[1024];
	DIR *d = opendir(kvm_debugfs), *vd;
	struct dirent *e;

	if (!d)
		return 0;
	dir[0] = 0;
	while ((e = readdir(d))) {
		snprintf(key, sizeof(key), " %s ", e->d_name);
		if (is_vm_dir(e->d_name) && !strstr(seen, key)) {
			snprintf(dir, sizeof(vm_dir), "%s/%s", kvm_debugfs, e->d_name);
			break;
		}
	}
	closedir(d);
	if (!dir[0] || !(vd = opendir(dir)))
		return 0;
	while ((e = readdir(vd)) && nr_stats < MAX_STATS) {
		int fd;

		if (e->d_type != DT_REG || strlen(e->d_name) >= sizeof(stats[0].name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		strcpy(stats[nr_stats].name, e->d_name);
		stats[nr_stats++].fd = fd;
	}
	closedir(vd);
	fprintf(stderr, "bootwatch: %u KVM statistics in %s\n", nr_stats, dir);
	return nr_stats > 0;
}

/* held: read the held descriptors (once, at the end); otherwise fresh ones. */
static void kvm_write_stats(const char *prefix, const char *when, int held)
{
	char path[1024], buf[64];
	FILE *out;

	snprintf(path, sizeof(path), "%s.%s", prefix, when);
	out = fopen(path, "w");
	if (!out)
		return;
	for (unsigned int i = 0; i < nr_stats; i++) {
		int fd = stats[i].fd;
		ssize_t n;

		if (!held) {
			snprintf(path, sizeof(path), "%.500s/%.63s", vm_dir, stats[i].name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (!held && fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		fprintf(out, "%s %s", stats[i].name, buf);
		if (buf[n - 1] != '\n')
			fputc('\n', out);
	}
	fclose(out);
}

static void copy_file(const char *spec, const char *when)
{
	char src[512], dst[1024], buf[65536];
	const char *colon = strchr(spec, ':');
	int in, out;
	ssize_t n;

	if (!colon || (size_t)(colon - spec) >= sizeof(src))
		return;
	memcpy(src, spec, (size_t)(colon - spec));
	src[colon - spec] = 0;
	snprintf(dst, sizeof(dst), "%s.%s", colon + 1, when);
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

int main(int argc, char **argv)
{
	unsigned long long t0, marker = 0, boot_timer = 0;
	const char *kvm_prefix = NULL, *snaps[MAX_SNAPS];
	unsigned int nr_snaps = 0;
	posix_spawn_file_actions_t fa;
	char line[4096];
	size_t len = 0;
	int pfd[2], status, opt, found = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+k:s:")) != -1) {
		if (opt == 'k')
			kvm_prefix = optarg;
		else if (opt == 's' && nr_snaps < MAX_SNAPS)
			snaps[nr_snaps++] = optarg;
		else
			return 2;
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 3) {
		fprintf(stderr, "usage: bootwatch [-k PREFIX] [-s FILE:PREFIX]... MARKER CMD ARGS...\n");
		return 2;
	}
	if (getenv("BOOTWATCH_KVM_DIR"))
		kvm_debugfs = getenv("BOOTWATCH_KVM_DIR");
	if (kvm_prefix)
		kvm_note_existing();
	if (pipe2(pfd, O_CLOEXEC))
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
	found = !kvm_prefix;
	for (;;) {
		/* Until the VM's statistics are open, look for them every ms. */
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int r = poll(&p, 1, found ? -1 : 1);
		ssize_t n;
		char *nl;

		if (!found)
			found = kvm_open_stats();
		if (r <= 0)
			continue;
		n = read(pfd[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = 0;
		while ((nl = strchr(line, '\n')) || len == sizeof(line) - 1) {
			size_t used = nl ? (size_t)(nl - line) + 1 : len;
			char *p2;

			if (nl)
				*nl = 0;
			if (!marker && strstr(line, argv[1])) {
				marker = mono_us() - t0;
				if (kvm_prefix)
					kvm_write_stats(kvm_prefix, "init", 0);
				for (unsigned int i = 0; i < nr_snaps; i++)
					copy_file(snaps[i], "init");
			}
			p2 = strstr(line, "Guest-boot-time = ");
			if (p2)
				sscanf(p2, "Guest-boot-time = %llu us", &boot_timer);
			memmove(line, line + used, len - used);
			len -= used;
			line[len] = 0;
		}
	}
	waitpid(pid, &status, 0);
	if (!found)
		fprintf(stderr, "bootwatch: no KVM statistics under %s\n", kvm_debugfs);
	printf("%llu %llu %llu %d\n", marker, mono_us() - t0, boot_timer,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (kvm_prefix)
		kvm_write_stats(kvm_prefix, "exit", 1);
	for (unsigned int i = 0; i < nr_snaps; i++)
		copy_file(snaps[i], "exit");
	for (unsigned int i = 0; i < nr_stats; i++)
		close(stats[i].fd);
	return 0;
}
