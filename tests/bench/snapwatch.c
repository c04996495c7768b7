// SPDX-License-Identifier: Apache-2.0
/*
 * snapwatch.c - time snapshots of a Linux guest the same way for ember and
 * QEMU: to the guest's first answer on the serial console.  The guest
 * (tests/bench/snapecho.c) prints READY, then answers every byte it reads
 * with a line holding ANSWER.  A "ping" is one byte written to the VMM's
 * stdin (a pipe); its stdout and stderr are read for the lines.
 *
 * usage (times in microseconds, CLOCK_MONOTONIC, one line on stdout):
 *   snapwatch fresh READY ANSWER CMD...
 *       exec -> READY, ping, -> ANSWER.  Prints "ready_us answer_us".
 *   snapwatch ember-create SOCK READY ANSWER STATE MEM KERNEL INITRD MIB ARGS EMBER...
 *       ember (EMBER... plus --api-sock SOCK) boots the guest through the API,
 *       pinged once READY; once it answered: PATCH /vm Paused, then PUT
 *       /snapshot/create Full.  Prints "pause_us create_us pause_create_us".
 *   snapwatch ember-restore SOCK ANSWER STATE MEM BACKEND EMBER...
 *       ember (plus --api-sock SOCK) started, PUT /snapshot/load (backend
 *       BACKEND, resume_vm) sent, pinged every 2 ms until ANSWER.  Prints
 *       "exec_to_sock_us load_to_204_us load_to_answer_us exec_to_answer_us".
 *   snapwatch ember-clones N SOCKPREFIX ANSWER STATE MEM BACKEND EMBER...
 *       N embers started, then all loaded, then all pinged until each
 *       answered; then each one's smaps_rollup.  Prints one line per clone:
 *       "load_to_answer_us pss_kib rss_kib".
 *   snapwatch qemu-save QMP READY ANSWER FILE CMD...
 *       CMD (QEMU with -qmp unix:QMP,server=on,wait=off) boots the guest,
 *       pinged once READY; once it answered: QMP migrate "exec:cat > FILE"
 *       of the running guest (QEMU stops it at the end of the copy),
 *       query-migrate until completed.  Prints "0 save_us save_us".
 *   snapwatch qemu-restore ANSWER CMD...
 *       CMD (QEMU with -incoming) started, pinged every 2 ms until ANSWER.
 *       Prints "exec_to_answer_us".
 * Exit status 1 (and a message on stderr) when a step fails or times out
 * (SNAPWATCH_TIMEOUT seconds for each wait, 120 by default).  Built static for the L1 image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S  timeout_s()
#define MAX_CLONES 32

extern char **environ;

struct vmm {
	pid_t pid;
	int in, out;             /* its stdin (we write), stdout+stderr (we read) */
	char buf[8192];
	size_t len;
	long long t_exec, t_answer;
};

/* Each wait's limit: $SNAPWATCH_TIMEOUT seconds, 120 by default. */
static int timeout_s(void)
{
	const char *t = getenv("SNAPWATCH_TIMEOUT");

	return t && atoi(t) > 0 ? atoi(t) : 120;
}

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static struct vmm *all[MAX_CLONES + 1];
static unsigned int nr_all;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "snapwatch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (unsigned int i = 0; i < nr_all; i++)
		kill(all[i]->pid, SIGKILL);
	exit(1);
}

