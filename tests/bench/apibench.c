// SPDX-License-Identifier: Apache-2.0
/*
 * apibench.c - API benchmarks against a real ember.
 *   apibench latency SOCK N     N x PUT /machine-config on one keep-alive
 *                               connection; prints p50/p99/max round trip (us)
 *   apibench starts EMBER KERNEL N
 *                               N times: spawn ember --api-sock, configure it
 *                               (boot-source, machine-config), InstanceStart,
 *                               wait for the guest to end it; prints microVMs
 *                               per second of wall time and per CPU-second of
 *                               the ember processes (per core)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int connect_sock(const char *path, int tries)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int i = 0; i < tries; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(200);
	}
	return -1;
}

/* Send one request and read its response; returns the status code. */
static int request(int fd, const char *method, const char *path, const char *body)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s", method, path, strlen(body), body);
	size_t got = 0;
	int status = 0;
	long clen = -1;

	if (write(fd, buf, (size_t)n) != n)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		char *end, *cl;

		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		sscanf(buf, "HTTP/1.1 %d", &status);
		cl = strcasestr(buf, "Content-Length:");
		clen = cl && cl < end ? strtol(cl + 15, NULL, 10) : 0;
		if ((long)(got - (size_t)(end + 4 - buf)) >= clen)
			return status;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int latency(const char *sock, int n)
{
	double *lat = calloc((size_t)n, sizeof(double));
	int fd = connect_sock(sock, 5000);

	if (fd < 0 || !lat)
		return 1;
	for (int i = 0; i < n; i++) {
		double t0 = now_us();

		if (request(fd, "PUT", "/machine-config",
			    "{\"vcpu_count\": 2, \"mem_size_mib\": 256}") != 204)
			return 1;
		lat[i] = now_us() - t0;
	}
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("requests %d p50_us %.1f p99_us %.1f max_us %.1f\n", n, lat[n / 2],
	       lat[(int)(n * 0.99)], lat[n - 1]);
	return 0;
}

static int one_start(const char *ember, const char *kernel, const char *sock)
{
	char *argv[] = { (char *)ember, "--api-sock", (char *)sock, NULL };
	posix_spawn_file_actions_t fa;
	char body[512];
	int fd, status;
	pid_t pid;

	unlink(sock);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", 0, 0);
	if (posix_spawn(&pid, ember, &fa, NULL, argv, environ))
		return -1;
	posix_spawn_file_actions_destroy(&fa);
	fd = connect_sock(sock, 5000);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", kernel);
	if (fd < 0 || request(fd, "PUT", "/boot-source", body) != 204 ||
	    request(fd, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}") != 204 ||
	    request(fd, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}") != 204) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(fd);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

static int starts(const char *ember, const char *kernel, int n)
{
	char sock[64];
	struct rusage ru;
	double t0 = now_us(), wall, cpu;

	snprintf(sock, sizeof(sock), "/tmp/ember-bench-%d.sock", getpid());
	for (int i = 0; i < n; i++)
		if (one_start(ember, kernel, sock)) {
			fprintf(stderr, "apibench: start %d failed\n", i);
			return 1;
		}
	wall = (now_us() - t0) / 1e6;
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	      ru.ru_stime.tv_usec / 1e6;
	printf("microvms %d wall_s %.3f per_s %.1f ember_cpu_s %.3f per_cpu_s %.1f\n", n, wall,
	       n / wall, cpu, n / cpu);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "latency"))
		return latency(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "starts"))
		return starts(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: %s latency SOCK N | starts EMBER KERNEL N\n", argv[0]);
	return 2;
}