/* Spawn argv (plus "--api-sock SOCK" when sock) with pipes on its stdio. */
static void spawn(struct vmm *v, char **argv, int argc, const char *sock)
{
	char **av = calloc((size_t)argc + 3, sizeof(*av));
	posix_spawn_file_actions_t fa;
	int in[2], out[2];

	memset(v, 0, sizeof(*v));
	if (!av || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		die("pipes: %s", strerror(errno));
	memcpy(av, argv, (size_t)argc * sizeof(*av));
	if (sock) {
		unlink(sock);
		av[argc] = "--api-sock";
		av[argc + 1] = (char *)sock;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	v->t_exec = mono_us();
	if (posix_spawnp(&v->pid, av[0], &fa, NULL, av, environ))
		die("cannot run %s", av[0]);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	v->in = in[1];
	v->out = out[0];
	fcntl(v->out, F_SETFL, O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	free(av);
	all[nr_all++] = v;
}

/* Read what is there; true when a whole line holding `mark` has come (the
 * lines before it are dropped). */
static int seen(struct vmm *v, const char *mark)
{
	for (;;) {
		ssize_t n;
		char *nl, *m;

		if (v->len == sizeof(v->buf) - 1) {  /* keep the last half */
			memmove(v->buf, v->buf + v->len / 2, v->len - v->len / 2);
			v->len -= v->len / 2;
		}
		n = read(v->out, v->buf + v->len, sizeof(v->buf) - 1 - v->len);
		if (n > 0)
			v->len += (size_t)n;
		v->buf[v->len] = 0;
		m = strstr(v->buf, mark);
		if (m && (nl = strchr(m, '\n'))) {
			v->len -= (size_t)(nl + 1 - v->buf);
			memmove(v->buf, nl + 1, v->len);
			return 1;
		}
		if (n == 0)
			die("pid %d ended before \"%s\"; its last output: %s", v->pid, mark, v->buf);
		if (n < 0)
			return 0;
	}
}

/* Wait for `mark`, pinging every `ping_ms` (0: never).  Its time. */
static long long wait_line(struct vmm *v, const char *mark, int ping_ms)
{
	long long end = mono_us() + TIMEOUT_S * 1000000LL;

	for (;;) {
		struct pollfd p = { .fd = v->out, .events = POLLIN };

		if (ping_ms && write(v->in, "p", 1) != 1)
			die("pid %d: cannot write to its stdin", v->pid);
		if (seen(v, mark))
			return mono_us();
		if (mono_us() > end)
			die("pid %d: no \"%s\" in %d s; its last output: %s", v->pid, mark, TIMEOUT_S,
			    v->buf);
		poll(&p, 1, ping_ms ? ping_ms : 1000);
	}
}

static void finish(struct vmm *v)
{
	kill(v->pid, SIGKILL);
	waitpid(v->pid, NULL, 0);
	close(v->in);
	close(v->out);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = mono_us() + TIMEOUT_S * 1000000LL;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	while (mono_us() < end) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(500);
	}
	die("cannot connect to %s", path);
}

/* One HTTP request on `fd`; die unless the status is `want`. */
static void http(int fd, const char *method, const char *path, const char *body, int want)
{
	char req[4096], resp[4096];
	size_t got = 0;
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, strlen(body), body);
	int status = 0;

	if (write(fd, req, (size_t)n) != n)
		die("%s %s: write failed", method, path);
	for (;;) {
		ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);
		char *hdr_end, *cl;
		long clen;

		if (r <= 0)
			die("%s %s: no answer", method, path);
		got += (size_t)r;
		resp[got] = 0;
		hdr_end = strstr(resp, "\r\n\r\n");
		if (!hdr_end)
			continue;
		cl = strcasestr(resp, "Content-Length:");
		clen = cl && cl < hdr_end ? strtol(cl + 15, NULL, 10) : 0;
		if ((long)(got - (size_t)(hdr_end + 4 - resp)) < clen)
			continue;
		sscanf(resp, "HTTP/1.1 %d", &status);
		if (status != want)
			die("%s %s: %s", method, path, resp);
		return;
	}
}

static void load_body(char *b, size_t len, const char *state, const char *mem, const char *backend)
{
	snprintf(b, len, "{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"%s\", "
		 "\"backend_path\": \"%s\"}, \"resume_vm\": true}", state, backend, mem);
}

static int fresh(int argc, char **argv)
{
	struct vmm v;
	long long ready, answer;

	spawn(&v, argv + 2, argc - 2, NULL);
	ready = wait_line(&v, argv[0], 0);
	answer = wait_line(&v, argv[1], 2);
	printf("%lld %lld\n", ready - v.t_exec, answer - v.t_exec);
	finish(&v);
	return 0;
}

static int ember_create(int argc, char **argv)
{
	const char *sock = argv[0], *ready = argv[1], *answer = argv[2];
	char body[4096];
	struct vmm v;
	long long t0, t1, t2;
	int fd;

	spawn(&v, argv + 9, argc - 9, sock);
	fd = connect_to(sock);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\", "
		 "\"boot_args\": \"%s\"}", argv[5], argv[6], argv[8]);
	http(fd, "PUT", "/boot-source", body, 204);
	snprintf(body, sizeof(body), "{\"vcpu_count\": 1, \"mem_size_mib\": %s}", argv[7]);
	http(fd, "PUT", "/machine-config", body, 204);
	http(fd, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	wait_line(&v, ready, 0);
	wait_line(&v, answer, 2);
	usleep(100000);  /* the guest back in its read */
	t0 = mono_us();
	http(fd, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	t1 = mono_us();
	snprintf(body, sizeof(body), "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", "
		 "\"mem_file_path\": \"%s\"}", argv[3], argv[4]);
	http(fd, "PUT", "/snapshot/create", body, 204);
	t2 = mono_us();
	printf("%lld %lld %lld\n", t1 - t0, t2 - t1, t2 - t0);
	close(fd);
	finish(&v);
	return 0;
}

static int ember_restore(int argc, char **argv)
{
	char body[4096];
	struct vmm v;
	long long t_sock, t0, t204, t_ans;
	int fd;

	spawn(&v, argv + 5, argc - 5, argv[0]);
	fd = connect_to(argv[0]);
	t_sock = mono_us();
	load_body(body, sizeof(body), argv[2], argv[3], argv[4]);
	t0 = mono_us();
	http(fd, "PUT", "/snapshot/load", body, 204);
	t204 = mono_us();
	t_ans = wait_line(&v, argv[1], 2);
	printf("%lld %lld %lld %lld\n", t_sock - v.t_exec, t204 - t0, t_ans - t0, t_ans - v.t_exec);
	close(fd);
	finish(&v);
	return 0;
}

/* "Pss:" and "Rss:" of a process, KiB. */
static void smaps_rollup(pid_t pid, long *pss, long *rss)
{
	char path[64], line[256];
	FILE *f;

	*pss = *rss = -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Pss: %ld kB", pss);
		sscanf(line, "Rss: %ld kB", rss);
	}
	fclose(f);
}

static int ember_clones(int argc, char **argv)
{
	int n = atoi(argv[0]);
	static struct vmm v[MAX_CLONES];
	char sock[MAX_CLONES][256], body[4096];
	long long t0[MAX_CLONES];
	int fd[MAX_CLONES];

	if (n < 1 || n > MAX_CLONES)
		die("1 to %d clones", MAX_CLONES);
	load_body(body, sizeof(body), argv[3], argv[4], argv[5]);
	for (int i = 0; i < n; i++) {
		snprintf(sock[i], sizeof(sock[i]), "%s%d.sock", argv[1], i);
		spawn(&v[i], argv + 6, argc - 6, sock[i]);
	}
	for (int i = 0; i < n; i++)
		fd[i] = connect_to(sock[i]);
	for (int i = 0; i < n; i++) {
		t0[i] = mono_us();
		http(fd[i], "PUT", "/snapshot/load", body, 204);
	}
	for (int left = n; left;) {
		for (int i = 0; i < n; i++) {
			if (v[i].t_answer)
				continue;
			if (write(v[i].in, "p", 1) != 1)
				die("clone %d: cannot write to its stdin", i);
			if (seen(&v[i], argv[2])) {
				v[i].t_answer = mono_us();
				left--;
			}
		}
		if (mono_us() - t0[0] > TIMEOUT_S * 1000000LL)
			die("the clones did not all answer in %d s", TIMEOUT_S);
		usleep(2000);
	}
	usleep(500000);  /* each settled at its read */
	for (int i = 0; i < n; i++) {
		long pss, rss;

		smaps_rollup(v[i].pid, &pss, &rss);
		printf("%lld %ld %ld\n", v[i].t_answer - t0[i], pss, rss);
	}
	for (int i = 0; i < n; i++) {
		close(fd[i]);
		finish(&v[i]);
	}
	return 0;
}

/* One QMP command; the reply line (events skipped).  Dies on an error. */
static void qmp(FILE *f, const char *cmd, char *reply, size_t len)
{
	fprintf(f, "%s\n", cmd);
	fflush(f);
	while (fgets(reply, (int)len, f)) {
		if (strstr(reply, "\"event\""))
			continue;
		if (strstr(reply, "\"error\""))
			die("QMP %s: %s", cmd, reply);
		return;
	}
	die("QMP %s: connection closed", cmd);
}

static int qemu_save(int argc, char **argv)
{
	char reply[8192], cmd[1024];
	struct vmm v;
	long long t0, t1, t2;
	FILE *f;
	int fd;

	unlink(argv[0]);
	spawn(&v, argv + 4, argc - 4, NULL);
	wait_line(&v, argv[1], 0);
	wait_line(&v, argv[2], 2);
	usleep(100000);
	fd = connect_to(argv[0]);
	f = fdopen(fd, "r+");
	if (!f || !fgets(reply, sizeof(reply), f))
		die("no QMP greeting");
	qmp(f, "{\"execute\": \"qmp_capabilities\"}", reply, sizeof(reply));
	/* No "stop" first: a stream saved from a stopped VM says so, and the
	 * VM it is loaded into stays paused.  Migrating the running guest (idle
	 * in its read) copies RAM once, then stops it and copies what changed. */
	t0 = t1 = mono_us();
	snprintf(cmd, sizeof(cmd), "{\"execute\": \"migrate\", \"arguments\": "
		 "{\"uri\": \"exec:cat > %s\"}}", argv[3]);
	qmp(f, cmd, reply, sizeof(reply));
	for (;;) {
		qmp(f, "{\"execute\": \"query-migrate\"}", reply, sizeof(reply));
		if (strstr(reply, "\"completed\""))
			break;
		if (strstr(reply, "\"failed\"") || strstr(reply, "\"cancelled\""))
			die("migration: %s", reply);
		usleep(1000);
	}
	t2 = mono_us();
	printf("%lld %lld %lld\n", t1 - t0, t2 - t1, t2 - t0);
	fclose(f);
	finish(&v);
	return 0;
}

static int qemu_restore(int argc, char **argv)
{
	struct vmm v;
	long long t;

	spawn(&v, argv + 1, argc - 1, NULL);
	t = wait_line(&v, argv[0], 2);
	printf("%lld\n", t - v.t_exec);
	finish(&v);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int min_args; int (*fn)(int, char **); } modes[] = {
		{ "fresh", 3, fresh },
		{ "ember-create", 10, ember_create },
		{ "ember-restore", 6, ember_restore },
		{ "ember-clones", 7, ember_clones },
		{ "qemu-save", 5, qemu_save },
		{ "qemu-restore", 2, qemu_restore },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name)) {
			if (argc - 2 < modes[i].min_args)
				break;
			return modes[i].fn(argc - 2, argv + 2);
		}
	fprintf(stderr, "usage: see tests/bench/snapwatch.c\n");
	return 2;
}
